"""encode_iterable / encode_file: ids equal to encoding the whole text, for every chunking, with
tiktoken (same ranks, same pattern) as the oracle."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygpt import BPETokenizer
from tinygpt.errors import DataError
from tinygpt.tokenizer import GPT2_PATTERN, GPT4_PATTERN, streaming

tiktoken = pytest.importorskip("tiktoken")
ENDOFTEXT = "<|endoftext|>"
CORPUS = [
    "Once upon a time, Lily's cat said \"hi!\"\n\nThe end.   It's 2024; we'll see 12345 dogs.\r\n",
    "Él está aquí — 日本語のテキスト 😀 über straße\t\tdone  \n \n",
] * 20
# Characters that stress the pre-tokenisers and the special-token matcher at chunk boundaries.
TRICKY = list(" \t\n\r\x0b\x0c\x85\xa0\u2000\u3000'\"!?.,-_0123456789aZé日😀")
TRICKY += [
    "'s",
    "'ll",
    "'ve",
    "'re",
    "'t",
    "'S",
    "'LL",
    "ſ",
    "\u0301",
    "<|",
    "endoftext",
    "|>",
    ENDOFTEXT,
    "<|endoftext",
    "  ",
    "\n\n",
    " \n ",
    "\r\n",
    "abc",
    "\ud83d",
    "\ude00",
    "\ud83d\ude00",
]
texts = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(max_size=3)), max_size=30).map("".join)


@pytest.fixture(scope="module", autouse=True)
def tiny_steps():
    """One compiled step per chunk (not per 64 KiB), so every chunk boundary is a cut."""
    saved = streaming.STREAM_BLOCK_BYTES
    streaming.STREAM_BLOCK_BYTES = 1
    yield
    streaming.STREAM_BLOCK_BYTES = saved


@pytest.fixture(scope="module", params=["gpt2", "gpt4"])
def pair(request):
    tok = BPETokenizer.train(CORPUS, 400, pattern=request.param, show_progress=False)
    ranks = {token: i for i, token in tok.vocab.items() if i != tok.eot_id}
    pattern = {"gpt2": GPT2_PATTERN, "gpt4": GPT4_PATTERN}[request.param]
    oracle = tiktoken.Encoding(
        name=f"stream-{request.param}", pat_str=pattern, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: tok.eot_id}
    )
    return tok, oracle


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    return [text[a:b] for a, b in itertools.pairwise([0, *points, len(text)])]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, cuts=st.lists(st.integers(0, 120), max_size=12), allow=st.booleans())
def test_any_chunking_equals_tiktoken_on_the_whole_text(pair, text, cuts, allow):
    tok, oracle = pair
    chunks = chunked(text, cuts)
    if allow:
        expected = oracle.encode(text, allowed_special="all")
        assert list(tok.encode_iterable(chunks, allowed_special="all")) == expected
    else:
        assert list(tok.encode_iterable(chunks)) == oracle.encode(text, disallowed_special=())


@pytest.fixture(scope="module")
def words() -> BPETokenizer:
    return BPETokenizer.train(CORPUS, 500, mode="words", byte_fallback=True, show_progress=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, cuts=st.lists(st.integers(0, 120), max_size=12))
def test_words_mode_any_chunking_equals_encode(words, text, cuts):
    chunks = chunked(text, cuts)
    for allowed in ("none", "all"):
        assert list(words.encode_iterable(chunks, allowed_special=allowed)) == words.encode(
            text, allowed_special=allowed
        )


def test_the_issues_example_is_exact(pair):
    tok, _ = pair
    assert list(tok.encode_iterable(["Once.\n", "\n The end."])) == tok.encode("Once.\n\n The end.")
    assert list(tok.encode_iterable(["Lily's c", "at said"])) == tok.encode("Lily's cat said")
    assert tok.encode("Lily's c") + tok.encode("at said") != tok.encode("Lily's cat said")


def test_ids_come_out_before_the_input_ends(pair):
    """Streaming, not gathering: the first ids arrive after a bounded amount of input."""
    tok, _ = pair
    pulled = 0

    def lines():
        nonlocal pulled
        for _ in range(100_000):
            pulled += 1
            yield "Once upon a time, there was a cat.\n"

    ids = tok.encode_iterable(lines())
    next(ids)
    assert pulled < 10


def test_closed_alphabet_error_names_the_stream_offset():
    tok = BPETokenizer.train(["ab ab"], 10, mode="words", special_tokens=(), show_progress=False)
    with pytest.raises(DataError, match=r"the stream: character 'z' \(U\+007A\) at byte offset 6"):
        list(tok.encode_iterable(["ab a", "b z"]))
    assert list(tok.encode_iterable(["ab a", "b z"], on_unknown="skip")) == tok.encode("ab ab ")


def test_bad_chunks_are_type_errors(pair):
    tok, _ = pair
    with pytest.raises(TypeError, match="one str"):
        tok.encode_iterable("text")
    with pytest.raises(TypeError, match="chunk 1 is bytes"):
        list(tok.encode_iterable(["ok", b"no"]))


def test_custom_pattern_streams_exactly_too():
    tok = BPETokenizer.train(CORPUS, 300, pattern=r"\p{L}+|\s+|[^\s\p{L}]+", show_progress=False)
    text = "".join(CORPUS[:4])
    assert list(tok.encode_iterable(chunked(text, [5, 17, 40, 41, 90]))) == tok.encode(text)


def test_encode_file_equals_encode(pair, tmp_path, monkeypatch):
    """Blocks that cut multi-byte characters and special tokens still give the whole text's ids."""
    tok, _ = pair
    monkeypatch.setattr(streaming, "FILE_BLOCK_BYTES", 7)
    text = "".join(CORPUS[:6]) + ENDOFTEXT + "end 😀"
    path = tmp_path / "corpus.txt"
    path.write_text(text, encoding="utf-8", newline="")
    assert list(tok.encode_file(path)) == tok.encode(text)
    assert list(tok.encode_file(path, allowed_special="all")) == tok.encode(text, allowed_special="all")


def test_encode_file_bad_input(pair, tmp_path):
    tok, _ = pair
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine text \xff\xfe more")
    with pytest.raises(DataError, match=r"bad\.txt: invalid UTF-8 at byte offset 10"):
        list(tok.encode_file(path))
    with pytest.raises(DataError, match="missing.txt: cannot read"):
        list(tok.encode_file(tmp_path / "missing.txt"))
    truncated = tmp_path / "truncated.txt"
    truncated.write_bytes("ok é".encode()[:-1])
    with pytest.raises(DataError, match="invalid UTF-8 at byte offset 3"):
        list(tok.encode_file(truncated))


@pytest.mark.parametrize("block", [7, 4096])
def test_large_chunks_and_pieces_longer_than_a_block(pair, monkeypatch, block):
    """Chunks much larger than a block are encoded a block at a time, and a piece longer than a
    block (a long word, a whitespace run) waits whole for the text that ends it."""
    tok, oracle = pair
    monkeypatch.setattr(streaming, "STREAM_BLOCK_BYTES", block)
    text = "".join(CORPUS) + "x" * 20_000 + " " * 9_000 + "日本" * 3_000 + "".join(CORPUS)
    expected = oracle.encode(text, disallowed_special=())
    for size in (1, 333, 5_000, 70_000, len(text)):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert list(tok.encode_iterable(chunks)) == expected


def test_an_error_in_the_chunk_iterator_reaches_the_caller(pair):
    tok, _ = pair

    def failing():
        yield "Once upon a time"
        raise OSError("socket closed")

    with pytest.raises(OSError, match="socket closed"):
        list(tok.encode_iterable(failing()))
