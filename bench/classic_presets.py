"""Time per frame of each classic quality preset against FFmpeg's minterpolate, same run.

Interpolates t = 0.5 for every Middlebury sequence (640×480 and 584×388 frames, 8-bit RGB in and
out, as ``frameinterp benchmark middlebury`` does) and prints the median wall and CPU time per
frame of each preset and of minterpolate, with the ratios. Wall time is what the speed bar uses;
on a shared machine it swings with the load, so CPU time (all threads of this process) is shown
beside it.

    python bench/classic_presets.py [--middlebury ../shared/data/middlebury] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch

from frameinterp.benchmark import MIDDLEBURY_FILES, find_middlebury_sequences, minterpolate_middle
from frameinterp.engines.classic import QUALITIES, ClassicInterpolator, ClassicOptions
from frameinterp.images import load_image
from frameinterp.metrics import psnr, to_uint8_rgb

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "middlebury"


def timed(make: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float, float]:
    """The result of ``make`` and its median wall and CPU seconds (after one warm-up)."""
    result = make()
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = make()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return result, statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    fallback = DEFAULT if DEFAULT.is_dir() else Path("/work/shared/data/middlebury")
    parser.add_argument("--middlebury", type=Path, default=fallback)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    engines = {q: ClassicInterpolator("cpu", ClassicOptions(quality=q)) for q in QUALITIES}
    rows: dict[str, list[tuple[float, float, float]]] = {
        name: [] for name in (*QUALITIES, "minterpolate")
    }
    for sequence in find_middlebury_sequences(arguments.middlebury):
        first, second, truth = (load_image(sequence / name).colour for name in MIDDLEBURY_FILES)
        rgb0, rgb1, expected = (to_uint8_rgb(x) for x in (first, second, truth))

        def engine_middle(
            engine: ClassicInterpolator, rgb0: np.ndarray = rgb0, rgb1: np.ndarray = rgb1
        ) -> np.ndarray:
            frames = [torch.from_numpy(x).permute(2, 0, 1).float() / 255.0 for x in (rgb0, rgb1)]
            with torch.inference_mode():
                return to_uint8_rgb(engine.interpolate(frames[0], frames[1], [0.5])[0])

        for quality, engine in engines.items():
            result, wall, cpu = timed(partial(engine_middle, engine), arguments.repeats)
            rows[quality].append((psnr(result, expected), wall, cpu))
        result, wall, cpu = timed(
            lambda a=rgb0, b=rgb1: minterpolate_middle(a, b), arguments.repeats
        )
        rows["minterpolate"].append((psnr(result, expected), wall, cpu))
    reference_wall = statistics.fmean(row[1] for row in rows["minterpolate"])
    reference_cpu = statistics.fmean(row[2] for row in rows["minterpolate"])
    print(
        f"{'method':14s} {'PSNR':>7s} {'ms wall':>8s} {'ms CPU':>7s} {'× wall':>7s} {'× CPU':>6s}"
    )
    for name, values in rows.items():
        score = statistics.fmean(row[0] for row in values)
        wall = statistics.fmean(row[1] for row in values)
        cpu = statistics.fmean(row[2] for row in values)
        print(
            f"{name:14s} {score:7.2f} {wall * 1000:8.0f} {cpu * 1000:7.0f} "
            f"{wall / reference_wall:7.2f} {cpu / reference_cpu:6.2f}"
        )


if __name__ == "__main__":
    main()
