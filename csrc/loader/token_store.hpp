// The tokens of one split: its shards memory-mapped and viewed as one concatenated stream, with
// the document index (positions of the end-of-text tokens) built once at open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mapped_file.hpp"
#include "mapping_guard.hpp"

namespace tinygpt {

class TokenStore {
public:
    // Maps and validates every shard (header, dtype `token_bytes`, ids below `vocab_size`) and
    // scans them for `eot_id`, one thread per shard up to the core count. The GIL must not be
    // needed: this runs with it released.
    TokenStore(const std::vector<std::string>& paths, std::size_t token_bytes, std::uint32_t eot_id,
               std::uint32_t vocab_size);

    std::uint64_t size() const { return offsets_.back(); }
    std::uint32_t eot_id() const { return eot_id_; }

    // Document k spans [start(k), end(k)): its end-of-text token, then its text's tokens. Tokens
    // before the first end-of-text token (only in shards written by other tools) form document 0.
    std::size_t document_count() const { return document_starts_.size(); }
    std::uint64_t document_start(std::size_t k) const { return document_starts_[k]; }
    std::uint64_t document_end(std::size_t k) const {
        return k + 1 < document_starts_.size() ? document_starts_[k + 1] : size();
    }

    // Writes tokens [start, start + count) of the concatenated stream to `out` as int64. Call it
    // inside read_tokens().
    void copy(std::uint64_t start, std::size_t count, std::int64_t* out) const;

    // Runs read(), which reads this store's tokens; a shard that became shorter under its mapping
    // (another process truncated it) raises ShardError naming the shard instead of crashing. As
    // for read_mapped, read() must own no resources.
    template <typename Read>
    void read_tokens(Read& read) const {
        const void* fault = nullptr;
        if (!read_mapped(read, fault)) throw_shrank(fault);
    }

private:
    [[noreturn]] void throw_shrank(const void* fault) const;

    struct Shard {
        std::unique_ptr<MappedFile> file;
        const std::uint8_t* tokens;
        std::uint64_t count;
    };

    std::vector<Shard> shards_;
    std::vector<std::uint64_t> offsets_;  // offsets_[i] = first stream position of shard i
    std::size_t token_bytes_;
    std::uint32_t eot_id_;
    std::vector<std::uint64_t> document_starts_;
};

}  // namespace tinygpt
