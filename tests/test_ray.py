"""Chunked conversion on Ray: a local Ray and a two-node cluster on this machine.

Skipped when Ray is not installed (``pip install 'frameinterp[ray]'``); CI installs the extra.
One Ray per cluster kind for the whole module (starting Ray and its workers takes seconds).
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from chunk_clips import SMALL_CUP, assert_same_video, make_gop_clip

from frameinterp.chunks import chunk_containers, convert_chunk
from frameinterp.engines import create_interpolator
from frameinterp.pipeline import JobProgress, interpolate_video
from frameinterp.ray_runner import (
    _store,
    convert_on_ray,
    interpolate_folder_on_ray,
    interpolate_video_on_ray,
    prepare_file,
    start_converters,
)

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'frameinterp[ray]'")

CHUNK = 0.3  # seconds: 5 chunks of the 40-frame clip


@pytest.fixture(scope="module", params=["local", "two-node"])
def cluster(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "local":
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
        yield "local"
        ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    nodes.add_node(num_cpus=1)
    ray.init(address=nodes.address, logging_level="WARNING")
    yield "two-node"
    ray.shutdown()
    nodes.shutdown()


@pytest.fixture(scope="module")
def actors(cluster: str) -> list[Any]:
    started = start_converters(2, engine="classic", device="cpu")
    nodes = {node for _, _, _, node in ray.get([a.describe.remote() for a in started])}
    assert len(nodes) == (2 if cluster == "two-node" else 1)  # one worker on each node
    return started


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ray") / "gop.mp4"
    make_gop_clip(path)
    return path


@pytest.fixture(scope="module")
def reference(clip: Path) -> Path:
    path = clip.with_name("single.mkv")
    interpolate_video(clip, path, codec="ffv1", engine="classic", fps="60")
    return path


@pytest.fixture(scope="module")
def folder_references(clip: Path) -> dict[str, Path]:
    """Single-process conversions (2x, ffv1) of the folder test's inputs, made once."""
    folder = clip.parent / "references"
    folder.mkdir()
    shutil.copy(SMALL_CUP, folder / "cup.mp4")
    shutil.copy(clip, folder / "gop.mp4")
    made = {}
    for name in ("cup.mp4", "gop.mp4"):
        made[name] = folder / f"{name}.mkv"
        interpolate_video(folder / name, made[name], codec="ffv1", engine="classic")
    return made


def _pids(actors: list[Any]) -> list[int]:
    return [pid for pid, _, _, _ in ray.get([actor.describe.remote() for actor in actors])]


def test_chunks_on_workers_equal_single_process(
    actors: list[Any], clip: Path, reference: Path, tmp_path: Path
) -> None:
    item = prepare_file(clip, tmp_path / "out.mkv", codec="ffv1", fps="60", chunk_seconds=CHUNK)
    seen: list[JobProgress] = []
    item.progress = seen.append
    (result,) = convert_on_ray([item], actors)
    assert result.status == "done", result.message
    assert_same_video(reference, item.output)  # audio kept: same stream kinds
    assert result.summary is not None and result.summary.streams.copied == ["audio (aac)"]
    assert seen[-1].done == seen[-1].total == 100
    assert not item.folder.exists()  # chunk store cleared after the join


def test_worker_killed_mid_run_costs_only_its_chunk(
    actors: list[Any], clip: Path, reference: Path, tmp_path: Path
) -> None:
    before = _pids(actors)
    victim = before[1]
    killed: list[int] = []

    def kill_once(update: JobProgress) -> None:
        if not killed:  # the victim still has a chunk converting and one queued
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    item = prepare_file(clip, tmp_path / "out.mkv", codec="ffv1", fps="60", chunk_seconds=CHUNK)
    item.progress = kill_once
    (result,) = convert_on_ray([item], actors)
    assert killed and result.status == "done", result.message
    assert_same_video(reference, item.output)
    after = _pids(actors)
    assert victim not in after and after[0] == before[0]  # Ray restarted only that worker


def test_rerun_converts_only_missing_chunks(
    actors: list[Any], clip: Path, reference: Path, tmp_path: Path
) -> None:
    item = prepare_file(clip, tmp_path / "out.mkv", codec="ffv1", fps="60", chunk_seconds=CHUNK)
    engine = create_interpolator("classic", "cpu")
    for chunk, data in chunk_containers(item.plan, {0, 2}):  # an interrupted earlier run
        _store(item, convert_chunk(data, chunk, item.job, engine))
    again = prepare_file(clip, item.output, codec="ffv1", fps="60", chunk_seconds=CHUNK)
    assert [chunk.index for chunk in again.missing()] == [1, 3, 4]
    (result,) = convert_on_ray([again], actors)
    assert result.status == "done", result.message
    assert_same_video(reference, item.output)


def test_failing_file_does_not_stop_the_others(
    actors: list[Any], clip: Path, tmp_path: Path
) -> None:
    good = prepare_file(clip, tmp_path / "good.mkv", codec="ffv1", chunk_seconds=CHUNK)
    bad = prepare_file(clip, tmp_path / "bad.mkv", codec="ffv1", chunk_seconds=CHUNK)
    bad.job = replace(bad.job, suffix=".not-a-container")  # every chunk fails on the worker
    results = convert_on_ray([bad, good], actors)
    assert [r.status for r in results] == ["failed", "done"]
    assert results[0].message.startswith("chunk ") and "not-a-container" in results[0].message
    assert good.output.exists() and not bad.output.exists()


def test_folder_of_real_and_synthetic_clips(
    actors: list[Any], clip: Path, folder_references: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SMALL_CUP, folder / "cup.mp4")  # 62 frames, keyframes every 30, AAC audio
    shutil.copy(clip, folder / "gop.mp4")
    lines: dict[str, JobProgress] = {}

    def progress_for(label: str) -> Any:
        return lambda update: lines.__setitem__(label, update)

    items = interpolate_folder_on_ray(
        folder, tmp_path / "out", codec="ffv1", chunk_seconds=1.0, progress_for=progress_for,
        actors=actors,
    )  # fmt: skip
    assert [item.status for item in items] == ["done", "done"], [i.message for i in items]
    for item in items:
        assert item.output is not None and item.summary is not None
        assert item.summary.engine == "classic" and item.summary.streams.copied == ["audio (aac)"]
        assert_same_video(folder_references[item.source.name], item.output)
    assert set(lines) == {"cup.mp4", "gop.mp4", "all files"}
    assert lines["all files"].done == sum(i.summary.output_frames for i in items if i.summary)


def test_single_video_entry_point(actors: list[Any], clip: Path, tmp_path: Path) -> None:
    summary = interpolate_video_on_ray(
        clip, tmp_path / "out.mp4", address="auto", actors=actors, chunk_seconds=CHUNK
    )
    assert summary.output_frames == 80 and summary.streams.copied == ["audio (aac)"]
