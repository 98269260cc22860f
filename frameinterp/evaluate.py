"""Quality check on any footage: drop every other frame, interpolate it back, measure the error.

For each triplet of consecutive frames (0, 1, 2), (2, 3, 4), ... the engine synthesises the
middle frame from its neighbours at its real time position (so variable frame rate is measured
fairly) and PSNR/SSIM compare it with the frame that was dropped. Frame blending is measured on
the same triplets as the baseline an engine has to beat. Triplets that span a scene cut, and
triplets of duplicate frames, are left out and counted: neither says anything about an engine.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from frameinterp.convert import JobProgress as Progress
from frameinterp.decode import DecodedFrame, VideoReader, probe
from frameinterp.engines import Interpolator, create_interpolator
from frameinterp.errors import InvalidInputError, UnsupportedMediaError
from frameinterp.metrics import PSNR_CAP, psnr, ssim, to_uint8_rgb
from frameinterp.progress_bar import ProgressBar
from frameinterp.timing import (
    DEFAULT_SCENE_THRESHOLD,
    DEFAULT_STATIC_THRESHOLD,
    classify_interval,
)
from frameinterp.transfer import FrameTransfer, to_uint8

__all__ = ["EvaluationResult", "Scores", "evaluate_video"]


@dataclass(frozen=True)
class Scores:
    """PSNR (dB) and SSIM over the triplets: mean, and the worst triplet's value."""

    psnr_mean: float
    psnr_worst: float
    ssim_mean: float
    ssim_worst: float
    worst_frame: int  # index of the dropped frame with the lowest PSNR


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of the engine and of plain blending on the same triplets."""

    video: Path
    engine: str
    device: str
    triplets: int
    skipped_cuts: int
    skipped_static: int
    engine_scores: Scores
    blend_scores: Scores
    seconds: float


def _scores(psnrs: list[float], ssims: list[float], frames: list[int]) -> Scores:
    worst = int(np.argmin(psnrs))
    return Scores(
        psnr_mean=float(np.mean(psnrs)),
        psnr_worst=psnrs[worst],
        ssim_mean=float(np.mean(ssims)),
        ssim_worst=float(np.min(ssims)),
        worst_frame=frames[worst],
    )


def evaluate_video(
    video: str | Path,
    *,
    engine: str = "classic",
    device: str | torch.device = "auto",
    weights: str | Path | None = None,
    max_triplets: int | None = None,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    static_threshold: float | None = DEFAULT_STATIC_THRESHOLD,
    interpolator: Interpolator | None = None,
    progress: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
) -> EvaluationResult:
    """Drop every other frame of ``video`` and score how well ``engine`` brings it back.

    ``on_progress`` gets a ``Progress`` after each triplet; ``progress=True`` draws a
    ``tqdm.auto`` bar (Jupyter or terminal).
    """
    with ProgressBar(progress, f"evaluate {Path(video).name}", on_progress, "triplet") as bar:
        return _evaluate(
            video,
            engine=engine,
            device=device,
            weights=weights,
            max_triplets=max_triplets,
            scene_threshold=scene_threshold,
            static_threshold=static_threshold,
            interpolator=interpolator,
            report=bar,
        )


def _evaluate(
    video: str | Path,
    *,
    engine: str,
    device: str | torch.device,
    weights: str | Path | None,
    max_triplets: int | None,
    scene_threshold: float | None,
    static_threshold: float | None,
    interpolator: Interpolator | None,
    report: Callable[[Progress], None],
) -> EvaluationResult:
    started = clock.perf_counter()
    if max_triplets is not None and max_triplets < 1:
        raise InvalidInputError(f"--max-triplets must be at least 1, got {max_triplets}")
    info = probe(video)
    if interpolator is None:
        interpolator = create_interpolator(engine, device, weights=weights)
    blend = create_interpolator("blend", interpolator.device)
    transfer = FrameTransfer(interpolator.device)
    expected = max(0, (info.estimated_frames() - 1) // 2)
    if max_triplets is not None:
        expected = min(expected, max_triplets)
    engine_psnr: list[float] = []
    engine_ssim: list[float] = []
    blend_psnr: list[float] = []
    blend_ssim: list[float] = []
    frames: list[int] = []
    skipped_cuts = 0
    skipped_static = 0
    window: list[DecodedFrame] = []
    with VideoReader(info, measure=True) as reader:
        for decoded in reader:
            window.append(decoded)
            if len(window) < 3:
                continue
            first, middle, last = window
            window = [last]
            kinds = {
                classify_interval(middle.measure, scene_threshold, None),
                classify_interval(last.measure, scene_threshold, None),
            }
            if "cut" in kinds:
                skipped_cuts += 1
                continue
            if static_threshold is not None and all(
                frame.measure is not None and frame.measure.peak_difference < static_threshold
                for frame in (middle, last)
            ):
                skipped_static += 1
                continue
            t = float((middle.time - first.time) / (last.time - first.time))
            with torch.inference_mode():
                before = transfer.upload(first.image)
                after = transfer.upload(last.image)
                estimate = to_uint8_rgb(interpolator.interpolate(before, after, [t])[0])
                blended = to_uint8_rgb(blend.interpolate(before, after, [t])[0])
            truth = to_uint8(middle.image)  # the benchmark convention, also for 16-bit
            engine_psnr.append(min(psnr(estimate, truth), PSNR_CAP))
            engine_ssim.append(ssim(estimate, truth))
            blend_psnr.append(min(psnr(blended, truth), PSNR_CAP))
            blend_ssim.append(ssim(blended, truth))
            frames.append(middle.index)
            done = len(frames)
            report(Progress(done, max(expected, done), clock.perf_counter() - started))
            if max_triplets is not None and len(frames) >= max_triplets:
                break
    if not frames:
        raise UnsupportedMediaError(
            f"{str(video)!r} has no usable triplet of frames (needs at least three frames "
            f"without a scene cut; cuts skipped: {skipped_cuts}, duplicates: {skipped_static})"
        )
    return EvaluationResult(
        video=Path(video),
        engine=interpolator.name,
        device=str(interpolator.device),
        triplets=len(frames),
        skipped_cuts=skipped_cuts,
        skipped_static=skipped_static,
        engine_scores=_scores(engine_psnr, engine_ssim, frames),
        blend_scores=_scores(blend_psnr, blend_ssim, frames),
        seconds=clock.perf_counter() - started,
    )
