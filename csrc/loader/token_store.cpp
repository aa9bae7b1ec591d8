#include "token_store.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "shard_error.hpp"
#include "shard_format.hpp"
#include "thread_group.hpp"

namespace tinygpt {

namespace {

template <typename Token>
Token token_at(const std::uint8_t* tokens, std::uint64_t index) {
    Token value;
    std::memcpy(&value, tokens + index * sizeof(Token), sizeof(Token));
    return value;
}

// Appends the positions (within the shard) of its end-of-text tokens to `positions`; rejects ids
// outside the vocabulary, which would otherwise surface much later as an opaque embedding index
// error. Runs inside read_tokens(), so it owns no resources.
template <typename Token>
void scan_shard(const MappedFile& file, const std::uint8_t* tokens, std::uint64_t count,
                std::uint32_t eot_id, std::uint32_t vocab_size,
                std::vector<std::uint64_t>& positions) {
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint32_t token = token_at<Token>(tokens, i);
        if (token >= vocab_size) {
            throw ShardError(file.path() + ": token " + std::to_string(token) + " at byte " +
                             std::to_string(kHeaderBytes + i * sizeof(Token)) +
                             " is outside the vocabulary of " + std::to_string(vocab_size) +
                             " tokens");
        }
        if (token == eot_id) positions.push_back(i);
    }
}

template <typename Token>
void copy_tokens(const std::uint8_t* tokens, std::uint64_t first, std::size_t count,
                 std::int64_t* out) {
    for (std::size_t i = 0; i < count; ++i) out[i] = token_at<Token>(tokens, first + i);
}

}  // namespace

TokenStore::TokenStore(const std::vector<std::string>& paths, std::size_t token_bytes,
                       std::uint32_t eot_id, std::uint32_t vocab_size)
    : token_bytes_(token_bytes), eot_id_(eot_id) {
    if (token_bytes != 2 && token_bytes != 4) {
        throw ShardError("token width must be 2 (uint16) or 4 (uint32) bytes, not " +
                         std::to_string(token_bytes));
    }
    offsets_.push_back(0);
    for (const std::string& path : paths) {
        auto file = std::make_unique<MappedFile>(path);
        const ShardHeader header = parse_header(*file);
        if (header.format->token_bytes != token_bytes) {
            throw ShardError(path + ": holds " + header.format->dtype +
                             " tokens, but the manifest says " +
                             (token_bytes == 2 ? "uint16" : "uint32"));
        }
        const std::uint8_t* tokens = file->data() + kHeaderBytes;
        offsets_.push_back(offsets_.back() + header.token_count);
        shards_.push_back(Shard{std::move(file), tokens, header.token_count});
    }

    std::vector<std::vector<std::uint64_t>> positions(shards_.size());
    std::atomic<std::size_t> next{0};
    const std::size_t thread_count =
        std::min<std::size_t>(shards_.size(), std::max(1u, std::thread::hardware_concurrency()));
    run_parallel(thread_count, [&](std::size_t) {
        for (std::size_t i = next++; i < shards_.size(); i = next++) {
            const Shard& shard = shards_[i];
            auto scan = [&] {
                if (token_bytes_ == 2) {
                    scan_shard<std::uint16_t>(*shard.file, shard.tokens, shard.count, eot_id,
                                              vocab_size, positions[i]);
                } else {
                    scan_shard<std::uint32_t>(*shard.file, shard.tokens, shard.count, eot_id,
                                              vocab_size, positions[i]);
                }
            };
            read_tokens(scan);
        }
    });

    if (size() > 0) {
        const bool starts_with_eot =
            !positions.empty() && !positions[0].empty() && positions[0][0] == 0;
        if (!starts_with_eot) document_starts_.push_back(0);
    }
    for (std::size_t i = 0; i < shards_.size(); ++i) {
        for (std::uint64_t position : positions[i])
            document_starts_.push_back(offsets_[i] + position);
    }
}

void TokenStore::throw_shrank(const void* fault) const {
    for (const Shard& shard : shards_) {
        if (shard.file->contains(fault)) shard.file->throw_shrank(fault);
    }
    throw ShardError("a token shard became shorter while it was being read; re-create the shards");
}

void TokenStore::copy(std::uint64_t start, std::size_t count, std::int64_t* out) const {
    if (start + count > size()) throw std::out_of_range("token window past the end of the split");
    std::size_t shard = static_cast<std::size_t>(
        std::upper_bound(offsets_.begin(), offsets_.end(), start) - offsets_.begin() - 1);
    while (count > 0) {
        while (offsets_[shard + 1] <= start) ++shard;  // skips empty shards
        const std::uint64_t first = start - offsets_[shard];
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(count, shards_[shard].count - first));
        if (token_bytes_ == 2) {
            copy_tokens<std::uint16_t>(shards_[shard].tokens, first, take, out);
        } else {
            copy_tokens<std::uint32_t>(shards_[shard].tokens, first, take, out);
        }
        out += take;
        start += take;
        count -= take;
    }
}

}  // namespace tinygpt
