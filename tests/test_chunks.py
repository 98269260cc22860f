"""Chunked conversion without Ray: cutting at keyframes, converting chunk by chunk, joining."""

from __future__ import annotations

import itertools
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest
import typer
from chunk_clips import assert_same_video, decoded, make_gop_clip, make_open_gop_clip

from frameinterp.chunks import chunk_containers, convert_chunk, join_chunks, plan_chunks
from frameinterp.engines import create_interpolator
from frameinterp.errors import BackendUnavailableError, InvalidInputError, OutputError
from frameinterp.pipeline import interpolate_video
from frameinterp.ray_runner import _store, interpolate_video_on_ray, prepare_file
from frameinterp.settings import ConversionSettings


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chunks") / "gop.mp4"
    make_gop_clip(path)
    return path


def test_plan_cuts_at_keyframes_and_covers_every_frame(clip: Path) -> None:
    plan = plan_chunks(clip, 0.3)
    with av.open(str(clip)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert [c.first_packet for c in plan.chunks] == keyframes[: len(plan.chunks)]
    assert len(plan.chunks) >= 3
    assert sum(c.frames for c in plan.chunks) == len(packets) == plan.frames
    for chunk, following in zip(plan.chunks, plan.chunks[1:], strict=False):
        assert chunk.end == following.first_time == following.begin
        assert chunk.last_packet >= following.first_packet  # the next keyframe is included
    assert plan.chunks[0].begin is None and plan.chunks[-1].end is None
    assert plan.end_time == Fraction(40, 24)
    assert plan_chunks(clip, 100).chunks[0].end is None  # one chunk when the clip is short


def test_chunk_containers_decode_on_their_own_with_exact_times(clip: Path) -> None:
    plan = plan_chunks(clip, 0.3)
    for chunk, data in chunk_containers(plan):
        path = clip.with_name(f"chunk{chunk.index}.nut")
        path.write_bytes(data)
        times = [time for time, _ in decoded(path)[0]]
        assert times[0] == chunk.first_time
        if chunk.end is not None:
            assert times[-1] == chunk.end  # the next chunk's first frame, for the last interval
        assert all(b - a == Fraction(1, 24) for a, b in itertools.pairwise(times))


@pytest.mark.parametrize(
    "request_options",
    [{"factor": 2}, {"fps": "60"}, {"factor": 3, "slowdown": True}],
    ids=["factor", "fps-grid", "slowdown"],
)
def test_chunk_by_chunk_equals_single_process(
    clip: Path, tmp_path: Path, request_options: dict[str, object]
) -> None:
    reference = tmp_path / "single.mkv"
    interpolate_video(clip, reference, codec="ffv1", engine="classic", **request_options)
    item = prepare_file(clip, tmp_path / "chunked.mkv", codec="ffv1", chunk_seconds=0.3,
                        **request_options)  # fmt: skip
    engine = create_interpolator("classic", "cpu")
    converted = [
        convert_chunk(data, chunk, item.job, engine) for chunk, data in chunk_containers(item.plan)
    ]
    assert len(converted) >= 3
    join_chunks(item.output, item.job, converted, keep_audio=item.keep_audio)
    assert_same_video(reference, item.output)


def test_join_refuses_overlapping_chunks(clip: Path, tmp_path: Path) -> None:
    item = prepare_file(clip, tmp_path / "out.mkv", codec="ffv1", chunk_seconds=0.3)
    engine = create_interpolator("blend", "cpu")
    converted = [
        convert_chunk(data, chunk, item.job, engine) for chunk, data in chunk_containers(item.plan)
    ]
    with pytest.raises(OutputError, match="overlaps"):
        join_chunks(item.output, item.job, [converted[0], converted[0]])
    assert not item.output.exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_a_joined_file_that_fails_its_check_is_never_published(clip: Path, tmp_path: Path) -> None:
    """Missing chunks (here all but the first) give a file that lasts too short: the check of
    the finished file rejects it before it is renamed, and its temporary file is deleted."""
    item = prepare_file(clip, tmp_path / "out.mkv", codec="ffv1", chunk_seconds=0.3)
    engine = create_interpolator("blend", "cpu")
    chunk, data = next(iter(chunk_containers(item.plan)))
    first = convert_chunk(data, chunk, item.job, engine)
    with pytest.raises(OutputError, match="lasts"):
        join_chunks(item.output, item.job, [first])
    assert not item.output.exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_chunk_length_must_be_positive(clip: Path) -> None:
    with pytest.raises(InvalidInputError, match="chunk length"):
        plan_chunks(clip, 0)


@pytest.fixture
def cli_app() -> typer.Typer:
    """The application with its commands (made on first use: it imports torch)."""
    from frameinterp.cli import app

    return app


def test_without_ray_the_options_say_how_to_install(
    cli_app: typer.Typer, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frameinterp.cli.ray_options import batch_on_ray, slowmo_on_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(BackendUnavailableError, match=r"pip install 'frameinterp\[ray\]'"):
        interpolate_video_on_ray(clip, tmp_path / "out.mp4", workers=2)
    with pytest.raises(typer.Exit):
        slowmo_on_ray(
            clip, tmp_path / "out.mp4", ConversionSettings(), workers=2, address=None, quiet=True
        )
    with pytest.raises(typer.Exit):
        batch_on_ray(tmp_path, None, ConversionSettings(), workers=None, address="auto", quiet=True)
    assert not (tmp_path / "out.mp4").exists()


def test_stored_chunks_of_another_job_are_not_reused(clip: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.mkv"
    item = prepare_file(clip, output, codec="ffv1", chunk_seconds=0.3)
    engine = create_interpolator("blend", "cpu")
    chunk, data = next(iter(chunk_containers(item.plan)))
    _store(item, convert_chunk(data, chunk, item.job, engine))
    same = prepare_file(clip, output, codec="ffv1", chunk_seconds=0.3)
    assert [c.index for c in same.missing()] == [c.index for c in item.plan.chunks[1:]]
    other = prepare_file(clip, output, codec="ffv1", chunk_seconds=0.3, fps="60")
    assert len(other.missing()) == len(item.plan.chunks) and not other.folder.exists()


def test_open_gop_leading_pictures_stay_with_the_chunk_before(tmp_path: Path) -> None:
    clip = tmp_path / "open.mkv"
    make_open_gop_clip(clip)
    with av.open(str(clip)) as container:
        shown = [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size]
    plan = plan_chunks(clip, 0.3)
    first, second = plan.chunks[0], plan.chunks[1]
    keyframe_time = shown[second.first_packet][0]
    after = range(second.first_packet + 1, len(shown))
    leading = [i for i in after if shown[i][0] < keyframe_time]
    assert leading and first.last_packet == max(leading)  # x265 made leading pictures
    reference = tmp_path / "single.mkv"
    interpolate_video(clip, reference, codec="ffv1", engine="blend")
    item = prepare_file(clip, tmp_path / "chunked.mkv", codec="ffv1", chunk_seconds=0.3)
    engine = create_interpolator("blend", "cpu")
    converted = [
        convert_chunk(data, chunk, item.job, engine) for chunk, data in chunk_containers(item.plan)
    ]
    join_chunks(item.output, item.job, converted, keep_audio=item.keep_audio)
    assert_same_video(reference, item.output)


def test_cli_workers_without_ray_is_one_line(
    cli_app: typer.Typer, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    monkeypatch.setitem(sys.modules, "ray", None)
    output = tmp_path / "out.mp4"
    result = CliRunner().invoke(cli_app, ["slowmo", str(clip), "-o", str(output), "--workers", "2"])
    assert result.exit_code == BackendUnavailableError.exit_code, result.output
    assert "pip install 'frameinterp[ray]'" in result.output
    assert "Traceback" not in result.output and not output.exists()
    result = CliRunner().invoke(cli_app, ["batch", str(tmp_path), "--ray", "auto"])
    assert result.exit_code == BackendUnavailableError.exit_code, result.output
