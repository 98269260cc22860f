"""Peak resident memory of a video job does not grow with the video's length.

Makes two synthetic 1280×720 clips, 1 minute and 10 minutes long, and converts each at factor 2
in a fresh process, reporting that process's peak RSS. The engine is ``blend`` and the encoder
preset ``ultrafast`` to keep the 10-minute run short on a small CPU: memory is bounded by the
queues and the pair of frames in flight, which do not depend on the engine's speed (an engine's
own working memory is per pair, so it adds the same amount to both runs). The clips use a low
frame rate (default 5 fps) for the same reason; what is measured is length in frames and time.

    python bench/video_memory.py [--rate 5] [--short 60] [--long 600]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 1280, 720


def make_clip(path: Path, seconds: int, rate: int) -> int:
    """A scrolling gradient with a moving square (video only); returns the frame count."""
    frames = seconds * rate
    base = np.linspace(0, 255, WIDTH, dtype=np.float32)[None, :, None]
    background = np.broadcast_to(base, (HEIGHT, WIDTH, 3)).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(frames):
            image = np.roll(background, 7 * index, axis=1).copy()
            x = (11 * index) % (WIDTH - 100)
            image[300:400, x : x + 100] = 255
            frame = av.VideoFrame.from_ndarray(image)
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return frames


def child(clip: Path, output: Path) -> None:
    """Run one job in this process, set up as the command line sets itself up, and print its
    peak RSS (MiB) and frame counts."""
    from frameinterp.memory import settle_for_long_jobs
    from frameinterp.pipeline import interpolate_video

    settle_for_long_jobs()
    started = time.perf_counter()
    summary = interpolate_video(
        clip, output, engine="blend", device="cpu", preset="ultrafast", overwrite=True
    )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    took = time.perf_counter() - started
    # The last frame's exact time (packets only, no decoding): no drift over the whole clip.
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        last = max(
            Fraction(packet.pts) * stream.time_base
            for packet in container.demux(stream)
            if packet.pts is not None
        )
    expected = Fraction(summary.output_frames - 1) / summary.output_rate
    print(
        f"{peak_kib / 1024:.1f} {summary.input_frames} {summary.output_frames} {took:.1f} "
        f"{float(last):.6f} {last == expected}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5, help="clip frame rate")
    parser.add_argument("--short", type=int, default=60, help="short clip, seconds")
    parser.add_argument("--long", type=int, default=600, help="long clip, seconds")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return
    print(
        f"1280x720 synthetic clips at {arguments.rate} fps, factor 2, engine blend, x264 ultrafast"
    )
    print(
        f"{'clip':<10} {'frames in':>9} {'frames out':>10} {'seconds':>8} {'peak RSS MiB':>13} "
        f"{'last frame at (s)':>18} {'exact':>6}"
    )
    peaks = []
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (arguments.short, arguments.long):
            clip = Path(folder) / f"clip_{seconds}.mp4"
            make_clip(clip, seconds, arguments.rate)
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(clip), str(Path(folder) / "out.mp4")],
                capture_output=True,
                text=True,
                check=True,
            )
            peak, frames_in, frames_out, took, last, exact = done.stdout.split()
            peaks.append(float(peak))
            label = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds} s"
            print(
                f"{label:<10} {frames_in:>9} {frames_out:>10} {took:>8} {float(peak):>13.1f} "
                f"{last:>18} {exact:>6}"
            )
            clip.unlink()
    print(f"long / short peak RSS: {peaks[1] / peaks[0]:.3f} (target: within 10%, i.e. <= 1.10)")


if __name__ == "__main__":
    main()
