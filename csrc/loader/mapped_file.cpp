#include "mapped_file.hpp"

#include <string>
#include <utility>

#include "shard_error.hpp"

#ifdef _WIN32
#include <windows.h>  // with NOMINMAX and WIN32_LEAN_AND_MEAN (CMakeLists.txt)
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

namespace tinygpt {

void MappedFile::throw_shrank(const void* fault) const {
    const auto offset = static_cast<std::size_t>(static_cast<const std::uint8_t*>(fault) - data_);
    throw ShardError(path_ + ": the file became shorter while it was being read (byte " +
                     std::to_string(offset) + " of " + std::to_string(size_) +
                     " is gone): another process truncated or rewrote it; re-create the shards");
}

#ifdef _WIN32

namespace {

// Closes a Win32 handle when it goes out of scope.
class Handle {
public:
    explicit Handle(HANDLE handle) : handle_(handle) {}
    ~Handle() {
        if (valid()) CloseHandle(handle_);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    HANDLE get() const { return handle_; }
    bool valid() const { return handle_ != nullptr && handle_ != INVALID_HANDLE_VALUE; }

private:
    HANDLE handle_;
};

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

[[noreturn]] void throw_windows_error(const std::string& path, const char* what) {
    const DWORD error = GetLastError();  // before anything else can change it
    throw ShardError(path + ": " + what + " (Windows error " + std::to_string(error) + ")");
}

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
    const Handle file(CreateFileW(widen(path_, path_).c_str(), GENERIC_READ,
                                  FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                                  FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!file.valid()) throw_windows_error(path_, "cannot open");
    LARGE_INTEGER size;
    if (!GetFileSizeEx(file.get(), &size)) throw_windows_error(path_, "cannot read the file size");
    size_ = static_cast<std::size_t>(size.QuadPart);
    if (size_ == 0) return;
    // The view keeps the mapping object (and the file) alive once both handles are closed.
    const Handle mapping(CreateFileMappingW(file.get(), nullptr, PAGE_READONLY, 0, 0, nullptr));
    if (!mapping.valid()) throw_windows_error(path_, "cannot memory-map");
    void* view = MapViewOfFile(mapping.get(), FILE_MAP_READ, 0, 0, 0);
    if (!view) throw_windows_error(path_, "cannot memory-map");
    data_ = static_cast<const std::uint8_t*>(view);
}

MappedFile::~MappedFile() {
    if (data_) UnmapViewOfFile(data_);
}

#else

namespace {

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }

private:
    int fd_;
};

[[noreturn]] void throw_posix_error(const std::string& path, const char* what) {
    const int error = errno;  // before anything else can change it
    throw ShardError(path + ": " + what + ": " + std::strerror(error));
}

}  // namespace

MappedFile::MappedFile(std::string path) : path_(std::move(path)) {
    const FileDescriptor fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) throw_posix_error(path_, "cannot open");
    struct stat info;
    if (::fstat(fd.get(), &info) != 0) throw_posix_error(path_, "cannot stat");
    if (!S_ISREG(info.st_mode)) throw ShardError(path_ + ": not a regular file");
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ == 0) return;
    // The mapping stays valid after the descriptor is closed.
    void* view = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (view == MAP_FAILED) throw_posix_error(path_, "cannot memory-map");
    data_ = static_cast<const std::uint8_t*>(view);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

#endif

}  // namespace tinygpt
