"""Chunked conversion on Ray against one process, on the same 720p clip in the same run.

    python bench/ray_scaling.py [--seconds 2] [--chunk 0.5] [--workers 2] [--engine classic]

Makes a 720p clip from the Big Buck Bunny excerpt in the shared data (its first ``--seconds``,
re-encoded with a keyframe every ``--gop`` frames so that it has several chunks; audio copied),
then times:

* one process: ``interpolate_video`` (2x, x264), the baseline;
* Ray with ``--workers`` local workers: start-up (Ray and one engine per worker) and the
  conversion itself (split, chunks on the workers, join), as a ratio against the baseline.
  The machine may be shared, so ``--repeat`` Ray runs alternate with one-process runs and
  each Ray run is compared with the one-process runs just before and after it;
* the chunking overhead, as shares of the baseline's wall time: demuxing and remuxing the chunks
  on the driver, joining, and decoding each chunk's extra frames (the next chunk's keyframe
  group), measured by decoding every chunk container against decoding the input once.

Prints per-chunk costs (worker seconds, bytes in and out) for the README's scaling estimate.
Never prints a figure it did not measure. Needs Ray (``pip install 'frameinterp[ray]'``).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from frameinterp.chunks import chunk_containers  # noqa: E402
from frameinterp.pipeline import VideoSummary, interpolate_video  # noqa: E402
from frameinterp.ray_runner import (  # noqa: E402
    connect,
    convert_on_ray,
    import_ray,
    prepare_file,
    start_converters,
)

SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
SOURCE = SHARED / "data" / "video" / "bigbuckbunny" / "bigbuckbunny.mp4"


def make_clip(path: Path, seconds: float, gop: int) -> None:
    """The first ``seconds`` of the 720p excerpt, a keyframe every ``gop`` frames, audio copied."""
    with av.open(str(SOURCE)) as reader, av.open(str(path), "w") as writer:
        video_in, audio_in = reader.streams.video[0], reader.streams.audio[0]
        video = writer.add_stream("libx264", rate=video_in.average_rate)
        video.width, video.height, video.pix_fmt = video_in.width, video_in.height, "yuv420p"
        video.time_base = video_in.time_base
        video.options = {"g": str(gop), "keyint_min": str(gop), "crf": "18", "preset": "fast"}
        audio = writer.add_stream_from_template(audio_in)
        for packet in reader.demux(video_in, audio_in):
            if not packet.size or packet.pts is None or packet.time_base is None:
                continue
            if packet.pts * packet.time_base >= seconds:
                continue
            if packet.stream is audio_in:
                packet.stream = audio
                writer.mux(packet)
                continue
            for frame in packet.decode():
                writer.mux(video.encode(frame))
        writer.mux(video.encode(None))


def decode_seconds(source: Path | bytes) -> float:
    """Wall time to decode every video frame of a file or an in-memory container."""
    started = time.perf_counter()
    opened = av.open(io.BytesIO(source)) if isinstance(source, bytes) else av.open(str(source))
    with opened as container:
        for _ in container.decode(video=0):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--gop", type=int, default=12)
    parser.add_argument("--chunk", type=float, default=0.45)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="classic")
    parser.add_argument("--repeat", type=int, default=2, help="Ray runs, each between two")
    arguments = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"{SOURCE} not found (shared data beside the repository)")
    ray = import_ray()
    with tempfile.TemporaryDirectory(prefix="ray-scaling-") as name:
        folder = Path(name)
        clip = folder / "clip.mp4"
        make_clip(clip, arguments.seconds, arguments.gop)

        singles: list[float] = []
        rays: list[float] = []

        def one_process(run: int) -> VideoSummary:
            begun = time.perf_counter()
            summary = interpolate_video(clip, folder / f"single{run}.mp4", engine=arguments.engine)
            singles.append(time.perf_counter() - begun)
            return summary

        single = one_process(0)
        started = time.perf_counter()
        connect(None, arguments.workers)
        actors = start_converters(arguments.workers, engine=arguments.engine, device="cpu")
        startup = time.perf_counter() - started
        chunks = list(
            chunk_containers(
                prepare_file(clip, folder / "c.mp4", chunk_seconds=arguments.chunk).plan
            )
        )
        extra_decode = sum(decode_seconds(data) for _, data in chunks) - decode_seconds(clip)
        for run in range(arguments.repeat):  # alternate, so both see the same machine load
            item = prepare_file(clip, folder / f"chunked{run}.mp4", chunk_seconds=arguments.chunk)
            begun = time.perf_counter()
            (result,) = convert_on_ray([item], actors)
            rays.append(time.perf_counter() - begun)
            if result.status != "done" or result.summary is None:
                sys.exit(f"chunked conversion failed: {result.message}")
            one_process(run + 1)
        ray.shutdown()
        stored = result.summary.stage_seconds
        costs = list(item.costs.values())

    frames = single.output_frames
    print(f"clip: {single.input_frames} frames 1280x720, {len(chunks)} chunks, 2x -> {frames}")
    baseline = statistics.median(singles)
    chunked = statistics.median(rays)
    ratios = [
        (before + after) / 2 / r
        for before, after, r in zip(singles, singles[1:], rays, strict=False)
    ]
    print(f"one process:            {baseline:7.2f} s  ({frames / baseline:.2f} output fps; "
          f"median of {', '.join(f'{t:.2f}' for t in singles)} s)")  # fmt: skip
    print(f"Ray runs: {', '.join(f'{t:.2f}' for t in rays)} s; ratio of each Ray run to the "
          f"one-process runs around it: {', '.join(f'{r:.2f}x' for r in ratios)}")  # fmt: skip
    print(
        f"Ray, {arguments.workers} workers:        {chunked:7.2f} s  "
        f"({frames / chunked:.2f} output fps, median)  ratio {baseline / chunked:.2f}x  "
        f"(+{startup:.1f} s start-up, once per job)"
    )
    print(
        f"with start-up:          {chunked + startup:7.2f} s  "
        f"ratio {baseline / (chunked + startup):.2f}x"
    )
    print("chunking overhead, share of the one-process time:")
    print(f"  split (demux + remux on the driver): {stored['split']:.3f} s  "
          f"{stored['split'] / baseline:.1%}")  # fmt: skip
    print(f"  join (mux + check on the driver):    {stored['join']:.3f} s  "
          f"{stored['join'] / baseline:.1%}")  # fmt: skip
    print(f"  extra decoding of boundary frames:   {extra_decode:.3f} s  "
          f"{extra_decode / baseline:.1%}")  # fmt: skip
    print(
        f"per chunk (mean of {len(costs)}): {statistics.mean(c[0] for c in costs):.2f} s on a "
        f"worker, {statistics.mean(c[1] for c in costs) / 1e3:.0f} kB in, "
        f"{statistics.mean(c[2] for c in costs) / 1e3:.0f} kB out, "
        f"{frames / len(chunks):.0f} output frames"
    )


if __name__ == "__main__":
    main()
