"""Corpus streaming and RON parsing, each against the obvious peer in the same run.

- ``.txt``: ``open_corpus`` (streamed in chunks) vs reading the whole file and splitting it;
- ``.parquet``: ``open_corpus`` (record batches) vs ``pyarrow.parquet.read_table`` + ``to_pylist``;
- gpt-rs dataset file: ``tinygpt.ron.loads`` (pure Python) vs ``json.loads`` (C) of the same data.

Quick mode uses ../shared/data's 4.4 MB sample (the 307-story slice in tests/fixtures in a clone
without it); ``TINYGPT_BENCH_FULL=1`` repeats the full sample (shuffled) to ~256 MB.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from timing import best_seconds

from tinygpt import ron
from tinygpt.data.sources import open_corpus

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
FULL_BYTES = 256 << 20


def report(benchmark, name: str, ours: float, peer: float, megabytes: float) -> None:
    ratio = peer / ours
    benchmark.extra_info.update({"ours_s": ours, "peer_s": peer, "speed_ratio_vs_peer": ratio, "input_mb": megabytes})
    print(
        f"\n{name}: ours {ours:.3f} s ({megabytes / ours:.0f} MB/s), peer {peer:.3f} s, "
        f"ours/peer speed {ratio:.2f}x on {megabytes:.1f} MB"
    )


@pytest.fixture(scope="module")
def stories(tinystories_txt: Path, tmp_path_factory) -> list[str]:
    texts = list(open_corpus(tinystories_txt))
    if not FULL:
        return texts
    rng, out, size = random.Random(0), [], 0
    while size < FULL_BYTES:
        rng.shuffle(texts)
        out.extend(texts)
        size += sum(len(t) for t in texts)
    return out


@pytest.fixture(scope="module")
def corpus_files(stories: list[str], tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    txt = folder / "stories.txt"
    txt.write_text("\n<|endoftext|>\n".join(stories) + "\n", encoding="utf-8")
    parquet = folder / "stories.parquet"
    pq.write_table(pa.table({"text": stories}), parquet)
    return txt, parquet


def test_txt_streaming_vs_read_and_split(benchmark, corpus_files):
    txt, _ = corpus_files
    rounds = 1 if FULL else 3

    def ours() -> int:
        return sum(1 for _ in open_corpus(txt))

    def peer() -> int:
        return len(txt.read_text(encoding="utf-8").split("\n<|endoftext|>\n"))

    assert ours() == peer()
    report(benchmark, "txt", best_seconds(ours, rounds), best_seconds(peer, rounds), txt.stat().st_size / 1e6)
    benchmark.pedantic(ours, rounds=1, iterations=1)


def test_parquet_batches_vs_read_table(benchmark, corpus_files, stories):
    _, parquet = corpus_files
    rounds = 1 if FULL else 3

    def ours() -> int:
        return sum(1 for _ in open_corpus(parquet))

    def peer() -> int:
        return len(pq.read_table(parquet).column(0).to_pylist())

    assert ours() == peer()
    text_mb = sum(len(story.encode("utf-8")) for story in stories) / 1e6
    report(benchmark, "parquet", best_seconds(ours, rounds), best_seconds(peer, rounds), text_mb)
    benchmark.pedantic(ours, rounds=1, iterations=1)


def test_gptrs_dataset_ron_vs_json(benchmark, stories):
    sample = stories[: 20_000 if FULL else 2_000]
    alphabet = sorted(set("".join(sample)))
    ids = {char: token for token, char in enumerate(alphabet)}
    encoded = [[ids[char] for char in story] for story in sample]
    dataset = {
        "char_to_id": ron.RonMap({ron.Char(c): i for c, i in ids.items()}),
        "id_to_char": ron.RonMap({i: ron.Char(c) for c, i in ids.items()}),
        "mergings": [],
        "encoded_data": encoded,
    }
    text = ron.dumps(dataset, pretty=False)
    as_json = json.dumps({"char_to_id": ids, "id_to_char": alphabet, "mergings": [], "encoded_data": encoded})
    assert ron.loads(text)["encoded_data"] == json.loads(as_json)["encoded_data"]
    rounds = 1 if FULL else 3
    report(
        benchmark,
        "gpt-rs dataset parse",
        best_seconds(lambda: ron.loads(text), rounds),
        best_seconds(lambda: json.loads(as_json), rounds),
        len(text.encode()) / 1e6,
    )
    benchmark.pedantic(lambda: ron.loads(text), rounds=1, iterations=1)
