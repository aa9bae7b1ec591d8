"""The allocator setting CPU training makes (tinygpt.train.allocator)."""

from __future__ import annotations

import os
import sys

from tinygpt.train.allocator import keep_freed_memory


def test_glibc_takes_both_thresholds_and_other_c_libraries_are_left_alone():
    glibc = sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    assert keep_freed_memory() is glibc
