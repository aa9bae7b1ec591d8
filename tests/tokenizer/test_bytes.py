"""Bytes-mode training equals the naive reference and round-trips text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference.bpe import naive_bytes_train
from tinygpt.errors import ConfigError
from tinygpt.tokenizer import GPT2_PATTERN, GPT4_PATTERN, BPETokenizer

ENDOFTEXT = "<|endoftext|>"


@pytest.fixture(scope="module")
def stories(tinystories_txt) -> list[str]:
    return tinystories_txt.read_text(encoding="utf-8").split(ENDOFTEXT + "\n")


@pytest.mark.parametrize("pattern,regex_text", [("gpt2", GPT2_PATTERN), ("gpt4", GPT4_PATTERN)])
def test_real_stories_match_naive_reference(stories, pattern, regex_text):
    """Merges on real stories equal the naive recount-everything algorithm, in order."""
    sample = stories[:150]
    tok = BPETokenizer.train(sample, 256 + 120 + 1, pattern=pattern, show_progress=False)
    assert tok.merges == naive_bytes_train(sample, 120, regex_text)
    assert tok.eot_id == 256 + 120 and tok.vocab_size == 377


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="ab c\u00e9\n'1", max_size=30), min_size=1, max_size=5), merges=st.integers(1, 20)
)
def test_random_corpora_match_naive_reference(texts, merges):
    """Tie-breaking (greatest (bytes, bytes) pair) and counting agree on arbitrary small corpora."""
    joined = [t + ENDOFTEXT + t[::-1] for t in texts]
    tok = BPETokenizer.train(joined, 256 + merges + 1, show_progress=False)
    expected = naive_bytes_train(joined, merges, GPT2_PATTERN, specials=(ENDOFTEXT,))
    assert tok.merges == expected
    for text in joined:
        assert tok.decode(tok.encode(text)) == text


def test_trained_tokenizer_encodes_like_tiktoken(stories):
    """A tokenizer we train encodes exactly as tiktoken does with the same ranks."""
    tiktoken = pytest.importorskip("tiktoken")
    tok = BPETokenizer.train(stories[:300], 600, show_progress=False)
    ranks = {token: i for i, token in tok.vocab.items() if i != tok.eot_id}
    enc = tiktoken.Encoding(
        name="trained", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: tok.eot_id}
    )
    text = "".join(stories[300:400])
    assert tok.encode(text, allowed_special="all") == enc.encode(text, allowed_special="all")


def test_custom_pattern_training_matches_reference(stories):
    custom = r"\p{L}+|\s+|[^\s\p{L}]+"
    tok = BPETokenizer.train(stories[:50], 256 + 40, pattern=custom, special_tokens=(), show_progress=False)
    assert tok.pattern == custom
    assert tok.merges == naive_bytes_train(stories[:50], 40, custom)
    grouped = BPETokenizer.train(
        stories[:50], 256 + 40, pattern=r"(\p{L}+)|\s+|[^\s\p{L}]+", special_tokens=(), show_progress=False
    )
    assert grouped.merges == tok.merges  # capture groups do not change what a piece is


def test_training_from_a_path_streams_the_corpus(tinystories_txt, tinystories_parquet):
    """A .txt or .parquet path trains the same tokenizer as the same stories given as strings."""
    from tinygpt.data.sources import open_corpus

    docs = list(open_corpus(tinystories_txt))
    from_list = BPETokenizer.train(docs, 400, show_progress=False)
    assert BPETokenizer.train(tinystories_txt, 400, show_progress=False) == from_list
    assert BPETokenizer.train(tinystories_parquet, 400, show_progress=False, num_threads=1) == from_list


def test_special_tokens_policy():
    """allowed_special decides whether "<|endoftext|>" in text is the control token or plain text."""
    tok = BPETokenizer.train(["hello world"] * 3, 300, show_progress=False)
    text = "hi" + ENDOFTEXT
    assert tok.encode(text, allowed_special="all")[-1] == tok.eot_id
    assert tok.eot_id not in tok.encode(text)
    assert tok.eot_id not in tok.encode(text, allowed_special="none")
    assert tok.eot_id not in tok.encode(text, allowed_special=set())
    assert tok.encode(text, allowed_special={ENDOFTEXT})[-1] == tok.eot_id
    assert tok.decode(tok.encode(text, allowed_special="none")) == text
    with pytest.raises(ConfigError, match="unknown special tokens"):
        tok.encode(text, allowed_special={"<|nope|>"})


def test_encode_to_array_concatenates_with_separator():
    tok = BPETokenizer.train(["hello world", "hello there"] * 3, 300, show_progress=False)
    texts = ["hello", "world there", ""]
    array = tok.encode_to_array(texts, prepend=tok.eot_id, num_threads=2)
    expected = [i for t in texts for i in [tok.eot_id, *tok.encode(t)]]
    assert array.dtype == np.uint16 and array.tolist() == expected
    assert tok.encode_to_array(texts, dtype=np.uint32).tolist() == [i for t in texts for i in tok.encode(t)]
    with pytest.raises(ConfigError):
        tok.encode_to_array(texts, dtype=np.int8)
    # Inside a corpus the literal text "<|endoftext|>" is not a document boundary.
    literal = tok.encode_to_array(["a" + ENDOFTEXT], prepend=tok.eot_id)
    assert literal.tolist().count(tok.eot_id) == 1


def test_invalid_training_arguments_fail_clearly():
    with pytest.raises(ConfigError, match="below 256"):
        BPETokenizer.train(["x"], 200, show_progress=False)
    with pytest.raises(ConfigError, match="mode"):
        BPETokenizer.train(["x"], 300, mode="chars", show_progress=False)
    with pytest.raises(ConfigError, match="invalid pre-tokenisation pattern"):
        BPETokenizer.train(["x"], 300, pattern="(", show_progress=False)
    with pytest.raises(ConfigError, match="distinct"):
        BPETokenizer.train(["x"], 300, special_tokens=("a", "a"), show_progress=False)
    with pytest.raises(ConfigError, match="num_threads"):
        BPETokenizer.train(["x"], 300, num_threads=0, show_progress=False)


def test_decode_rejects_unknown_ids():
    from tinygpt.errors import DataError

    tok = BPETokenizer.train(["abc"], 260, show_progress=False)
    with pytest.raises(DataError, match="token id 9999"):
        tok.decode([1, 9999])
    with pytest.raises(DataError, match="token id -1"):
        tok.decode([-1])
    assert tok.decode([]) == ""
    assert tok.decode(np.array([97, 98], dtype=np.int64)) == "ab"


def test_read_ahead_keeps_order_passes_errors_and_stops_early():
    """The corpus read-ahead thread yields items in order, re-raises the reader's error in the
    caller, and ends when the caller stops early (no hang, no stray thread)."""
    import threading

    from tinygpt.errors import DataError
    from tinygpt.tokenizer.training import read_ahead

    assert list(read_ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise DataError("corpus.txt:3: broken")

    with pytest.raises(DataError, match="broken"):
        list(read_ahead(failing()))
    before = threading.active_count()
    for item in read_ahead(iter(range(10**6)), depth=1):
        if item == 3:
            break
    assert threading.active_count() == before
