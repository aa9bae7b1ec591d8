"""Keep freed memory in the process, so that a CPU training step does not fault it in again.

A training step on the CPU allocates and frees the same large activations every step (logits
of batch 64 x 64 x 2,048 are 32 MiB; a block's feed-forward activations 8 MiB). glibc's malloc
serves blocks that large with ``mmap`` and returns them to the kernel on ``free``, and trims
the heap's free top likewise, so the next step touches fresh pages: about 40,000 page faults
a step for gpt-rs's config, 10 % of a step's time on 2 cores. Raising both thresholds keeps
those blocks in the heap for reuse; the process then holds its peak memory until it exits,
which a training process does anyway. Other C libraries keep their own policies (no call).
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep blocks up to 1 GiB on free (process-wide, for the rest of the
    process); True if it took both settings, False where the C library is not glibc."""
    if not sys.platform.startswith("linux") or not _glibc():
        return False
    libc = ctypes.CDLL(None)
    settings = ((_M_MMAP_THRESHOLD, _THRESHOLD_BYTES), (_M_TRIM_THRESHOLD, _THRESHOLD_BYTES))
    taken = [libc.mallopt(option, value) == 1 for option, value in settings]  # each on its own
    return all(taken)


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):  # musl and others do not name the GNU C library
        return False
