"""Vocabularies with "added tokens" (entries that are neither a byte, a merge result nor a named
special token) load as they are: the entries decode, and text encodes to them only when they
are named special tokens."""

from __future__ import annotations

import pytest

from tinygpt import BPETokenizer
from tinygpt.errors import DataError

ENDOFTEXT = "<|endoftext|>"
CORPUS = ["the cat sat on the mat", "the dog sat on the log"] * 20


@pytest.fixture(scope="module")
def trained() -> BPETokenizer:
    return BPETokenizer.train(CORPUS, 300, special_tokens=(), show_progress=False)


def vocab_with(trained: BPETokenizer, extra: list[bytes]) -> dict[int, bytes]:
    vocab = trained.vocab
    for token in extra:
        vocab[len(vocab)] = token
    return vocab


def test_gpt2_shaped_vocab_with_endoftext_loads_without_naming_it(trained):
    """GPT-2's own vocabulary ends in <|endoftext|>, a token no merge makes: it is accepted,
    becomes the end-of-text id, decodes, and a literal <|endoftext|> in text stays text."""
    vocab = vocab_with(trained, [ENDOFTEXT.encode()])
    tok = BPETokenizer.from_vocab_merges(vocab, trained.merges)
    eot = len(vocab) - 1
    assert tok.added_tokens == {eot: ENDOFTEXT.encode()} and tok.special_tokens == {}
    assert tok.eot_id == eot and tok.vocab == vocab
    assert tok.decode([eot]) == ENDOFTEXT
    for allowed in ("none", "all"):
        ids = tok.encode("the cat" + ENDOFTEXT, allowed_special=allowed)
        assert eot not in ids and tok.decode(ids) == "the cat" + ENDOFTEXT


def test_an_added_token_that_spells_a_piece_is_never_produced(trained):
    """A piece of text equal to an added token's bytes still encodes through the merges."""
    vocab = vocab_with(trained, [b" mat the", b"\xff\xfe", b"the cat"])
    tok = BPETokenizer.from_vocab_merges(vocab, trained.merges)
    added = set(tok.added_tokens)
    assert len(added) == 3
    for text in ["the cat sat on the mat the", "the cat", "x the cat y"]:
        assert tok.encode(text) == trained.encode(text) and not added & set(tok.encode(text))
    assert tok.decode_bytes(sorted(added)) == b" mat the\xff\xfethe cat"


def test_added_token_named_special_matches_in_text_only_when_allowed(trained):
    vocab = vocab_with(trained, [ENDOFTEXT.encode(), b"<pad>"])
    tok = BPETokenizer.from_vocab_merges(vocab, trained.merges, special_tokens=["<pad>"])
    pad = tok.special_tokens["<pad>"]
    assert set(tok.added_tokens) == {tok.eot_id}
    assert tok.encode("a<pad>", allowed_special="all")[-1] == pad
    assert pad not in tok.encode("a<pad>")


def test_added_tokens_survive_save_load_and_change_the_fingerprint(trained, tmp_path):
    vocab = vocab_with(trained, [ENDOFTEXT.encode(), b"\x00\xff"])
    tok = BPETokenizer.from_vocab_merges(vocab, trained.merges)
    tok.save(tmp_path / "tok.ron")
    again = BPETokenizer.load(tmp_path / "tok.ron")
    assert again == tok and again.added_tokens == tok.added_tokens and again.eot_id == tok.eot_id
    assert BPETokenizer.from_vocab_merges(trained.vocab, trained.merges) == trained
    assert tok.fingerprint() != trained.fingerprint()


def test_bad_added_tokens_in_a_file_name_the_field(trained, tmp_path):
    path = tmp_path / "tok.ron"
    BPETokenizer.from_vocab_merges(vocab_with(trained, [b"zz"]), trained.merges).save(path)
    text = path.read_text()
    path.write_text(text.replace("[122, 122]", "[122, 999]"))
    with pytest.raises(DataError, match=r"tok\.ron: added_tokens"):
        BPETokenizer.load(path)


def test_duplicate_and_colliding_entries_still_fail(trained):
    vocab = vocab_with(trained, [b"the"])
    with pytest.raises(DataError, match="twice"):
        BPETokenizer.from_vocab_merges(vocab, trained.merges)
