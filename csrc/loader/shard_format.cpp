#include "shard_format.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "mapped_file.hpp"
#include "mapping_guard.hpp"
#include "shard_error.hpp"

namespace tinygpt {

namespace {

std::int32_t header_int(const std::uint8_t* data, std::size_t index) {
    const std::uint8_t* p = data + index * sizeof(std::int32_t);
    std::uint32_t value = static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                          static_cast<std::uint32_t>(p[2]) << 16 |
                          static_cast<std::uint32_t>(p[3]) << 24;
    return static_cast<std::int32_t>(value);
}

std::string expected_magics() {
    std::string text;
    for (const ShardFormat& format : kShardFormats) {
        if (!text.empty()) text += " or ";
        text += std::to_string(format.magic) + " for " + format.dtype + " tokens";
    }
    return text;
}

}  // namespace

ShardHeader parse_header(const std::string& path, const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) {
        throw ShardError(path + ": truncated: " + std::to_string(size) +
                         " bytes, shorter than the " + std::to_string(kHeaderBytes) +
                         "-byte header of a token shard");
    }
    const std::int32_t magic = header_int(data, 0);
    const ShardFormat* format = nullptr;
    for (const ShardFormat& candidate : kShardFormats) {
        if (candidate.magic == magic) format = &candidate;
    }
    if (!format) {
        throw ShardError(path + ": not a token shard: magic number " + std::to_string(magic) +
                         " at byte 0 (expected " + expected_magics() + ")");
    }
    const std::int32_t version = header_int(data, 1);
    if (version != format->version) {
        throw ShardError(path + ": unsupported version " + std::to_string(version) +
                         " at byte 4 for magic " + std::to_string(magic) + " (expected " +
                         std::to_string(format->version) + ")");
    }
    const std::int32_t count = header_int(data, 2);
    if (count < 0) {
        throw ShardError(path + ": corrupt header: negative token count " + std::to_string(count) +
                         " at byte 8");
    }
    const std::uint64_t payload = static_cast<std::uint64_t>(size - kHeaderBytes);
    const std::uint64_t expected = static_cast<std::uint64_t>(count) * format->token_bytes;
    if (payload < expected) {
        throw ShardError(path + ": truncated: the header announces " + std::to_string(count) + " " +
                         format->dtype + " tokens (" + std::to_string(expected) +
                         " bytes) but only " + std::to_string(payload) +
                         " bytes follow the header");
    }
    if (payload > expected) {
        throw ShardError(path + ": " + std::to_string(payload - expected) +
                         " unexpected bytes after the " + std::to_string(count) +
                         " tokens the header announces");
    }
    return ShardHeader{format, static_cast<std::uint64_t>(count)};
}

ShardHeader parse_header(const MappedFile& file) {
    std::uint8_t header[kHeaderBytes];
    const std::size_t length = std::min(file.size(), kHeaderBytes);
    auto copy = [&] { std::memcpy(header, file.data(), length); };
    const void* fault = nullptr;
    if (length > 0 && !read_mapped(copy, fault)) file.throw_shrank(fault);
    return parse_header(file.path(), header, file.size());
}

}  // namespace tinygpt
