#include "mapped_file.hpp"

#include <string>
#include <utility>

#include "shard_error.hpp"

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace tinygpt {

#ifdef _WIN32

namespace {

std::wstring widen(const std::string& utf8, const std::string& path) {
    if (utf8.empty()) return std::wstring();
    int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                                     static_cast<int>(utf8.size()), nullptr, 0);
    if (length <= 0) throw ShardError(path + ": cannot open: the path is not valid UTF-8");
    std::wstring wide(static_cast<std::size_t>(length), L'\0');
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                        wide.data(), length);
    return wide;
}

std::string windows_error(const std::string& path, const char* what) {
    return path + ": " + what + " (Windows error " + std::to_string(GetLastError()) + ")";
}

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
    const std::wstring wide = widen(path_, path_);
    HANDLE file = CreateFileW(wide.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE,
                              nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) throw ShardError(windows_error(path_, "cannot open"));
    LARGE_INTEGER size;
    if (!GetFileSizeEx(file, &size)) {
        std::string message = windows_error(path_, "cannot read the file size");
        CloseHandle(file);
        throw ShardError(message);
    }
    size_ = static_cast<std::size_t>(size.QuadPart);
    if (size_ > 0) {
        HANDLE mapping = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
        void* view = mapping ? MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0) : nullptr;
        std::string message = view ? std::string() : windows_error(path_, "cannot memory-map");
        if (mapping) CloseHandle(mapping);  // the view keeps the mapping alive
        if (!view) {
            CloseHandle(file);
            throw ShardError(message);
        }
        data_ = static_cast<const std::uint8_t*>(view);
    }
    CloseHandle(file);
}

MappedFile::~MappedFile() {
    if (data_) UnmapViewOfFile(data_);
}

#else

namespace {

std::string posix_error(const std::string& path, const char* what, int error) {
    return path + ": " + what + ": " + std::strerror(error);
}

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ShardError(posix_error(path_, "cannot open", errno));
    struct stat info;
    if (::fstat(fd, &info) != 0) {
        int error = errno;
        ::close(fd);
        throw ShardError(posix_error(path_, "cannot stat", error));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        throw ShardError(path_ + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ > 0) {
        void* view = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
        if (view == MAP_FAILED) {
            int error = errno;
            ::close(fd);
            throw ShardError(posix_error(path_, "cannot memory-map", error));
        }
        data_ = static_cast<const std::uint8_t*>(view);
    }
    ::close(fd);  // the mapping stays valid after the descriptor is closed
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

#endif

}  // namespace tinygpt
