"""Clips for the chunking tests: a keyframe every few frames, so a short clip has many chunks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from video_clips import picture

# Real footage with AAC audio and a keyframe every 30 frames (see its SOURCE.txt).
SMALL_CUP = Path(__file__).parent / "data" / "cup-small" / "cup-160x120.mp4"


def make_gop_clip(
    path: Path, frames: int = 40, *, gop: int = 8, b_frames: int = 2, cut_at: int | None = 27
) -> None:
    """64×48 H.264 at 24 fps with a keyframe every ``gop`` frames, B-frames, a scene cut at
    ``cut_at`` and a silent AAC track."""
    rate = Fraction(24)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",
            "bf": str(b_frames),
            "preset": "ultrafast",
            "crf": "10",
        }
        audio = container.add_stream("aac", rate=48000)
        audio.codec_context.layout = "stereo"
        samples = 48000 // 24
        for index in range(frames):
            scene = 1 if cut_at is not None and index >= cut_at else 0
            frame = av.VideoFrame.from_ndarray(picture(index, scene=scene), format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(video.encode(frame))
            tone = np.sin(np.arange(samples) / 10.0 + index).astype(np.float32) * 0.1
            sound = av.AudioFrame.from_ndarray(
                np.stack([tone, tone]), format="fltp", layout="stereo"
            )
            sound.sample_rate, sound.pts = 48000, index * samples
            sound.time_base = Fraction(1, 48000)
            container.mux(audio.encode(sound))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def decoded(path: Path) -> tuple[list[tuple[Fraction, np.ndarray]], list[str]]:
    """Every video frame (time, RGB) and the stream types of ``path``."""
    with av.open(str(path)) as container:
        kinds = [stream.type for stream in container.streams]
        frames = [
            (Fraction(frame.pts) * frame.time_base, frame.to_ndarray(format="rgb24"))
            for frame in container.decode(video=0)
        ]
    return frames, kinds


def assert_same_video(first: Path, second: Path) -> None:
    """Same frames at the same times, pixel for pixel, and the same kinds of streams."""
    one, one_kinds = decoded(first)
    two, two_kinds = decoded(second)
    assert one_kinds == two_kinds
    assert [time for time, _ in one] == [time for time, _ in two]
    for (time, a), (_, b) in zip(one, two, strict=True):
        assert np.array_equal(a, b), f"frame at {time} s differs"


def make_open_gop_clip(path: Path, frames: int = 40) -> None:
    """64×48 HEVC whose keyframes are open (CRA): pictures right after a keyframe in decode
    order are shown before it and refer to the previous group, so they belong to the chunk
    before."""
    rate = Fraction(24)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx265", rate=rate)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {
            "x265-params": "log-level=error:keyint=8:min-keyint=8:open-gop=1:bframes=3:scenecut=0",
            "crf": "10",
        }
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
