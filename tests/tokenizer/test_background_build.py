"""A bytes-mode encoder's merge rules are built on a thread of their own: the first use waits
for them, and a fork never copies them half built."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from tinygpt import BPETokenizer

TEXTS = [f"Story {i}: once upon a time a cat saw {i % 7} dogs and ran home." for i in range(200)]
_FORKED: BPETokenizer | None = None


def _encode_in_child(texts: list[str]) -> list[list[int]]:
    assert _FORKED is not None
    return _FORKED.encode_batch(texts, num_threads=1)


def test_the_first_use_gets_the_whole_encoder(tmp_path):
    BPETokenizer.train(TEXTS, 400, show_progress=False).save(tmp_path / "tok.ron")
    for _ in range(5):  # each load races its own build
        tok = BPETokenizer.load(tmp_path / "tok.ron")
        assert tok.decode(tok.encode(TEXTS[3])) == TEXTS[3]
        assert len(tok.encode(TEXTS[3])) < len(TEXTS[3].encode("utf-8"))  # merges applied


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_fork_right_after_loading_encodes_like_the_parent(tmp_path):
    global _FORKED
    BPETokenizer.train(TEXTS, 400, show_progress=False).save(tmp_path / "tok.ron")
    expected = BPETokenizer.load(tmp_path / "tok.ron").encode_batch(TEXTS, num_threads=1)
    _FORKED = BPETokenizer.load(tmp_path / "tok.ron")  # its build may still be running
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.apply(_encode_in_child, (TEXTS,)) == expected
    finally:
        _FORKED = None
