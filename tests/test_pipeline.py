"""interpolate_video end to end on synthetic clips and the real sample."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from video_clips import make_clip, make_damaged_clip, read_video, stream_seconds

from frameinterp.convert import JobProgress
from frameinterp.engines.blend import BlendInterpolator
from frameinterp.errors import InvalidInputError, OutputError, UnsupportedMediaError
from frameinterp.metrics import psnr
from frameinterp.pipeline import default_output_path, interpolate_video, make_request

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "cup.mp4"
AUDIO_FRAME = 1024 / 48000  # one AAC frame, the sync tolerance


class RecordingEngine(BlendInterpolator):
    """Blend, remembering each call's times; optionally raises after ``fail_after`` calls."""

    name = "recording"

    def __init__(self, fail_after: int | None = None, error: type[BaseException] = RuntimeError):
        super().__init__("cpu")
        self.calls: list[list[float]] = []
        self.firsts: list[torch.Tensor] = []
        self.fail_after = fail_after
        self.error = error

    def interpolate(
        self, frame0: torch.Tensor, frame1: torch.Tensor, times: Sequence[float]
    ) -> list[torch.Tensor]:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise self.error()
        self.calls.append(list(times))
        self.firsts.append(frame0)
        return super().interpolate(frame0, frame1, times)


def only_file(folder: Path, keep: set[str]) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name not in keep)


@pytest.mark.parametrize("factor", [2, 3])
def test_factor_counts_and_exact_times(tmp_path: Path, factor: int) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 10, rate=Fraction(30000, 1001))
    output = tmp_path / "out.mp4"
    engine = RecordingEngine()
    summary = interpolate_video(clip, output, factor=factor, interpolator=engine)
    times, images = read_video(output)
    assert len(images) == summary.output_frames == 10 * factor
    rate = Fraction(30000 * factor, 1001)
    assert times == [Fraction(index) / rate for index in range(10 * factor)]
    assert summary.output_rate == rate
    assert engine.calls == [[k / factor for k in range(1, factor)]] * 9  # flow once per pair
    assert summary.interpolated_frames == 9 * (factor - 1)
    with av.open(str(output)) as container:
        assert container.streams.video[0].average_rate == rate


def test_24_to_60(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 24, rate=Fraction(24))
    output = tmp_path / "out.mp4"
    summary = interpolate_video(clip, output, fps="60", interpolator=RecordingEngine())
    times, _ = read_video(output)
    assert times == [Fraction(index, 60) for index in range(60)]
    assert summary.output_frames == 60 and summary.input_frames == 24


def test_audio_kept_in_sync(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 24, audio=True)
    output = tmp_path / "out.mp4"
    summary = interpolate_video(clip, output, fps=Fraction(60), interpolator=RecordingEngine())
    assert summary.streams.copied == ["audio (aac)"]
    source_start, source_end = stream_seconds(clip, "audio")
    start, end = stream_seconds(output, "audio")
    assert abs(start - source_start) <= AUDIO_FRAME
    assert abs(end - source_end) <= AUDIO_FRAME
    video_start, video_end = stream_seconds(output, "video")
    assert video_start == 0.0
    assert abs(video_end - 1.0) < 1e-6  # 24 frames at 24 fps: the same second, now 60 frames


def test_slowdown_plays_longer_without_audio(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 12, audio=True)
    output = tmp_path / "slow.mp4"
    summary = interpolate_video(
        clip, output, factor=4, slowdown=True, interpolator=RecordingEngine()
    )
    times, _ = read_video(output)
    assert times == [Fraction(index, 24) for index in range(48)]  # input rate, 4× longer
    assert summary.output_rate == 24 and summary.output_duration == pytest.approx(2.0)
    assert any("audio dropped" in warning for warning in summary.warnings)
    with av.open(str(output)) as container:
        assert not container.streams.audio


def test_slowdown_with_target_fps(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 6)
    output = tmp_path / "slow.mp4"
    summary = interpolate_video(
        clip, output, fps="120", slowdown=True, interpolator=RecordingEngine()
    )
    times, _ = read_video(output)
    # 6 frames at 24 fps (0.25 s) sampled at 120 fps = 30 frames, played at 24 fps: 1.25 s.
    assert times == [Fraction(index, 24) for index in range(30)]
    assert summary.output_rate == 24 and summary.output_duration == pytest.approx(1.25)


def test_vfr_input_keeps_its_rhythm(tmp_path: Path) -> None:
    clip = tmp_path / "vfr.mkv"
    times_in = [Fraction(ms, 1000) for ms in (0, 40, 120, 160, 300, 340)]
    make_clip(clip, len(times_in), times=times_in)
    output = tmp_path / "out.mkv"
    interpolate_video(clip, output, factor=2, interpolator=RecordingEngine())
    times, _ = read_video(output)
    expected = [Fraction(ms, 1000) for ms in (0, 20, 40, 80, 120, 140, 160, 230, 300, 320, 340)]
    assert times[: len(expected)] == expected


def test_scene_cut_not_interpolated(tmp_path: Path) -> None:
    clip = tmp_path / "cut.mp4"
    pictures = make_clip(clip, 8, cut_at=4, duplicate=(2,))
    output = tmp_path / "out.mp4"
    engine = RecordingEngine()
    summary = interpolate_video(clip, output, factor=2, interpolator=engine)
    assert summary.scene_cuts == 1 and summary.static_intervals == 1
    assert len(engine.calls) == 5  # 7 intervals minus the cut and the duplicate
    _, images = read_video(output)
    # Output 7 lies between input 3 (old scene) and 4 (new scene), before the cut: a copy of
    # input 3 (the new scene starts at input 4's time), never a mix of the two scenes.
    blend = (pictures[3].astype(int) + pictures[4]) / 2
    assert np.abs(images[7].astype(int) - pictures[3]).mean() < 4
    assert np.abs(images[7].astype(int) - blend).mean() > 20
    summary = interpolate_video(
        clip, output, factor=2, interpolator=engine, scene_threshold=None, overwrite=True
    )
    assert summary.scene_cuts == 0


def test_interrupted_run_leaves_nothing(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 20, audio=True)
    output = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        interpolate_video(
            clip, output, interpolator=RecordingEngine(fail_after=5, error=KeyboardInterrupt)
        )
    assert only_file(tmp_path, {"clip.mp4"}) == []
    with pytest.raises(RuntimeError):
        interpolate_video(clip, output, interpolator=RecordingEngine(fail_after=3))
    assert only_file(tmp_path, {"clip.mp4"}) == []


def test_progress_reports_every_frame(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 6)
    updates: list[JobProgress] = []
    interpolate_video(clip, interpolator=RecordingEngine(), on_progress=updates.append)
    assert [update.done for update in updates] == list(range(1, 13))
    assert updates[-1].total == 12
    assert (tmp_path / "clip.2x.mp4").exists()  # default name beside the input


def test_exception_bad_requests(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    for options in ({"factor": 1}, {"factor": 0}, {"fps": "0"}, {"fps": "-5"}):
        with pytest.raises(InvalidInputError):
            interpolate_video(clip, tmp_path / "out.mp4", interpolator=RecordingEngine(), **options)
    with pytest.raises(InvalidInputError):
        make_request(factor=2, fps="60")
    taken = tmp_path / "taken.mp4"
    taken.write_bytes(b"keep me")
    with pytest.raises(OutputError, match="--overwrite"):
        interpolate_video(clip, taken, interpolator=RecordingEngine())
    assert taken.read_bytes() == b"keep me"
    taken.unlink()
    with pytest.raises(OutputError, match="is the input"):
        interpolate_video(clip, clip, interpolator=RecordingEngine(), overwrite=True)
    with pytest.raises(OutputError, match="does not exist"):
        interpolate_video(clip, tmp_path / "no" / "out.mp4", interpolator=RecordingEngine())
    with pytest.raises(InvalidInputError, match="codec"):
        interpolate_video(clip, codec="h263", interpolator=RecordingEngine())
    assert only_file(tmp_path, {"clip.mp4"}) == []


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")
def test_exception_read_only_folder(tmp_path: Path) -> None:
    """A folder nobody can write to, root included (tests run as root here): sysfs."""
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    with pytest.raises(OutputError, match="not writable"):
        interpolate_video(clip, "/sys/kernel/out.mp4", interpolator=RecordingEngine())
    assert only_file(tmp_path, {"clip.mp4"}) == []


def test_exception_one_frame(tmp_path: Path) -> None:
    clip = tmp_path / "one.mp4"
    make_clip(clip, 1)
    with pytest.raises(UnsupportedMediaError, match="only one frame"):
        interpolate_video(clip, tmp_path / "out.mp4", interpolator=RecordingEngine())
    assert only_file(tmp_path, {"one.mp4"}) == []


def test_corrupt_packets_are_reported(tmp_path: Path) -> None:
    clip = tmp_path / "damaged.mkv"
    make_damaged_clip(clip, lambda size: b"\x00\x01" * (size // 2 + 1))
    summary = interpolate_video(clip, tmp_path / "out.mkv", interpolator=RecordingEngine())
    assert summary.corrupt_frames == 1
    assert summary.input_frames == 11
    assert any("corrupt" in warning for warning in summary.warnings)
    times, _ = read_video(tmp_path / "out.mkv")
    # The gap is bridged in time; Matroska stores milliseconds, hence the tolerance.
    assert len(times) == 22 and abs(times[-1] - Fraction(23, 48)) <= Fraction(1, 1000)


def test_ten_bit_pipeline(tmp_path: Path) -> None:
    clip = tmp_path / "deep.mkv"
    make_clip(clip, 4, codec="libx265", pixel_format="yuv420p10le")
    output = tmp_path / "out.mkv"
    interpolate_video(clip, output, codec="x265", interpolator=RecordingEngine())
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p10le"


def test_default_output_path() -> None:
    assert default_output_path(Path("a/clip.mov"), make_request()) == Path("a/clip.2x.mp4")
    assert default_output_path(Path("clip.mp4"), make_request(fps="59.94"), "prores") == Path(
        "clip.59.94fps.mov"
    )


@pytest.mark.slow
def test_real_sample_end_to_end(tmp_path: Path) -> None:
    """The README's first command on the bundled clip with the default engine, first 12 frames.

    (The whole clip takes minutes on a 2-core CPU with the classic engine; ``max_frames`` keeps
    the same code path, audio included, to a few seconds.)
    """
    output = tmp_path / "cup.2x.mp4"
    summary = interpolate_video(SAMPLE, output, device="cpu", max_frames=12)
    assert summary.engine == "classic"
    assert summary.input_frames == 12 and summary.output_frames == 24
    times, images = read_video(output)
    assert times == [Fraction(index * 500, 26777) for index in range(24)]
    assert images[0].shape == (480, 640, 3)
    _, source_images = read_video(SAMPLE)
    # The clip barely moves in its first frames, so every output must stay close to its
    # neighbours: this catches swapped channels, a wrong colour matrix, misplaced or black frames.
    for index in range(11):
        before, after = source_images[index], source_images[index + 1]
        assert psnr(images[2 * index], before) > 35
        middle = ((before.astype(np.float64) + after) / 2).round().astype(np.uint8)
        assert psnr(images[2 * index + 1], middle) > 30
    start, end = stream_seconds(output, "audio")
    assert abs(start) <= AUDIO_FRAME and abs(end - 12 / 26.777) <= AUDIO_FRAME


def test_flow_workers_prepare_ahead_with_identical_output(tmp_path):
    """Pairs prepared in worker threads ahead of rendering give the very same video."""
    import threading

    from frameinterp.engines import create_interpolator

    clip = tmp_path / "clip.mp4"
    make_clip(clip, frames=8, codec="ffv1", pixel_format="yuv444p")
    engine = create_interpolator("classic", "cpu")
    prepared_in: list[str] = []
    original = engine.prepare

    def recording_prepare(frame0, frame1):
        prepared_in.append(threading.current_thread().name)
        return original(frame0, frame1)

    engine.prepare = recording_prepare  # type: ignore[method-assign]
    outputs = {}
    for workers in (0, 2):
        target = tmp_path / f"out{workers}.mkv"
        interpolate_video(
            clip, target, interpolator=engine, codec="ffv1", flow_workers=workers
        )  # fmt: skip
        outputs[workers] = read_video(target)
    assert outputs[0][0] == outputs[2][0]  # timestamps
    for expected, actual in zip(outputs[0][1], outputs[2][1], strict=True):
        np.testing.assert_array_equal(actual, expected)
    assert sum(name.startswith("frameinterp-flow") for name in prepared_in) >= 5


def test_huge_factor_runs_in_bounded_memory(tmp_path: Path) -> None:
    """--factor 200 (with force) holds a few frames, not 200: peak RSS barely moves.

    Measured in a fresh process with ``resource``: the peak after a factor-2 job, then after a
    factor-200 job on the same clip (320×240, two input frames, 400 output frames). Rendering
    a pair's 199 frames at once needs about 180 MB more (float32), plus their 8-bit copies.
    """
    import subprocess
    import sys

    clip = tmp_path / "clip.mp4"
    make_clip(clip, 3, width=320, height=240)
    script = f"""
import resource
from pathlib import Path
from frameinterp.pipeline import interpolate_video
clip = Path({str(clip)!r})
peaks = []
for factor in (2, 200):
    summary = interpolate_video(
        clip, clip.with_name(f"out{{factor}}.mp4"), factor=factor, force=True, max_frames=2,
        engine="blend", device="cpu", preset="ultrafast",
    )
    assert summary.output_frames == 2 * factor, summary.output_frames
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print((peaks[1] - peaks[0]) // 1024)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    growth_mib = int(done.stdout.split()[-1])
    assert growth_mib < 80, f"peak RSS grew by {growth_mib} MiB for factor 200"


def test_absurd_rates_refused_before_any_work(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    with pytest.raises(InvalidInputError, match="2400 fps"):
        interpolate_video(clip, tmp_path / "out.mp4", factor=100, interpolator=RecordingEngine())
    with pytest.raises(InvalidInputError, match="--force"):
        interpolate_video(clip, tmp_path / "out.mp4", fps="1000000", interpolator=RecordingEngine())
    assert only_file(tmp_path, {"clip.mp4"}) == []


def test_window_and_origin_render_one_chunk_of_the_global_grid(tmp_path: Path) -> None:
    """Two chunks converted separately (each with the frame after its end) give exactly the
    frames and times of converting the whole clip at once."""
    from frameinterp.convert import convert
    from frameinterp.decode import VideoReader
    from frameinterp.probe import probe
    from frameinterp.settings import ConversionSettings

    clip = tmp_path / "clip.mp4"
    make_clip(clip, 12)
    settings = ConversionSettings(fps=Fraction(60))

    class Collect:
        def __init__(self) -> None:
            self.times: list[Fraction] = []
            self.ended: Fraction | None = None

        def write(self, picture: object, time: Fraction) -> None:
            self.times.append(time)

        def commit(self, end: Fraction | None = None) -> None:
            self.ended = end

        def abort(self) -> None:
            raise AssertionError("aborted")

    class Frames:
        def __init__(self, frames: list, rate: Fraction) -> None:
            self.frames, self.rate, self.time_base = frames, rate, None

        def __iter__(self):
            return iter(self.frames)

        def close(self) -> None:
            pass

    info = probe(clip)
    with VideoReader(info) as reader:
        frames = list(reader)
    whole = Collect()
    convert(Frames(frames, info.rate), whole, settings, RecordingEngine())
    split = Fraction(5, 24)  # input frame 5
    first, second = Collect(), Collect()
    origin = frames[0].time
    convert(Frames(frames[:6], info.rate), first, settings, RecordingEngine(),
            origin=origin, window=(origin, split))  # fmt: skip
    rest = [dataclasses.replace(frame, index=i) for i, frame in enumerate(frames[5:])]
    convert(Frames(rest, info.rate), second, settings, RecordingEngine(),
            origin=origin, window=(split, None))  # fmt: skip
    assert first.times + second.times == whole.times
    assert first.ended == split and second.ended == Fraction(12, 24)  # where each chunk ends
    assert all(time < split for time in first.times)


def test_in_memory_input_and_output(tmp_path: Path) -> None:
    """A source and a sink that are not files: BytesIO in, BytesIO out."""
    import io

    from frameinterp.encode import VideoWriter
    from frameinterp.probe import probe

    clip = tmp_path / "clip.mkv"
    make_clip(clip, 6, codec="ffv1", pixel_format="yuv420p")
    info = probe(io.BytesIO(clip.read_bytes()))
    assert info.data is not None and info.width == 64
    target = io.BytesIO()
    from frameinterp.convert import convert
    from frameinterp.decode import VideoReader
    from frameinterp.settings import ConversionSettings

    settings = ConversionSettings(codec="ffv1")
    writer = VideoWriter(target, info, settings=settings.encode, rate=info.rate * 2,
                         time_base=info.time_base / 2)  # fmt: skip
    result = convert(VideoReader(info), writer, settings, RecordingEngine())
    assert result.output_frames == 12 and writer.passed_through == 7  # 6 + the held last
    path = tmp_path / "back.mkv"
    path.write_bytes(target.getvalue())
    times, images = read_video(path)
    _, source = read_video(clip)
    assert len(times) == 12
    for index in range(6):  # FFV1 is lossless and the pixel format is kept: bit-exact
        np.testing.assert_array_equal(images[2 * index], source[index])
    assert only_file(tmp_path, {"clip.mkv", "back.mkv"}) == []


def _shared() -> Path:
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    return shared if shared.is_dir() else Path("/work/shared")


def test_truncated_real_clip_counts_what_was_lost(tmp_path: Path) -> None:
    """A real Matroska clip (89 frames, 30 fps) cut to 40% of its bytes: the loss is counted
    against the container's duration, not against the packets that happen to remain."""
    source = _shared() / "data" / "video" / "intel" / "walk.mkv"
    if not source.exists():
        pytest.skip(f"needs {source}")
    clip = tmp_path / "walk.mkv"
    data = source.read_bytes()
    clip.write_bytes(data[: int(len(data) * 0.4)])
    summary = interpolate_video(clip, tmp_path / "out.mkv", interpolator=RecordingEngine())
    assert summary.damaged
    assert 20 <= summary.input_frames <= 40
    assert abs(summary.input_frames + summary.lost_frames - 89) <= 3
    assert any("could not be decoded" in warning for warning in summary.warnings)


def test_settings_validated_once_and_recorded(tmp_path: Path) -> None:
    from frameinterp.batch import read_record
    from frameinterp.settings import ConversionSettings

    settings = ConversionSettings(fps="59.94", slowdown=True, flow_workers=3)
    assert settings.fps == Fraction(60000, 1001) and settings.label() == "59.94fps-slow"
    recipe = settings.recipe()
    assert recipe["fps"] == "60000/1001" and "flow_workers" not in recipe and "device" not in recipe
    assert settings.with_changes(flow_workers=0).recipe() == recipe  # speed is not the recipe
    with pytest.raises(InvalidInputError, match="unknown option"):
        interpolate_video("clip.mp4", facter=2)
    with pytest.raises(InvalidInputError, match="--frames must be at least 2"):
        settings.with_changes(max_frames=1)
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    summary = interpolate_video(clip, settings=ConversionSettings(factor=3),
                                interpolator=RecordingEngine())  # fmt: skip
    record = read_record(summary.output)
    assert record is not None and record["settings"]["factor"] == 3
    assert record["input"]["size"] == clip.stat().st_size
