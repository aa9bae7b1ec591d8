"""The allocator setting that CPU training and corpus encoding make (tinygpt.allocator)."""

from __future__ import annotations

import os
import sys

import pytest

from tinygpt.allocator import arrow_reuses_freed_memory, keep_freed_memory


def _glibc() -> bool:
    return sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")


def test_glibc_takes_both_thresholds_and_other_c_libraries_are_left_alone():
    assert keep_freed_memory() is _glibc()


def test_arrow_uses_malloc_inside_the_block_and_its_own_pool_after():
    pyarrow = pytest.importorskip("pyarrow")
    before = pyarrow.default_memory_pool().backend_name
    with arrow_reuses_freed_memory():
        inside = pyarrow.default_memory_pool().backend_name
        array = pyarrow.array(["a story"] * 1000)
    assert inside == ("system" if _glibc() else before)
    assert pyarrow.default_memory_pool().backend_name == before
    assert array.to_pylist()[0] == "a story"  # buffers from the block outlive it
