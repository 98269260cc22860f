"""Encoding: one writer for every video this package makes, with audio/subtitles remuxed.

``VideoWriter`` takes frames at exact times, either decoded frames passed through untouched (when
their pixel format and colour tags are the output's, ``colour.convert_frame`` hands back the
very same frame and it is encoded as it is) or RGB arrays
(interpolated frames, converted by ``colour.frame_from_rgb``). It writes under a temporary name
(``frameinterp.files``) and renames on ``commit``; ``abort`` leaves nothing behind. It is the
``FrameSink`` of a video conversion (``frameinterp.convert``), and also writes plain clips
(``speed.make_clip``, ``splat_demo``) through ``VideoWriter.for_frames``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, cast

import av
import av.error
import numpy as np

from frameinterp import colour
from frameinterp.colour import CODECS, ColorInfo, encoder_pixel_format, frame_from_rgb
from frameinterp.errors import InvalidInputError, OutputError
from frameinterp.files import TemporaryFile
from frameinterp.probe import VideoInfo, open_input

__all__ = [
    "CODECS",
    "EncodeSettings",
    "StreamNotes",
    "VideoWriter",
    "check_frame_size",
    "default_extension",
]

_DEFAULT_EXTENSION = {
    "x264": ".mp4",
    "x265": ".mp4",
    "av1": ".mp4",
    "prores": ".mov",
    "ffv1": ".mkv",
}
_CONTAINER_FORMAT = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}

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

_X26X_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
    "veryslow", "placebo",
)  # fmt: skip
_CRF_RANGE = {"x264": (0, 51), "x265": (0, 51), "av1": (0, 63)}


def default_extension(codec: str) -> str:
    """The container extension that suits ``codec`` (``.mp4`` for the delivery codecs)."""
    return _DEFAULT_EXTENSION.get(codec, ".mp4")


@dataclass(frozen=True)
class EncodeSettings:
    """How to encode: ``codec`` is one of ``CODECS``; ``crf``/``preset`` None = encoder default.

    Values that do not apply to the codec are refused, not ignored: ProRes and FFV1 have no
    CRF, FFV1 and ProRes no speed preset, and a preset must be one the encoder knows.
    """

    codec: str = "x264"
    crf: int | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise InvalidInputError(
                f"unknown codec {self.codec!r}; expected one of: {', '.join(CODECS)}"
            )
        if self.crf is not None:
            if self.codec not in _CRF_RANGE:
                raise InvalidInputError(
                    f"--crf does not apply to --codec {self.codec} (it has no CRF quality "
                    "scale); leave --crf out or use x264, x265 or av1"
                )
            low, high = _CRF_RANGE[self.codec]
            if not low <= self.crf <= high:
                raise InvalidInputError(
                    f"--crf for {self.codec} must be between {low} and {high}, got {self.crf}"
                )
        if self.preset is not None:
            if self.codec in ("x264", "x265"):
                if self.preset not in _X26X_PRESETS:
                    raise InvalidInputError(
                        f"unknown --preset {self.preset!r} for {self.codec}; expected one of: "
                        f"{', '.join(_X26X_PRESETS)}"
                    )
            elif self.codec == "av1":
                if not (self.preset.isdigit() and 0 <= int(self.preset) <= 13):
                    raise InvalidInputError(
                        f"--preset for av1 is a number from 0 (slowest) to 13, got {self.preset!r}"
                    )
            else:
                raise InvalidInputError(
                    f"--preset does not apply to --codec {self.codec} (it has no speed "
                    "presets); leave --preset out"
                )


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
    """Encodes frames at exact times to a temporary file, renamed on ``commit``.

    ``output`` is a path, or a binary file-like object (in-memory output, written directly;
    ``container_format`` then names the container, default from ``default_extension``).
    ``metadata`` are container tags (the conversion records what produced the file in one).
    Audio and subtitle streams of ``source`` are copied packet by packet (interleaved by time)
    when the output container takes their codec, audio is re-encoded when it does not, and
    subtitles that do not fit are dropped; ``notes`` says which. On any failure, ``abort``
    deletes the temporary file: no partial output is ever left under the final name.
    """

    def __init__(
        self,
        output: Path | IO[bytes],
        source: VideoInfo,
        *,
        settings: EncodeSettings,
        rate: Fraction,
        time_base: Fraction,
        keep_audio: bool = True,
        keep_subtitles: bool = True,
        container_format: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        self.output = output
        self.source = source
        self.settings = settings
        self.time_base = time_base
        self.notes = StreamNotes()
        self.frames_written = 0
        self.passed_through = 0  # decoded frames encoded without any conversion
        self._encoded = 0  # pictures given to the encoder (``write_packet`` bypasses it)
        encoder = CODECS[settings.codec][0]
        self.pixel_format = encoder_pixel_format(
            settings.codec, source.pixel_format, source.bit_depth
        )
        self.color = colour.output_color(
            settings.codec,
            self.pixel_format,
            source.color,
            source.pixel_format,
            source.width,
            source.height,
        )
        # What the output does not keep of the source's depth or chroma (None: all kept).
        self.downgrade = colour.downgrade_note(
            settings.codec, source.pixel_format, self.pixel_format
        )
        check_frame_size(settings.codec, self.pixel_format, source.width, source.height)
        self._container: av.container.OutputContainer | None = None
        self._side: _SideStreams | None = None
        self._file: TemporaryFile | None = None
        name = str(output) if isinstance(output, Path) else "the in-memory output"
        self._name = name
        try:
            if isinstance(output, Path):
                self._file = TemporaryFile(output)
                self._container = av.open(str(self._file.temporary), mode="w")
            else:
                fmt = container_format or _CONTAINER_FORMAT[default_extension(settings.codec)]
                self._container = av.open(output, mode="w", format=fmt)
        except (av.error.FFmpegError, ValueError) as error:
            self.abort()
            raise OutputError(
                f"cannot write {name!r} ({error}); use an extension such as .mp4, .mov or .mkv"
            ) from None
        except BaseException:
            self.abort()
            raise
        try:
            for key, value in (metadata or {}).items():
                self._container.metadata[key] = value
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
                        f"cannot write {name!r}: {os.strerror(error.errno or 0)}; "
                        "choose a folder you can write to with -o"
                    ) from None
                suffix = output.suffix if isinstance(output, Path) else ""
                raise OutputError(
                    f"the {suffix or 'output'} container cannot hold this job's streams "
                    f"({error}); for --codec {settings.codec} use "
                    f"{default_extension(settings.codec)}"
                ) from None
        except BaseException:
            self.abort()
            raise

    @property
    def extradata(self) -> bytes:
        """The encoder's stream header (parameter sets), which joined streams must share."""
        return bytes(self._stream.codec_context.extradata or b"")

    @property
    def temporary(self) -> Path | None:
        """Where the file is written until ``commit`` (``None`` for an in-memory output)."""
        return self._file.temporary if self._file is not None else None

    @classmethod
    def for_frames(
        cls,
        output: Path,
        *,
        width: int,
        height: int,
        rate: Fraction,
        settings: EncodeSettings | None = None,
    ) -> VideoWriter:
        """A writer for frames made here (no source file): 8-bit BT.709 limited range."""
        info = VideoInfo(
            path=Path("<frames>"), container="", codec="", width=width, height=height,
            pixel_format="yuv420p", bit_depth=8, rate=rate, time_base=1 / rate,
            start=Fraction(0), duration=None, frame_count=None, rotation=0,
            color=ColorInfo(primaries=1, transfer=1, matrix=1, range=1),
            audio_codecs=(), subtitle_codecs=(),
        )  # fmt: skip
        return cls(
            output, info, settings=settings or EncodeSettings(), rate=rate, time_base=1 / rate
        )

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
        options.update(colour.encoder_options(settings.codec, self.pixel_format))
        if settings.codec == "x265":
            options["x265-params"] = "log-level=error"
        try:
            stream = cast(
                "av.video.stream.VideoStream",
                container.add_stream(encoder, rate=rate, options=options),
            )
        except (av.error.FFmpegError, ValueError) as error:
            suffix = self.output.suffix if isinstance(self.output, Path) else ""
            raise OutputError(
                f"cannot write {settings.codec} video ({encoder}) to "
                f"{suffix or 'this file'}: {error}; use "
                f"{default_extension(settings.codec)} or another --codec"
            ) from None
        stream.width = self.source.width
        stream.height = self.source.height
        stream.pix_fmt = self.pixel_format
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        context = stream.codec_context
        context.color_range = self.color.range
        context.colorspace = self.color.matrix
        context.color_primaries = self.color.primaries
        context.color_trc = self.color.transfer
        if self.source.rotation:
            stream.set_display_rotation(self.source.rotation)
        return stream

    def _frame(self, picture: av.VideoFrame | np.ndarray) -> av.VideoFrame:
        """The frame to encode: a decoded frame as it is when it already matches, else
        converted; RGB pixels through ``colour.frame_from_rgb``."""
        if isinstance(picture, np.ndarray):
            return frame_from_rgb(picture, self.pixel_format, self.color)
        converted = colour.convert_frame(picture, self.pixel_format, self.color)
        self.passed_through += converted is picture  # same object: encoded as decoded
        return converted

    def write(self, picture: av.VideoFrame | np.ndarray, time: Fraction) -> None:
        """Encode one frame shown from ``time`` seconds (times must increase)."""
        assert self._container is not None and self._side is not None
        frame = self._frame(picture)
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
        self._encoded += 1
        self.frames_written += 1

    def write_packet(self, packet: av.Packet, time: Fraction) -> None:
        """Mux one already encoded video packet shown from ``time`` seconds (chunks encoded
        elsewhere with this writer's settings; see ``extradata``)."""
        assert self._side is not None
        self._side.copy_until(time)
        packet.stream = self._stream
        self._mux([packet])
        self.frames_written += 1

    def _mux(self, packets: list[av.Packet]) -> None:
        """Where encoded video packets go: the container (a subclass may collect them)."""
        assert self._container is not None
        try:
            self._container.mux(packets)
        except av.error.FFmpegError as error:
            raise OutputError(f"cannot write to {self._name!r}: {error}") from None

    def commit(
        self, end: Fraction | None = None, *, check: Callable[[Path], None] | None = None
    ) -> None:
        """Flush the encoder, finish the file and move it to its final name.

        Audio and subtitles are copied to their end, or up to ``end`` seconds when given (a job
        that converts only part of a video). ``check`` runs on the finished temporary file
        before it is renamed; an error from it deletes the file instead.
        """
        assert self._container is not None and self._side is not None
        try:
            if self._encoded:
                self._mux(self._stream.encode(None))
            self._side.copy_until(end)
            self._side.close()
            self._container.close()
            self._container = None
            if self._file is not None:
                if check is not None:
                    check(self._file.temporary)
                self._file.commit()
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
        if self._file is not None:
            self._file.discard()


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
        self._input = open_input(source.path, data=source.data)
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
