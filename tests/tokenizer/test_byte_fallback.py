"""Words mode with byte fallback: characters outside the alphabet become their UTF-8 bytes
through 256 reserved tokens, so decode(encode(s)) == s for every string; without it the
alphabet stays closed, exactly as gpt-rs's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygpt import BPETokenizer
from tinygpt.cli import main
from tinygpt.errors import ConfigError, DataError

STORIES = ['Once upon a time, Lily saw a cat.\n"Hi!" said Tom.', "The dog ran to the park. The end."] * 10


@pytest.fixture(scope="module")
def open_words() -> BPETokenizer:
    return BPETokenizer.train(STORIES, 400, mode="words", byte_fallback=True, show_progress=False)


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_every_string_round_trips(open_words, text):
    expected = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert open_words.decode(open_words.encode(text)) == expected


def test_known_text_encodes_as_the_closed_tokenizer_and_ids_are_laid_out(open_words):
    closed = BPETokenizer.train(STORIES, 400 - 256, mode="words", show_progress=False)
    assert open_words.merges == closed.merges and open_words.alphabet == closed.alphabet
    assert open_words.encode(STORIES[0]) == closed.encode(STORIES[0])
    first = len(open_words.alphabet) + len(open_words.merges)
    assert open_words.byte_fallback_ids == list(range(first, first + 256))
    assert open_words.eot_id == open_words.vocab_size - 1 == first + 256
    assert open_words.encode("☃") == [first + b for b in "☃".encode()]


def test_closed_alphabet_stays_the_default():
    closed = BPETokenizer.train(STORIES, 80, mode="words", show_progress=False)
    assert not closed.byte_fallback
    with pytest.raises(DataError, match="U\\+2603"):
        closed.encode("☃")


def test_byte_fallback_survives_save_and_load(open_words, tmp_path):
    open_words.save(tmp_path / "tok.ron")
    again = BPETokenizer.load(tmp_path / "tok.ron")
    assert again == open_words and again.encode("snow ☃") == open_words.encode("snow ☃")


def test_byte_fallback_is_words_mode_only_and_needs_room():
    with pytest.raises(ConfigError, match="words mode"):
        BPETokenizer.train(STORIES, 300, byte_fallback=True, show_progress=False)
    with pytest.raises(ConfigError, match="256 byte-fallback tokens"):
        BPETokenizer.train(STORIES, 100, mode="words", byte_fallback=True, show_progress=False)


def test_tokenize_cli_byte_fallback(tmp_path, capsys):
    corpus = tmp_path / "stories.txt"
    corpus.write_text("\n<|endoftext|>\n".join(STORIES), encoding="utf-8")
    assert (
        main(
            [
                "tokenize",
                "--data",
                str(corpus),
                "--vocab-size",
                "400",
                "--mode",
                "words",
                "--byte-fallback",
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ]
        )
        == 0
    )
    tok = BPETokenizer.load(tmp_path / "out" / "tokenizer.ron")
    assert tok.byte_fallback and tok.decode(tok.encode("naïve ☃")) == "naïve ☃"
