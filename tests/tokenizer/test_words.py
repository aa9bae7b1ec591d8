"""Words mode (gpt-rs's tokenizer) equals the naive reference algorithm exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference.bpe import naive_words_encode, naive_words_train
from tinygpt.errors import ConfigError, DataError
from tinygpt.tokenizer import BPETokenizer

ENDOFTEXT = "<|endoftext|>"


@pytest.fixture(scope="module")
def stories(tinystories_txt) -> list[str]:
    return tinystories_txt.read_text(encoding="utf-8").split(ENDOFTEXT + "\n")


def train_words(texts, vocab_size, **kwargs):
    kwargs.setdefault("special_tokens", ())
    return BPETokenizer.train(texts, vocab_size, mode="words", show_progress=False, **kwargs)


def test_real_stories_match_naive_reference(stories):
    """On real TinyStories text the merges and ids equal gpt-rs's naive algorithm."""
    sample = stories[:40]
    alphabet, merges = naive_words_train(sample, 250)
    tok = train_words(sample, 250)
    assert tok.alphabet == alphabet
    assert [(a, b) for a, b, _ in tok.merge_ids] == merges
    text = "".join(sample[:5])
    assert tok.encode(text) == naive_words_encode(text, alphabet, merges)


words_text = st.lists(
    st.sampled_from(["a", "b", "ab", " ", "  ", " a", '"', "\n", "aa", "ba", "é", "\u4e2d", "x", ".", "'"]),
    min_size=1,
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(words_text, min_size=1, max_size=6), extra=st.integers(0, 25))
def test_random_corpora_match_naive_reference(texts, extra):
    """Any corpus: same alphabet, same merges in the same order, same ids for the same text."""
    alphabet, merges = naive_words_train(texts, len(set("".join(texts))) + extra)
    tok = train_words(texts, len(alphabet) + extra)
    assert tok.alphabet == alphabet
    assert [(a, b) for a, b, _ in tok.merge_ids] == merges
    for text in texts:
        assert tok.encode(text) == naive_words_encode(text, alphabet, merges)
        assert tok.decode(tok.encode(text)) == text


def test_do_not_merge_is_configurable():
    """Without do-not-merge characters, '"' merges like any other character."""
    texts = ['"a"a"a"a'] * 3
    assert all(b'"' not in m[0] + m[1] for m in train_words(texts, 10).merges)
    alphabet, merges = naive_words_train(texts, 6, do_not_merge=())
    tok = train_words(texts, 6, do_not_merge=())
    assert [(a, b) for a, b, _ in tok.merge_ids] == merges and tok.merges[0] == (b'"', b"a")


def test_special_tokens_take_last_ids_and_split_text():
    """Special tokens count toward vocab_size, take the last ids and are never merged across."""
    tok = train_words(["abc" + ENDOFTEXT + "abc"] * 5, 6, special_tokens=(ENDOFTEXT,))
    assert tok.vocab_size == 6 and tok.eot_id == 5
    assert tok.merges == [(b"b", b"c"), (b"a", b"bc")]  # ties to the greater ids; never (c, a)
    assert tok.encode("abc" + ENDOFTEXT + "abc", allowed_special="all") == [4, 5, 4]
    assert ENDOFTEXT[0] not in tok.alphabet


def test_alphabet_larger_than_vocab_fails_clearly():
    with pytest.raises(ConfigError, match="alphabet"):
        train_words(["abcdef"], 4)


def test_unknown_character_error_names_char_and_offset():
    """A character outside the alphabet is an error naming it and its offset, unless skipped or replaced."""
    tok = train_words(["hello world"], 12)
    with pytest.raises(DataError, match=r"'Z' \(U\+005A\) at offset 6"):
        tok.encode("hello Zorld")
    assert tok.encode("hello Zworld", on_unknown="skip") == tok.encode("hello world")
    assert tok.encode("hello Zorld", on_unknown="w") == tok.encode("hello world")
    with pytest.raises(DataError, match="text 1, offset 2"):
        tok.encode_batch(["hello", "heZ"], num_threads=2)
    with pytest.raises(ConfigError, match="not in the tokenizer's alphabet"):
        tok.encode("x", on_unknown="Q")


def test_from_alphabet_merges_uses_gptrs_ids():
    tok = BPETokenizer.from_alphabet_merges(["a", "b", " "], [(0, 1), (2, 3)], special_tokens=[ENDOFTEXT])
    assert tok.encode(" ab ab") == [4, 4]
    assert tok.vocab == {0: b"a", 1: b"b", 2: b" ", 3: b"ab", 4: b" ab", 5: ENDOFTEXT.encode()}
    with pytest.raises(DataError, match="does not exist yet"):
        BPETokenizer.from_alphabet_merges(["a"], [(0, 1)])


def test_merges_that_break_gptrs_rules_are_rejected():
    """A merge list gpt-rs could not have produced (it joins across a word) is refused, since
    word-by-word encoding would not reproduce it."""
    with pytest.raises(DataError, match="word boundary"):
        BPETokenizer.from_alphabet_merges(["a", " "], [(0, 1)])
    with pytest.raises(DataError, match="do-not-merge"):
        BPETokenizer.from_alphabet_merges(["a", '"'], [(0, 1)])
