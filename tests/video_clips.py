"""Synthetic clips written with PyAV for the video tests: small, exact, and fully known."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH = 64
HEIGHT = 48
SAMPLE_RATE = 48000


def picture(index: int, *, scene: int = 0, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A gradient with a white square moving 2 px right per frame; scene 1 is a dark variant."""
    columns = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    rows = np.linspace(0, 40, height, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(columns + rows, (height, width, 3)).copy()
    image[..., 1] *= 0.8
    if scene == 1:
        image = 255 - image * 0.9
        image[..., 2] = 30
    x = (4 + 2 * index) % (width - 12)
    image[height // 4 : height // 4 + 12, x : x + 12] = 250 if scene == 0 else 5
    return np.clip(image, 0, 255).astype(np.uint8)


def make_clip(
    path: Path,
    frames: int = 12,
    *,
    rate: Fraction = Fraction(24),
    times: Sequence[Fraction] | None = None,
    codec: str = "libx264",
    pixel_format: str = "yuv420p",
    audio: bool = False,
    audio_codec: str = "aac",
    rotation: int = 0,
    color: dict[str, int] | None = None,
    cut_at: int | None = None,
    duplicate: Sequence[int] = (),
    width: int = WIDTH,
    height: int = HEIGHT,
    container_format: str | None = None,
) -> list[np.ndarray]:
    """Write a clip; return the RGB pictures that went in.

    ``times`` gives each frame's presentation time (variable frame rate); otherwise frames are
    ``1 / rate`` apart. From ``cut_at`` on, the picture is a different scene. Frames listed in
    ``duplicate`` repeat the previous picture exactly.
    """
    pictures: list[np.ndarray] = []
    time_base = Fraction(1, 1000) if times is not None else 1 / rate
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = pixel_format
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if codec in ("libx264", "libx265"):
            stream.options = {"crf": "1", "preset": "ultrafast", "bf": "0"} | (
                {"x265-params": "log-level=error"} if codec == "libx265" else {}
            )
        if color:
            for key, value in color.items():
                setattr(stream.codec_context, key, value)
        if rotation:
            stream.set_display_rotation(rotation)
        audio_stream = None
        if audio:
            audio_stream = container.add_stream(audio_codec, rate=SAMPLE_RATE)
            audio_stream.codec_context.layout = "stereo"
        container.start_encoding()  # writes the header even when no frame follows
        for index in range(frames):
            scene = 1 if cut_at is not None and index >= cut_at else 0
            if index in duplicate and pictures:
                image = pictures[-1]
            else:
                image = picture(index, scene=scene, width=width, height=height)
            pictures.append(image)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if color:
                frame = frame.reformat(
                    format=pixel_format,
                    dst_colorspace="itu709" if color.get("colorspace") == 1 else None,
                    dst_color_range="MPEG",
                )
                for key, value in color.items():
                    setattr(frame, key, value)
            when = times[index] if times is not None else Fraction(index) / rate
            frame.pts = round(when / time_base)
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            end = times[-1] + Fraction(1, 24) if times is not None else Fraction(frames) / rate
            _write_tone(container, audio_stream, float(end))
    return pictures


def _write_tone(container: av.container.OutputContainer, stream: object, seconds: float) -> None:
    samples = round(seconds * SAMPLE_RATE)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / SAMPLE_RATE)).astype(np.float32)
    block = 1024
    for start in range(0, samples, block):
        chunk = tone[start : start + block]
        data = np.stack([chunk, chunk])  # planar stereo
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))  # type: ignore[attr-defined]
    container.mux(stream.encode(None))  # type: ignore[attr-defined]


def read_video(path: Path) -> tuple[list[Fraction], list[np.ndarray]]:
    """Every frame's time (seconds, exact) and RGB pixels."""
    times: list[Fraction] = []
    images: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            times.append(Fraction(frame.pts) * stream.time_base)
            images.append(frame.to_ndarray(format="rgb24"))
    return times, images


def stream_seconds(path: Path, kind: str) -> tuple[float, float]:
    """Start and end (seconds) of the first stream of ``kind``, from its packets."""
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        first = None
        end = 0.0
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = float(packet.pts * packet.time_base)
            first = start if first is None else min(first, start)
            end = max(end, start + float((packet.duration or 0) * packet.time_base))
        return (first or 0.0), end


def with_subtitles(clip: Path, output: Path, text: str = "hello") -> None:
    """Remux ``clip`` into Matroska with one SubRip subtitle from 0.1 s to 0.3 s added."""
    srt = output.with_suffix(".srt")
    srt.write_text(f"1\n00:00:00,100 --> 00:00:00,300\n{text}\n\n")
    with (
        av.open(str(clip)) as video,
        av.open(str(srt)) as subtitles,
        av.open(str(output), "w") as target,
    ):
        mapping = {s.index: target.add_stream_from_template(s) for s in video.streams}
        subtitle_stream = target.add_stream_from_template(subtitles.streams.subtitles[0])
        for packet in subtitles.demux(subtitles.streams.subtitles[0]):
            if packet.size:
                packet.stream = subtitle_stream
                target.mux(packet)
        for packet in video.demux():
            if packet.size:
                packet.stream = mapping[packet.stream.index]
                target.mux(packet)
    srt.unlink()


def make_damaged_clip(path: Path, payload: Callable[[int], bytes], frames: int = 12) -> None:
    """An MPEG-4 clip (64×48, 24 fps) whose 7th packet is replaced by ``payload(size)``."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        written = 0
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(index))
            frame.pts = index
            for packet in stream.encode(frame):
                if written == 6:
                    bad = av.Packet(payload(packet.size))
                    bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
                    bad.stream = stream
                    packet = bad
                container.mux(packet)
                written += 1
        container.mux(stream.encode(None))


def make_truncated_clip(path: Path, frames: int = 40, keep: float = 0.5) -> int:
    """An MP4 whose index (moov, written first) announces ``frames`` frames, cut to ``keep`` of
    its bytes, as a download that stopped early. Returns the announced frame count."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "1", "preset": "ultrafast", "bf": "0"}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(index))
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return frames
