"""The compiled BPE core under failed thread starts: a Python exception, never std::terminate.

A test-only hook of ``tinygpt._bpe`` makes the n-th thread start from now throw, as
``std::thread`` does when the system refuses a thread; the threads already started must be joined
and the error must reach Python, after which the tokenizer works as before.
"""

from __future__ import annotations

import pytest

from tinygpt import BPETokenizer, _bpe

TEXTS = [f"Story {i}: once upon a time a cat saw {i % 7} dogs and ran home." for i in range(200)]


@pytest.fixture
def fail_nth_thread_start():
    yield _bpe._fail_nth_thread_start
    _bpe._fail_nth_thread_start(0)


@pytest.fixture(scope="module")
def tokenizer() -> BPETokenizer:
    return BPETokenizer.train(TEXTS, 300, mode="bytes", num_threads=1)


@pytest.mark.parametrize("failing_start", [1, 3])
def test_failed_thread_start_in_batch_encoding_raises(tokenizer, fail_nth_thread_start, failing_start):
    expected = tokenizer.encode_batch(TEXTS, num_threads=1)
    fail_nth_thread_start(failing_start)
    with pytest.raises(RuntimeError, match="cannot start a thread"):
        tokenizer.encode_batch(TEXTS, num_threads=4)
    assert tokenizer.encode_batch(TEXTS, num_threads=4) == expected


@pytest.mark.parametrize("failing_start", [1, 3])
def test_failed_thread_start_in_training_raises(fail_nth_thread_start, failing_start):
    expected = BPETokenizer.train(TEXTS, 300, mode="bytes", num_threads=1).merges
    fail_nth_thread_start(failing_start)
    with pytest.raises(RuntimeError, match="cannot start a thread"):
        BPETokenizer.train(TEXTS, 300, mode="bytes", num_threads=4)
    assert BPETokenizer.train(TEXTS, 300, mode="bytes", num_threads=4).merges == expected
