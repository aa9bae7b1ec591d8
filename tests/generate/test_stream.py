"""Streaming decode: pieces end on whole UTF-8 characters and never pass a stop string."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tinygpt.generate import PieceDecoder


def byte_token(token: int) -> bytes:
    """A byte-level vocabulary: token i is the byte i (the worst case for splitting characters)."""
    return bytes([token])


@given(st.text(max_size=40))
def test_pieces_are_whole_characters_and_join_to_the_text(text):
    """Every piece is decodable on its own, and together they are exactly the text."""
    decoder = PieceDecoder(byte_token)
    pieces = [decoder.feed(b) for b in text.encode("utf-8")] + [decoder.finish()]
    assert "".join(pieces) == text
    for piece in pieces:
        assert piece.encode("utf-8").decode("utf-8") == piece
        assert "\ufffd" not in piece or "\ufffd" in text


def test_a_split_character_waits_for_its_last_byte():
    decoder = PieceDecoder(byte_token)
    encoded = "é!".encode()
    assert decoder.feed(encoded[0]) == ""
    assert decoder.feed(encoded[1]) == "é"
    assert decoder.feed(encoded[2]) == "!"


def test_dangling_partial_character_becomes_replacement_at_the_end():
    decoder = PieceDecoder(byte_token)
    assert decoder.feed("é".encode()[0]) == ""
    assert decoder.finish() == "\ufffd"


@given(st.text(alphabet="ab\n.", max_size=30), st.sampled_from(["\n\n", "The end", "ab."]))
def test_output_is_the_text_up_to_the_first_stop_string(text, stop):
    decoder = PieceDecoder(byte_token, stop=[stop])
    shown = ""
    for b in text.encode("utf-8"):
        shown += decoder.feed(b)
        if decoder.stopped:
            break
    shown += decoder.finish()
    expected = text.split(stop)[0]
    assert shown == expected
    assert decoder.stopped == (stop in text)


def test_text_that_might_start_a_stop_string_is_held_back_until_resolved():
    decoder = PieceDecoder(byte_token, stop=["END"])
    assert decoder.feed(ord("x")) == "x"
    assert decoder.feed(ord("E")) == ""
    assert decoder.feed(ord("N")) == ""
    assert decoder.feed(ord("o")) == "ENo"
    assert not decoder.stopped
