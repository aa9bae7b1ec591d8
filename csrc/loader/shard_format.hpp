// llm.c's token shard format: a header of 256 little-endian int32 (magic, version, token count,
// then zeros) followed by the tokens, uint16 or (llm.c's variant for large vocabularies) uint32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "token shards are little-endian and are read in place; big-endian hosts are unsupported"
#endif

namespace tinygpt {

constexpr std::size_t kHeaderInts = 256;
constexpr std::size_t kHeaderBytes = kHeaderInts * sizeof(std::int32_t);

struct ShardFormat {
    std::int32_t magic;
    std::int32_t version;
    std::size_t token_bytes;
    const char* dtype;
};

constexpr ShardFormat kShardFormats[] = {
    {20240520, 1, 2, "uint16"},
    {20240801, 7, 4, "uint32"},
};

struct ShardHeader {
    const ShardFormat* format;
    std::uint64_t token_count;
};

class MappedFile;

// Validates the header of the `size`-byte file at `data` (magic, version, and a token count that
// matches the file length exactly); throws ShardError naming `path` and the offending field.
ShardHeader parse_header(const std::string& path, const std::uint8_t* data, std::size_t size);

// parse_header for a mapped shard, whose header is read through the mapping guard.
ShardHeader parse_header(const MappedFile& file);

}  // namespace tinygpt
