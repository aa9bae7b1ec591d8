"""One special-token policy: every encoding method treats special tokens written in the text as
plain text unless the caller names them (tiktoken's safe rule)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tinygpt import BPETokenizer

ENDOFTEXT = "<|endoftext|>"
TEXT = "Once upon a time" + ENDOFTEXT + "The end."


@pytest.fixture(scope="module")
def tok() -> BPETokenizer:
    return BPETokenizer.train([TEXT.replace(ENDOFTEXT, " ")] * 20, 300, show_progress=False)


ENCODERS = ["encode", "encode_batch", "encode_to_array", "encode_iterable", "encode_file"]


@pytest.mark.parametrize("name", ENCODERS)
def test_every_encoder_defaults_to_none(name):
    assert inspect.signature(getattr(BPETokenizer, name)).parameters["allowed_special"].default == "none"


def test_every_encoder_agrees_by_default_and_when_asked(tok):
    plain = tok.encode(TEXT)
    assert tok.eot_id not in plain and tok.decode(plain) == TEXT
    assert tok.encode_batch([TEXT])[0] == plain
    assert tok.encode_to_array([TEXT]).tolist() == plain
    assert list(tok.encode_iterable([TEXT[:20], TEXT[20:]])) == plain
    asked = tok.encode(TEXT, allowed_special="all")
    assert asked.count(tok.eot_id) == 1
    assert tok.encode_batch([TEXT], allowed_special={ENDOFTEXT})[0] == asked
    assert tok.encode_to_array([TEXT], allowed_special="all", dtype=np.uint32).tolist() == asked
    assert list(tok.encode_iterable([TEXT[:20], TEXT[20:]], allowed_special="all")) == asked
