"""The allocator settings the command line makes: freed frame-sized blocks are reused instead
of being mapped afresh (page-faulted in again) for every frame."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Allocates, fills and frees three 640×480 float RGB frames 50 times, as a conversion does per
# frame, and prints the minor page faults that took (after a warm-up).
_SCRIPT = """
import resource, sys
import numpy as np
from frameinterp.memory import keep_freed_frames

def faults(count):
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(count):
        a = np.ones((480, 640, 3), np.float32)
        b = np.ones((480, 640, 3), np.float32)
        c = a + b
        del a, b, c
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start

if sys.argv[1] == "keep":
    assert keep_freed_frames()
faults(5)
print(faults(50))
"""


def _faults(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs glibc's allocator")
def test_freed_frames_are_reused_without_page_faults() -> None:
    default = _faults("default")
    kept = _faults("keep")
    # 150 frames of 3.7 MB: with glibc's defaults most pages are faulted in afresh.
    assert default > 150 * 100
    assert kept < default / 20
