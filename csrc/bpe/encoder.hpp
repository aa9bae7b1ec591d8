// Encoding and decoding for both modes: split at special tokens, pre-tokenise, map each piece
// to its base ids (bytes, or characters in words mode) and merge. A per-thread cache maps
// each distinct piece of a call to its ids; batches fan out to std::threads.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
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

enum class UnknownPolicy : int { kError = 0, kSkip = 1, kReplace = 2 };

struct EncodeOptions {
    std::vector<char> allowed_special;  // one flag per special token, in add_special order
    UnknownPolicy unknown = UnknownPolicy::kError;
    std::uint32_t replacement_cp = 0;  // words mode, kReplace: a character of the alphabet
};

inline EncodeOptions make_encode_options(UnknownPolicy unknown, std::uint32_t replacement_cp) {
    EncodeOptions options;
    options.unknown = unknown;
    options.replacement_cp = replacement_cp;
    return options;
}

// The first character outside the words-mode alphabet (lowest text index wins in batches).
struct EncodeError {
    bool failed = false;
    std::size_t text_index = 0;
    std::size_t byte_offset = 0;
    std::uint32_t cp = 0;
};

class Encoder {
public:
    static constexpr std::uint32_t kMissing = 0xFFFFFFFFu;
    static constexpr std::size_t kTextsPerGrab = 8;

    explicit Encoder(Splitter splitter) : splitter_(splitter) { byte_ids_.fill(kMissing); }

    void add_token(std::uint32_t id, const std::string& bytes) {
        if (id >= token_bytes_.size()) token_bytes_.resize(id + 1), token_known_.resize(id + 1, 0);
        token_bytes_[id] = bytes;
        token_known_[id] = 1;
    }
    void add_special(std::uint32_t id, const std::string& bytes) {
        add_token(id, bytes);
        specials_.push_back(bytes);
        special_ids_.push_back(id);
    }
    // An "added token" (Hugging Face's term): it decodes, but text never encodes to it.
    void add_decode_only(std::uint32_t id, const std::string& bytes) {
        add_token(id, bytes);
        decode_only_ids_.push_back(id);
    }
    void add_merge(std::uint32_t a, std::uint32_t b, std::uint32_t rank, std::uint32_t id) {
        rules_.add(a, b, rank, id);
    }
    void set_byte_id(unsigned byte, std::uint32_t id) { byte_ids_[byte & 0xFFu] = id; }
    // Words mode: characters outside the alphabet become their UTF-8 bytes' ids (set_byte_id)
    // instead of being unknown, as SentencePiece's byte fallback does.
    void enable_byte_fallback() { byte_fallback_ = true; }
    void set_char_id(std::uint32_t cp, std::uint32_t id) {
        if (cp >= char_ids_.size()) char_ids_.resize(cp + 1, kMissing);
        char_ids_[cp] = id;
    }
    void add_no_merge(std::uint32_t cp) { no_merge_.push_back(cp); }
    // A piece that is itself a token encodes as that token (tiktoken's shortcut, bytes mode).
    void index_whole_tokens() {
        whole_.clear();
        for (std::size_t id = 0; id < token_bytes_.size(); ++id)
            if (token_known_[id] && !is_special(static_cast<std::uint32_t>(id)) &&
                !contains(decode_only_ids_, static_cast<std::uint32_t>(id)))
                whole_.emplace(std::string_view(token_bytes_[id]), static_cast<std::uint32_t>(id));
    }

    // Bytes mode, tiktoken's rule: a pair merges when its concatenated bytes form a token, at
    // the rank of the merge that made that token, so every split of a merged token is a rule.
    // `targets` are the merges' results in rank order; the base tokens are the set_byte_id ones.
    void add_bytes_rules(const std::vector<std::uint32_t>& targets) {
        std::unordered_map<std::string_view, std::uint32_t> ids;
        for (unsigned b = 0; b < 256; ++b)
            if (byte_ids_[b] != kMissing) ids.emplace(token_bytes_[byte_ids_[b]], byte_ids_[b]);
        std::vector<std::pair<std::uint32_t, std::uint32_t>> ranked;  // (token id, rank)
        for (std::size_t rank = 0; rank < targets.size(); ++rank)
            if (targets[rank] >= token_bytes_.size())
                throw std::out_of_range("merge result id outside the vocabulary");
            else if (ids.emplace(token_bytes_[targets[rank]], targets[rank]).second)
                ranked.emplace_back(targets[rank], static_cast<std::uint32_t>(rank));
        for (const auto& [id, rank] : ranked) {
            const std::string_view token = token_bytes_[id];
            for (std::size_t cut = 1; cut < token.size(); ++cut) {
                const auto left = ids.find(token.substr(0, cut));
                const auto right = ids.find(token.substr(cut));
                if (left != ids.end() && right != ids.end())
                    rules_.add(left->second, right->second, rank, id);
            }
        }
    }

    std::size_t special_count() const { return specials_.size(); }
    // One past the largest token id; every id the encoder emits is below it.
    std::size_t vocab_size() const { return token_bytes_.size(); }
    bool knows_char(std::uint32_t cp) const {
        return cp < char_ids_.size() && char_ids_[cp] != kMissing;
    }
    // Words mode without byte fallback: every character of the text must be in the alphabet.
    bool closed_alphabet() const { return splitter_ == Splitter::kWords && !byte_fallback_; }

    void encode(std::string_view text, const EncodeOptions& options,
                std::vector<std::uint32_t>& out, EncodeError& error) const {
        Worker worker(*this, options);
        worker.encode(text, 0, out, error);
    }

private:
    class Worker;

public:
    // Streaming: each step encodes the longest prefix of `text` whose ids no continuation of
    // the text can change (all of it when `final`) and returns that prefix's length in bytes.
    // `text` must end on a character boundary; the caller keeps the rest and prepends it to
    // what comes next. The piece cache (owning its keys) lasts for the whole stream.
    class Stream {
    public:
        Stream(const Encoder& enc, const EncodeOptions& options);
        std::size_t step(std::string_view text, bool final, std::vector<std::uint32_t>& out,
                         EncodeError& error);

    private:
        EncodeOptions options_;
        std::unique_ptr<Worker> worker_;
    };

    // Encodes every text on up to `num_threads` threads; outs[i] receives texts[i]'s ids.
    void encode_many(const std::vector<std::string_view>& texts, const EncodeOptions& options,
                     int num_threads, std::vector<std::vector<std::uint32_t>>& outs,
                     EncodeError& error) const {
        outs.assign(texts.size(), {});
        const std::size_t threads = std::max<std::size_t>(
            1, std::min<std::size_t>(static_cast<std::size_t>(std::max(num_threads, 1)),
                                     texts.size()));
        std::atomic<std::size_t> next{0};
        std::atomic<bool> stop{false};
        std::mutex error_mutex;
        tinygpt::run_parallel(threads, [&](std::size_t) {
            Worker worker(*this, options);
            EncodeError local;
            // Ids go to a thread-local buffer first: threads writing neighbouring outs[i] headers
            // on every push_back would share cache lines and serialise each other.
            std::vector<std::uint32_t> ids;
            while (!stop.load(std::memory_order_relaxed)) {
                const std::size_t first = next.fetch_add(kTextsPerGrab);
                if (first >= texts.size()) break;
                const std::size_t last = std::min(texts.size(), first + kTextsPerGrab);
                for (std::size_t i = first; i < last; ++i) {
                    ids.clear();
                    worker.encode(texts[i], i, ids, local);
                    if (local.failed) {
                        std::lock_guard<std::mutex> lock(error_mutex);
                        if (!error.failed || local.text_index < error.text_index) error = local;
                        stop = true;
                        return;
                    }
                    outs[i].assign(ids.begin(), ids.end());
                }
            }
        });
    }

    // Appends the bytes of `ids` to `out`; returns false (and the id) on an unknown id.
    bool decode(const std::uint32_t* ids, std::size_t n, std::string& out,
                std::uint32_t& bad_id) const {
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint32_t id = ids[i];
            if (id >= token_bytes_.size() || !token_known_[id]) {
                bad_id = id;
                return false;
            }
            out += token_bytes_[id];
        }
        return true;
    }

private:
    static bool contains(const std::vector<std::uint32_t>& ids, std::uint32_t id) {
        return std::find(ids.begin(), ids.end(), id) != ids.end();
    }
    bool is_special(std::uint32_t id) const { return contains(special_ids_, id); }

    // Per-thread state: the piece cache and scratch buffers.
    class Worker {
    public:
        Worker(const Encoder& enc, const EncodeOptions& options, bool streaming = false)
            : enc_(enc), options_(options), cache_(streaming) {}

        void encode(std::string_view text, std::size_t index, std::vector<std::uint32_t>& out,
                    EncodeError& error) {
            split_specials(
                text, enc_.specials_, options_.allowed_special,
                [&](std::size_t b, std::size_t e) { encode_part(text, b, e, index, out, error); },
                [&](std::size_t i) { out.push_back(enc_.special_ids_[i]); });
        }

        std::size_t encode_prefix(std::string_view text, bool final,
                                  std::vector<std::uint32_t>& out, EncodeError& error) {
            rewritten_.clear();  // streaming: the cache owns its keys, so no view outlives a step
            // A suffix that may grow into a special token is not looked at yet; what precedes
            // it splits at special tokens as the whole text will.
            const std::size_t limit =
                final ? text.size() : text.size() - special_prefix_at_end(text);
            const std::string_view region = text.substr(0, limit);
            std::size_t open_begin = limit;
            split_specials(
                region, enc_.specials_, options_.allowed_special,
                [&](std::size_t b, std::size_t e) {
                    if (e == limit && !final) {
                        open_begin = b;  // ordinary text that more text may continue
                    } else {
                        encode_part(region, b, e, 0, out, error);
                    }
                },
                [&](std::size_t i) { out.push_back(enc_.special_ids_[i]); });
            if (error.failed || open_begin == limit) return limit;
            return open_begin + encode_stable(region, open_begin, out, error);
        }

    private:
        void encode_part(std::string_view text, std::size_t b, std::size_t e, std::size_t index,
                         std::vector<std::uint32_t>& out, EncodeError& error) {
            std::string_view part = text.substr(b, e - b);
            if (error.failed) return;
            if (enc_.closed_alphabet() && !check_alphabet(part, index, b, error)) return;
            encode_ordinary(part, out);
        }

        // Length of the longest suffix of `text` that is a proper prefix of an allowed special.
        std::size_t special_prefix_at_end(std::string_view text) const {
            std::size_t longest = 0;
            for (std::size_t i = 0; i < enc_.specials_.size(); ++i) {
                if (!options_.allowed_special[i]) continue;
                const std::string_view special = enc_.specials_[i];
                for (std::size_t k = std::min(special.size() - 1, text.size()); k > longest; --k)
                    if (text.substr(text.size() - k) == special.substr(0, k)) longest = k;
            }
            return longest;
        }

        // Encodes the first pieces of text[begin:] that no continuation can change; returns
        // their length. Words mode: everything before the last word boundary (merges never
        // cross one). The GPT-2/GPT-4 scanners decide a piece from its own characters plus the
        // next one, except contractions, which look two bytes past the apostrophe: so every
        // piece but the last, and but any that starts within the last two bytes, is final.
        std::size_t encode_stable(std::string_view text, std::size_t begin,
                                  std::vector<std::uint32_t>& out, EncodeError& error) {
            const std::string_view part = text.substr(begin);
            if (enc_.splitter_ == Splitter::kWords) {
                const std::size_t cut = last_word_boundary(part);
                if (cut > 0) encode_part(text, begin, begin + cut, 0, out, error);
                return cut;
            }
            // Each piece is encoded when the next one shows it is not the last.
            std::size_t cut = 0, prev_begin = 0, prev_end = 0;
            bool have_prev = false, stopped = false;
            split_text(enc_.splitter_, part, enc_.no_merge_, [&](std::size_t b, std::size_t e) {
                if (have_prev && !stopped) {
                    if (prev_begin + 2 < part.size()) {
                        encode_piece(part.substr(prev_begin, prev_end - prev_begin), out);
                        cut = prev_end;
                    } else {
                        stopped = true;
                    }
                }
                prev_begin = b, prev_end = e, have_prev = true;
            });
            return cut;
        }

        // Start of the last space or do-not-merge character that the alphabet knows (an
        // unknown one may be skipped or replaced, which would join the words around it); 0 if
        // there is none.
        std::size_t last_word_boundary(std::string_view part) const {
            const auto* begin = reinterpret_cast<const unsigned char*>(part.data());
            for (std::size_t pos = part.size(); pos > 0;) {
                --pos;
                if ((begin[pos] & 0xC0) == 0x80) continue;
                const std::uint32_t cp = decode_utf8(begin + pos, begin + part.size()).cp;
                const bool boundary = cp == ' ' || contains(enc_.no_merge_, cp);
                if (boundary && (enc_.knows_char(cp) || !enc_.closed_alphabet())) return pos;
            }
            return 0;
        }

        void encode_ordinary(std::string_view text, std::vector<std::uint32_t>& out) {
            split_text(enc_.splitter_, text, enc_.no_merge_, [&](std::size_t b, std::size_t e) {
                encode_piece(text.substr(b, e - b), out);
            });
        }

        void encode_piece(std::string_view piece, std::vector<std::uint32_t>& out) {
            const std::uint64_t hash = hash_bytes(piece.data(), piece.size());
            std::uint32_t count = 0;
            if (const std::uint32_t* ids = cache_.find(piece, hash, count)) {
                out.insert(out.end(), ids, ids + count);
                return;
            }
            parts_.clear();
            const auto whole = enc_.whole_.find(piece);
            if (whole != enc_.whole_.end()) {
                parts_.push_back(whole->second);
            } else {
                base_ids(piece);
                enc_.rules_.apply(parts_, scratch_);
            }
            cache_.insert(piece, hash, parts_);
            out.insert(out.end(), parts_.begin(), parts_.end());
        }

        void base_ids(std::string_view piece) {
            const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
            const auto* end = p + piece.size();
            if (enc_.splitter_ != Splitter::kWords) {
                for (; p < end; ++p) parts_.push_back(enc_.byte_ids_[*p]);
                return;
            }
            while (p < end) {
                const CodePoint c = decode_utf8(p, end);
                if (enc_.knows_char(c.cp)) {
                    parts_.push_back(enc_.char_ids_[c.cp]);
                } else {  // only reached with byte fallback: check_alphabet let nothing else
                          // through
                    for (std::uint32_t i = 0; i < c.len; ++i)
                        parts_.push_back(enc_.byte_ids_[p[i]]);
                }
                p += c.len;
            }
        }

        // Words mode: every character must be in the alphabet; with kSkip / kReplace the text is
        // rewritten (and kept alive for the cache's views) as if the character were absent /
        // swapped.
        bool check_alphabet(std::string_view& text, std::size_t index, std::size_t offset,
                            EncodeError& error) {
            const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
            const auto* end = begin + text.size();
            std::string rewritten;
            bool rewriting = false;
            for (const unsigned char* p = begin; p < end;) {
                const CodePoint c = decode_utf8(p, end);
                const bool known = enc_.knows_char(c.cp);
                const bool replaceable = options_.unknown == UnknownPolicy::kSkip ||
                                         (options_.unknown == UnknownPolicy::kReplace &&
                                          enc_.knows_char(options_.replacement_cp));
                if (!known && !replaceable) {
                    error = EncodeError{true, index, offset + static_cast<std::size_t>(p - begin),
                                        c.cp};
                    return false;
                }
                if (!known && !rewriting) {
                    rewriting = true;
                    rewritten.assign(text.data(), static_cast<std::size_t>(p - begin));
                }
                if (!known && options_.unknown == UnknownPolicy::kReplace)
                    append_utf8(rewritten, options_.replacement_cp);
                if (known && rewriting) rewritten.append(reinterpret_cast<const char*>(p), c.len);
                p += c.len;
            }
            if (rewriting) text = rewritten_.emplace_back(std::move(rewritten));
            return true;
        }

        const Encoder& enc_;
        const EncodeOptions& options_;
        PieceCache cache_;
        std::vector<std::uint32_t> parts_, scratch_;
        // Rewritten texts outlive the call's cache entries; a deque never moves its elements.
        std::deque<std::string> rewritten_;
    };

    Splitter splitter_;
    std::vector<std::string> token_bytes_;
    std::vector<char> token_known_;
    std::vector<std::string> specials_;
    std::vector<std::uint32_t> special_ids_;
    std::vector<std::uint32_t> decode_only_ids_;
    bool byte_fallback_ = false;
    std::array<std::uint32_t, 256> byte_ids_{};
    std::vector<std::uint32_t> char_ids_;
    std::vector<std::uint32_t> no_merge_;
    MergeRules rules_;
    std::unordered_map<std::string_view, std::uint32_t> whole_;
};

inline Encoder::Stream::Stream(const Encoder& enc, const EncodeOptions& options)
    : options_(options), worker_(std::make_unique<Worker>(enc, options_, true)) {}

inline std::size_t Encoder::Stream::step(std::string_view text, bool final,
                                         std::vector<std::uint32_t>& out, EncodeError& error) {
    return worker_->encode_prefix(text, final, out, error);
}

}  // namespace tgbpe
