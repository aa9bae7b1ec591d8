"""Bytes-mode encoding with GPT-2's vocabulary equals tiktoken's, id for id."""

from __future__ import annotations

import unicodedata

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygpt.tokenizer import GPT2_PATTERN, GPT4_PATTERN, BPETokenizer, read_gpt2_vocab_merges

tiktoken = pytest.importorskip("tiktoken")
ENDOFTEXT = "<|endoftext|>"


@pytest.fixture(scope="module")
def gpt2_files(gpt2_dir):
    return read_gpt2_vocab_merges(gpt2_dir)


def oracle(vocab, pattern):
    ranks = {token: i for i, token in vocab.items() if token != ENDOFTEXT.encode()}
    (eot_id,) = set(vocab) - set(ranks.values())
    return tiktoken.Encoding(
        name=f"oracle-{len(pattern)}", pat_str=pattern, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: eot_id}
    )


@pytest.fixture(scope="module", params=["gpt2", "gpt4"])
def pair(request, gpt2_files):
    """(ours, tiktoken) with GPT-2's vocabulary and the GPT-2 or GPT-4 pre-tokeniser."""
    vocab, merges = gpt2_files
    ours = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=[ENDOFTEXT], pattern=request.param)
    return ours, oracle(vocab, {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}[request.param])


def test_tinystories_ids_equal_tiktoken(pair, tinystories_txt):
    """The whole TinyStories sample, as one text and story by story, encodes to tiktoken's ids."""
    ours, theirs = pair
    text = tinystories_txt.read_text(encoding="utf-8")
    assert ours.encode(text, allowed_special="none") == theirs.encode_ordinary(text)
    assert ours.encode(text, allowed_special="all") == theirs.encode(text, allowed_special="all")
    stories = text.split(ENDOFTEXT + "\n")[:500]
    assert ours.encode_batch(stories, num_threads=2, allowed_special="all") == theirs.encode_batch(
        stories, allowed_special="all"
    )


def test_other_reference_text_equals_tiktoken(pair, reference_data):
    """The rest of the reference data's text (its README, GPT-2's own vocab and merges files) too."""
    ours, theirs = pair
    root = reference_data.root
    for path in [root / "README.md", root / "gpt2" / "merges.txt", root / "gpt2" / "vocab.json"]:
        text = path.read_text(encoding="utf-8")
        assert ours.encode(text, allowed_special="none") == theirs.encode_ordinary(text), path


# Characters that stress the pre-tokeniser: letters and digits of many scripts, combining
# marks, emoji, CJK, every kind of whitespace, apostrophes and contractions, lone surrogates.
TRICKY = list(" \t\n\r\x0b\x0c\x1c\x1d\x85\xa0\u1680\u2000\u200b\u2028\u2029\u202f\u3000'\"!?.,-_0123456789")
TRICKY += [
    "'s",
    "'S",
    "'t",
    "'ll",
    "'LL",
    "'ve",
    "'re",
    "'d",
    "'m",
    "'ſ",
    "\u017f",
    "\u0301",
    "e\u0301",
    "\U0001f600",
    "\U0001f469\u200d\U0001f4bb",
    "\u4e2d\u6587",
    "\u0663\u0664",
    "\u00bd",
    "\u2160",
    "\ud83d",
    "\ude00",
    "\ud83d\ude00",
    "<|endoftext|>",
    "\u0130",
    "\u00df",
    "  ",
    "\n\n",
    " \n ",
    "abc",
    "ABC",
    "Z",
]
text_strategy = st.lists(
    st.one_of(
        st.sampled_from(TRICKY),
        st.text(min_size=1, max_size=4),
        st.characters(codec="utf-8", categories=["L", "N", "M", "Z", "P", "S", "Cc"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_strategy)
def test_random_unicode_equals_tiktoken(pair, text):
    """Random mixes of tricky Unicode encode exactly as tiktoken encodes them (surrogates too)."""
    ours, theirs = pair
    assert ours.encode(text) == theirs.encode(text, disallowed_special=())
    assert ours.encode(text, allowed_special="all") == theirs.encode(text, allowed_special="all")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=text_strategy)
def test_random_unicode_round_trips(pair, text):
    """decode(encode(s)) gives s back (with surrogates fixed the way tiktoken fixes them)."""
    ours, _ = pair
    expected = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    assert ours.decode(ours.encode(text)) == expected


@pytest.mark.parametrize("name,pattern", [("gpt2", GPT2_PATTERN), ("gpt4", GPT4_PATTERN)])
def test_long_runs_match_tiktoken(gpt2_files, name, pattern):
    """Pieces of thousands of characters take the heap path and still agree with tiktoken."""
    vocab, merges = gpt2_files
    ours = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=[ENDOFTEXT], pattern=name)
    theirs = oracle(vocab, pattern)
    for text in [" " * 5000 + "x", "a" * 3000, "ab" * 2000 + "!" * 700, "\n" * 999, "1234567890" * 300]:
        assert ours.encode(text) == theirs.encode_ordinary(text)


def test_custom_pattern_falls_back_to_regex(gpt2_files, tinystories_txt):
    """A pattern other than the named two runs through the regex module and still matches tiktoken."""
    vocab, merges = gpt2_files
    custom = r"""\p{L}+|\p{N}|\s+|[^\s\p{L}\p{N}]+"""
    ours = BPETokenizer.from_vocab_merges(vocab, merges, special_tokens=[ENDOFTEXT], pattern=custom)
    theirs = oracle(vocab, custom)
    text = tinystories_txt.read_text(encoding="utf-8")[:20000]
    assert ours.encode(text, allowed_special="all") == theirs.encode(text, allowed_special="all")
    assert ours.encode_batch([text, "x y"], num_threads=2, allowed_special="all") == [
        theirs.encode(t, allowed_special="all") for t in [text, "x y"]
    ]


@settings(max_examples=300, deadline=None)
@given(text=text_strategy)
def test_scanners_split_like_the_regex_module(text):
    """The compiled GPT-2 / GPT-4 scanners cut exactly the regex module's matches."""
    from tinygpt import _bpe

    # The regex module knows Unicode 17; unassigned (in this Python) code points are compared
    # against tiktoken's own classes in test_character_classes_match_tiktoken instead.
    safe = "".join(c if unicodedata.category(c) != "Cn" else "?" for c in _bpe.utf8_safe(text))
    for splitter, pattern in [(_bpe.SPLIT_GPT2, GPT2_PATTERN), (_bpe.SPLIT_GPT4, GPT4_PATTERN)]:
        expected = [piece.encode("utf-8") for piece in regex.findall(pattern, safe)]
        assert _bpe.pretokenize(splitter, safe) == expected


def tiktoken_class(char: str) -> str:
    """How tiktoken's regex engine classifies ``char``: "L", "N" or "O", seen through the GPT-2
    pattern (a letter joins a preceding letter into one piece, a number a preceding digit)."""
    for prefix, name in (("a", "L"), ("1", "N")):
        ranks = {bytes([b]): b for b in range(256)}
        ranks[(prefix + char).encode()] = 256
        enc = tiktoken.Encoding(name="probe", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={})
        if enc.encode(prefix + char) == [256]:
            return name
    return "O"


def our_class(char: str) -> str:
    from tinygpt import _bpe

    for prefix, name in (("a", "L"), ("1", "N")):
        if len(_bpe.pretokenize(_bpe.SPLIT_GPT2, prefix + char)) == 1:
            return name
    return "O"


# Letters and numbers new in Unicode 15.0-16.0 (which tiktoken knows and Python 3.11 does not),
# code points new in 17.0 (which tiktoken does not know yet), and old ones.
PROBES = [
    0x1C89,
    0xA7CB,
    0x10D40,
    0x10D4A,
    0x11F04,
    0x116D0,
    0x13460,
    0x143FA,
    0x1E5F0,
    0x2EBF0,
    0x31350,
    0x323AF,
    0x088F,
    0x10940,
    0x18D80,
    0x0041,
    0x00BD,
    0x4E2D,
    0x0301,
    0x1F600,
    0xE000,
]


@pytest.mark.parametrize("cp", PROBES, ids=hex)
def test_character_classes_match_tiktoken(cp):
    """The generated tables classify code points as tiktoken does, whatever Python built them."""
    assert our_class(chr(cp)) == tiktoken_class(chr(cp))
