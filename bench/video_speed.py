"""End-to-end video speed on the CPU: frameinterp vs FFmpeg's minterpolate, same clip, same run.

For each size (480p, 720p) a clip is made from the bundled real sample (samples/cup.mp4, scaled
with PyAV), then converted at factor 2 by:

* frameinterp's pipeline with the chosen engine (default ``classic``) and with ``blend`` (the
  pipeline's own ceiling: decode + encode + a trivial engine);
* FFmpeg's ``minterpolate`` filter (``mi_mode=mci``, motion-compensated) through PyAV's filter
  graph, encoded with the same libx264 settings.

Prints output frames per second, the share of time spent in decode / interpolate / encode (each
stage's busy time over their sum; stages overlap in threads), and the ratio to minterpolate.

    python bench/video_speed.py [--frames 24] [--engine classic] [--quality fast --quality balanced]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import torch

from frameinterp.memory import settle_for_long_jobs
from frameinterp.pipeline import interpolate_video
from frameinterp.probe import probe
from frameinterp.speed import make_clip

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "cup.mp4"
SIZES = {"480p": (640, 480), "720p": (1280, 720)}


def run_minterpolate(clip: Path, output: Path, rate: Fraction) -> tuple[float, int]:
    """minterpolate to twice the rate through PyAV, encoded like ours; (seconds, frames out)."""
    started = time.perf_counter()
    written = 0
    with av.open(str(clip)) as source, av.open(str(output), "w") as target:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"
        out_rate = rate * 2
        out = target.add_stream("libx264", rate=out_rate)
        out.width, out.height, out.pix_fmt = stream.width, stream.height, "yuv420p"
        graph = av.filter.Graph()
        buffer = graph.add_buffer(template=stream)
        interpolate = graph.add(
            "minterpolate", f"fps={out_rate.numerator}/{out_rate.denominator}:mi_mode=mci"
        )
        sink = graph.add("buffersink")
        buffer.link_to(interpolate)
        interpolate.link_to(sink)
        graph.configure()

        def drain() -> None:
            nonlocal written
            while True:
                try:
                    frame = graph.vpull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                frame.pict_type = av.video.frame.PictureType.NONE
                target.mux(out.encode(frame))
                written += 1

        for frame in source.decode(stream):
            graph.vpush(frame)
            drain()
        graph.vpush(None)
        drain()
        target.mux(out.encode(None))
    return time.perf_counter() - started, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="input frames per clip")
    parser.add_argument("--engine", default="classic")
    parser.add_argument(
        "--quality", action="append", help="classic presets to time (repeatable; default: its own)"
    )
    arguments = parser.parse_args()
    settle_for_long_jobs()  # as the command line does before a job
    print(
        f"CPU: {torch.get_num_threads()} torch threads; {arguments.frames} input frames per clip "
        f"(from samples/cup.mp4), factor 2, libx264 default settings for every output"
    )
    header = (
        f"{'size':<6} {'method':<22} {'out fps':>8} {'decode':>7} {'interp':>7} {'encode':>7} "
        f"{'vs minterpolate':>16}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as folder:
        for label, size in SIZES.items():
            clip = Path(folder) / f"clip_{label}.mp4"
            make_clip(SAMPLE, clip, size, arguments.frames)
            rate = probe(clip).rate
            seconds, frames = run_minterpolate(clip, Path(folder) / "mi.mp4", rate)
            baseline = frames / seconds
            runs = [(arguments.engine, quality) for quality in arguments.quality or [None]]
            for engine, quality in [*runs, ("blend", None)]:
                options = {} if quality is None else {"quality": quality}
                summary = interpolate_video(
                    clip, Path(folder) / f"{engine}.mp4", engine=engine, device="cpu",
                    overwrite=True, **options,
                )  # fmt: skip
                stages = summary.stage_seconds
                busy = sum(stages.values()) or 1.0
                speed = summary.frames_per_second
                method = f"frameinterp {engine}" + (f" {quality}" if quality else "")
                print(
                    f"{label:<6} {method:<22} {speed:>8.2f} "
                    f"{stages['decode'] / busy:>7.0%} {stages['interpolate'] / busy:>7.0%} "
                    f"{stages['encode'] / busy:>7.0%} {speed / baseline:>15.2f}x"
                )
            print(
                f"{label:<6} {'ffmpeg minterpolate':<22} {baseline:>8.2f} {'':>7} {'':>7} {'':>7} "
                f"{1.0:>15.2f}x"
            )


if __name__ == "__main__":
    main()
