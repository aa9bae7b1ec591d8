"""Streaming encoding: ``encode_iterable`` over the text in pieces, and ``encode_file``, against
``encode`` of the whole text in memory (target: >= 0.8x its MB/s), one thread each, same run.

Text: the TinyStories sample and GPT-2's vocabulary (the slice shipped in tests/fixtures in a
fresh clone, ../shared/data's full copies for the figures). Chunkings: the text's lines (small pieces, gathered
into blocks before each compiled step) and 1 MiB blocks. Ratios: encode time / streaming time
(> 1: streaming is faster).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from timing import best_seconds

from tinygpt import BPETokenizer
from tinygpt.tokenizer import read_gpt2_vocab_merges

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
ROUNDS = 5 if FULL else 1
# TINYGPT_BENCH_CLOCK=cpu: this thread's CPU seconds instead of wall-clock ones (all calls run on
# the calling thread), which other jobs on a shared machine disturb far less.
CLOCK = time.thread_time if os.environ.get("TINYGPT_BENCH_CLOCK") == "cpu" else time.perf_counter


@pytest.fixture(scope="module")
def text_and_tokenizer(tinystories_txt: Path, gpt2_dir: Path) -> tuple[str, BPETokenizer]:
    text = tinystories_txt.read_text(encoding="utf-8")
    return text, BPETokenizer.from_vocab_merges(*read_gpt2_vocab_merges(gpt2_dir))


def test_encode_iterable_and_encode_file_vs_encode(benchmark, text_and_tokenizer, tmp_path):
    text, tok = text_and_tokenizer
    mb = len(text.encode("utf-8")) / 1e6
    lines = text.splitlines(keepends=True)
    blocks = [text[i : i + (1 << 20)] for i in range(0, len(text), 1 << 20)]
    path = tmp_path / "text.txt"
    path.write_text(text, encoding="utf-8", newline="")
    whole = tok.encode(text)
    assert list(tok.encode_iterable(lines)) == whole
    assert list(tok.encode_iterable(blocks)) == whole
    assert list(tok.encode_file(path)) == whole

    t_whole = best_seconds(lambda: tok.encode(text), ROUNDS, CLOCK)
    t_lines = best_seconds(lambda: list(tok.encode_iterable(lines)), ROUNDS, CLOCK)
    t_blocks = best_seconds(lambda: list(tok.encode_iterable(blocks)), ROUNDS, CLOCK)
    t_file = best_seconds(lambda: list(tok.encode_file(path)), ROUNDS, CLOCK)
    figures = {
        "encode_mb_s": round(mb / t_whole, 1),
        "iterable_lines_mb_s": round(mb / t_lines, 1),
        "iterable_1mib_mb_s": round(mb / t_blocks, 1),
        "encode_file_mb_s": round(mb / t_file, 1),
        "ratio_lines": round(t_whole / t_lines, 2),
        "ratio_1mib": round(t_whole / t_blocks, 2),
        "ratio_file": round(t_whole / t_file, 2),
        "text_mb": round(mb, 2),
        "lines": len(lines),
        "clock": "thread CPU" if CLOCK is time.thread_time else "wall",
    }
    benchmark.extra_info.update(figures)
    print("\nstreaming vs encode of the whole text (1 thread): " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    benchmark.pedantic(lambda: list(tok.encode_iterable(lines)), rounds=1, iterations=1)
