"""Video in and out with PyAV: probing, threaded decoding to RGB, encoding, stream remuxing.

Frames cross this module's boundary as numpy RGB arrays, H×W×3, ``uint8`` for 8-bit sources and
``uint16`` (full 16-bit scale) for deeper ones, so 10-bit footage is not squeezed through 8 bits
on its way to a 10-bit encoder. Colour conversion (YUV matrix and range) happens here and only
here, using the source's own tags in both directions, and the tags (primaries, transfer, matrix,
range) and the display rotation are written to the output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
import time as time_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import av
import av.error
import cv2
import numpy as np

from frameinterp.colour import (
    _UNSPECIFIED,
    CODECS,
    ColorInfo,
    encoder_pixel_format,
    frame_from_rgb,
    rgb_from_frame,
)
from frameinterp.errors import (
    InputNotFoundError,
    InvalidInputError,
    OutputError,
    UnsupportedMediaError,
)
from frameinterp.files import temporary_path
from frameinterp.timing import FrameMeasure

__all__ = [
    "CODECS",
    "ColorInfo",
    "DecodedFrame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "default_extension",
    "frame_signature",
    "measure_change",
    "probe",
]

_DEFAULT_EXTENSION = {
    "x264": ".mp4",
    "x265": ".mp4",
    "av1": ".mp4",
    "prores": ".mov",
    "ffv1": ".mkv",
}

# Which stream codecs each output container takes as they are (copied without re-encoding).
_MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
_COPYABLE: dict[str, dict[str, set[str]]] = {
    "mp4": {"audio": _MP4_AUDIO, "subtitle": {"mov_text"}},
    "mov": {
        "audio": _MP4_AUDIO | {"pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be", "pcm_f32le"},
        "subtitle": {"mov_text"},
    },
    "webm": {"audio": {"opus", "vorbis"}, "subtitle": {"webvtt"}},
    "matroska": {
        "audio": {"*"},
        "subtitle": {"subrip", "srt", "ass", "ssa", "webvtt", "hdmv_pgs_subtitle", "dvd_subtitle"},
    },
}

_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}
_SIGNATURE_WIDTH = 64
_HISTOGRAM_BINS = 32


@dataclass(frozen=True)
class VideoInfo:
    """What ``probe`` learned about a file: enough to plan a job and check it before starting."""

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

    def estimated_frames(self) -> int:
        """Best guess of the number of video frames, for progress bars."""
        if self.frame_count:
            return self.frame_count
        if self.duration is not None:
            return max(1, round(self.duration * self.rate))
        return 0


@dataclass
class DecodedFrame:
    """One decoded frame: RGB pixels, presentation time and how long it is shown (seconds)."""

    index: int
    time: Fraction
    duration: Fraction | None
    image: np.ndarray
    measure: FrameMeasure | None  # change from the previous frame; None for the first
    corrupt: bool = False


def _open_input(path: Path, hwaccel: Any = None) -> av.container.InputContainer:
    if not path.exists():
        raise InputNotFoundError(f"input {str(path)!r} does not exist")
    if path.is_dir():
        raise InvalidInputError(f"{str(path)!r} is a folder; expected a video file")
    try:
        return av.open(str(path), mode="r", hwaccel=hwaccel)
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise UnsupportedMediaError(
            f"{str(path)!r} is not a video FFmpeg can read ({error}); expected a file such as "
            ".mp4, .mov or .mkv"
        ) from None


def hardware_decoder(path: Path, device_type: str) -> tuple[Any, str | None]:
    """PyAV hardware decoding settings for ``device_type`` if they decode ``path`` here.

    Returns ``(hwaccel, None)`` when a trial decode of the first frame works, else
    ``(None, reason)`` so the caller can fall back to software decoding and say why.
    """
    from av.codec.hwaccel import HWAccel, hwdevices_available

    available = hwdevices_available()
    if device_type not in available:
        return None, f"FFmpeg here offers {', '.join(available) or 'no'} hardware decoders"
    hwaccel = HWAccel(device_type=device_type, allow_software_fallback=True)
    try:
        with av.open(str(path), mode="r", hwaccel=hwaccel) as container:
            next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as error:
        return None, f"{device_type} decoding does not work here ({error})"
    return hwaccel, None


def _fraction(value: Any) -> Fraction | None:
    if value is None:
        return None
    result = Fraction(value)
    return result if result > 0 else None


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Inspect a file by opening it (not by its extension) and decoding its first frame.

    Raises ``InputNotFoundError`` for a missing path and ``UnsupportedMediaError`` for a file
    that is not a readable video: not media, no video stream, an undecodable codec, no frames.
    """
    path = Path(path)
    with _open_input(path) as container:
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


def frame_signature(image: np.ndarray) -> np.ndarray:
    """A small float32 luma thumbnail (64 px wide, values 0–1) to compare frames cheaply."""
    height, width = image.shape[:2]
    thumb_height = max(1, round(height * _SIGNATURE_WIDTH / width))
    scale = 65535.0 if image.dtype == np.uint16 else 255.0
    small = cv2.resize(image, (_SIGNATURE_WIDTH, thumb_height), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32) / scale
    return small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def measure_change(previous: np.ndarray, current: np.ndarray) -> FrameMeasure:
    """Mean and peak absolute luma difference and histogram distance between two signatures."""
    change = np.abs(current - previous)
    difference = float(np.mean(change))
    bins = np.linspace(0.0, 1.0, _HISTOGRAM_BINS + 1)
    first, _ = np.histogram(previous, bins=bins)
    second, _ = np.histogram(current, bins=bins)
    distance = 0.5 * float(np.abs(first / first.sum() - second / second.sum()).sum())
    return FrameMeasure(
        difference=difference, histogram_distance=distance, peak_difference=float(change.max())
    )


# --------------------------------------------------------------------------------------------
# Threads with bounded queues

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadedIterator(Generic[T]):
    """Runs a generator in a thread, handing items over through a bounded queue.

    The queue bound keeps memory flat; ``close`` stops the producer and joins it, and an error in
    the producer is raised again in the consumer.
    """

    def __init__(self, produce: Callable[[threading.Event], Iterator[T]], maxsize: int, name: str):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._produce = produce
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._produce(self._stop):
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put(_Failure(error))

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the producer and wait for its thread to end."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join()


class ThreadedConsumer(Generic[T]):
    """Feeds items to ``consume`` in a worker thread through a bounded queue.

    ``put`` blocks when the worker falls behind (bounded memory) and raises the worker's error if
    it has failed; ``finish`` waits for every item to be consumed.
    """

    def __init__(self, consume: Callable[[T], None], maxsize: int, name: str) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._consume = consume
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None:
                continue  # drain after a failure so that producers never block forever
            try:
                self._consume(item)
            except BaseException as error:  # re-raised in the producer's thread
                self._error = error

    def put(self, item: T) -> None:
        """Queue ``item``; raise the worker's error if it has failed."""
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise RuntimeError("encoder thread ended unexpectedly") from None

    def finish(self) -> None:
        """Wait until every queued item is consumed; raise the worker's error if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop after the items already queued are dropped (used when the job is failing)."""
        self._error = self._error or _Abandoned()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._queue.put(_DONE)
        self._thread.join()


class _Abandoned(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Decoding


@dataclass
class DecodeStats:
    """Counts gathered while decoding, read once decoding is over."""

    frames: int = 0
    corrupt_frames: int = 0  # frames flagged corrupt by the decoder
    bad_packets: int = 0  # packets the decoder rejected (each loses at least one frame)
    skipped_times: int = 0  # frames whose timestamp did not increase (dropped)
    seconds: float = 0.0  # time spent decoding and converting to RGB (in the decode thread)
    packets: int = 0  # video packets with data (each should give one frame)
    finished: bool = False  # the whole stream was decoded and the decoder flushed

    @property
    def affected_frames(self) -> int:
        """Frames lost (packets that gave no frame) or flagged damaged by the decoder.

        Packets still inside a (threaded) decoder when decoding stops early are not lost, so
        packets without frames count only once the decoder has been flushed.
        """
        lost = self.bad_packets
        if self.finished:
            lost = max(lost, self.packets - self.frames - self.skipped_times)
        return lost + self.corrupt_frames


class VideoReader:
    """Decodes the first video stream in a background thread, yielding ``DecodedFrame``s.

    Use as a context manager; iterate once. Corrupt packets are skipped and counted in
    ``stats`` (decoding goes on). ``measure`` adds each frame's change from the previous one.
    """

    def __init__(
        self,
        info: VideoInfo,
        *,
        queue_size: int = 8,
        measure: bool = True,
        threads: int = 0,
        hwaccel: Any = None,
    ) -> None:
        self.info = info
        self.stats = DecodeStats()
        self._measure = measure
        self._threads = threads
        self._hwaccel = hwaccel  # from hardware_decoder(); None decodes on the CPU
        self._worker: ThreadedIterator[DecodedFrame] = ThreadedIterator(
            self._decode, maxsize=queue_size, name="frameinterp-decode"
        )

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[DecodedFrame]:
        return iter(self._worker)

    def close(self) -> None:
        self._worker.close()

    def _decode(self, stop: threading.Event) -> Iterator[DecodedFrame]:
        try:
            yield from self._decode_frames(stop)
        except av.error.FFmpegError as error:  # not a damaged packet: the stream cannot go on
            raise UnsupportedMediaError(
                f"decoding {str(self.info.path)!r} failed after {self.stats.frames} frame(s): "
                f"{error}"
            ) from None

    def _decode_frames(self, stop: threading.Event) -> Iterator[DecodedFrame]:
        info = self.info
        deep = info.bit_depth > 8
        with _open_input(info.path, self._hwaccel) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if self._threads:
                stream.codec_context.thread_count = self._threads
            time_base = info.time_base
            previous_signature: np.ndarray | None = None
            last_time: Fraction | None = None
            index = 0
            begun = time_module.perf_counter()
            for packet in container.demux(stream):
                if stop.is_set():
                    return
                if packet.size:
                    self.stats.packets += 1
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    self.stats.bad_packets += 1
                    continue
                for frame in frames:
                    if frame.pts is not None:
                        time = Fraction(frame.pts) * time_base
                    elif last_time is not None:
                        time = last_time + 1 / info.rate
                    else:
                        time = info.start
                    if last_time is not None and time <= last_time:
                        self.stats.skipped_times += 1
                        continue
                    duration = frame.duration * time_base if frame.duration else None
                    image = rgb_from_frame(frame, deep)
                    measure = None
                    if self._measure:
                        signature = frame_signature(image)
                        if previous_signature is not None:
                            measure = measure_change(previous_signature, signature)
                        previous_signature = signature
                    corrupt = bool(getattr(frame, "is_corrupt", False))
                    self.stats.corrupt_frames += corrupt
                    self.stats.frames += 1
                    last_time = time
                    self.stats.seconds += time_module.perf_counter() - begun
                    yield DecodedFrame(index, time, duration, image, measure, corrupt)
                    begun = time_module.perf_counter()
                    index += 1
            self.stats.seconds += time_module.perf_counter() - begun
            self.stats.finished = True


# --------------------------------------------------------------------------------------------
# Encoding


def default_extension(codec: str) -> str:
    """The container extension that suits ``codec`` (``.mp4`` for the delivery codecs)."""
    return _DEFAULT_EXTENSION.get(codec, ".mp4")


@dataclass
class EncodeSettings:
    """How to encode: ``codec`` is one of ``CODECS``; ``crf``/``preset`` None = encoder default."""

    codec: str = "x264"
    crf: int | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise InvalidInputError(
                f"unknown codec {self.codec!r}; expected one of: {', '.join(CODECS)}"
            )
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise InvalidInputError(f"--crf must be between 0 and 63, got {self.crf}")


@dataclass
class StreamNotes:
    """What happened to the non-video streams, for the summary and warnings."""

    copied: list[str] = field(default_factory=list)
    reencoded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def check_frame_size(codec: str, pixel_format: str, width: int, height: int) -> None:
    """Refuse sizes the encoder cannot take: subsampled chroma needs even dimensions
    (FFV1 alone stores odd sizes with subsampled chroma)."""
    if codec == "ffv1":
        return
    needs_even_width = pixel_format.startswith(("yuv420", "yuv422"))
    needs_even_height = pixel_format.startswith("yuv420")
    if (needs_even_width and width % 2) or (needs_even_height and height % 2):
        raise InvalidInputError(
            f"the video is {width}×{height}, but --codec {codec} ({pixel_format}) needs an even "
            "width and height; use --codec ffv1 with a .mkv output, or crop the input to an "
            "even size"
        )


_UNWRITABLE = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC)


class VideoWriter:
    """Encodes RGB frames at exact times to a temporary file, renamed on ``commit``.

    Audio and subtitle streams of ``source`` are copied packet by packet (interleaved by time)
    when the output container takes their codec, audio is re-encoded when it does not, and
    subtitles that do not fit are dropped; ``notes`` says which. On any failure, ``abort``
    deletes the temporary file: no partial output is ever left under the final name.
    """

    def __init__(
        self,
        output: Path,
        source: VideoInfo,
        *,
        settings: EncodeSettings,
        rate: Fraction,
        time_base: Fraction,
        keep_audio: bool = True,
        keep_subtitles: bool = True,
    ) -> None:
        self.output = output
        self.source = source
        self.settings = settings
        self.time_base = time_base
        self.notes = StreamNotes()
        self.frames_written = 0
        self.temporary = temporary_path(output)
        encoder = CODECS[settings.codec][0]
        self.pixel_format = encoder_pixel_format(
            settings.codec, source.pixel_format, source.bit_depth
        )
        check_frame_size(settings.codec, self.pixel_format, source.width, source.height)
        self._container: av.container.OutputContainer | None = None
        self._side: _SideStreams | None = None
        try:
            self._container = av.open(str(self.temporary), mode="w")
        except (av.error.FFmpegError, ValueError) as error:
            raise OutputError(
                f"cannot write {str(output)!r} ({error}); use an extension such as .mp4, "
                ".mov or .mkv"
            ) from None
        try:
            self._stream = self._add_video_stream(encoder, rate)
            self._side = _SideStreams(
                self._container,
                source,
                keep_audio=keep_audio,
                keep_subtitles=keep_subtitles,
                notes=self.notes,
            )
            try:
                self._container.start_encoding()
            except (av.error.FFmpegError, ValueError) as error:
                if isinstance(error, OSError) and error.errno in _UNWRITABLE:
                    # FFmpeg opens the file only here: a folder that cannot be written.
                    raise OutputError(
                        f"cannot write {str(output)!r}: {os.strerror(error.errno or 0)}; "
                        "choose a folder you can write to with -o"
                    ) from None
                raise OutputError(
                    f"the {output.suffix or 'output'} container cannot hold this job's streams "
                    f"({error}); for --codec {settings.codec} use "
                    f"{default_extension(settings.codec)}"
                ) from None
        except BaseException:
            self.abort()
            raise

    def _add_video_stream(self, encoder: str, rate: Fraction) -> av.video.stream.VideoStream:
        assert self._container is not None
        container = self._container
        options: dict[str, str] = {}
        settings = self.settings
        if settings.codec in ("x264", "x265", "av1"):
            if settings.crf is not None:
                options["crf"] = str(settings.crf)
            if settings.preset is not None:
                options["preset"] = settings.preset
        elif settings.codec == "prores":
            options["profile"] = "3"  # ProRes 422 HQ
        if settings.codec == "x265":
            options["x265-params"] = "log-level=error"
        try:
            stream = cast(
                "av.video.stream.VideoStream",
                container.add_stream(encoder, rate=rate, options=options),
            )
        except (av.error.FFmpegError, ValueError) as error:
            raise OutputError(
                f"cannot write {settings.codec} video ({encoder}) to "
                f"{self.output.suffix or 'this file'}: {error}; use "
                f"{default_extension(settings.codec)} or another --codec"
            ) from None
        stream.width = self.source.width
        stream.height = self.source.height
        stream.pix_fmt = self.pixel_format
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        color = self.source.color
        context = stream.codec_context
        context.color_range = color.range if color.range in (1, 2) else 1
        context.colorspace = color.matrix
        context.color_primaries = color.primaries
        context.color_trc = color.transfer
        if self.source.rotation:
            stream.set_display_rotation(self.source.rotation)
        return stream

    def write(self, image: np.ndarray, time: Fraction) -> None:
        """Encode one RGB frame shown from ``time`` seconds (times must increase)."""
        assert self._container is not None and self._side is not None
        frame = frame_from_rgb(image, self.pixel_format, self.source.color)
        frame.pts = round(time / self.time_base)
        frame.time_base = self.time_base
        self._side.copy_until(time)
        try:
            packets = self._stream.encode(frame)
        except av.error.FFmpegError as error:
            raise OutputError(
                f"the {self.settings.codec} encoder failed on frame {self.frames_written}: {error}"
            ) from None
        self._mux(packets)
        self.frames_written += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as error:
            raise OutputError(f"cannot write to {str(self.output)!r}: {error}") from None

    def commit(self, end: Fraction | None = None) -> None:
        """Flush the encoder, finish the file and move it to its final name.

        Audio and subtitles are copied to their end, or up to ``end`` seconds when given (a job
        that converts only the start of a video).
        """
        assert self._container is not None and self._side is not None
        try:
            self._mux(self._stream.encode(None))
            self._side.copy_until(end)
            self._side.close()
            self._container.close()
            self._container = None
            os.replace(self.temporary, self.output)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Close everything and delete the temporary file (safe to call more than once)."""
        if self._side is not None:
            self._side.close()
            self._side = None
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        with contextlib.suppress(FileNotFoundError):
            self.temporary.unlink()


class _SideStreams:
    """Audio and subtitle streams of the source, copied (or audio re-encoded) into the output.

    The source is opened a second time and demuxed only for these streams, so packets can be
    written just ahead of the video packets they belong with (interleaved by time, which keeps
    the muxer's buffers small) without the decode thread carrying them.
    """

    def __init__(
        self,
        output: av.container.OutputContainer,
        source: VideoInfo,
        *,
        keep_audio: bool,
        keep_subtitles: bool,
        notes: StreamNotes,
    ) -> None:
        self._output = output
        self._input: av.container.InputContainer | None = None
        self._packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        self._copy: dict[int, av.stream.Stream] = {}
        self._reencode: dict[int, tuple[av.audio.stream.AudioStream, Any]] = {}
        if not (source.audio_codecs or source.subtitle_codecs):
            return
        if not keep_audio:
            notes.dropped.extend(f"audio ({codec})" for codec in source.audio_codecs)
        if not keep_subtitles:
            notes.dropped.extend(f"subtitles ({codec})" for codec in source.subtitle_codecs)
        if not keep_audio and not keep_subtitles:
            return
        self._input = _open_input(source.path)
        allowed = _COPYABLE.get(output.format.name.split(",")[0])
        selected: list[av.stream.Stream] = []
        for stream in self._input.streams:
            if stream.type not in ("audio", "subtitle"):
                continue
            if stream.type == "audio" and not keep_audio:
                continue
            if stream.type == "subtitle" and not keep_subtitles:
                continue
            name = stream.codec_context.name
            kinds = None if allowed is None else allowed[stream.type]
            if kinds is None or "*" in kinds or name in kinds:
                self._copy[stream.index] = output.add_stream_from_template(stream)
                notes.copied.append(f"{stream.type} ({name})")
            elif isinstance(stream, av.audio.stream.AudioStream):
                target = "libopus" if output.format.name == "webm" else "aac"
                audio = stream.codec_context
                encoded = cast(
                    "av.audio.stream.AudioStream",
                    output.add_stream(target, rate=audio.sample_rate or 48000),
                )
                layout = audio.layout
                if layout.name.endswith("channels"):  # unordered: give the encoder the default
                    layout = av.AudioLayout(_DEFAULT_LAYOUTS.get(audio.channels, "stereo"))
                encoded.codec_context.layout = layout
                self._reencode[stream.index] = (encoded, stream)
                notes.reencoded.append(f"audio ({name} → {encoded.codec_context.name})")
            else:
                notes.dropped.append(f"subtitles ({name}: the container cannot hold them)")
                continue
            selected.append(stream)
        if selected:
            self._packets = self._input.demux(selected)

    def copy_until(self, time: Fraction | None) -> None:
        """Write every side packet that starts before ``time`` (all remaining when None)."""
        if self._packets is None:
            return
        while True:
            packet = self._pending
            self._pending = None
            if packet is None:
                packet = next(self._packets, None)
                if packet is None:
                    self._packets = None
                    self._flush_reencoders()
                    return
            if packet.dts is None and packet.size == 0:
                continue  # demuxer's end-of-stream marker
            if (
                time is not None
                and packet.pts is not None
                and packet.time_base is not None
                and packet.pts * packet.time_base >= time
            ):
                self._pending = packet
                return
            self._write(packet)

    def _write(self, packet: av.Packet) -> None:
        index = packet.stream.index
        if index in self._copy:
            packet.stream = self._copy[index]
            self._output.mux(packet)
            return
        encoded, _ = self._reencode[index]
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            return
        for frame in frames:
            if isinstance(frame, av.AudioFrame):
                frame.pts = None
                self._output.mux(encoded.encode(frame))

    def _flush_reencoders(self) -> None:
        for encoded, _ in self._reencode.values():
            self._output.mux(encoded.encode(None))

    def close(self) -> None:
        if self._input is not None:
            self._input.close()
            self._input = None
        self._packets = None
