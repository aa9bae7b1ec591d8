"""Argument checking and bad input at the Python/compiled boundary: clear errors, never a crash."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tinygpt import BPETokenizer
from tinygpt.errors import ConfigError, DataError

ENDOFTEXT = "<|endoftext|>"
CORPUS = ["The quick brown fox jumps over the lazy dog. " * 3, 'Lily\'s cat said "hi"!\n'] * 5


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train(CORPUS, 300, show_progress=False)


def test_public_name_and_properties(tok):
    """tinygpt.BPETokenizer is the tokenizer class; the contract's properties are there."""
    assert tok.vocab_size == len(tok.vocab) == 300 and tok.mode == "bytes" and tok.pattern == "gpt2"
    assert tok.eot_id == 299 and tok.special_tokens == {ENDOFTEXT: 299}
    assert tok.token_bytes(tok.eot_id) == ENDOFTEXT.encode()
    assert len(tok.merges) == 300 - 256 - 1 and len(tok.fingerprint()) == 64


@pytest.mark.parametrize("bad", [b"bytes", 42, None, ["list"]])
def test_encode_rejects_non_text(tok, bad):
    with pytest.raises(TypeError):
        tok.encode(bad)


def test_batch_rejects_non_text_items_and_a_bare_string(tok):
    with pytest.raises(TypeError, match="expected str"):
        tok.encode_batch(["ok", b"bytes"])
    with pytest.raises(TypeError, match="one str"):
        tok.encode_batch("not a list")
    with pytest.raises(ConfigError, match="num_threads"):
        tok.encode_batch(["a"], num_threads=0)


@pytest.mark.parametrize("bad", [["a"], [1.5], [[1, 2]], [2**40], [-3], [300]])
def test_decode_rejects_bad_ids(tok, bad):
    with pytest.raises(DataError):
        tok.decode(bad)


def test_token_bytes_out_of_range(tok):
    with pytest.raises(DataError, match="outside the vocabulary"):
        tok.token_bytes(300)


def test_bad_policies_are_config_errors(tok):
    with pytest.raises(ConfigError, match="allowed_special"):
        tok.encode("x", allowed_special="some")
    with pytest.raises(ConfigError, match="on_unknown"):
        tok.encode("x", on_unknown="ignore")
    with pytest.raises(ConfigError, match="prepend"):
        tok.encode_to_array(["x"], prepend=10_000)


def test_empty_inputs(tok):
    assert tok.encode("") == [] and tok.encode_batch([]) == [] and tok.decode([]) == ""
    assert tok.encode_to_array([]).size == 0
    assert tok.encode_to_array(["", ""], prepend=tok.eot_id).tolist() == [tok.eot_id, tok.eot_id]


def test_encoding_from_many_python_threads_agrees(tok):
    """The compiled encoder is safe to share between Python threads (the GIL is released)."""
    texts = CORPUS * 20
    expected = [tok.encode(t) for t in texts]
    results: list[list[list[int]]] = []

    def work() -> None:
        results.append(tok.encode_batch(texts, num_threads=2))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_from_vocab_merges_rejects_inconsistent_vocabularies():
    vocab = {b: bytes([b]) for b in range(256)}
    with pytest.raises(DataError, match="not in vocab"):
        BPETokenizer.from_vocab_merges(vocab, [(b"a", b"b")])
    with pytest.raises(DataError, match="single-byte"):
        BPETokenizer.from_vocab_merges({0: b"a"}, [])
    with pytest.raises(DataError, match="twice"):
        BPETokenizer.from_vocab_merges({**vocab, 256: b"a"}, [])
    tok = BPETokenizer.from_vocab_merges({**vocab, 256: b"ab"}, [(b"a", b"b")], special_tokens=[ENDOFTEXT])
    assert tok.encode("ab" + ENDOFTEXT, allowed_special="all") == [256, 257]


@pytest.mark.parametrize(("mode", "vocab_size"), [("bytes", 290), ("words", 45)])
def test_empty_documents_in_a_txt_corpus_do_not_change_training(tmp_path, mode, vocab_size):
    """The .txt reader yields empty documents (for tokenize to count); training ignores them."""
    path = tmp_path / "stories.txt"
    path.write_text("\n<|endoftext|>\n".join(["", CORPUS[0], "", "", CORPUS[1], ""]) + "\n", encoding="utf-8")
    from_file = BPETokenizer.train(path, vocab_size, mode=mode, show_progress=False)
    assert from_file == BPETokenizer.train(CORPUS[:2], vocab_size, mode=mode, show_progress=False)


def test_train_rejects_bad_sources():
    with pytest.raises(DataError, match="expected str"):
        BPETokenizer.train(["ok", 3], 300, show_progress=False)
    with pytest.raises(ConfigError, match="bytes"):
        BPETokenizer.train(b"raw bytes", 300, show_progress=False)
    with pytest.raises(DataError):
        BPETokenizer.train("/nonexistent/corpus.txt", 300, show_progress=False)


def test_array_dtypes_and_limits(tok):
    """Vocabularies above 65,536 need uint32 arrays; asking for uint16 is refused, not truncated."""
    big = BPETokenizer.from_alphabet_merges([chr(0x20000 + i) for i in range(70_000)], [])
    with pytest.raises(ConfigError, match="uint32"):
        big.encode_to_array(["\U00020000"])
    assert big.encode_to_array(["\U00031000\U00020000"], dtype=np.uint32).tolist() == [0x11000, 0]
    with pytest.raises(DataError, match="surrogate"):
        BPETokenizer.from_alphabet_merges(["a", "\ud800"], [])


def test_compiled_encoder_refuses_unknown_replacement():
    """Called directly, the compiled encoder reports a replacement outside the alphabet as an
    unknown character instead of indexing past its tables."""
    from tinygpt import _bpe

    words = BPETokenizer.train(["abc"], 5, mode="words", special_tokens=(), show_progress=False)
    with pytest.raises(_bpe.UnknownCharacter):
        words._encoder.encode("axb", [], _bpe.UNKNOWN_REPLACE, ord("Q"))
    assert words.encode("axb", on_unknown="c") == words.encode("acb")
