// Applying BPE merges to one pre-token: the lowest-ranked adjacent pair merges first, the
// leftmost on ties (tiktoken's rule, which equals applying an ordered merge list in order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tgbpe {

inline std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) {
    return (static_cast<std::uint64_t>(a) << 32) | b;
}

// splitmix64's finaliser: pair keys are structured, std::hash<uint64_t> is the identity.
struct PairHash {
    std::size_t operator()(std::uint64_t k) const {
        k ^= k >> 30;
        k *= 0xbf58476d1ce4e5b9ULL;
        k ^= k >> 27;
        k *= 0x94d049bb133111ebULL;
        k ^= k >> 31;
        return static_cast<std::size_t>(k);
    }
};

struct MergeRule {
    std::uint32_t rank;
    std::uint32_t id;
};

class MergeRules {
public:
    static constexpr std::uint32_t kNoRank = std::numeric_limits<std::uint32_t>::max();

    void add(std::uint32_t a, std::uint32_t b, std::uint32_t rank, std::uint32_t id) {
        rules_[pair_key(a, b)] = MergeRule{rank, id};
    }
    std::size_t size() const { return rules_.size(); }

    MergeRule find(std::uint32_t a, std::uint32_t b) const {
        const auto it = rules_.find(pair_key(a, b));
        return it == rules_.end() ? MergeRule{kNoRank, 0} : it->second;
    }

    // Merges `parts` in place.
    void apply(std::vector<std::uint32_t>& parts, std::vector<std::uint32_t>& scratch) const {
        if (parts.size() < 2) return;
        if (parts.size() <= kQuadraticLimit)
            apply_quadratic(parts, scratch);
        else
            apply_heap(parts);
    }

private:
    // Short pieces (nearly all): rescan a rank array, O(n^2) but tiny and cache-friendly.
    static constexpr std::size_t kQuadraticLimit = 96;

    void apply_quadratic(std::vector<std::uint32_t>& parts,
                         std::vector<std::uint32_t>& ranks) const {
        const std::size_t n = parts.size();
        ranks.resize(n - 1);
        for (std::size_t i = 0; i + 1 < n; ++i) ranks[i] = find(parts[i], parts[i + 1]).rank;
        while (parts.size() > 1) {
            std::size_t best = 0;
            std::uint32_t best_rank = kNoRank;
            for (std::size_t i = 0; i < ranks.size(); ++i)
                if (ranks[i] < best_rank) {
                    best_rank = ranks[i];
                    best = i;
                }
            if (best_rank == kNoRank) break;
            parts[best] = find(parts[best], parts[best + 1]).id;
            parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(best) + 1);
            ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best));
            if (best > 0) ranks[best - 1] = find(parts[best - 1], parts[best]).rank;
            if (best < ranks.size()) ranks[best] = find(parts[best], parts[best + 1]).rank;
        }
    }

    // Long pieces (runs of thousands of spaces or letters): a heap over a linked list keeps the
    // same merge order in O(n log n). Stale heap entries are detected by re-reading the rank.
    void apply_heap(std::vector<std::uint32_t>& parts) const {
        const std::size_t n = parts.size();
        constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
        std::vector<std::size_t> next(n), prev(n);
        std::vector<char> alive(n, 1);
        for (std::size_t i = 0; i < n; ++i) {
            next[i] = i + 1 < n ? i + 1 : kNone;
            prev[i] = i > 0 ? i - 1 : kNone;
        }
        using Entry = std::pair<std::uint32_t, std::size_t>;  // (rank, left position)
        std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
        auto push = [&](std::size_t i) {
            if (i == kNone || next[i] == kNone) return;
            const std::uint32_t r = find(parts[i], parts[next[i]]).rank;
            if (r != kNoRank) heap.emplace(r, i);
        };
        for (std::size_t i = 0; i + 1 < n; ++i) push(i);
        while (!heap.empty()) {
            const auto [rank, i] = heap.top();
            heap.pop();
            if (!alive[i] || next[i] == kNone) continue;
            const MergeRule rule = find(parts[i], parts[next[i]]);
            if (rule.rank != rank) continue;
            const std::size_t j = next[i];
            parts[i] = rule.id;
            alive[j] = 0;
            next[i] = next[j];
            if (next[j] != kNone) prev[next[j]] = i;
            push(prev[i]);
            push(i);
        }
        std::size_t out = 0;
        for (std::size_t i = 0; i < n; ++i)
            if (alive[i]) parts[out++] = parts[i];
        parts.resize(out);
    }

    std::unordered_map<std::uint64_t, MergeRule, PairHash> rules_;
};

}  // namespace tgbpe
