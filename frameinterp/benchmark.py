"""Quality benchmarks: the Middlebury interpolation set, against baselines in the same run.

``benchmark_middlebury(folder)`` interpolates ``frame10.png`` and ``frame11.png`` of every
sequence to t = 0.5 and compares with ``frame10i11.png``: PSNR and SSIM on 8-bit RGB (the
estimate clipped, scaled by 255 and rounded, as in the paper's script; ``frameinterp.metrics``).
Every method is run and timed in the same process on the same frames: the engine under test,
plain frame blending, and FFmpeg's motion-compensated ``minterpolate`` filter (through PyAV's
filter graph, so no ffmpeg binary is needed).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path

import av
import av.filter
import numpy as np
import torch

from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import BackendUnavailableError, InputNotFoundError, InvalidInputError
from frameinterp.images import load_image
from frameinterp.metrics import psnr, ssim, to_uint8_rgb
from frameinterp.transfer import image_to_tensor

__all__ = [
    "MINTERPOLATE_OPTIONS",
    "MethodResult",
    "MiddleburyReport",
    "SequenceResult",
    "benchmark_middlebury",
    "find_middlebury_sequences",
    "minterpolate_middle",
]

MIDDLEBURY_FILES = ("frame10.png", "frame11.png", "frame10i11.png")
# The strongest motion-compensated mode of FFmpeg's filter: bidirectional motion estimation,
# adaptive overlapped block motion compensation and variable-size block refinement.
MINTERPOLATE_OPTIONS = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1"


@dataclass(frozen=True)
class MethodResult:
    """One method on one sequence: quality, and the median wall and CPU time to make the frame.

    CPU time (all threads of this process) is the work done, whatever else the machine runs;
    wall time is what a user waits, and swings with the load on a shared machine.
    """

    psnr: float
    ssim: float
    seconds: float
    cpu_seconds: float


@dataclass(frozen=True)
class SequenceResult:
    name: str
    methods: dict[str, MethodResult]


@dataclass(frozen=True)
class MiddleburyReport:
    folder: str
    engine: str
    device: str
    repeats: int
    sequences: list[SequenceResult] = field(default_factory=list)

    @property
    def methods(self) -> list[str]:
        return list(self.sequences[0].methods) if self.sequences else []

    def mean(self, method: str) -> MethodResult:
        """Mean PSNR, SSIM and time per frame of ``method`` over all sequences."""
        rows = [sequence.methods[method] for sequence in self.sequences]
        return MethodResult(
            psnr=statistics.fmean(row.psnr for row in rows),
            ssim=statistics.fmean(row.ssim for row in rows),
            seconds=statistics.fmean(row.seconds for row in rows),
            cpu_seconds=statistics.fmean(row.cpu_seconds for row in rows),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": self.folder,
            "engine": self.engine,
            "device": self.device,
            "repeats": self.repeats,
            "sequences": [
                {"name": s.name, "methods": {m: asdict(r) for m, r in s.methods.items()}}
                for s in self.sequences
            ],
            "mean": {method: asdict(self.mean(method)) for method in self.methods},
        }


def find_middlebury_sequences(folder: str | os.PathLike[str]) -> list[Path]:
    """Sub-folders of ``folder`` that hold frame10.png, frame11.png and frame10i11.png, sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"Middlebury folder not found: {folder}")
    sequences = sorted(
        child
        for child in folder.iterdir()
        if child.is_dir() and all((child / name).is_file() for name in MIDDLEBURY_FILES)
    )
    if not sequences:
        raise InvalidInputError(
            f"no sequence in {folder}: expected sub-folders <Seq>/ with "
            f"{', '.join(MIDDLEBURY_FILES)} (the Middlebury 'other' set with ground truth)"
        )
    return sequences


def _drain(graph: av.filter.Graph, frames: dict[Fraction, np.ndarray]) -> None:
    while True:
        try:
            frame = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        if not isinstance(frame, av.VideoFrame) or frame.pts is None or frame.time_base is None:
            continue  # buffersink always stamps video frames; anything else is not ours
        frames[frame.pts * frame.time_base] = frame.to_ndarray(format="rgb24")


def minterpolate_middle(frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
    """FFmpeg ``minterpolate``'s frame at t = 0.5 between two H×W×3 uint8 RGB frames.

    The frames are fed as a 1 fps stream (pts 0 and 1) and the filter is asked for 2 fps; its
    output at presentation time 0.5 s is the in-between frame. The filter works in YUV 4:4:4
    (no chroma subsampling, so the baseline is not penalised by the colour conversion) and looks
    one frame ahead, so the second frame is repeated once to let it finish.
    """
    height, width = frame0.shape[:2]
    graph = av.filter.Graph()
    source = graph.add_buffer(
        width=width, height=height, format=av.VideoFormat("yuv444p"), time_base=Fraction(1)
    )
    interpolate = graph.add("minterpolate", f"fps=2:{MINTERPOLATE_OPTIONS}")
    sink = graph.add("buffersink")
    source.link_to(interpolate)
    interpolate.link_to(sink)
    graph.configure()
    frames: dict[Fraction, np.ndarray] = {}
    middle = Fraction(1, 2)
    for index, image in enumerate((frame0, frame1, frame1)):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv444p")
        frame.pts = index
        frame.time_base = Fraction(1)
        graph.push(frame)
        _drain(graph, frames)
        if middle in frames:
            return frames[middle]
    graph.push(None)
    _drain(graph, frames)
    if middle not in frames:
        raise BackendUnavailableError(
            "FFmpeg's minterpolate produced no frame at t = 0.5 (got times "
            f"{sorted(float(t) for t in frames)}); check the PyAV/FFmpeg build"
        )
    return frames[middle]


def _median_time(make: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float, float]:
    """The result of ``make`` and its median wall and CPU seconds over ``repeats`` runs."""
    wall, cpu = [], []
    result = make()  # warm-up: first-call costs (allocations, lazy initialisation) excluded
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = make()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return result, statistics.median(wall), statistics.median(cpu)


def benchmark_middlebury(
    folder: str | os.PathLike[str],
    engine: str = "classic",
    device: str | torch.device = "auto",
    weights: str | Path | None = None,
    repeats: int = 3,
    baselines: bool = True,
) -> MiddleburyReport:
    """PSNR/SSIM/time of ``engine`` (and of blending and minterpolate) on every sequence.

    Times are the median of ``repeats`` runs after one warm-up, per frame, end to end from
    8-bit RGB in memory to 8-bit RGB out (for the engine: upload, flow, synthesis, download);
    both wall-clock and CPU time (see ``MethodResult``).
    """
    if repeats < 1:
        raise InvalidInputError(f"repeats must be 1 or more, got {repeats}")
    interpolator = create_interpolator(engine, device, weights=weights)
    target = interpolator.device
    blend = create_interpolator("blend", target)
    report = MiddleburyReport(str(folder), engine, str(target), repeats)
    for sequence in find_middlebury_sequences(folder):
        first, second, truth_picture = (load_image(sequence / name) for name in MIDDLEBURY_FILES)
        truth = to_uint8_rgb(truth_picture.colour)
        rgb0, rgb1 = to_uint8_rgb(first.colour), to_uint8_rgb(second.colour)

        def run(
            method: Interpolator, rgb0: np.ndarray = rgb0, rgb1: np.ndarray = rgb1
        ) -> np.ndarray:
            frame0 = image_to_tensor(rgb0).to(method.device)
            frame1 = image_to_tensor(rgb1).to(method.device)
            with torch.inference_mode():
                return to_uint8_rgb(method.interpolate(frame0, frame1, [0.5])[0])

        def run_minterpolate(rgb0: np.ndarray = rgb0, rgb1: np.ndarray = rgb1) -> np.ndarray:
            return minterpolate_middle(rgb0, rgb1)

        methods: dict[str, Callable[[], np.ndarray]] = {engine: partial(run, interpolator)}
        if baselines:
            methods["blend"] = partial(run, blend)
            methods["minterpolate"] = run_minterpolate
        results = {}
        for name, make in methods.items():
            estimate, seconds, cpu_seconds = _median_time(make, repeats)
            results[name] = MethodResult(
                psnr(estimate, truth), ssim(estimate, truth), seconds, cpu_seconds
            )
        report.sequences.append(SequenceResult(sequence.name, results))
    return report
