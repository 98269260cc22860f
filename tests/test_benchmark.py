"""The Middlebury benchmark: its baselines, the frame it takes from minterpolate, its output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from frameinterp.benchmark import (
    benchmark_middlebury,
    find_middlebury_sequences,
    minterpolate_middle,
)
from frameinterp.cli import app
from frameinterp.errors import InputNotFoundError, InvalidInputError
from frameinterp.images import load_image
from frameinterp.metrics import psnr, to_uint8_rgb

MIDDLEBURY = Path(__file__).parent / "data" / "middlebury"


def test_minterpolate_returns_the_frame_at_half_time() -> None:
    """Flat frames leave nothing to compensate: the t = 0.5 frame is the average, not an end.

    (A small step: a large one trips minterpolate's scene-change detector, which repeats the
    first frame instead.)"""
    dark = np.full((64, 96, 3), 100, np.uint8)
    bright = np.full((64, 96, 3), 108, np.uint8)
    middle = minterpolate_middle(dark, bright)
    assert middle.shape == dark.shape and middle.dtype == np.uint8
    # 8-bit YUV 4:4:4 round trips cost about one level.
    assert abs(float(middle.mean()) - 104.0) <= 1.5


def test_minterpolate_compensates_real_motion() -> None:
    pictures = [
        load_image(MIDDLEBURY / "RubberWhale" / name)
        for name in ("frame10.png", "frame11.png", "frame10i11.png")
    ]
    first, second, truth = (to_uint8_rgb(picture.colour) for picture in pictures)
    blended = np.rint((first.astype(np.float32) + second) / 2).astype(np.uint8)
    assert psnr(minterpolate_middle(first, second), truth) > psnr(blended, truth)


def test_smoke_benchmark_on_real_sequence() -> None:
    report = benchmark_middlebury(MIDDLEBURY, engine="classic", device="cpu", repeats=1)
    assert [sequence.name for sequence in report.sequences] == ["RubberWhale"]
    assert report.methods == ["classic", "blend", "minterpolate"]
    results = report.sequences[0].methods
    assert results["classic"].psnr > results["minterpolate"].psnr > results["blend"].psnr
    assert 0.0 < results["classic"].ssim <= 1.0
    assert all(result.seconds > 0.0 for result in results.values())
    assert results["minterpolate"].cpu_seconds > 0.0
    mean = report.mean("classic")
    assert mean.psnr == pytest.approx(results["classic"].psnr)


def test_cli_json_and_table() -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "benchmark",
            "middlebury",
            str(MIDDLEBURY),
            "--device",
            "cpu",
            "--repeats",
            "1",
            "--no-baselines",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["engine"] == "classic"
    assert list(document["sequences"][0]["methods"]) == ["classic"]
    assert set(document["mean"]["classic"]) == {"psnr", "ssim", "seconds", "cpu_seconds"}
    result = runner.invoke(
        app, ["benchmark", "middlebury", str(MIDDLEBURY), "--engine", "blend", "--repeats", "1"]
    )
    assert result.exit_code == 0, result.stderr
    assert "RubberWhale" in result.stdout and "minterpolate" in result.stdout


def test_exception(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="not found"):
        find_middlebury_sequences(tmp_path / "missing")
    (tmp_path / "Empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"frame10i11\.png"):
        find_middlebury_sequences(tmp_path)
    with pytest.raises(InvalidInputError, match="repeats"):
        benchmark_middlebury(MIDDLEBURY, engine="blend", repeats=0)
    result = CliRunner().invoke(app, ["benchmark", "middlebury", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error:")
