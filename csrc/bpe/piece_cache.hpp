// The per-thread piece -> ids cache of the encoder. Lookups are the hottest operation of
// encoding (one per pre-token), so this is a small open-addressing table that stores each
// key's hash (a mismatch rarely reaches memcmp) and views into the caller's text, with all ids
// in one arena.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace tgbpe {

inline std::uint64_t hash_bytes(const char* p, std::size_t n) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);
        h = (h ^ w) * 0x94d049bb133111ebULL;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

// hash_bytes as a hasher for std::unordered_map keyed by strings or string views.
struct BytesHash {
    std::size_t operator()(std::string_view s) const {
        return static_cast<std::size_t>(hash_bytes(s.data(), s.size()));
    }
};

class PieceCache {
public:
    PieceCache() { reset(); }
    // A cache that copies its keys, for callers whose text does not outlive it (streaming).
    explicit PieceCache(bool owns_keys) : owns_keys_(owns_keys) { reset(); }

    // The cached ids of `key` (nullptr when absent); `count` receives their number.
    const std::uint32_t* find(std::string_view key, std::uint64_t hash,
                              std::uint32_t& count) const {
        for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.data == nullptr) return nullptr;
            if (s.hash == hash && s.len == key.size() &&
                same_bytes(s.data, key.data(), key.size())) {
                count = s.count;
                return arena_.data() + s.offset;
            }
        }
    }

    // Caches `ids` for `key`; unless the cache owns its keys, `key` must outlive the cache (it
    // views the caller's text).
    void insert(std::string_view key, std::uint64_t hash, const std::vector<std::uint32_t>& ids) {
        if (arena_.size() + ids.size() > kArenaLimit) reset();
        if (owns_keys_) key = copy_key(key);
        if ((used_ + 1) * 2 > slots_.size()) grow();
        place(Slot{key.data(), static_cast<std::uint32_t>(key.size()),
                   static_cast<std::uint32_t>(ids.size()),
                   static_cast<std::uint32_t>(arena_.size()), hash});
        arena_.insert(arena_.end(), ids.begin(), ids.end());
        ++used_;
    }

private:
    // Pieces are short: compare them a word at a time rather than through a memcmp call.
    static bool same_bytes(const char* a, const char* b, std::size_t n) {
        while (n >= 8) {
            std::uint64_t x, y;
            std::memcpy(&x, a, 8);
            std::memcpy(&y, b, 8);
            if (x != y) return false;
            a += 8;
            b += 8;
            n -= 8;
        }
        for (; n > 0; --n)
            if (*a++ != *b++) return false;
        return true;
    }

    struct Slot {
        const char* data;
        std::uint32_t len;
        std::uint32_t count;
        std::uint32_t offset;
        std::uint64_t hash;
    };

    // Bounds memory on huge inputs with endless distinct pieces: start afresh past ~64 MB of ids.
    static constexpr std::size_t kArenaLimit = std::size_t{1} << 24;

    static constexpr std::size_t kKeyBlock = std::size_t{1} << 16;

    void reset() {
        slots_.assign(1024, Slot{nullptr, 0, 0, 0, 0});
        mask_ = slots_.size() - 1;
        used_ = 0;
        arena_.clear();
        key_blocks_.clear();
        key_free_ = 0;
    }

    // Keys live in blocks that never move (a key longer than a block gets one of its own).
    std::string_view copy_key(std::string_view key) {
        if (key.size() > key_free_) {
            const std::size_t size = std::max(kKeyBlock, key.size());
            key_blocks_.emplace_back(new char[size]);
            key_free_ = size;
            key_next_ = key_blocks_.back().get();
        }
        if (!key.empty()) std::memcpy(key_next_, key.data(), key.size());
        const std::string_view copy(key_next_, key.size());
        key_next_ += key.size();
        key_free_ -= key.size();
        return copy;
    }

    void place(const Slot& slot) {
        std::size_t i = slot.hash & mask_;
        while (slots_[i].data != nullptr) i = (i + 1) & mask_;
        slots_[i] = slot;
    }

    void grow() {
        std::vector<Slot> old(slots_.size() * 2, Slot{nullptr, 0, 0, 0, 0});
        old.swap(slots_);
        mask_ = slots_.size() - 1;
        for (const Slot& s : old)
            if (s.data != nullptr) place(s);
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t used_ = 0;
    std::vector<std::uint32_t> arena_;
    bool owns_keys_ = false;
    std::vector<std::unique_ptr<char[]>> key_blocks_;
    char* key_next_ = nullptr;
    std::size_t key_free_ = 0;
};

}  // namespace tgbpe
