// A read-only memory map of a whole file. With mapping_guard.hpp, this is the only
// platform-specific code of the loader: POSIX mmap and Win32 MapViewOfFile live in
// mapped_file.cpp behind this interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tinygpt {

class MappedFile {
public:
    // Maps `path` (UTF-8) read-only; throws ShardError naming the file when it cannot.
    explicit MappedFile(std::string path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    bool contains(const void* address) const {
        const auto* byte = static_cast<const std::uint8_t*>(address);
        return data_ != nullptr && byte >= data_ && byte < data_ + size_;
    }

    // Throws ShardError: the file became shorter than its mapping, as a read of `fault` (an
    // address inside the mapping, from read_mapped) found.
    [[noreturn]] void throw_shrank(const void* fault) const;

private:
    std::string path_;
    const std::uint8_t* data_ = nullptr;  // owned: unmapped by the destructor
    std::size_t size_ = 0;
};

}  // namespace tinygpt
