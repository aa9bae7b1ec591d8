"""Tokenizer files: RON round trips, atomic writes, clear errors on corrupt or foreign files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygpt import ron
from tinygpt.errors import DataError
from tinygpt.tokenizer import BPETokenizer, read_gpt2_vocab_merges

ENDOFTEXT = "<|endoftext|>"
CORPUS = ['She said "hi" to the cat.\nThe cat sat.', "A dog ran. The dog sat on the mat!"] * 4


@pytest.mark.parametrize("mode", ["bytes", "words"])
def test_round_trip_preserves_everything(tmp_path, mode):
    tok = BPETokenizer.train(CORPUS, 330 if mode == "bytes" else 60, mode=mode, show_progress=False)
    path = tmp_path / "tokenizer.ron"
    tok.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded == tok and loaded.fingerprint() == tok.fingerprint()
    assert loaded.vocab == tok.vocab and loaded.merges == tok.merges
    assert loaded.special_tokens == tok.special_tokens and loaded.mode == mode
    assert loaded.encode(CORPUS[0]) == tok.encode(CORPUS[0])
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind


def test_words_file_is_readable_with_gptrs_names(tmp_path):
    tok = BPETokenizer.train(CORPUS, 60, mode="words", special_tokens=(), show_progress=False)
    path = tmp_path / "t.ron"
    tok.save(path)
    text = path.read_text(encoding="utf-8")
    assert "char_to_id:" in text and "id_to_char:" in text and "mergings:" in text
    assert "(from: (" in text and "'\\n'" in text
    data = ron.load(path)
    assert data["char_to_id"]["a"] == tok.alphabet.index("a")


def test_gpt2_round_trip(tmp_path, gpt2_dir):
    vocab, merges = read_gpt2_vocab_merges(gpt2_dir)
    tok = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=[ENDOFTEXT])
    tok.save(tmp_path / "gpt2.ron")
    loaded = BPETokenizer.load(tmp_path / "gpt2.ron")
    assert loaded == tok and loaded.encode("The cat sat on the mat.") == [464, 3797, 3332, 319, 262, 2603, 13]


def test_fingerprint_differs_when_content_differs():
    a = BPETokenizer.train(CORPUS, 270, show_progress=False)
    b = BPETokenizer.train(CORPUS, 271, show_progress=False)
    c = BPETokenizer.train(CORPUS, 270, show_progress=False)
    assert a.fingerprint() == c.fingerprint() != b.fingerprint()


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "expected"),
        ('(mode: "bytes")', "not a tinygpt tokenizer"),
        ('(format: "tinygpt-bpe", version: 9)', "version"),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "bytes", pattern: "gpt2", special_tokens: {},'
            " byte_to_id: [1, 2], mergings: [])",
            "256 ids",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 7), to: 1)])",
            "not defined",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: 4000000000)])",
            "without gaps",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "bytes", pattern: "(", special_tokens: {},'
            " byte_to_id: [" + ", ".join(map(str, range(256))) + "], mergings: [])",
            "pattern",
        ),
        ("(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [], encoded_data: [[0]])", "not a tinygpt"),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: 1), (from: (0, 0, 0), to: 2)])",
            r"mergings\[1\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: 1), (from: [0, 0], to: 2)])",
            r"mergings\[1\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: true)])",
            r"mergings\[0\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, -1), to: 1)])",
            r"mergings\[0\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: 1.5)])",
            r"mergings\[0\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(from: (0, 0), to: 99999999999999999999999)])",
            r"mergings\[0\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [(to: 1)])",
            r"mergings\[0\]",
        ),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'a': 0}, id_to_char: {0: 'a'},"
            " mergings: [5])",
            r"mergings\[0\]",
        ),
        ("[1, 2, 3", "expected"),
        (
            '(format: "tinygpt-bpe", version: 1, mode: "words", pattern: None, special_tokens: {},'
            " do_not_merge: [], char_to_id: {'\\u{d800}': 0}, id_to_char: {0: '\\u{d800}'}, mergings: [])",
            "id_to_char|surrogate|d800",
        ),
    ],
)
def test_corrupt_or_foreign_files_raise_data_error(tmp_path, content, message):
    path = tmp_path / "bad.ron"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        BPETokenizer.load(path)


def test_binary_garbage_and_missing_file(tmp_path):
    path = tmp_path / "garbage.ron"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(DataError):
        BPETokenizer.load(path)
    with pytest.raises(DataError, match="cannot read"):
        BPETokenizer.load(tmp_path / "missing.ron")


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4))
def test_any_words_alphabet_round_trips(tmp_path_factory, texts):
    """Any characters (controls, quotes, backslashes, emoji) survive save and load."""
    tok = BPETokenizer.train(texts, 10_000, mode="words", show_progress=False)
    path = tmp_path_factory.mktemp("t") / "t.ron"
    tok.save(path)
    assert BPETokenizer.load(path) == tok


@pytest.fixture(scope="module")
def saved_text(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("saved")
    texts = {}
    for mode, size in (("words", 45), ("bytes", 270)):
        BPETokenizer.train(CORPUS, size, mode=mode, show_progress=False).save(folder / f"{mode}.ron")
        texts[mode] = (folder / f"{mode}.ron").read_text(encoding="utf-8")
    return texts


@settings(max_examples=150, deadline=None)
@given(mode=st.sampled_from(["words", "bytes"]), data=st.data())
def test_mutated_files_load_or_raise_data_error(tmp_path_factory, saved_text, mode, data):
    """Any edit of a valid file (a character replaced, text cut or inserted) either still loads
    or raises DataError: never another exception, never a crash."""
    text = saved_text[mode]
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start, min(len(text), start + 8)))
    insert = data.draw(st.sampled_from(["", "9", "-1", "'", '"', "(", ")", "]", "{", ",", "99999999999", "x", "None"]))
    path = tmp_path_factory.mktemp("m") / "t.ron"
    path.write_text(text[:start] + insert + text[end:], encoding="utf-8")
    try:
        BPETokenizer.load(path)
    except DataError:
        pass
