"""`tinygpt tokenize` end to end against the same job done with tiktoken.

Peer: read the corpus with the same reader, ``tiktoken.Encoding.encode_ordinary_batch`` (GPT-2
vocabulary and pattern, 2 threads) in batches, prepend the end-of-text token to every
document, hold out the last 10 % of documents, and write llm.c shards with numpy. Ours:
``tokenize_corpus`` with the same GPT-2 vocabulary (``BPETokenizer.from_vocab_merges``), 2
threads, which also writes manifest.json and tokenizer.ron. Both produce the same token ids.

Quick mode: the 4.4 MB TinyStories sample (the slice in tests/fixtures in a clone without it). ``TINYGPT_BENCH_FULL=1`` adds a >= 1 GB corpus (the
sample repeated, shuffled) through the CLI in a subprocess: MB/s and peak RSS, and the peer on
the same file.
"""

from __future__ import annotations

import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import tiktoken
from timing import best_seconds, run_cli

from tinygpt import BPETokenizer
from tinygpt.data import read_manifest, tokenize_corpus
from tinygpt.data.shards import encode_header
from tinygpt.data.sources import open_corpus
from tinygpt.tokenizer import GPT2_PATTERN, read_gpt2_vocab_merges

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
THREADS = 2
PEER_BATCH_DOCUMENTS = 8192
FULL_BYTES = 1 << 30


@pytest.fixture(scope="module")
def gpt2(gpt2_dir) -> tuple[BPETokenizer, tiktoken.Encoding]:
    vocab, merges = read_gpt2_vocab_merges(gpt2_dir)
    ours = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=["<|endoftext|>"])
    ranks = {token: index for index, token in vocab.items() if index != ours.eot_id}
    peer = tiktoken.Encoding(
        name="gpt2-local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": ours.eot_id}
    )
    return ours, peer


def tiktoken_job(source: Path, encoding: tiktoken.Encoding, out_dir: Path) -> None:
    """The peer: count, then encode in batches, and write one llm.c shard per split."""
    corpus = open_corpus(source)
    train_documents = math.floor(sum(1 for _ in corpus) * 0.9)
    out_dir.mkdir(parents=True)
    files = {name: open(out_dir / f"{name}_000000.bin", "wb") for name in ("train", "val")}
    counts = dict.fromkeys(files, 0)
    for handle in files.values():
        handle.write(bytes(1024))
    seen = 0
    for batch in corpus.iter_batches(PEER_BATCH_DOCUMENTS):
        rows = encoding.encode_ordinary_batch(batch, num_threads=THREADS)
        for row in rows:
            name = "train" if seen < train_documents else "val"
            seen += 1
            tokens = np.empty(len(row) + 1, dtype=np.uint16)
            tokens[0], tokens[1:] = encoding.eot_token, row
            files[name].write(tokens.tobytes())
            counts[name] += tokens.size
    for name, handle in files.items():
        handle.seek(0)
        handle.write(encode_header(np.uint16, counts[name]))
        handle.close()


class WithoutTokenizerFile:
    """Our tokenizer with ``save`` a no-op: times the encode-and-write pipeline alone, apart
    from the fixed cost of serialising a 50,000-merge tokenizer.ron."""

    def __init__(self, tokenizer: BPETokenizer) -> None:
        self.vocab_size, self.eot_id = tokenizer.vocab_size, tokenizer.eot_id
        self.fingerprint, self.encode_to_array = tokenizer.fingerprint, tokenizer.encode_to_array
        self.encode_arrow = tokenizer.encode_arrow
        self.mode, self.byte_fallback = tokenizer.mode, tokenizer.byte_fallback

    def save(self, path: Path) -> None:
        pass


def test_tokenize_vs_tiktoken_on_the_tinystories_sample(benchmark, gpt2, tinystories_txt, tmp_path):
    ours_tokenizer, peer_encoding = gpt2
    megabytes = sum(len(t.encode()) for t in open_corpus(tinystories_txt)) / 1e6
    runs = iter(range(1000))

    def ours() -> None:
        tokenize_corpus(
            tinystories_txt, ours_tokenizer, tmp_path / f"ours{next(runs)}", num_threads=THREADS, show_progress=False
        )

    def peer() -> None:
        tiktoken_job(tinystories_txt, peer_encoding, tmp_path / f"peer{next(runs)}")

    def shards_only() -> None:
        tokenize_corpus(
            tinystories_txt,
            WithoutTokenizerFile(ours_tokenizer),
            tmp_path / f"bare{next(runs)}",
            num_threads=THREADS,
            show_progress=False,
        )

    rounds = 5 if FULL else 1
    ours_s, peer_s = best_seconds(ours, rounds), best_seconds(peer, rounds)
    bare_s = best_seconds(shards_only, rounds)
    save_s = best_seconds(lambda: ours_tokenizer.save(tmp_path / "gpt2.ron"), rounds)
    ours_dir = next(p for p in tmp_path.iterdir() if p.name.startswith("ours"))
    peer_dir = next(p for p in tmp_path.iterdir() if p.name.startswith("peer"))
    for split in ("train", "val"):  # the same job: byte-identical shards
        assert (ours_dir / f"{split}_000000.bin").read_bytes() == (peer_dir / f"{split}_000000.bin").read_bytes()
    ratio = peer_s / ours_s
    benchmark.extra_info.update(
        {
            "ours_s": ours_s,
            "peer_s": peer_s,
            "speed_ratio_vs_peer": ratio,
            "input_mb": megabytes,
            "tokenizer_save_s": save_s,
            "ours_without_tokenizer_file_s": bare_s,
            "speed_ratio_without_tokenizer_file": peer_s / bare_s,
        }
    )
    print(
        f"\ntokenize {megabytes:.2f} MB: ours {ours_s:.3f} s ({megabytes / ours_s:.1f} MB/s; writing "
        f"tokenizer.ron alone takes {save_s:.3f} s), tiktoken job {peer_s:.3f} s "
        f"({megabytes / peer_s:.1f} MB/s), ratio {ratio:.2f}x; without writing tokenizer.ron "
        f"{bare_s:.3f} s, ratio {peer_s / bare_s:.2f}x"
    )
    benchmark.pedantic(ours, rounds=1, iterations=1)


@pytest.fixture(scope="module")
def big_corpus(tinystories_txt, tmp_path_factory) -> Path:
    """>= 1 GiB of TinyStories text: the sample repeated, each copy shuffled."""
    stories = list(open_corpus(tinystories_txt))
    path = tmp_path_factory.mktemp("big") / "stories.txt"
    rng, written = random.Random(0), 0
    with path.open("w", encoding="utf-8") as handle:
        while written < FULL_BYTES:
            rng.shuffle(stories)
            text = "\n<|endoftext|>\n".join(stories) + "\n<|endoftext|>\n"
            written += handle.write(text)
    return path


@pytest.mark.skipif(not FULL, reason="the >= 1 GB corpus runs only with TINYGPT_BENCH_FULL=1")
def test_tokenize_cli_on_a_gigabyte_corpus(benchmark, gpt2, big_corpus, tmp_path):
    """`tinygpt tokenize` in a subprocess: end-to-end MB/s and peak RSS (target < 1 GB)."""
    ours_tokenizer, peer_encoding = gpt2
    ours_tokenizer.save(tmp_path / "gpt2.ron")
    out = tmp_path / "shards"
    ours_s, peak_mb, stdout = run_cli(
        [
            "tokenize",
            "--data",
            str(big_corpus),
            "--tokenizer",
            str(tmp_path / "gpt2.ron"),
            "--out",
            str(out),
            "--threads",
            str(THREADS),
            "--no-progress",
        ]
    )
    megabytes = read_manifest(out).splits["train"].text_bytes / 1e6 + read_manifest(out).splits["val"].text_bytes / 1e6
    shutil.rmtree(out)
    peer_s = best_seconds(lambda: tiktoken_job(big_corpus, peer_encoding, tmp_path / "peer"), 1)
    ratio = peer_s / ours_s
    benchmark.extra_info.update(
        {
            "ours_s": ours_s,
            "peer_s": peer_s,
            "speed_ratio_vs_peer": ratio,
            "input_mb": megabytes,
            "peak_rss_mb": peak_mb,
        }
    )
    print(
        f"\ntokenize CLI {megabytes:,.0f} MB: ours {ours_s:.1f} s ({megabytes / ours_s:.1f} MB/s), "
        f"peak RSS {peak_mb:,.0f} MB; tiktoken job {peer_s:.1f} s ({megabytes / peer_s:.1f} MB/s); "
        f"ratio {ratio:.2f}x"
    )
    print(stdout)
    assert peak_mb < 1024
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
