"""BPE encoding and training against tiktoken, rustbpe and HF tokenizers, in the same run.

- encoding, GPT-2 vocabulary: ``encode`` (1 thread) and ``encode_batch`` (2 threads) against
  tiktoken's ``encode_ordinary`` on one thread, on ../shared/data's TinyStories text (in a clone
  without it, quick mode runs on the slice in tests/fixtures, with GPT-2's first 5,000 merges);
- training, bytes mode, GPT-2 pattern, vocab 8,192 (4,096 on the slice): against rustbpe and HF
  tokenizers;
- training, words mode, vocab 2,048 on the whole sample; the naive gpt-rs algorithm (the test
  reference) runs on a subset, and both are timed on that subset for the speed-up;
- ``TINYGPT_BENCH_FULL=1``: training on a >= 1 GB ``.txt`` streamed from disk, peak RSS
  measured in a child process.

Ratios are peer time / our time (> 1: we are faster).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from timing import best_seconds

from tests.reference.bpe import naive_words_train
from tinygpt.data.sources import open_corpus
from tinygpt.tokenizer import GPT2_PATTERN, BPETokenizer, read_gpt2_vocab_merges

FULL = os.environ.get("TINYGPT_BENCH_FULL") == "1"
ENDOFTEXT = "<|endoftext|>"
ROUNDS = 5 if FULL else 2


def report(benchmark, name: str, ours: float, peer: float, peer_name: str, **extra) -> float:
    ratio = peer / ours
    benchmark.extra_info.update(
        {"ours_s": ours, "peer": peer_name, "peer_s": peer, "speed_ratio_vs_peer": ratio, **extra}
    )
    details = "".join(f", {k} {v}" for k, v in extra.items())
    print(f"\n{name}: ours {ours:.3f} s, {peer_name} {peer:.3f} s, ratio {ratio:.2f}x{details}")
    return ratio


@pytest.fixture(scope="module")
def stories(tinystories_txt: Path) -> list[str]:
    return list(open_corpus(tinystories_txt))


@pytest.fixture(scope="module")
def gpt2_pair(gpt2_dir: Path):
    tiktoken = pytest.importorskip("tiktoken")
    vocab, merges = read_gpt2_vocab_merges(gpt2_dir)
    ours = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=[ENDOFTEXT])
    ranks = {token: i for i, token in vocab.items() if i != ours.eot_id}
    theirs = tiktoken.Encoding(
        name="gpt2-local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: ours.eot_id}
    )
    return ours, theirs


def test_encode_one_thread_vs_tiktoken(benchmark, gpt2_pair, tinystories_txt):
    ours, theirs = gpt2_pair
    text = tinystories_txt.read_text(encoding="utf-8")
    mb = len(text.encode("utf-8")) / 1e6
    assert ours.encode(text, allowed_special="none") == theirs.encode_ordinary(text)
    t_ours = best_seconds(lambda: ours.encode(text, allowed_special="none"), ROUNDS)
    t_peer = best_seconds(lambda: theirs.encode_ordinary(text), ROUNDS)
    report(
        benchmark,
        "encode, 1 thread",
        t_ours,
        t_peer,
        "tiktoken encode_ordinary 1 thread",
        ours_mb_s=round(mb / t_ours, 1),
        peer_mb_s=round(mb / t_peer, 1),
    )
    benchmark.pedantic(lambda: ours.encode(text, allowed_special="none"), rounds=1, iterations=1)


def test_encode_batch_two_threads_vs_tiktoken_one_thread(benchmark, gpt2_pair, stories):
    ours, theirs = gpt2_pair
    mb = sum(len(s.encode("utf-8")) for s in stories) / 1e6
    assert ours.encode_batch(stories, num_threads=2) == [theirs.encode_ordinary(s) for s in stories]
    t_ours = best_seconds(lambda: ours.encode_batch(stories, num_threads=2, allowed_special="none"), ROUNDS)
    t_array = best_seconds(lambda: ours.encode_to_array(stories, num_threads=2, allowed_special="none"), ROUNDS)
    t_peer = best_seconds(lambda: [theirs.encode_ordinary(s) for s in stories], ROUNDS)
    t_peer_batch = best_seconds(lambda: theirs.encode_ordinary_batch(stories, num_threads=2), ROUNDS)
    report(
        benchmark,
        "encode_batch, 2 threads",
        t_ours,
        t_peer,
        "tiktoken encode_ordinary 1 thread",
        ours_mb_s=round(mb / t_ours, 1),
        peer_mb_s=round(mb / t_peer, 1),
        encode_to_array_ratio=round(t_peer / t_array, 2),
        ratio_vs_tiktoken_batch_2_threads=round(t_peer_batch / t_ours, 2),
    )
    benchmark.pedantic(lambda: ours.encode_batch(stories, num_threads=2), rounds=1, iterations=1)


@pytest.fixture(scope="module")
def bytes_vocab(reference_data) -> int:
    """8,192 on the full sample; the slice shipped in tests/fixtures has too few distinct words
    to fill more than ~4,900 tokens, so its quick run trains to 4,096."""
    return 8192 if reference_data.is_full else 4096


def train_ours(stories: list[str], vocab_size: int) -> BPETokenizer:
    return BPETokenizer.train(stories, vocab_size, special_tokens=(), num_threads=2, show_progress=False)


def test_train_bytes_vs_rustbpe(benchmark, stories, bytes_vocab):
    rustbpe = pytest.importorskip("rustbpe")

    def peer():
        tok = rustbpe.Tokenizer()
        tok.train_from_iterator(iter(stories), bytes_vocab, pattern=GPT2_PATTERN)
        return tok

    def ours():
        return train_ours(stories, bytes_vocab)

    assert ours().vocab_size == peer().vocab_size == bytes_vocab
    report(benchmark, f"train bytes {bytes_vocab}", best_seconds(ours, ROUNDS), best_seconds(peer, ROUNDS), "rustbpe")
    benchmark.pedantic(ours, rounds=1, iterations=1)


def test_train_bytes_vs_hf_tokenizers(benchmark, stories, bytes_vocab):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Regex, models, pre_tokenizers, trainers

    def peer():
        tok = tokenizers.Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(GPT2_PATTERN.replace("++", "+")), "isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        trainer = trainers.BpeTrainer(
            vocab_size=bytes_vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        )
        tok.train_from_iterator(stories, trainer)
        return tok

    def ours():
        return train_ours(stories, bytes_vocab)

    assert peer().get_vocab_size() == bytes_vocab
    report(benchmark, f"train bytes {bytes_vocab}", best_seconds(ours, ROUNDS), best_seconds(peer, 1), "HF tokenizers")
    benchmark.pedantic(ours, rounds=1, iterations=1)


def test_train_words_vs_naive_reference(benchmark, stories):
    def ours(texts: list[str], vocab_size: int) -> BPETokenizer:
        return BPETokenizer.train(texts, vocab_size, mode="words", special_tokens=(), show_progress=False)

    whole = best_seconds(lambda: ours(stories, 2048), ROUNDS)
    subset = stories[: 200 if FULL else 60]
    vocab = len(set("".join(subset))) + (200 if FULL else 60)
    assert [(a, b) for a, b, _ in ours(subset, vocab).merge_ids] == naive_words_train(subset, vocab)[1]
    report(
        benchmark,
        f"train words on {len(subset)} stories to {vocab}",
        best_seconds(lambda: ours(subset, vocab), ROUNDS),
        best_seconds(lambda: naive_words_train(subset, vocab), 1),
        "naive gpt-rs algorithm",
        whole_sample_2048_s=round(whole, 3),
    )
    benchmark.pedantic(lambda: ours(stories, 2048), rounds=1, iterations=1)


PEAK_RSS_SCRIPT = textwrap.dedent("""
    import resource, sys, time
    from tinygpt.tokenizer import BPETokenizer
    start = time.perf_counter()
    tok = BPETokenizer.train(sys.argv[1], 8192, num_threads=2, show_progress=False)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(tok.vocab_size, seconds, peak_kb)
""")


@pytest.mark.skipif(not FULL, reason="set TINYGPT_BENCH_FULL=1 to train on a >= 1 GB corpus")
def test_train_streaming_one_gigabyte_peak_rss(benchmark, stories, tmp_path):
    corpus = tmp_path / "big.txt"
    rng, size = random.Random(0), 0
    with corpus.open("w", encoding="utf-8") as handle:
        while size < 1 << 30:
            rng.shuffle(stories)
            chunk = "\n<|endoftext|>\n".join(stories) + "\n<|endoftext|>\n"
            handle.write(chunk)
            size += len(chunk.encode("utf-8"))
    result = subprocess.run(
        [sys.executable, "-c", PEAK_RSS_SCRIPT, str(corpus)], capture_output=True, text=True, check=True
    )
    vocab_size, seconds, peak_kb = result.stdout.split()
    peak_mb = int(peak_kb) / 1024
    benchmark.extra_info.update({"corpus_bytes": size, "seconds": float(seconds), "peak_rss_mb": peak_mb})
    print(
        f"\ntrain on {size / 1e9:.2f} GB: {float(seconds):.1f} s, {size / 1e6 / float(seconds):.0f} MB/s, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    assert int(vocab_size) == 8192 and peak_mb < 1536
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
