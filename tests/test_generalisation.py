"""The tuning protocol: orientations, halves, case selection, the naive baseline, the report."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from frameinterp.cli import app
from frameinterp.errors import InvalidInputError
from frameinterp.generalisation import (
    ORIENTATIONS,
    Case,
    load_cases,
    naive_middle,
    orient,
    run_protocol,
)
from frameinterp.metrics import psnr

MIDDLEBURY = Path(__file__).parent / "data" / "middlebury"


def _read(name: str) -> np.ndarray:
    return cv2.imread(str(MIDDLEBURY / "RubberWhale" / name), cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def _blend(frame0: np.ndarray, frame1: np.ndarray) -> np.ndarray:
    return ((frame0.astype(np.uint16) + frame1 + 1) // 2).astype(np.uint8)


def _write_clip(path: Path, frames: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "1"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))


@pytest.fixture(scope="module")
def rubber() -> Case:
    frames = [_read(n) for n in ("frame10.png", "frame11.png", "frame10i11.png")]
    crop = [f[100:228, 200:360].copy() for f in frames]
    return Case("RubberWhale", "RubberWhale", "middlebury", "A", *crop)


def test_orient_flips_frames_and_truth_together(rubber: Case) -> None:
    for orientation, code in (("hflip", 1), ("vflip", 0), ("both", -1)):
        frame0, frame1, truth = orient(rubber, orientation)
        assert np.array_equal(frame0, cv2.flip(rubber.frame0, code))
        assert np.array_equal(frame1, cv2.flip(rubber.frame1, code))
        assert np.array_equal(truth, cv2.flip(rubber.truth, code))
    frame0, frame1, truth = orient(rubber, "reversed")
    assert frame0 is rubber.frame1 and frame1 is rubber.frame0 and truth is rubber.truth
    with pytest.raises(InvalidInputError, match="orientation"):
        orient(rubber, "sideways")


def test_load_cases_halves_by_sequence_and_skips_cuts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.random((96, 160, 3)).astype(np.float32), (0, 0), 8.0)
    texture = np.clip((texture - texture.mean()) * 12 + 0.5, 0, 1)
    moving = [
        np.ascontiguousarray((np.roll(texture, 2 * i, axis=1) * 255).astype(np.uint8))[:, :128]
        for i in range(9)
    ]
    other = np.ascontiguousarray(255 - moving[0][::-1])
    clips = tmp_path / "clips"
    clips.mkdir()
    _write_clip(clips / "pan.mp4", moving)
    # A hard cut after frame 4: triplets around it must be passed over.
    _write_clip(clips / "cut.mp4", moving[:4] + [other] * 5)
    cases = load_cases(MIDDLEBURY, clips, triplets=2, max_side=64)
    names = {case.sequence: case.half for case in cases}
    assert names == {"RubberWhale": "A", "cut": "A", "pan": "B"}  # sorted, alternating
    for case in cases:
        if case.source == "video":
            assert max(case.frame0.shape[:2]) <= 64
            assert case.frame0.shape == case.frame1.shape == case.truth.shape
    pan = [case for case in cases if case.sequence == "pan"]
    assert len(pan) == 2 and len({case.name for case in pan}) == 2
    for case in (c for c in cases if c.sequence == "cut"):
        # Every frame of a kept triplet lies on one side of the cut.
        for frame in (case.frame0, case.frame1, case.truth):
            assert abs(float(frame.mean()) - float(case.frame0.mean())) < 20
    with pytest.raises(InvalidInputError, match="no cases"):
        load_cases(None, None)


def test_naive_baseline_beats_blending_on_real_motion(rubber: Case) -> None:
    middle = naive_middle(rubber.frame0, rubber.frame1)
    assert middle.shape == rubber.truth.shape and middle.dtype == np.uint8
    assert psnr(middle, rubber.truth) > psnr(_blend(rubber.frame0, rubber.frame1), rubber.truth) + 1


def test_report_halves_and_spreads(rubber: Case) -> None:
    other = Case("Other", "Other", "video", "B", rubber.frame1, rubber.frame0, rubber.truth)
    report = run_protocol([rubber, other], {"blend": _blend, "naive": naive_middle})
    assert set(report.psnr["blend"]["RubberWhale"]) == set(ORIENTATIONS)
    # Blending does not care about orientation or time direction: no spread at all.
    assert report.spread("blend", "RubberWhale") == pytest.approx(0.0, abs=1e-9)
    assert report.reversal("blend", "RubberWhale") == pytest.approx(0.0, abs=1e-9)
    assert report.half_mean("blend", "A") == pytest.approx(report.case_mean("blend", "RubberWhale"))
    assert np.isnan(report.half_mean("blend", "A", "video"))
    assert report.half_mean("naive", "A") > report.half_mean("blend", "A")
    assert set(json.loads(json.dumps(report.to_dict()))["halves"]) == {"blend", "naive"}


def test_cli_runs_the_protocol() -> None:
    result = CliRunner().invoke(
        app,
        [
            "benchmark",
            "generalisation",
            "--middlebury",
            str(MIDDLEBURY),
            "--quality",
            "fast",
            "--no-minterpolate",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["halves"]) == {"naive", "classic fast"}
    assert report["halves"]["classic fast"]["A"]["middlebury"] > 30
    missing = CliRunner().invoke(app, ["benchmark", "generalisation"])
    assert missing.exit_code == 2 and "--middlebury" in missing.output
