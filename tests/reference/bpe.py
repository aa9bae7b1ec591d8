"""Readable pure-Python references for the compiled BPE: the naive algorithms, recounting
everything for every merge, exactly as the rules are written (DESIGN §1 and §5)."""

from __future__ import annotations

from collections import Counter

import regex


def merge_pair(seq: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``seq``, left to right."""
    out, i = [], 0
    while i < len(seq):
        if i + 1 < len(seq) and (seq[i], seq[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(seq[i])
            i += 1
    return out


def naive_words_train(
    stories: list[str], vocab_size: int, do_not_merge: tuple[str, ...] = ('"', "\n")
) -> tuple[list[str], list[tuple[int, int]]]:
    """gpt-rs's algorithm: alphabet in code-point order, then the most frequent allowed pair
    over all stories (never across stories), ties to the greatest (first_id, second_id)."""
    alphabet = sorted(set("".join(stories)))
    if len(alphabet) > vocab_size:
        raise ValueError("alphabet larger than vocab_size")
    char_id = {c: i for i, c in enumerate(alphabet)}
    tokens = list(alphabet)
    seqs = [[char_id[c] for c in story] for story in stories]
    merges: list[tuple[int, int]] = []
    while len(tokens) < vocab_size:
        counts: Counter[tuple[int, int]] = Counter()
        for seq in seqs:
            for a, b in zip(seq, seq[1:]):
                if tokens[b].startswith(" "):
                    continue
                if any(c in tokens[a] or c in tokens[b] for c in do_not_merge):
                    continue
                counts[(a, b)] += 1
        if not counts:
            break
        best = max(counts, key=lambda pair: (counts[pair], pair))
        new_id = len(tokens)
        tokens.append(tokens[best[0]] + tokens[best[1]])
        merges.append(best)
        seqs = [merge_pair(seq, best, new_id) for seq in seqs]
    return alphabet, merges


def naive_words_encode(text: str, alphabet: list[str], merges: list[tuple[int, int]]) -> list[int]:
    """Apply the merges in order to the whole text (no chunking)."""
    char_id = {c: i for i, c in enumerate(alphabet)}
    seq = [char_id[c] for c in text]
    for k, pair in enumerate(merges):
        seq = merge_pair(seq, pair, len(alphabet) + k)
    return seq


def naive_bytes_train(
    texts: list[str], num_merges: int, pattern: str, specials: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    """Byte-level BPE: split at special tokens, then by the regex; most frequent pair wins,
    ties to the lexicographically greatest (bytes, bytes) pair."""
    compiled = regex.compile(pattern)
    pieces: Counter[bytes] = Counter()
    for text in texts:
        segments = regex.split("|".join(regex.escape(s) for s in specials), text) if specials else [text]
        for segment in segments:
            pieces.update(p.encode("utf-8") for p in compiled.findall(segment))
    tokens = [bytes([b]) for b in range(256)]
    words = {piece: list(piece) for piece in pieces}
    merges: list[tuple[bytes, bytes]] = []
    for _ in range(num_merges):
        counts: Counter[tuple[int, int]] = Counter()
        for piece, seq in words.items():
            for pair in zip(seq, seq[1:]):
                counts[pair] += pieces[piece]
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], tokens[p[0]], tokens[p[1]]))
        tokens.append(tokens[best[0]] + tokens[best[1]])
        merges.append((tokens[best[0]], tokens[best[1]]))
        words = {piece: merge_pair(seq, best, len(tokens) - 1) for piece, seq in words.items()}
    return merges
