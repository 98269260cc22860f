"""A tuning protocol that cannot fit four sequences: more cases, two fixed halves, orientations.

Cases are Middlebury sequences (``frame10``, ``frame11`` → ``frame10i11``) and triplets cut from
real clips (frames n, n+1, n+2: rebuild n+1 from its neighbours, as ``frameinterp evaluate``
does), scaled to a longer side of at most ``max_side`` so that a run stays short. Every case is
run in five variants: as is, mirrored left-right, upside down, both, and with its two frames
swapped (time reversed). A method that generalises scores the same on all five, and the same on
both halves.

The halves are fixed by sequence name, not by chance: within each source (Middlebury, clips)
the sorted names alternate A, B, A, B, ... so a clip's triplets never straddle the halves.
Choose constants on one half, report the other; a change counts only if it helps on both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from frameinterp.engines.classic import QUALITIES, ClassicInterpolator, ClassicOptions
from frameinterp.errors import InputNotFoundError, InvalidInputError
from frameinterp.images import read_rgb
from frameinterp.metrics import psnr, to_uint8_rgb

__all__ = [
    "ORIENTATIONS",
    "VIDEO_SUFFIXES",
    "Case",
    "GeneralisationReport",
    "Method",
    "benchmark_generalisation",
    "classic_method",
    "load_cases",
    "naive_middle",
    "orient",
    "run_protocol",
]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
ORIENTATIONS = ("identity", "hflip", "vflip", "both", "reversed")
# The spatial orientations, over which the spread is reported (time reversal is separate).
SPATIAL = ORIENTATIONS[:4]
# A method: two H×W×3 uint8 frames → the uint8 frame halfway between them.
Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Case:
    """One interpolation problem with its ground truth (H×W×3 uint8 RGB arrays)."""

    name: str  # sequence/case, unique
    sequence: str  # what decides the half
    source: str  # "middlebury" or "video"
    half: str  # "A" or "B"
    frame0: np.ndarray
    frame1: np.ndarray
    truth: np.ndarray


def orient(case: Case, orientation: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The case's (frame0, frame1, truth) in ``orientation`` (see ``ORIENTATIONS``)."""
    frames = (case.frame0, case.frame1, case.truth)
    if orientation == "identity":
        return frames
    if orientation == "reversed":
        return case.frame1, case.frame0, case.truth
    flips = {"hflip": 1, "vflip": 0, "both": -1}
    if orientation not in flips:
        raise InvalidInputError(f"unknown orientation {orientation!r}; expected {ORIENTATIONS}")
    code = flips[orientation]
    return tuple(np.ascontiguousarray(cv2.flip(f, code)) for f in frames)  # type: ignore[return-value]


def _fit(image: np.ndarray, max_side: int) -> np.ndarray:
    """``image`` area-scaled so that its longer side is at most ``max_side`` (even sizes)."""
    height, width = image.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
    if size == (width, height):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _decode(path: Path, last: int) -> list[np.ndarray]:
    """The first ``last + 1`` frames of a clip as RGB uint8 (fewer if the clip is shorter)."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) > last:
                break
    return frames


def _usable(first: np.ndarray, middle: np.ndarray, last: np.ndarray) -> bool:
    """Not across a scene cut (grey thumbnails must correlate) and not a duplicate frame."""
    if np.array_equal(middle, first) or np.array_equal(middle, last):
        return False
    small = [
        cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA)
        for f in (first, last)
    ]
    a, b = (s.astype(np.float64).ravel() for s in small)
    if a.std() < 1e-6 or b.std() < 1e-6:
        return False
    return float(np.corrcoef(a, b)[0, 1]) > 0.5


def _halves(names: Sequence[str]) -> dict[str, str]:
    return {name: "AB"[index % 2] for index, name in enumerate(sorted(names))}


def load_cases(
    middlebury: Path | None,
    videos: Path | None,
    triplets: int = 2,
    max_side: int = 640,
    scan_frames: int = 240,
) -> list[Case]:
    """Middlebury sequences under ``middlebury`` and ``triplets`` triplets from every clip under
    ``videos`` (searched recursively), taken at evenly spaced places in the clip's first
    ``scan_frames`` frames; triplets across a cut or with a duplicate middle are passed over."""
    if triplets < 1:
        raise InvalidInputError(f"triplets per clip must be at least 1, got {triplets}")
    cases: list[Case] = []
    if middlebury is not None:
        if not middlebury.is_dir():
            raise InputNotFoundError(f"Middlebury folder not found: {middlebury}")
        folders = sorted(p for p in middlebury.iterdir() if (p / "frame10i11.png").is_file())
        half = _halves([p.name for p in folders])
        for folder in folders:
            frames = [
                read_rgb(folder / f, np.uint8)
                for f in ("frame10.png", "frame11.png", "frame10i11.png")
            ]
            cases.append(Case(folder.name, folder.name, "middlebury", half[folder.name], *frames))
    if videos is not None:
        if not videos.is_dir():
            raise InputNotFoundError(f"video folder not found: {videos}")
        clips = sorted(p for p in videos.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        half = _halves([clip.stem for clip in clips])
        for clip in clips:
            frames = _decode(clip, scan_frames - 1)
            if len(frames) < 3:
                continue
            starts = np.linspace(0, len(frames) - 3, triplets + 2)[1:-1].astype(int)
            for start in starts:
                for offset in range(0, len(frames) - 2 - start):  # first usable from here
                    first, middle, last = frames[start + offset : start + offset + 3]
                    if _usable(first, middle, last):
                        index = start + offset
                        fitted = [_fit(f, max_side) for f in (first, last, middle)]
                        cases.append(
                            Case(
                                f"{clip.stem}@{index + 1}",
                                clip.stem,
                                "video",
                                half[clip.stem],
                                *fitted,
                            )
                        )
                        break
    if not cases:
        raise InvalidInputError("no cases: pass a Middlebury folder, a video folder, or both")
    return cases


def naive_middle(frame0: np.ndarray, frame1: np.ndarray, alpha: float = 20.0) -> np.ndarray:
    """The baseline every change must beat: OpenCV DIS ``medium`` both ways at full resolution,
    then both images softmax-splatted to t = 0.5 with the metric ``-alpha·|I0 - backwarp(I1)|``
    (channel mean, as the softmax-splatting reference's example), one softmax for both
    directions; the rare pixel where nothing lands gets the plain average."""
    from frameinterp.ops import backwarp, softsplat

    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (frame0, frame1)]
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    forward = dis.calc(grey[0], grey[1], None)  # type: ignore[call-overload]
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    backward = dis.calc(grey[1], grey[0], None)  # type: ignore[call-overload]
    images = torch.stack(
        [torch.from_numpy(f).permute(2, 0, 1).float() / 255.0 for f in (frame0, frame1)]
    )
    flows = torch.stack([torch.from_numpy(f).permute(2, 0, 1) for f in (forward, backward)])
    with torch.no_grad():
        warped = backwarp(images.flip(0), flows)
        metric = -alpha * (images - warped).abs().mean(1, keepdim=True)
        carried = torch.cat([images, torch.ones_like(images[:, :1])], 1) * metric.exp()
        landed = softsplat(carried, flows * 0.5, mode="sum").sum(0, keepdim=True)
        weight = landed[:, 3:]
        middle = landed[:, :3] / weight.clamp(min=1e-12)
        average = images.mean(0, keepdim=True)
        middle = torch.where(weight > 1e-6, middle, average)
    out = middle[0].permute(1, 2, 0).clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(out.numpy())


@dataclass
class GeneralisationReport:
    """PSNR of every method on every case and orientation, and each method's seconds."""

    cases: list[Case]
    orientations: tuple[str, ...]
    psnr: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # method→case→o
    seconds: dict[str, float] = field(default_factory=dict)  # per frame, mean

    def case_mean(self, method: str, case: str) -> float:
        return statistics.fmean(self.psnr[method][case].values())

    def half_mean(self, method: str, half: str, source: str | None = None) -> float:
        """Mean over the half's cases (each case: mean over its orientations); NaN if none."""
        values = [
            self.case_mean(method, c.name)
            for c in self.cases
            if c.half == half and (source is None or c.source == source)
        ]
        return statistics.fmean(values) if values else float("nan")

    def spread(self, method: str, case: str) -> float:
        """Largest minus smallest PSNR over the spatial orientations run."""
        values = [v for o, v in self.psnr[method][case].items() if o in SPATIAL]
        return max(values) - min(values) if values else 0.0

    def reversal(self, method: str, case: str) -> float:
        """|PSNR reversed - PSNR identity| where both were run, else 0."""
        row = self.psnr[method][case]
        if "reversed" in row and "identity" in row:
            return abs(row["reversed"] - row["identity"])
        return 0.0

    def to_dict(self) -> dict[str, object]:
        methods = list(self.psnr)
        return {
            "orientations": list(self.orientations),
            "cases": [
                {
                    "name": c.name,
                    "half": c.half,
                    "source": c.source,
                    "size": list(c.frame0.shape[:2]),
                }
                for c in self.cases
            ],
            "psnr": self.psnr,
            "seconds_per_frame": self.seconds,
            "halves": {
                m: {
                    h: {
                        "all": self.half_mean(m, h),
                        "middlebury": self.half_mean(m, h, "middlebury"),
                        "video": self.half_mean(m, h, "video"),
                    }
                    for h in "AB"
                }
                for m in methods
            },
        }


def run_protocol(
    cases: Sequence[Case],
    methods: dict[str, Method],
    orientations: Sequence[str] = ORIENTATIONS,
) -> GeneralisationReport:
    """Every method on every case in every orientation; PSNR on 8-bit RGB."""
    for orientation in orientations:
        if orientation not in ORIENTATIONS:
            raise InvalidInputError(f"unknown orientation {orientation!r}; expected {ORIENTATIONS}")
    report = GeneralisationReport(list(cases), tuple(orientations))
    for name, method in methods.items():
        table: dict[str, dict[str, float]] = {}
        spent = 0.0
        count = 0
        for case in cases:
            row = {}
            for orientation in orientations:
                frame0, frame1, truth = orient(case, orientation)
                started = time.perf_counter()
                estimate = method(frame0, frame1)
                spent += time.perf_counter() - started
                count += 1
                row[orientation] = min(psnr(estimate, truth), 100.0)
            table[case.name] = row
        report.psnr[name] = table
        report.seconds[name] = spent / max(count, 1)
    return report


def classic_method(options: ClassicOptions) -> Method:
    """The classic engine with ``options`` on the CPU, as a ``Method`` (8-bit in and out)."""
    engine = ClassicInterpolator("cpu", options)

    def middle(frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
        images = [torch.from_numpy(f).permute(2, 0, 1).float() / 255.0 for f in (frame0, frame1)]
        with torch.inference_mode():
            return to_uint8_rgb(engine.interpolate(images[0], images[1], [0.5])[0])

    return middle


def benchmark_generalisation(
    middlebury: Path | None,
    videos: Path | None,
    qualities: Sequence[str] = ("balanced",),
    triplets: int = 2,
    max_side: int = 640,
    orientations: Sequence[str] = ORIENTATIONS,
    minterpolate: bool = True,
) -> GeneralisationReport:
    """The protocol's standard run: the naive baseline, the classic engine at each of
    ``qualities`` and (optionally) FFmpeg's ``minterpolate``, all on the same cases."""
    from frameinterp.benchmark import minterpolate_middle

    cases = load_cases(middlebury, videos, triplets=triplets, max_side=max_side)
    methods: dict[str, Method] = {"naive": naive_middle}
    for quality in qualities:
        if quality not in QUALITIES:
            raise InvalidInputError(f"unknown quality {quality!r}; expected {QUALITIES}")
        methods[f"classic {quality}"] = classic_method(ClassicOptions(quality=quality))
    if minterpolate:
        methods["minterpolate"] = minterpolate_middle
    return run_protocol(cases, methods, orientations)
