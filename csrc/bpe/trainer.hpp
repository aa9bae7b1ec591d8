// Incremental BPE training shared by both modes. Pre-tokens are counted once (streamed, in
// batches, on threads); then each distinct pre-token becomes a "word" of base ids with its
// count, pair counts and a pair -> words index are built once, and every merge updates only
// the words that contain the merged pair. A max-heap with lazy invalidation picks the pair.
//
// Bytes mode: base ids are the 256 byte values; ties go to the lexicographically greatest
// (bytes, bytes) pair. Words mode: base ids are the corpus's characters in code-point order;
// ties go to the greatest (first_id, second_id). Pieces never merge across each other, which
// is how words mode's "no merge across a word / do-not-merge character" rules are enforced
// (see split_words).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "merge_rules.hpp"
#include "piece_cache.hpp"
#include "pretokenize.hpp"
#include "thread_group.hpp"

namespace tgbpe {

class Trainer {
public:
    Trainer(Splitter splitter, bool words_mode) : splitter_(splitter), words_mode_(words_mode) {}
    Trainer(const Trainer&) = delete;  // the heap's comparator points at this object
    Trainer& operator=(const Trainer&) = delete;

    void add_special(const std::string& bytes) { specials_.push_back(bytes); }
    void add_no_merge(std::uint32_t cp) { no_merge_.push_back(cp); }

    // Counts the pre-tokens of `texts` (split at special tokens first) on up to num_threads.
    void count(const std::vector<std::string_view>& texts, int num_threads) {
        const std::size_t threads = std::max<std::size_t>(
            1, std::min<std::size_t>(static_cast<std::size_t>(std::max(num_threads, 1)),
                                     texts.size()));
        std::vector<std::unordered_map<std::string_view, std::int64_t, BytesHash>> locals(threads);
        std::atomic<std::size_t> next{0};
        const std::vector<char> all_allowed(specials_.size(), 1);
        tinygpt::run_parallel(threads, [&](std::size_t t) {
            // Counted in a map on this thread's own stack and moved out at the end, so that the
            // threads never write to neighbouring memory.
            std::unordered_map<std::string_view, std::int64_t, BytesHash> local;
            for (std::size_t i = next.fetch_add(1); i < texts.size(); i = next.fetch_add(1)) {
                const std::string_view text = texts[i];
                split_specials(
                    text, specials_, all_allowed,
                    [&](std::size_t b, std::size_t e) {
                        const std::string_view part = text.substr(b, e - b);
                        split_text(splitter_, part, no_merge_, [&](std::size_t pb, std::size_t pe) {
                            ++local[part.substr(pb, pe - pb)];
                        });
                    },
                    [](std::size_t) {});
            }
            locals[t] = std::move(local);
        });
        for (const auto& local : locals)
            for (const auto& [piece, n] : local) counts_[std::string(piece)] += n;
    }

    // Adds pre-tokens found elsewhere (custom patterns, split by Python's `regex`).
    void add_count(const std::string& piece, std::int64_t n) { counts_[piece] += n; }

    std::size_t distinct_pieces() const { return counts_.size(); }

    // Builds words, the alphabet (words mode), pair counts, the index and the heap. Frees the
    // pre-token counts. Returns the number of base tokens.
    std::size_t prepare() {
        tokens_.clear();
        if (words_mode_) {
            build_alphabet();
        } else {
            for (int b = 0; b < 256; ++b) tokens_.emplace_back(1, static_cast<char>(b));
        }
        base_size_ = tokens_.size();
        words_.reserve(counts_.size());
        for (const auto& [piece, n] : counts_) {
            Word w;
            w.count = n;
            w.ids = base_ids(piece);
            if (w.ids.size() > 1) words_.push_back(std::move(w));
        }
        counts_ = {};
        stamp_.assign(words_.size(), kNever);
        for (std::uint32_t wi = 0; wi < words_.size(); ++wi) {
            const Word& w = words_[wi];
            for (std::size_t i = 0; i + 1 < w.ids.size(); ++i) {
                const std::uint64_t key = pair_key(w.ids[i], w.ids[i + 1]);
                pair_counts_[key] += w.count;
                auto& list = where_[key];
                if (list.empty() || list.back() != wi) list.push_back(wi);
            }
        }
        for (const auto& [key, n] : pair_counts_) heap_.push(Entry{n, key});
        return base_size_;
    }

    std::size_t base_size() const { return base_size_; }
    const std::vector<std::string>& tokens() const { return tokens_; }
    const std::vector<std::uint64_t>& merges() const { return merges_; }

    // Performs up to max_merges merges; returns how many were done (fewer when no pair is left).
    std::size_t merge(std::size_t max_merges) {
        std::size_t done = 0;
        while (done < max_merges) {
            const std::uint64_t key = pop_best();
            if (key == kNoPair) break;
            apply_merge(key);
            ++done;
        }
        return done;
    }

private:
    static constexpr std::uint64_t kNoPair = ~std::uint64_t{0};
    static constexpr std::uint32_t kNever = ~std::uint32_t{0};

    struct Word {
        std::vector<std::uint32_t> ids;
        std::int64_t count = 0;
    };
    struct Entry {
        std::int64_t count;
        std::uint64_t key;
    };
    // Heap order: higher count first, then the mode's tie rule picks the greater pair.
    struct EntryLess {
        const Trainer* trainer;
        bool operator()(const Entry& x, const Entry& y) const {
            if (x.count != y.count) return x.count < y.count;
            return trainer->pair_less(x.key, y.key);
        }
    };

    bool pair_less(std::uint64_t x, std::uint64_t y) const {
        if (words_mode_) return x < y;
        const std::string& xa = tokens_[x >> 32];
        const std::string& ya = tokens_[y >> 32];
        if (const int c = xa.compare(ya); c != 0) return c < 0;
        return tokens_[x & 0xFFFFFFFFu].compare(tokens_[y & 0xFFFFFFFFu]) < 0;
    }

    void build_alphabet() {
        std::vector<std::uint32_t> cps;
        for (const auto& entry : counts_) {
            const auto* p = reinterpret_cast<const unsigned char*>(entry.first.data());
            const auto* end = p + entry.first.size();
            while (p < end) {
                const CodePoint c = decode_utf8(p, end);
                cps.push_back(c.cp);
                p += c.len;
            }
            if (cps.size() > (std::size_t{1} << 20)) dedupe(cps);
        }
        dedupe(cps);
        char_ids_.assign(cps.empty() ? 0 : cps.back() + 1, kNever);
        for (std::uint32_t cp : cps) {
            char_ids_[cp] = static_cast<std::uint32_t>(tokens_.size());
            tokens_.emplace_back();
            append_utf8(tokens_.back(), cp);
        }
    }

    static void dedupe(std::vector<std::uint32_t>& v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
    }

    std::vector<std::uint32_t> base_ids(const std::string& piece) const {
        std::vector<std::uint32_t> ids;
        const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
        const auto* end = p + piece.size();
        if (!words_mode_) {
            ids.assign(p, end);
            return ids;
        }
        while (p < end) {
            const CodePoint c = decode_utf8(p, end);
            ids.push_back(char_ids_[c.cp]);
            p += c.len;
        }
        return ids;
    }

    std::uint64_t pop_best() {
        while (!heap_.empty()) {
            const Entry top = heap_.top();
            heap_.pop();
            const auto it = pair_counts_.find(top.key);
            if (it != pair_counts_.end() && it->second == top.count && top.count > 0)
                return top.key;
        }
        return kNoPair;
    }

    void apply_merge(std::uint64_t key) {
        const std::uint32_t a = static_cast<std::uint32_t>(key >> 32);
        const std::uint32_t b = static_cast<std::uint32_t>(key & 0xFFFFFFFFu);
        const std::uint32_t merged = static_cast<std::uint32_t>(tokens_.size());
        const std::uint32_t merge_no = static_cast<std::uint32_t>(merges_.size());
        tokens_.push_back(tokens_[a] + tokens_[b]);
        merges_.push_back(key);

        std::vector<std::uint32_t> touched;
        if (const auto it = where_.find(key); it != where_.end()) {
            touched = std::move(it->second);
            where_.erase(it);
        }
        deltas_.clear();
        for (const std::uint32_t wi : touched) {
            if (stamp_[wi] == merge_no) continue;
            stamp_[wi] = merge_no;
            Word& w = words_[wi];
            auto& ids = w.ids;
            bool present = false;
            for (std::size_t i = 0; i + 1 < ids.size() && !present; ++i)
                present = ids[i] == a && ids[i + 1] == b;
            if (!present) continue;
            for (std::size_t i = 0; i + 1 < ids.size(); ++i)
                deltas_[pair_key(ids[i], ids[i + 1])] -= w.count;
            std::size_t out = 0;
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (i + 1 < ids.size() && ids[i] == a && ids[i + 1] == b) {
                    ids[out++] = merged;
                    ++i;
                } else {
                    ids[out++] = ids[i];
                }
            }
            ids.resize(out);
            for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
                const std::uint64_t k = pair_key(ids[i], ids[i + 1]);
                deltas_[k] += w.count;
                if (ids[i] == merged || ids[i + 1] == merged) {
                    auto& list = where_[k];
                    if (list.empty() || list.back() != wi) list.push_back(wi);
                }
            }
        }
        for (const auto& [k, d] : deltas_) {
            if (d == 0) continue;
            auto it = pair_counts_.find(k);
            if (it == pair_counts_.end()) it = pair_counts_.emplace(k, 0).first;
            it->second += d;
            if (it->second > 0) {
                heap_.push(Entry{it->second, k});
            } else {
                pair_counts_.erase(it);
            }
        }
    }

    Splitter splitter_;
    bool words_mode_;
    std::vector<std::string> specials_;
    std::vector<std::uint32_t> no_merge_;
    std::unordered_map<std::string, std::int64_t, BytesHash> counts_;

    std::vector<std::string> tokens_;
    std::vector<std::uint32_t> char_ids_;
    std::size_t base_size_ = 0;
    std::vector<Word> words_;
    std::vector<std::uint32_t> stamp_;
    std::unordered_map<std::uint64_t, std::int64_t, PairHash> pair_counts_;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>, PairHash> where_;
    std::unordered_map<std::uint64_t, std::int64_t, PairHash> deltas_;
    std::priority_queue<Entry, std::vector<Entry>, EntryLess> heap_{EntryLess{this}};
    std::vector<std::uint64_t> merges_;
};

}  // namespace tgbpe
