"""`frameinterp benchmark speed`: every stage is measured on real frames and reported."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner
from video_clips import make_clip as make_synthetic_clip

from frameinterp.cli import app
from frameinterp.speed import make_clip, measure_speed

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "cup.mp4"


def test_classic_stages_in_order(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_synthetic_clip(clip, frames=5)
    report = measure_speed(clip, frames=4, engine="classic", device="cpu")
    names = [stage.name for stage in report.stages]
    assert names == ["decode", "upload", "flow", "splat + fusion", "download", "encode"]
    items = {stage.name: stage.items for stage in report.stages}
    assert items == {"decode": 4, "upload": 4, "flow": 3, "splat + fusion": 3, "download": 3,
                     "encode": 7}  # fmt: skip
    assert all(stage.seconds > 0 for stage in report.stages)
    assert report.end_to_end_fps > 0 and report.stage_fps > 0


def test_cli_json_on_a_clip_made_from_the_real_sample(tmp_path):
    clip = make_clip(SAMPLE, tmp_path / "sample-480p.mp4", "480p", 3)
    result = runner.invoke(
        app, ["benchmark", "speed", str(clip), "--frames", "3", "--engine", "blend", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["size"] == "854x480" and report["input_frames"] == 3
    assert list(report["stages"]) == ["decode", "upload", "engine", "download", "encode"]


def test_exception_not_a_video(tmp_path):
    bogus = tmp_path / "x.mp4"
    bogus.write_text("not a video")
    result = runner.invoke(app, ["benchmark", "speed", str(bogus)])
    assert result.exit_code != 0 and "Traceback" not in result.output
