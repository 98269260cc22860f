"""What a video file holds, learned by opening it: streams, size, rate, time base, colour.

A source is a path or a binary file-like object (an in-memory chunk, for example); either way
it is identified by its content, never by its extension. ``open_input`` is the one place a
source is opened, so every reader of it (decoder, side-stream copier) gets the same errors.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, TypeAlias

import av
import av.error

from frameinterp.colour import _UNSPECIFIED, ColorInfo
from frameinterp.errors import InputNotFoundError, InvalidInputError, UnsupportedMediaError

__all__ = ["MediaSource", "VideoInfo", "hardware_decoder", "open_input", "probe"]

MediaSource: TypeAlias = "str | os.PathLike[str] | IO[bytes]"


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` learned about a file: enough to plan a job and check it before starting.

    ``path`` names the source (for messages); an in-memory source keeps its bytes in ``data``,
    so that it can be opened again (the decoder and the side-stream copier each open it).
    """

    path: Path
    container: str
    codec: str
    width: int
    height: int
    pixel_format: str
    bit_depth: int
    rate: Fraction  # nominal (average) frame rate
    time_base: Fraction
    start: Fraction  # first video timestamp, seconds
    duration: Fraction | None  # seconds, from the container; None when unknown
    frame_count: int | None  # from the container; may be an estimate or None
    rotation: int  # counter-clockwise degrees from the display matrix
    color: ColorInfo
    audio_codecs: tuple[str, ...]
    subtitle_codecs: tuple[str, ...]
    data: bytes | None = field(default=None, repr=False, compare=False)

    def estimated_frames(self) -> int:
        """Best guess of the number of video frames, for progress bars."""
        if self.frame_count:
            return self.frame_count
        if self.duration is not None:
            return max(1, round(self.duration * self.rate))
        return 0


def _name_and_data(source: MediaSource) -> tuple[Path, bytes | None]:
    """A path stays a path; a file-like object is read once into bytes (opened many times)."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source), None
    name = getattr(source, "name", None)
    if isinstance(source, io.BytesIO):
        data = source.getvalue()
    else:
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read()
    return Path(name if isinstance(name, str) else "<memory>"), bytes(data)


def open_input(
    path: Path, hwaccel: Any = None, data: bytes | None = None
) -> av.container.InputContainer:
    """Open a source for reading: ``data`` when given (in memory), else the file at ``path``."""
    if data is None:
        if not path.exists():
            raise InputNotFoundError(f"input {str(path)!r} does not exist")
        if path.is_dir():
            raise InvalidInputError(f"{str(path)!r} is a folder; expected a video file")
    try:
        target: Any = str(path) if data is None else io.BytesIO(data)
        return av.open(target, mode="r", hwaccel=hwaccel)
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise UnsupportedMediaError(
            f"{str(path)!r} is not a video FFmpeg can read ({error}); expected a file such as "
            ".mp4, .mov or .mkv"
        ) from None


def hardware_decoder(info: VideoInfo | Path, device_type: str) -> tuple[Any, str | None]:
    """PyAV hardware decoding settings for ``device_type`` if they decode the source here.

    Returns ``(hwaccel, None)`` when a trial decode of the first frame works, else
    ``(None, reason)`` so the caller can fall back to software decoding and say why.
    """
    from av.codec.hwaccel import HWAccel, hwdevices_available

    path, data = (info.path, info.data) if isinstance(info, VideoInfo) else (Path(info), None)
    available = hwdevices_available()
    if device_type not in available:
        return None, f"FFmpeg here offers {', '.join(available) or 'no'} hardware decoders"
    hwaccel = HWAccel(device_type=device_type, allow_software_fallback=True)
    try:
        with open_input(path, hwaccel, data) as container:
            next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration, UnsupportedMediaError) as error:
        return None, f"{device_type} decoding does not work here ({error})"
    return hwaccel, None


def _fraction(value: Any) -> Fraction | None:
    if value is None:
        return None
    result = Fraction(value)
    return result if result > 0 else None


def probe(source: MediaSource) -> VideoInfo:
    """Inspect a source by opening it (not by its extension) and decoding its first frame.

    Raises ``InputNotFoundError`` for a missing path and ``UnsupportedMediaError`` for a file
    that is not a readable video: not media, no video stream, an undecodable codec, no frames.
    """
    path, data = _name_and_data(source)
    with open_input(path, data=data) as container:
        if not container.streams.video:
            raise UnsupportedMediaError(
                f"{str(path)!r} has no video stream (streams: "
                f"{', '.join(s.type for s in container.streams) or 'none'}); expected a video"
            )
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise UnsupportedMediaError(
                f"{str(path)!r} has a video stream in a codec this FFmpeg build cannot decode; "
                "convert it to a common codec such as H.264 first"
            )
        codec = stream.codec_context.name
        time_base = _fraction(stream.time_base) or Fraction(1, 90000)
        rate = _fraction(stream.average_rate) or _fraction(stream.guessed_rate)
        first = _first_frame(container, stream, path)
        if rate is None:
            rate = Fraction(25)
        duration: Fraction | None = None
        if stream.duration:
            duration = stream.duration * time_base
        elif container.duration:
            duration = Fraction(container.duration, av.time_base)
        start = (
            first.pts * time_base if first.pts is not None else (stream.start_time or 0) * time_base
        )
        fmt = first.format
        depth = max(component.bits for component in fmt.components)
        context = stream.codec_context
        color = ColorInfo(
            primaries=int(first.color_primaries or context.color_primaries or _UNSPECIFIED),
            transfer=int(first.color_trc or context.color_trc or _UNSPECIFIED),
            matrix=int(first.colorspace or context.colorspace or _UNSPECIFIED),
            range=int(first.color_range or context.color_range or 0),
        )
        return VideoInfo(
            path=path,
            container=container.format.name,
            codec=codec,
            width=first.width,
            height=first.height,
            pixel_format=fmt.name,
            bit_depth=depth,
            rate=rate,
            time_base=time_base,
            start=Fraction(start),
            duration=duration,
            frame_count=stream.frames or None,
            rotation=round(first.rotation or 0) % 360,
            color=color,
            audio_codecs=tuple(s.codec_context.name for s in container.streams.audio),
            subtitle_codecs=tuple(s.codec_context.name for s in container.streams.subtitles),
            data=data,
        )


def _first_frame(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> av.VideoFrame:
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    return frame
            except av.error.InvalidDataError:
                continue
    except av.error.FFmpegError as error:
        raise UnsupportedMediaError(
            f"cannot decode the video stream of {str(path)!r} ({error})"
        ) from None
    except NotImplementedError:
        pass
    if stream.codec_context is None or not stream.codec_context.codec:
        raise UnsupportedMediaError(f"{str(path)!r} uses a video codec FFmpeg cannot decode")
    raise UnsupportedMediaError(
        f"{str(path)!r} has a video stream ({stream.codec_context.name}) but no decodable "
        "frames; expected at least one frame"
    )
