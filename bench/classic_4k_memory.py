"""Peak resident memory and time of the classic engine on a 3840×2160 pair, on the CPU.

Upscales a real Middlebury pair (RubberWhale from tests/data, bicubic) to 3840×2160 and runs
``frameinterp pair`` in a fresh process, reporting that process's peak RSS and wall time, and
for reference the RSS of a process that only imports the same modules. The engine estimates
flow at 1/8 scale and synthesises the full-resolution frame tile by tile, so the peak is the
two decoded inputs, the output frame and the runtime; it does not grow with the tile count.

    python bench/classic_4k_memory.py [--sequence DIR] [--count 1]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

WIDTH, HEIGHT = 3840, 2160
DEFAULT_SEQUENCE = Path(__file__).parent.parent / "tests" / "data" / "middlebury" / "RubberWhale"


def peak_rss_of(command: list[str]) -> tuple[float, float]:
    """Run ``command`` in a child process; its peak RSS in MiB and its wall time in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the maximum over all waited-for children (kB on Linux).
    return max(after, before) / 1024.0, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequence", type=Path, default=DEFAULT_SEQUENCE)
    parser.add_argument("--count", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name in ("frame10.png", "frame11.png"):
            image = cv2.imread(str(args.sequence / name), cv2.IMREAD_COLOR)
            if image is None:
                raise SystemExit(f"cannot read {args.sequence / name}")
            path = Path(folder) / name
            cv2.imwrite(
                str(path), cv2.resize(image, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
            )
            paths.append(str(path))
        # Imports alone first: the children's peak is a high-water mark, smaller one first.
        imports, _ = peak_rss_of(
            [sys.executable, "-c", "import frameinterp.cli, frameinterp.engines.classic"]
        )
        output = str(Path(folder) / "middle.png")
        command = [sys.executable, "-m", "frameinterp", "pair", *paths, "--device", "cpu"]
        command += ["--count", str(args.count), "-o", output]
        peak, seconds = peak_rss_of(command)
    print(
        f"{WIDTH}×{HEIGHT}, {args.count} frame(s), CPU: peak RSS {peak:.0f} MiB "
        f"(imports alone {imports:.0f} MiB), {seconds:.1f} s wall including start-up and PNG I/O"
    )


if __name__ == "__main__":
    main()
