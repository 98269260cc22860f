"""Keeping a long job's resident memory flat."""

from __future__ import annotations

import ctypes
import functools
import sys
from typing import Any

TRIM_EVERY = 64  # input frames between trims: a trim costs about a millisecond


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


def release_free_memory() -> None:
    """Give memory that is already free back to the OS (glibc's ``malloc_trim``).

    Frames are allocated and freed by three threads (decode, engine, encode); glibc keeps the
    freed pages in per-thread heaps, so without this the resident size creeps up with the
    video's length although nothing is retained. Elsewhere than glibc this does nothing.
    """
    library = _glibc()
    if library is not None:
        library.malloc_trim(0)
