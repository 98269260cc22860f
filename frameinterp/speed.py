"""Where the time goes: each stage of the video job measured on its own, then end to end.

Stages, in the order frames flow: decode (PyAV, to RGB), upload (host → engine tensor), flow
(the classic engine's optical flow), synthesis (splatting and fusion: the engine's time minus
its flow), download (tensor → host RGB), encode (RGB → YUV → encoder). Each is timed alone on
the same frames (CUDA work synchronised at stage boundaries), so the shares show which stage
bounds the pipeline; the end-to-end run overlaps decode and encode with the engine in threads.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from frameinterp.decode import VideoReader
from frameinterp.encode import EncodeSettings, VideoWriter
from frameinterp.engines import create_interpolator, resolve_device
from frameinterp.errors import InvalidInputError
from frameinterp.pipeline import interpolate_video
from frameinterp.probe import probe
from frameinterp.transfer import FrameTransfer

SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}


@dataclass(frozen=True)
class Stage:
    """One stage's total time over ``items`` (frames or pairs), and per output frame."""

    name: str
    items: int
    seconds: float
    output_frames: int

    @property
    def ms_per_item(self) -> float:
        return 1000 * self.seconds / max(self.items, 1)

    @property
    def ms_per_output_frame(self) -> float:
        return 1000 * self.seconds / max(self.output_frames, 1)


@dataclass
class SpeedReport:
    clip: str
    width: int
    height: int
    engine: str
    device: str
    input_frames: int
    stages: list[Stage] = field(default_factory=list)
    end_to_end_fps: float = 0.0

    @property
    def stage_fps(self) -> float:
        """Output frames per second if the stages ran one after another."""
        total = sum(stage.ms_per_output_frame for stage in self.stages)
        return 1000 / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "clip": self.clip,
            "size": f"{self.width}x{self.height}",
            "engine": self.engine,
            "device": self.device,
            "input_frames": self.input_frames,
            "stages": {
                s.name: {
                    "items": s.items,
                    "ms_per_item": s.ms_per_item,
                    "ms_per_output_frame": s.ms_per_output_frame,
                }
                for s in self.stages
            },
            "stage_fps": self.stage_fps,
            "end_to_end_fps": self.end_to_end_fps,
        }


def make_clip(source: Path, target: Path, size: str | tuple[int, int], frames: int) -> Path:
    """The first ``frames`` frames of ``source`` scaled to ``size`` (480p … 4k, or width and
    height), near-lossless."""
    if isinstance(size, str) and size not in SIZES:
        raise InvalidInputError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    width, height = SIZES[size] if isinstance(size, str) else size
    info = probe(source)
    writer = VideoWriter.for_frames(
        target, width=width, height=height, rate=info.rate, settings=EncodeSettings(crf=12)
    )
    try:
        with av.open(str(source)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index >= frames:
                    break
                scaled = frame.reformat(width=width, height=height, format="yuv420p")
                writer.write(scaled, Fraction(index) / info.rate)
        writer.commit()
    finally:
        writer.abort()
    return target


def _timed(device: torch.device, work: Callable[[], Any]) -> tuple[float, Any]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    result = work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started, result


def measure_speed(
    clip: str | Path,
    *,
    frames: int = 24,
    engine: str = "classic",
    device: str = "auto",
    weights: str | Path | None = None,
    codec: str = "x264",
    preset: str | None = None,
) -> SpeedReport:
    """Time every stage of a factor-2 conversion of the first ``frames`` frames of ``clip``."""
    if frames < 2:
        raise InvalidInputError(f"--frames must be at least 2, got {frames}")
    clip = Path(clip)
    info = probe(clip)
    chosen = resolve_device(device)
    interpolator = create_interpolator(engine, chosen, weights=weights)
    transfer = FrameTransfer(chosen)

    def decode() -> list[np.ndarray]:
        images = []
        with VideoReader(info, measure=False) as reader:
            for decoded in reader:
                images.append(decoded.image)
                if len(images) == frames:
                    break
        return images

    decode_seconds, images = _timed(chosen, decode)
    count = len(images)
    if count < 2:
        raise InvalidInputError(f"{clip} has fewer than two frames to interpolate between")
    outputs = 2 * count - 1
    upload_seconds, tensors = _timed(chosen, lambda: [transfer.upload(i) for i in images])
    pairs = list(itertools.pairwise(tensors))
    _timed(chosen, lambda: interpolator.interpolate(*pairs[0], [0.5]))  # warm-up
    flow_before = getattr(interpolator, "flow_seconds", None)
    engine_seconds, middles = _timed(
        chosen, lambda: [interpolator.interpolate(a, b, [0.5])[0] for a, b in pairs]
    )
    # Engines that estimate flow count its time themselves (inside the same timed calls).
    flow_seconds = None
    if flow_before is not None:
        counted: Any = interpolator  # an engine with a flow_seconds counter (classic)
        flow_seconds = counted.flow_seconds - flow_before
    download_seconds, downloaded = _timed(
        chosen, lambda: [transfer.download(m, images[0].dtype) for m in middles]
    )
    sequence = [images[0]]
    for middle, image in zip(downloaded, images[1:], strict=True):
        sequence += [middle, image]
    encode_seconds = _encode_seconds(clip, info, sequence, codec, preset)

    stages = [
        Stage("decode", count, decode_seconds, outputs),
        Stage("upload", count, upload_seconds, outputs),
    ]
    if flow_seconds is not None:
        stages.append(Stage("flow", len(pairs), flow_seconds, outputs))
        stages.append(Stage("splat + fusion", len(pairs), engine_seconds - flow_seconds, outputs))
    else:
        stages.append(Stage("engine", len(pairs), engine_seconds, outputs))
    stages += [
        Stage("download", len(middles), download_seconds, outputs),
        Stage("encode", outputs, encode_seconds, outputs),
    ]
    with tempfile.TemporaryDirectory() as folder:
        summary = interpolate_video(
            clip, Path(folder) / f"speed{clip.suffix or '.mp4'}", factor=2, codec=codec,
            preset=preset, interpolator=interpolator, max_frames=count,
        )  # fmt: skip
    return SpeedReport(
        clip=str(clip),
        width=int(info.width),
        height=int(info.height),
        engine=interpolator.name,
        device=str(chosen),
        input_frames=count,
        stages=stages,
        end_to_end_fps=summary.frames_per_second,
    )


def _encode_seconds(
    clip: Path, info: Any, images: list[np.ndarray], codec: str, preset: str | None
) -> float:
    with tempfile.TemporaryDirectory() as folder:
        rate = info.rate * 2
        writer = VideoWriter(
            Path(folder) / f"encode{clip.suffix or '.mp4'}", info,
            settings=EncodeSettings(codec=codec, preset=preset), rate=rate,
            time_base=Fraction(1) / rate, keep_audio=False, keep_subtitles=False,
        )  # fmt: skip
        started = time.perf_counter()
        try:
            for index, image in enumerate(images):
                writer.write(image, info.start + Fraction(index) / rate)
            writer.commit()
        finally:
            writer.abort()
        return time.perf_counter() - started
