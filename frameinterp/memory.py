"""How a job uses the allocator: freed frame memory is reused, and a long job stays flat."""

from __future__ import annotations

import ctypes
import functools
import gc
import sys
from typing import Any

TRIM_EVERY = 64  # input frames between trims: a trim costs about a millisecond

# glibc's mallopt parameters (malloc.h) and the values ``keep_freed_frames`` sets.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 64 << 20  # blocks up to 64 MiB (a 4K float RGB frame is 95 MiB) from the heap
_TRIM_THRESHOLD = 32 << 20


@functools.cache
def _glibc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        library = ctypes.CDLL("libc.so.6")
        library.malloc_trim  # noqa: B018  (raises AttributeError on musl and others)
    except (OSError, AttributeError):
        return None
    return library


def keep_freed_frames() -> bool:
    """Let glibc reuse freed frame-sized blocks instead of unmapping them (process-wide).

    By default glibc maps blocks of a few MiB fresh from the OS and unmaps them on ``free``, or
    trims the heap top as soon as that much is free, so every frame's arrays are page-faulted
    in again: that measured 3.4 ms of a 640×480 YUV → RGB conversion that takes 1.0 ms on
    reused memory, and about 5% of a whole conversion's CPU time. With these thresholds the
    memory stays in the heap, and ``release_free_memory`` (every ``TRIM_EVERY`` frames) still
    hands it back. Returns whether the allocator took the settings (glibc only).
    """
    library = _glibc()
    if library is None:
        return False
    return bool(
        library.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        and library.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def settle_for_long_jobs() -> None:
    """What the command line does once its modules are loaded, before a job starts (a
    library caller about to run long jobs may do the same; both steps are process-wide).

    ``keep_freed_frames``, and ``gc.freeze()``: the hundreds of thousands of objects that torch
    and the other imports made live as long as the process, and out of the collector's way
    each collection a job triggers stays short (collections took about 2% of a 480p
    conversion's CPU time).
    """
    keep_freed_frames()
    gc.freeze()


def release_free_memory() -> None:
    """Give memory that is already free back to the OS (glibc's ``malloc_trim``).

    Frames are allocated and freed by three threads (decode, engine, encode); glibc keeps the
    freed pages in per-thread heaps, so without this the resident size creeps up with the
    video's length although nothing is retained. Elsewhere than glibc this does nothing.
    """
    library = _glibc()
    if library is not None:
        library.malloc_trim(0)
