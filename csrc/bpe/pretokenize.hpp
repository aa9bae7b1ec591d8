// Hand-written pre-tokenisers: the GPT-2 and GPT-4 (cl100k) regexes as scanners over UTF-8,
// plus the words-mode chunker. Each calls emit(begin, end) with byte offsets of one piece.
//
// GPT-2 (tiktoken r50k):
//   '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
// GPT-4 (tiktoken cl100k):
//   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
//   |\s++$|\s*[\r\n]|\s+(?!\S)|\s
// The scanners try the alternatives in the regex's order at every position, so they yield
// exactly the regex's leftmost-first matches (the patterns match every character).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unicode_tables.hpp"

namespace tgbpe {

enum class Splitter : int { kGpt2 = 0, kGpt4 = 1, kWords = 2, kWhole = 3 };

// Character kinds as the patterns see them; exactly one applies to every code point.
enum Kind : std::uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 4 };

inline Kind kind_of(std::uint32_t cp) {
    if (cp > 0x10FFFF) return kOther;
    return static_cast<Kind>(unicode::kStage2[unicode::kStage1[cp >> 8] * 256u + (cp & 0xFFu)]);
}

// One decoded code point: its value and its length in bytes. Invalid or truncated sequences
// decode as one byte of U+FFFD (kind "other"), so a scanner always advances.
struct CodePoint {
    std::uint32_t cp;
    std::uint32_t len;
};

inline CodePoint decode_utf8(const unsigned char* p, const unsigned char* end) {
    const std::uint32_t c = p[0];
    if (c < 0x80) return {c, 1};
    const std::ptrdiff_t avail = end - p;
    if (c >= 0xC2 && c < 0xE0 && avail >= 2 && (p[1] & 0xC0) == 0x80)
        return {((c & 0x1Fu) << 6) | (p[1] & 0x3Fu), 2};
    if (c >= 0xE0 && c < 0xF0 && avail >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
        return {((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu), 3};
    if (c >= 0xF0 && c < 0xF5 && avail >= 4 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
        (p[3] & 0xC0) == 0x80)
        return {
            ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu),
            4};
    return {0xFFFD, 1};
}

inline void append_utf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
        s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        s += static_cast<char>(0xE0 | (cp >> 12));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (cp >> 18));
        s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

constexpr Kind ascii_kind(unsigned c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return kLetter;
    if (c >= '0' && c <= '9') return kNumber;
    if (c == ' ' || (c >= 9 && c <= 13)) return kSpace;
    return kOther;
}

struct AsciiKinds {
    Kind k[128];
    constexpr AsciiKinds() : k() {
        for (unsigned c = 0; c < 128; ++c) k[c] = ascii_kind(c);
    }
    constexpr Kind operator[](unsigned c) const { return k[c]; }
};
inline constexpr AsciiKinds kAscii{};

// A cursor over UTF-8 text with the helpers both scanners share.
class Scanner {
public:
    explicit Scanner(std::string_view text)
        : begin_(reinterpret_cast<const unsigned char*>(text.data())), end_(begin_ + text.size()) {}

    std::size_t size() const { return static_cast<std::size_t>(end_ - begin_); }
    bool at_end(std::size_t pos) const { return pos >= size(); }
    unsigned char byte(std::size_t pos) const { return pos < size() ? begin_[pos] : 0; }
    CodePoint at(std::size_t pos) const { return decode_utf8(begin_ + pos, end_); }
    Kind kind_at(std::size_t pos) const {
        const unsigned char c = begin_[pos];
        if (c < 0x80) return kAscii[c];
        return kind_of(at(pos).cp);
    }

    // End of the run of characters of kind `kind` starting at pos.
    std::size_t run_of(std::size_t pos, Kind kind) const {
        while (!at_end(pos)) {
            const unsigned char c = begin_[pos];
            if (c < 0x80) {
                if (kAscii[c] != kind) break;
                ++pos;
                continue;
            }
            const CodePoint cp = at(pos);
            if (kind_of(cp.cp) != kind) break;
            pos += cp.len;
        }
        return pos;
    }

    // Start of the last character before `end` (which is > pos); text is UTF-8.
    std::size_t last_char_start(std::size_t end) const {
        std::size_t p = end - 1;
        while (p > 0 && (begin_[p] & 0xC0) == 0x80 && end - p < 4) --p;
        return p;
    }

    // Length of a contraction at pos (0 if none). `fold_case` is GPT-4's (?i:...), under which
    // 's' also matches U+017F LATIN SMALL LETTER LONG S (simple case folding).
    std::size_t contraction(std::size_t pos, bool fold_case) const {
        if (byte(pos) != '\'') return 0;
        auto low = [&](std::size_t p) -> unsigned char {
            const unsigned char c = byte(p);
            return fold_case && c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c;
        };
        const unsigned char c1 = low(pos + 1);
        if (c1 == 's' || c1 == 'd' || c1 == 'm' || c1 == 't') return 2;
        if (fold_case && byte(pos + 1) == 0xC5 && byte(pos + 2) == 0xBF) return 3;
        const unsigned char c2 = low(pos + 2);
        if ((c1 == 'l' && c2 == 'l') || (c1 == 'v' && c2 == 'e') || (c1 == 'r' && c2 == 'e'))
            return 3;
        return 0;
    }

private:
    const unsigned char* begin_;
    const unsigned char* end_;
};

// `\s++$|\s+(?!\S)|\s` at a whitespace character: the whole run when it reaches the end of the
// text, otherwise the run minus its last character (which then prefixes the next piece), or a
// single character when the run is one character long.
inline std::size_t whitespace_piece_end(const Scanner& s, std::size_t pos) {
    const std::size_t run_end = s.run_of(pos, kSpace);
    if (s.at_end(run_end)) return run_end;
    const std::size_t last = s.last_char_start(run_end);
    return last > pos ? last : run_end;
}

template <class Emit>
void split_gpt2(std::string_view text, Emit&& emit) {
    const Scanner s(text);
    std::size_t pos = 0;
    while (!s.at_end(pos)) {
        std::size_t end;
        if (const std::size_t n = s.contraction(pos, false)) {
            end = pos + n;
        } else {
            const Kind k0 = s.kind_at(pos);
            if (k0 != kSpace) {
                end = s.run_of(pos, k0);
            } else if (s.byte(pos) == ' ' && !s.at_end(pos + 1) && s.kind_at(pos + 1) != kSpace) {
                end = s.run_of(pos + 1, s.kind_at(pos + 1));
            } else {
                end = whitespace_piece_end(s, pos);
            }
        }
        emit(pos, end);
        pos = end;
    }
}

inline std::size_t skip_newlines(const Scanner& s, std::size_t pos) {
    while (s.byte(pos) == '\r' || s.byte(pos) == '\n') ++pos;
    return pos;
}

template <class Emit>
void split_gpt4(std::string_view text, Emit&& emit) {
    const Scanner s(text);
    std::size_t pos = 0;
    while (!s.at_end(pos)) {
        std::size_t end = 0;
        const CodePoint c0 = s.at(pos);
        const Kind k0 = s.kind_at(pos);
        const bool has_next = !s.at_end(pos + c0.len);
        const Kind k1 = has_next ? s.kind_at(pos + c0.len) : kOther;
        if (const std::size_t n = s.contraction(pos, true)) {
            end = pos + n;
        } else if (k0 == kLetter) {
            end = s.run_of(pos, kLetter);
        } else if (k0 != kNumber && c0.cp != '\r' && c0.cp != '\n' && has_next && k1 == kLetter) {
            end = s.run_of(pos + c0.len, kLetter);
        } else if (k0 == kNumber) {
            end = pos;
            for (int i = 0; i < 3 && !s.at_end(end) && s.kind_at(end) == kNumber; ++i)
                end += s.at(end).len;
        } else if (k0 == kOther) {
            end = skip_newlines(s, s.run_of(pos, kOther));
        } else if (c0.cp == ' ' && has_next && k1 == kOther) {
            end = skip_newlines(s, s.run_of(pos + 1, kOther));
        } else {
            // \s++$ | \s*[\r\n] | \s+(?!\S) | \s
            const std::size_t run_end = s.run_of(pos, kSpace);
            if (s.at_end(run_end)) {
                end = run_end;
            } else {
                std::size_t newline_end = 0;
                for (std::size_t p = pos; p < run_end; p += s.at(p).len)
                    if (s.byte(p) == '\r' || s.byte(p) == '\n') newline_end = p + 1;
                end = newline_end ? newline_end : whitespace_piece_end(s, pos);
            }
        }
        emit(pos, end);
        pos = end;
    }
}

// Words mode (gpt-rs): a merge never crosses a word boundary, and a do-not-merge character
// never merges at all, so a text splits into chunks that start before every space and that
// isolate every do-not-merge character. BPE inside the chunks equals BPE on the whole text.
template <class Emit>
void split_words(std::string_view text, const std::vector<std::uint32_t>& no_merge, Emit&& emit) {
    const Scanner s(text);
    std::size_t start = 0, pos = 0;
    auto is_no_merge = [&](std::uint32_t cp) {
        for (std::uint32_t x : no_merge)
            if (x == cp) return true;
        return false;
    };
    while (!s.at_end(pos)) {
        const CodePoint c = s.at(pos);
        const bool isolated = is_no_merge(c.cp);
        if ((c.cp == ' ' || isolated) && pos > start) {
            emit(start, pos);
            start = pos;
        }
        pos += c.len;
        if (isolated) {
            emit(start, pos);
            start = pos;
        }
    }
    if (pos > start) emit(start, pos);
}

template <class Emit>
void split_text(Splitter splitter, std::string_view text,
                const std::vector<std::uint32_t>& no_merge, Emit&& emit) {
    switch (splitter) {
        case Splitter::kGpt2:
            split_gpt2(text, emit);
            break;
        case Splitter::kGpt4:
            split_gpt4(text, emit);
            break;
        case Splitter::kWords:
            split_words(text, no_merge, emit);
            break;
        case Splitter::kWhole:
            if (!text.empty()) emit(std::size_t{0}, text.size());
            break;
    }
}

// The pieces of `text`, as copies (for tests and inspection; encoding uses split_text).
inline std::vector<std::string> split_pieces(Splitter splitter, std::string_view text,
                                             const std::vector<std::uint32_t>& no_merge) {
    std::vector<std::string> pieces;
    split_text(splitter, text, no_merge,
               [&](std::size_t b, std::size_t e) { pieces.emplace_back(text.substr(b, e - b)); });
    return pieces;
}

// Split `text` at the given special tokens (leftmost match, longest on ties); calls
// on_text(begin, end) for ordinary stretches and on_special(index) for each special token.
template <class OnText, class OnSpecial>
void split_specials(std::string_view text, const std::vector<std::string>& specials,
                    const std::vector<char>& allowed, OnText&& on_text, OnSpecial&& on_special) {
    constexpr std::size_t npos = std::string_view::npos;
    // Next occurrence of each special at or after `pos`, found lazily so that every special is
    // searched for once per occurrence rather than once per split.
    std::vector<std::size_t> next(specials.size(), npos);
    for (std::size_t i = 0; i < specials.size(); ++i)
        if (allowed[i] && !specials[i].empty()) next[i] = text.find(specials[i]);
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t best_at = npos, best_len = 0;
        for (std::size_t i = 0; i < specials.size(); ++i) {
            if (next[i] != npos && next[i] < pos) next[i] = text.find(specials[i], pos);
            if (next[i] == npos) continue;
            if (next[i] < best_at || (next[i] == best_at && specials[i].size() > best_len)) {
                best_at = next[i];
                best_len = specials[i].size();
            }
        }
        if (best_at == npos) break;
        std::size_t best = 0;
        for (std::size_t i = 0; i < specials.size(); ++i)
            if (allowed[i] && next[i] == best_at && specials[i].size() == best_len) best = i;
        if (best_at > pos) on_text(pos, best_at);
        on_special(best);
        pos = best_at + best_len;
    }
    if (pos < text.size()) on_text(pos, text.size());
}

}  // namespace tgbpe
