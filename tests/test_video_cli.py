"""`frameinterp slowmo`, `batch` and `evaluate` on the command line: output, errors, exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner
from video_clips import make_clip, make_truncated_clip, read_video

from frameinterp.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_smoke_slowmo(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 8, audio=True)
    code, out, err = invoke("slowmo", str(clip), "--engine", "blend", "--factor", "3")
    assert code == 0, err
    output = tmp_path / "clip.3x.mp4"
    assert len(read_video(output)[0]) == 24
    assert "8 in → 24 out" in out and "copied audio (aac)" in out
    assert "24/24 frames" in err  # not a terminal: plain progress lines on stderr


def test_slowmo_quiet_fps_and_slowdown(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 12, audio=True)
    code, out, err = invoke(
        "slowmo", str(clip), "--engine", "blend", "--fps", "60", "-o", str(tmp_path / "a.mp4"),
        "-q",
    )  # fmt: skip
    assert (code, out, err) == (0, "", "")
    assert len(read_video(tmp_path / "a.mp4")[0]) == 30
    code, out, err = invoke(
        "slowmo", str(clip), "--engine", "blend", "--slowdown", "-o", str(tmp_path / "b.mp4")
    )
    assert code == 0 and "audio dropped" in err  # warnings go to stderr
    with av.open(str(tmp_path / "b.mp4")) as container:
        assert not container.streams.audio


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--factor", "1"], 2, "at least 2"),
        (["--factor", "0"], 2, "at least 2"),
        (["--fps", "0"], 2, "greater than 0"),
        (["--fps", "-30"], 2, "greater than 0"),
        (["--fps", "fast"], 2, "cannot read frame rate"),
        (["--factor", "2", "--fps", "60"], 2, "not both"),
        (["--codec", "h263"], 2, "unknown codec"),
        (["--engine", "magic"], 2, "unknown engine"),
        (["-o", "{tmp}/missing/out.mp4"], 4, "does not exist"),
        (["-o", "{clip}"], 4, "is the input"),
    ],
)
def test_exception_bad_options(
    tmp_path: Path, arguments: list[str], exit_code: int, message: str
) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    filled = [arg.format(tmp=tmp_path, clip=clip) for arg in arguments]
    code, _, err = invoke("slowmo", str(clip), "--engine", "blend", *filled)
    assert code == exit_code
    assert message in err
    assert err.startswith("error:") and err.count("\n") == 1  # one line, no traceback
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_exception_bad_inputs(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    code, _, err = invoke("slowmo", str(text), "--engine", "blend")
    assert code == 3 and "not a video" in err and err.count("\n") == 1
    code, _, err = invoke("slowmo", str(tmp_path / "none.mp4"), "--engine", "blend")
    assert code == 2 and "does not exist" in err
    one = tmp_path / "one.mp4"
    make_clip(one, 1)
    code, _, err = invoke("slowmo", str(one), "--engine", "blend")
    assert code == 3 and "only one frame" in err
    existing = tmp_path / "one.2x.mp4"
    existing.write_bytes(b"old")
    make_clip(tmp_path / "two.mp4", 3)
    code, _, err = invoke(
        "slowmo", str(tmp_path / "two.mp4"), "--engine", "blend", "-o", str(existing)
    )
    assert code == 4 and "--overwrite" in err and existing.read_bytes() == b"old"


def test_batch_table_and_exit_code(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", 4)
    (folder / "bad.mov").write_bytes(b"junk" * 100)
    code, out, _ = invoke("batch", str(folder), "--engine", "blend")
    assert code == 1
    assert "1 done, 0 skipped, 1 failed" in out
    code, out, _ = invoke("batch", str(folder), "--engine", "blend")
    assert code == 1 and "0 done, 1 skipped, 1 failed" in out
    (folder / "bad.mov").unlink()
    code, out, _ = invoke("slowmo", str(folder), "--engine", "blend")  # slowmo on a folder
    assert code == 0 and "0 done, 1 skipped, 0 failed" in out
    code, _, err = invoke("batch", str(tmp_path / "nothing"), "--engine", "blend")
    assert code == 2 and "does not exist" in err


def test_evaluate(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 9, cut_at=6)
    code, out, err = invoke("evaluate", str(clip), "--device", "cpu", "-q")  # default engine
    assert code == 0, err
    # Triplets (0,1,2), (2,3,4) are scored; (4,5,6) spans the cut and is skipped; 6,7,8 scored.
    assert "3 dropped frames rebuilt" in out
    assert "skipped 1 triplet(s) at scene cuts" in out
    # The square moves 4 px between the kept frames: blending leaves two half-bright copies,
    # motion lands it in place (measured: +20.9 dB with the default preset).
    gain = re.search(r"classic on cpu: ([+-][0-9.]+) dB over blending", out)
    assert gain is not None, out
    assert float(gain[1]) > 10.0


def test_evaluate_scores_on_real_sample() -> None:
    from frameinterp.evaluate import evaluate_video

    sample = Path(__file__).resolve().parent.parent / "samples" / "cup.mp4"
    result = evaluate_video(sample, device="cpu", max_triplets=16)  # the default engine
    assert result.engine == "classic" and result.triplets == 16
    engine, blend = result.engine_scores, result.blend_scores
    assert 25 < engine.psnr_worst <= engine.psnr_mean < 60
    assert 0.8 < engine.ssim_worst <= engine.ssim_mean <= 1
    # Measured on these 16 triplets: 40.85 dB against blending's 39.40 (worst 37.15 vs 34.92).
    assert engine.psnr_mean > blend.psnr_mean + 1.0
    assert engine.psnr_worst > blend.psnr_worst
    assert engine.ssim_mean > blend.ssim_mean


@pytest.mark.slow
def test_subprocess(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    environment = dict(os.environ, COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-m", "frameinterp", "slowmo", str(clip), "--engine", "blend"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "clip.2x.mp4").exists()
    done = subprocess.run(
        [sys.executable, "-m", "frameinterp", "slowmo", str(clip), "--factor", "1"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and "Traceback" not in done.stderr


def test_batch_image_sequence_with_rate(tmp_path: Path) -> None:
    import cv2
    from video_clips import picture

    folder = tmp_path / "shots"
    folder.mkdir()
    for index in range(6):
        cv2.imwrite(str(folder / f"frame_{index:04d}.png"), picture(index))
    code, out, err = invoke(
        "batch", str(folder), "--engine", "blend", "--fps", "50", "--sequence-fps", "25",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 0, err
    assert "1 done" in out
    assert len(list((tmp_path / "out" / "shots.50fps").iterdir())) == 12


def test_exception_odd_size_for_a_subsampled_codec(tmp_path):
    """65×49 cannot be x264 4:2:0: one line that says what to do; ffv1 takes it."""
    import av
    import numpy as np

    clip = tmp_path / "odd.mkv"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 65, 49, "yuv420p"
        for index in range(4):
            image = np.zeros((49, 65, 3), np.uint8)
            image[:, index * 10 : index * 10 + 5] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    result = runner.invoke(app, ["slowmo", str(clip), "-o", str(tmp_path / "out.mp4"), "-q"])
    assert result.exit_code == 2, result.output
    assert "65×49" in result.output and "even" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.mkv"]
    result = runner.invoke(
        app, ["slowmo", str(clip), "-o", str(tmp_path / "out.mkv"), "--codec", "ffv1", "-q"]
    )
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_exception_unwritable_output_even_for_root(tmp_path):
    """sysfs refuses new files to everyone, root included: a real unwritable folder."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=4)
    result = runner.invoke(app, ["slowmo", str(clip), "-o", "/sys/kernel/out.mp4", "-q"])
    assert result.exit_code == 4, result.output
    assert "cannot write" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_preview_reports_no_corruption_and_hwaccel_falls_back(tmp_path):
    """A --frames preview stops inside a threaded decoder: packets in flight are not 'lost'.
    --hwaccel with a device that cannot decode here still converts, on the CPU, and says so."""
    from frameinterp.pipeline import interpolate_video
    from frameinterp.probe import hardware_decoder

    sample = Path(__file__).resolve().parents[1] / "samples" / "cup.mp4"
    # An FFmpeg device type this build does not offer (an unknown name is refused up front).
    accel, reason = hardware_decoder(sample, "vdpau")
    assert accel is None and "hardware decoders" in reason
    summary = interpolate_video(
        sample, tmp_path / "out.mp4", engine="blend", device="cpu", max_frames=4,
        hwaccel="vdpau",
    )  # fmt: skip
    assert summary.corrupt_frames == 0
    assert summary.input_frames == 4 and summary.output_frames == 8
    assert any("--hwaccel vdpau" in warning for warning in summary.warnings)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--preset", "ultraslow"], "unknown --preset 'ultraslow' for x264"),
        (["--scene-threshold", "-1"], "--scene-threshold must be between 0 and 1"),
        (["--codec", "prores", "--crf", "20"], "--crf does not apply to --codec prores"),
        (["--codec", "ffv1", "--preset", "slow"], "--preset does not apply to --codec ffv1"),
        (["--hwaccel", "gpu"], "unknown --hwaccel 'gpu'"),
        (["--fps", "5000"], "more than any container or player handles"),
        (["--factor", "100"], "2400 fps (24 fps input × factor)"),
    ],
)
def test_exception_options_that_do_not_apply(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    """Values out of range or that do not apply are refused up front, in one line."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    code, out, err = invoke("slowmo", str(clip), "--engine", "blend", *arguments)
    assert code == 2, err
    assert message in err and err.count("\n") == 1 and out == ""
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_absurd_rate_allowed_with_force(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 3)
    code, _, err = invoke(
        "slowmo", str(clip), "--engine", "blend", "-f", "50", "--force", "--frames", "2", "-q"
    )
    assert code == 0, err
    assert len(read_video(tmp_path / "clip.50x.mp4")[0]) == 100


def test_output_folder_and_names_that_say_what_the_file_is(tmp_path: Path) -> None:
    """-o with an existing folder puts the default name in it; slow motion says so in it."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    out = tmp_path / "out"
    out.mkdir()
    for extra, name in (([], "clip.4x.mp4"), (["--slowdown"], "clip.4x-slow.mp4")):
        code, _, err = invoke(
            "slowmo", str(clip), "--engine", "blend", "-f", "4", "-o", str(out), *extra, "-q"
        )
        assert code == 0, err
        assert (out / name).exists()
    code, _, err = invoke(
        "slowmo", str(clip), "--engine", "blend", "-f", "4", "-o", str(out), "--overwrite", "-q"
    )
    assert code == 0, err  # replaces out/clip.4x.mp4, never "Could not determine output format"


def test_help_flags_and_usage_lines() -> None:
    for command, argument in (("slowmo", "{input}"), ("batch", "{folder}"), ("pair", "{first}")):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        usage = next(line for line in lines if "Usage:" in line)
        assert usage.split("Usage:")[1].split()[1:4] == [command, "[OPTIONS]", argument]
        if command == "pair":
            continue
        for flag in ("--slowdown", "--overwrite", "--no-audio", "--force", "--allow-damaged"):
            line = next(line for line in lines if f" {flag} " in line)
            assert "<bool>" not in line, line


def test_truncated_input_is_counted_and_fails_unless_accepted(tmp_path: Path) -> None:
    clip = tmp_path / "cut.mp4"
    announced = make_truncated_clip(clip, frames=40, keep=0.5)
    code, out, err = invoke("slowmo", str(clip), "--engine", "blend", "-q")
    assert code == 3 and out == "", err
    assert "damaged" in err and "--allow-damaged" in err
    decoded = len(read_video(tmp_path / "cut.2x.mp4")[0]) // 2
    assert 2 <= decoded < announced
    lost = announced - decoded
    assert f"{lost} of {announced} frames" in err  # --quiet never hides lost data
    code, _, err = invoke(
        "slowmo", str(clip), "--engine", "blend", "--allow-damaged", "--overwrite", "-q"
    )
    assert code == 0 and f"{lost} of {announced} frames" in err


def test_folder_applies_frames_and_quiet_keeps_data_loss_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", 8, audio=True)
    code, out, err = invoke(
        "slowmo", str(folder), "--engine", "blend", "--frames", "3", "--slowdown", "-q"
    )
    assert code == 0, err
    assert out == ""
    assert "audio dropped" in err
    assert len(read_video(folder / "interpolated" / "a.2x-slow.mp4")[0]) == 6


def _start_and_wait_for_partial(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A real ``frameinterp slowmo`` process, once its temporary output exists."""
    import time

    clip = tmp_path / "clip.mp4"
    make_clip(clip, 96, width=320, height=240)
    process = subprocess.Popen(
        [sys.executable, "-m", "frameinterp", "slowmo", str(clip), "--engine", "blend", "-f", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".clip.8x.partial-*")):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no partial output appeared: {process.communicate()}")
        time.sleep(0.05)
    return process, clip


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGHUP"])
def test_signals_clean_up_like_ctrl_c(tmp_path: Path, signal_name: str) -> None:
    import signal

    number = getattr(signal, signal_name)
    process, _ = _start_and_wait_for_partial(tmp_path)
    process.send_signal(number)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + number, err
    assert err.startswith(f"error: stopped by {signal_name}") and "Traceback" not in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_rerun_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    process, clip = _start_and_wait_for_partial(tmp_path)
    process.kill()  # SIGKILL: nothing can clean up
    process.communicate(timeout=60)
    (stale,) = tmp_path.glob(".clip.8x.partial-*")
    code, _, err = invoke("slowmo", str(clip), "--engine", "blend", "-f", "8", "--frames", "2")
    assert code == 0, err
    assert not stale.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.8x.mp4", "clip.mp4"]


def test_ctrl_c_while_starting_is_one_line(tmp_path: Path) -> None:
    """SIGINT during start-up (importing torch takes seconds): one line, exit 130."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "frameinterp", "slowmo", str(tmp_path / "clip.mp4")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # Python is up, the commands (torch) are still importing
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert err == "error: interrupted while starting; nothing was done\n"


def test_progress_plain_lines_give_a_sane_first_eta() -> None:
    """Start-up (model loading) is not counted in the rate: the first line has no ETA
    rather than hours, later lines use the rate since frames began to flow."""
    import io
    import time

    from rich.console import Console

    from frameinterp.cli.progress import ProgressDisplay
    from frameinterp.convert import JobProgress

    stream = io.StringIO()
    display = ProgressDisplay(Console(file=stream, width=200), interval=0.0)
    report = display.track("clip.mp4")
    report(JobProgress(1, 1000, elapsed=60.0))  # the first frame after a minute of start-up
    time.sleep(0.2)
    report(JobProgress(101, 1000, elapsed=60.2))
    report(JobProgress(1000, 1000, elapsed=62.0))
    first, second, last = stream.getvalue().splitlines()
    assert first.endswith("ETA --:--")
    eta = second.rsplit("ETA ", 1)[1]
    minutes, seconds = (int(part) for part in eta.split(":"))
    assert 0 < minutes * 60 + seconds < 30  # ~900 frames at ~500 fps, not 9 hours
    assert last.endswith("ETA 0:00")


def test_progress_finished_bar_keeps_its_rate() -> None:
    import time

    from rich.console import Console

    from frameinterp.cli.progress import ProgressDisplay, _RateColumn
    from frameinterp.convert import JobProgress

    console = Console(force_terminal=True, width=120, file=open(os.devnull, "w"))  # noqa: SIM115
    with ProgressDisplay(console) as display:
        report = display.track("a.mp4")
        display.track("b.mp4")  # another job still running keeps the display alive
        report(JobProgress(10, 10, 1.0))
        bars = display._bars
        assert bars is not None
        task = bars.tasks[0]
        before = _RateColumn().render(task).plain
        time.sleep(0.3)
        assert _RateColumn().render(task).plain == before
