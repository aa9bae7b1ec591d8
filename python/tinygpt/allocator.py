"""Keep freed memory in the process, so that long native work does not fault it in again.

Training steps on the CPU and batches of corpus encoding allocate and free the same large
buffers over and over (logits of batch 64 x 64 x 2,048 are 32 MiB; a batch of encoded tokens a
few MiB). glibc's malloc serves blocks that large with ``mmap`` and returns them to the kernel
on ``free``, and trims the heap's free top likewise, so the next step or batch touches fresh
pages that the kernel must zero first: about 40,000 page faults a step for gpt-rs's config (10 %
of a step on 2 cores), and a fifth of ``tinygpt tokenize``'s time on a 200 MB corpus. Raising
both thresholds keeps those blocks in the heap for reuse; the process then holds its peak memory
until it exits, which a training or tokenizing process does anyway. Other C libraries keep
their own policies (no call).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

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


@contextlib.contextmanager
def arrow_reuses_freed_memory() -> Iterator[None]:
    """Inside the block, pyarrow allocates from malloc (its system pool) where
    :func:`keep_freed_memory` took, and from its default pool elsewhere.

    pyarrow's default pool (mimalloc or jemalloc) returns large freed buffers to the kernel,
    and buffers decoded on a read-ahead thread but freed on another are not reused soon, so
    every record batch of a corpus landed on fresh pages. The previous pool comes back after.
    """
    if not keep_freed_memory():
        yield
        return
    # Lazy: pyarrow is slow to import and only Arrow input needs it.
    import pyarrow

    previous = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    try:
        yield
    finally:
        pyarrow.set_memory_pool(previous)
