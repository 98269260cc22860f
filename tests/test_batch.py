"""Folder jobs: videos found by probing, resume, bad files, image sequences, parallel jobs."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from video_clips import make_clip, picture, read_video

from frameinterp.batch import (
    find_videos,
    interpolate_folder,
    interpolate_image_sequence,
    is_image_sequence,
)
from frameinterp.engines.blend import BlendInterpolator
from frameinterp.errors import InputNotFoundError, OutputError, UnsupportedMediaError


def video_folder(root: Path) -> Path:
    folder = root / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", 6)
    make_clip(folder / "b.noext", 5, container_format="matroska")  # a video without extension
    (folder / "notes.txt").write_text("not a video")
    (folder / "broken.mp4").write_bytes(b"\x00" * 500)  # says video, is not
    cv2.imwrite(str(folder / "still.png"), picture(0))
    return folder


def test_folder_resume_and_failures(tmp_path: Path) -> None:
    folder = video_folder(tmp_path)
    videos, bad = find_videos(folder)
    assert [path.name for path in videos] == ["a.mp4", "b.noext"]
    assert [item.source.name for item in bad] == ["broken.mp4"]

    items = interpolate_folder(folder, engine="blend", device="cpu")
    assert [(item.source.name, item.status) for item in items] == [
        ("a.mp4", "done"),
        ("b.noext", "done"),
        ("broken.mp4", "failed"),
    ]
    out = folder / "interpolated"
    assert sorted(path.name for path in out.iterdir()) == ["a.2x.mp4", "b.2x.mp4"]
    assert len(read_video(out / "a.2x.mp4")[0]) == 12
    first_run = (out / "a.2x.mp4").stat().st_mtime_ns

    # A second run resumes: complete outputs are skipped, not redone.
    (out / "b.2x.mp4").unlink()  # as if the run had been interrupted during b
    items = interpolate_folder(folder, engine="blend", device="cpu")
    assert [item.status for item in items] == ["skipped", "done", "failed"]
    assert (out / "a.2x.mp4").stat().st_mtime_ns == first_run
    assert not [path for path in out.iterdir() if path.name.startswith(".")]


def test_parallel_jobs_match_serial(tmp_path: Path) -> None:
    """Same times and the very same pixels. FFV1 (lossless, deterministic) makes pixels
    comparable: x264 here is not bit-reproducible run to run (measured: 1 in 10 serial runs
    of the same job differ by a few levels, before and after this change)."""
    folder = video_folder(tmp_path)
    serial = interpolate_folder(
        folder, tmp_path / "serial", engine="blend", device="cpu", codec="ffv1"
    )
    parallel = interpolate_folder(
        folder, tmp_path / "parallel", engine="blend", jobs=2, codec="ffv1"
    )
    assert [item.status for item in serial] == [item.status for item in parallel]
    for name in ("a.2x.mkv", "b.2x.mkv"):
        serial_times, serial_images = read_video(tmp_path / "serial" / name)
        parallel_times, parallel_images = read_video(tmp_path / "parallel" / name)
        assert serial_times == parallel_times
        assert len(serial_images) == len(parallel_images) > 0
        for one, other in zip(serial_images, parallel_images, strict=True):
            np.testing.assert_array_equal(one, other)


def test_image_sequence(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    for index in range(1, 6):  # frame_1 … frame_5: numeric, not alphabetical, order matters
        cv2.imwrite(
            str(folder / f"frame_{index}.png"), cv2.cvtColor(picture(index), cv2.COLOR_RGB2BGR)
        )
    cv2.imwrite(str(folder / "frame_10.png"), cv2.cvtColor(picture(6), cv2.COLOR_RGB2BGR))
    assert is_image_sequence(folder)
    items = interpolate_folder(folder, tmp_path / "out", factor=3, engine="blend", device="cpu")
    assert [item.status for item in items] == ["done"]
    output = tmp_path / "out" / "shots.3x"
    names = sorted(path.name for path in output.iterdir())
    assert names == [f"frame_{index:06d}.png" for index in range(1, 19)]
    first = cv2.cvtColor(cv2.imread(str(output / "frame_000001.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(first, picture(1))
    last_source = cv2.cvtColor(cv2.imread(str(output / "frame_000016.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(last_source, picture(6))  # frame_10 is the sixth frame
    middle = cv2.cvtColor(cv2.imread(str(output / "frame_000002.png")), cv2.COLOR_BGR2RGB)
    expected = picture(1) * (2 / 3) + picture(2) * (1 / 3)  # blend at t = 1/3
    assert np.abs(middle - expected).max() <= 1
    again = interpolate_folder(folder, tmp_path / "out", factor=3, engine="blend")
    assert [item.status for item in again] == ["skipped"]


def test_image_sequence_errors(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    cv2.imwrite(str(folder / "frame_1.png"), picture(0))
    blend = BlendInterpolator()
    with pytest.raises(UnsupportedMediaError, match="at least two"):
        interpolate_image_sequence(folder, tmp_path / "out", interpolator=blend)
    cv2.imwrite(str(folder / "frame_2.png"), picture(0, width=32, height=32))
    with pytest.raises(UnsupportedMediaError, match="same size"):
        interpolate_image_sequence(folder, tmp_path / "out", interpolator=blend)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["one"]


def test_exception_folder_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        interpolate_folder(tmp_path / "missing", engine="blend")
    folder = tmp_path / "clips"
    folder.mkdir()
    with pytest.raises(OutputError, match="does not exist"):
        interpolate_folder(folder, tmp_path / "no" / "out", engine="blend")
    assert interpolate_folder(folder, engine="blend") == []


def test_fps_request_for_sequence(tmp_path: Path) -> None:
    folder = tmp_path / "seq"
    folder.mkdir()
    for index in range(4):
        cv2.imwrite(str(folder / f"img{index:03d}.png"), picture(index))
    summary = interpolate_image_sequence(
        folder,
        tmp_path / "out",
        fps="60",
        input_rate=Fraction(24),
        interpolator=BlendInterpolator(),
    )
    assert summary.output_frames == 10  # 4 frames at 24 fps = 1/6 s = 10 frames at 60 fps


def test_resume_redoes_outputs_made_differently(tmp_path: Path) -> None:
    """Each output records what produced it; a rerun skips only outputs made the same way."""
    import os

    from frameinterp.batch import read_record

    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", 4)
    out = folder / "interpolated" / "a.2x.mp4"
    assert [i.status for i in interpolate_folder(folder, engine="blend")] == ["done"]
    record = read_record(out)
    assert record is not None and record["settings"]["codec"] == "x264"
    assert record["input"]["size"] == (folder / "a.mp4").stat().st_size
    again = interpolate_folder(folder, engine="blend")
    assert [(i.status, i.message) for i in again] == [
        ("skipped", "output exists, made with the same settings")
    ]
    changed = interpolate_folder(folder, engine="blend", codec="x265")  # same name, new recipe
    assert [i.status for i in changed] == ["done"]
    assert read_record(out)["settings"]["codec"] == "x265"
    stamp = (folder / "a.mp4").stat().st_mtime_ns + 10**9
    os.utime(folder / "a.mp4", ns=(stamp, stamp))  # the input changed
    assert [i.status for i in interpolate_folder(folder, engine="blend", codec="x265")] == ["done"]
    slow = interpolate_folder(folder, engine="blend", factor=4, slowdown=True)
    assert [i.output.name for i in slow] == ["a.4x-slow.mp4"]
    made_by_hand = folder / "interpolated" / "a.3x.mp4"
    made_by_hand.write_bytes(b"mine")
    kept = interpolate_folder(folder, engine="blend", factor=3)
    assert kept[0].status == "skipped" and "no record" in kept[0].message
    assert made_by_hand.read_bytes() == b"mine"


def test_text_files_are_not_videos(tmp_path: Path) -> None:
    """FFmpeg's tty demuxer "decodes" any longer text file (a SOURCE.txt) as a video."""
    folder = tmp_path / "clips"
    folder.mkdir()
    make_clip(folder / "a.mp4", 3)
    (folder / "SOURCE.txt").write_text("Where these clips come from, and their licence.\n" * 60)
    videos, bad = find_videos(folder)
    assert [path.name for path in videos] == ["a.mp4"] and bad == []
