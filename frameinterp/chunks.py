"""Chunked conversion of one video: split at keyframes without decoding, convert, join.

A long video is cut at keyframes into chunks of about ``DEFAULT_CHUNK_SECONDS``. The split only
demuxes: each chunk's compressed packets are remuxed as they are into a small in-memory NUT
container (NUT keeps every timestamp exact; the times are rescaled, never rounded). A chunk also
carries the packets that decode the next chunk's first frame, so it can interpolate across its
end. Output times are planned for the whole video (``origin``: the video's first frame) and each
chunk renders only the times in ``[its first frame, the next chunk's first frame)``, so the
chunks together give exactly the frames and timestamps of a single-process conversion.

Every chunk is encoded with the same encoder settings and time base (each starts with a
keyframe); the encoded packets come back as plain bytes with their timestamps, and ``join``
muxes them in order into the final file with the input's audio and subtitles, written under a
temporary name and renamed only after the joined video checks out.

Where scene cuts are: finding them needs decoding, which the driver does not do. Encoders put
a keyframe at most scene cuts anyway, so cutting at keyframes often lands on them; a boundary
elsewhere costs only the decoding of one extra frame group (the next chunk's keyframe), never
a different output.
"""

from __future__ import annotations

import bisect
import io
import os
import tempfile
import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import av.error

from frameinterp.convert import convert
from frameinterp.decode import VideoReader
from frameinterp.decoded import DecodedFrame
from frameinterp.encode import StreamNotes, VideoWriter
from frameinterp.engines import Interpolator
from frameinterp.errors import InvalidInputError, OutputError, UnsupportedMediaError
from frameinterp.probe import VideoInfo, probe
from frameinterp.settings import ConversionSettings

__all__ = [
    "DEFAULT_CHUNK_SECONDS",
    "ChunkJob",
    "ChunkPlan",
    "ChunkSpec",
    "EncodedChunk",
    "EncodedPacket",
    "chunk_containers",
    "convert_chunk",
    "join_chunks",
    "plan_chunks",
]

DEFAULT_CHUNK_SECONDS = 10.0
CHUNK_FORMAT = "nut"


@dataclass(frozen=True)
class ChunkSpec:
    """One chunk of the input, in decode order: packets ``first_packet..last_packet``.

    The chunk renders output times in ``[begin, end)`` (``begin`` None for the first chunk:
    everything before the second chunk; ``end`` None for the last: up to the video's end).
    ``last_packet`` reaches past the next chunk's keyframe to every packet shown before it.
    """

    index: int
    first_packet: int
    last_packet: int
    begin: Fraction | None
    end: Fraction | None
    first_time: Fraction  # presentation time of the chunk's keyframe
    frames: int  # input frames the chunk owns: shown in [first_time, end)


@dataclass(frozen=True)
class ChunkPlan:
    """How a video is cut: its chunks, first frame time (the output grid's origin) and end."""

    path: Path
    start: Fraction
    last_time: Fraction  # the last frame's presentation time
    end_time: Fraction  # when the last frame stops being shown
    frames: int
    chunks: tuple[ChunkSpec, ...]


@dataclass(frozen=True)
class _PacketTimes:
    pts: int | None
    dts: int | None
    keyframe: bool
    duration: int


def plan_chunks(path: str | os.PathLike[str], seconds: float = DEFAULT_CHUNK_SECONDS) -> ChunkPlan:
    """Cut ``path`` at keyframes into chunks of at least ``seconds`` (the last may be shorter).

    Only demuxes (reads packet headers), never decodes. A keyframe is a cut only when no packet
    before it in decode order is shown after it (a clean random-access point).
    """
    if not seconds > 0:
        raise InvalidInputError(f"chunk length must be more than 0 seconds, got {seconds}")
    path = Path(path)
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise UnsupportedMediaError(f"{str(path)!r} has no video stream")
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base or Fraction(1, 90000))
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        packets = [
            _PacketTimes(p.pts, p.dts, bool(p.is_keyframe), p.duration or 0)
            for p in container.demux(stream)
            if p.size
        ]
    if not packets:
        raise UnsupportedMediaError(f"{str(path)!r} has no video packets")
    if any(p.pts is None for p in packets):
        raise UnsupportedMediaError(
            f"{str(path)!r} has video packets without timestamps, so it cannot be cut without "
            "decoding; convert it without --workers/--ray"
        )
    shown = [Fraction(p.pts) * time_base for p in packets if p.pts is not None]
    limit = Fraction(seconds)
    starts = [0]
    latest = shown[0]
    for index in range(1, len(packets)):
        time = shown[index]
        if (
            packets[index].keyframe
            and time > latest
            and time - shown[starts[-1]] >= limit
            and index < len(packets) - 1
        ):
            starts.append(index)
        latest = max(latest, time)
    start = min(shown)
    last = max(range(len(packets)), key=lambda i: shown[i])
    if packets[last].duration > 0:
        end_time = shown[last] + packets[last].duration * time_base
    elif len(shown) > 1:
        end_time = shown[last] + (shown[last] - sorted(shown)[-2])
    else:
        end_time = shown[last] + 1 / rate
    ordered = sorted(shown)
    chunks = []
    for number, first in enumerate(starts):
        following = starts[number + 1] if number + 1 < len(starts) else None
        end = shown[following] if following is not None else None
        if following is None:
            last_packet = len(packets) - 1
        else:
            assert end is not None
            last_packet = following  # and the pictures shown before it that follow it (open GOP)
            for index in range(following + 1, len(packets)):
                if packets[index].keyframe:
                    break
                if shown[index] <= end:
                    last_packet = index
        low = bisect.bisect_left(ordered, shown[first])
        owned = (len(ordered) if end is None else bisect.bisect_left(ordered, end)) - low
        chunks.append(
            ChunkSpec(
                index=number,
                first_packet=first,
                last_packet=last_packet,
                begin=None if number == 0 else shown[first],
                end=end,
                first_time=shown[first],
                frames=owned,
            )
        )
    return ChunkPlan(path, start, shown[last], end_time, len(packets), tuple(chunks))


def chunk_containers(
    plan: ChunkPlan, wanted: Iterable[int] | None = None
) -> Iterator[tuple[ChunkSpec, bytes]]:
    """Yield each chunk (or only those in ``wanted``) as a small NUT container, in order.

    One demuxing pass over the input; at most two chunks' packets are held at a time (a chunk
    and the head of the next, which both need).
    """
    selected = {c.index for c in plan.chunks} if wanted is None else set(wanted)
    chunks = [c for c in plan.chunks if c.index in selected]
    if not chunks:
        return
    with av.open(str(plan.path)) as container:
        stream = container.streams.video[0]
        buffers: dict[int, list[av.Packet]] = {}
        queue = list(chunks)
        index = -1
        for packet in container.demux(stream):
            if not packet.size:
                continue
            index += 1
            for chunk in queue[:2]:  # a packet belongs to at most two neighbouring chunks
                if chunk.first_packet <= index <= chunk.last_packet:
                    buffers.setdefault(chunk.index, []).append(packet)
            while queue and index >= queue[0].last_packet:
                chunk = queue.pop(0)
                yield chunk, _remux(stream, buffers.pop(chunk.index, []))
            if not queue:
                return
        for chunk in queue:  # a damaged tail: fewer packets than planned
            yield chunk, _remux(stream, buffers.pop(chunk.index, []))


def _remux(template: av.video.stream.VideoStream, packets: list[av.Packet]) -> bytes:
    buffer = io.BytesIO()
    # Times stay as they are: no shift of a first negative decode time (B-frames) to zero.
    options = {"avoid_negative_ts": "disabled"}
    with av.open(buffer, mode="w", format=CHUNK_FORMAT, options=options) as output:
        stream = output.add_stream_from_template(template)
        for packet in packets:
            packet.stream = stream
            output.mux(packet)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Converting one chunk (runs on a worker)


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs besides the chunk's bytes; the same for every chunk of a file.

    ``info`` is the whole input as probed on the driver (frame rate, colour tags, rotation, bit
    depth and time base come from it, not from the chunk's container); ``time_base`` and
    ``rate`` are the output's, so every chunk's encoder is set up the same way.
    """

    info: VideoInfo
    settings: ConversionSettings
    rate: Fraction  # the output's nominal frame rate
    time_base: Fraction  # the output's time base
    suffix: str  # the output container's extension: the encoder needs its header flags
    last_time: Fraction  # the video's last frame and when it stops being shown:
    end_time: Fraction  # the last chunk's container does not keep packet durations
    metadata: dict[str, str] = field(default_factory=dict)  # container tags of the output

    @property
    def scale(self) -> Fraction:
        """Output duration / input duration (slow motion)."""
        if not self.settings.slowdown:
            return Fraction(1)
        return self.settings.request.output_rate(self.info.rate) / self.info.rate


@dataclass(frozen=True)
class EncodedPacket:
    """One encoded video packet; timestamps in the job's ``time_base``."""

    data: bytes
    pts: int
    dts: int
    duration: int
    keyframe: bool


@dataclass
class EncodedChunk:
    """A converted chunk: its packets (in decode order) and what the worker did."""

    index: int
    packets: list[EncodedPacket]
    extradata: bytes
    input_frames: int = 0
    interpolated_frames: int = 0
    scene_cuts: int = 0
    static_intervals: int = 0
    corrupt_frames: int = 0
    seconds: float = 0.0
    worker: str = ""

    @property
    def frames(self) -> int:
        return len(self.packets)

    @property
    def size(self) -> int:
        return sum(len(p.data) for p in self.packets)


class _PacketSink(VideoWriter):
    """A ``VideoWriter`` whose encoded packets are collected instead of written.

    Reuses the writer's exact encoder set-up (codec options, pixel format, colour tags, time
    base), so every chunk's stream is the one a single-process run would write.
    """

    def __init__(self, folder: Path, job: ChunkJob) -> None:
        self.packets: list[EncodedPacket] = []
        self._job_time_base = job.time_base
        super().__init__(
            folder / f"chunk{job.suffix}",
            job.info,
            settings=job.settings.encode,
            rate=job.rate,
            time_base=job.time_base,
            keep_audio=False,
            keep_subtitles=False,
        )

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if not packet.size:
                continue
            base = Fraction(packet.time_base) if packet.time_base else self._job_time_base
            self.packets.append(
                EncodedPacket(
                    bytes(packet),
                    _rescale(packet.pts, base, self._job_time_base),
                    _rescale(packet.dts, base, self._job_time_base),
                    _rescale(packet.duration or 0, base, self._job_time_base),
                    bool(packet.is_keyframe),
                )
            )


def _rescale(value: int | None, base: Fraction, target: Fraction) -> int:
    if value is None:
        raise OutputError("the encoder returned a packet without a timestamp")
    return round(value * base / target)


def convert_chunk(
    data: bytes, chunk: ChunkSpec, job: ChunkJob, interpolator: Interpolator
) -> EncodedChunk:
    """Decode a chunk's container, render exactly its output times, return encoded packets.

    The conversion loop (``frameinterp.convert``) runs with the output grid anchored at the
    whole video's first frame (``origin``) and renders only output times in
    ``[chunk.begin, chunk.end)``; the last chunk also renders the hold after the last frame.
    """
    started = clock.perf_counter()
    local = probe(io.BytesIO(data))
    info = replace(
        job.info,
        path=Path(f"chunk {chunk.index + 1} of {job.info.path.name}"),
        data=data,
        time_base=local.time_base,
        start=local.start,
        duration=None,
        frame_count=None,
    )
    reader = VideoReader(info, queue_size=job.settings.queue_size, measure=True)
    begin = chunk.begin if chunk.begin is not None else min(job.info.start, chunk.first_time)
    with tempfile.TemporaryDirectory(prefix="frameinterp-chunk-") as name:
        try:
            sink = _PacketSink(Path(name), job)
        except BaseException:
            reader.close()
            raise
        result = convert(  # commits or aborts the sink, closes the reader
            _ChunkSource(reader, job),
            sink,
            job.settings,
            interpolator,
            origin=job.info.start,
            window=(begin, chunk.end),
            name=str(info.path),
        )
    return EncodedChunk(
        index=chunk.index,
        packets=sink.packets,
        extradata=sink.extradata,
        input_frames=chunk.frames,
        interpolated_frames=result.interpolated_frames,
        scene_cuts=result.scene_cuts,
        static_intervals=result.static_intervals,
        corrupt_frames=reader.stats.affected_frames,
        seconds=clock.perf_counter() - started,
    )


class _ChunkSource:
    """A chunk's decoded frames as the whole video's: its frame rate and time base (the
    planner's precision), and the last frame's duration, which NUT does not keep."""

    def __init__(self, reader: VideoReader, job: ChunkJob) -> None:
        self._reader = reader
        self.rate = job.info.rate
        self.time_base: Fraction | None = job.info.time_base
        self._last_time = job.last_time
        self._end_time = job.end_time

    def __iter__(self) -> Iterator[DecodedFrame]:
        for frame in self._reader:
            if frame.time == self._last_time:
                frame.duration = self._end_time - self._last_time
            yield frame

    def close(self) -> None:
        self._reader.close()


# --------------------------------------------------------------------------------------------
# Joining (runs on the driver)


@dataclass
class JoinResult:
    """What ``join_chunks`` wrote."""

    output: Path
    frames: int
    streams: StreamNotes = field(default_factory=StreamNotes)
    seconds: float = 0.0


def _check_header(writer: VideoWriter, extradata: bytes) -> None:
    """The chunks' parameter sets must match the output stream's byte for byte (the writer
    opens its own encoder with the chunks' settings only to get that header)."""
    if writer.extradata != extradata:
        raise OutputError(
            f"a chunk was encoded with different {writer.settings.codec} parameters than the "
            "output stream, so the chunks cannot be joined; rerun without --workers/--ray"
        )


def _packet(packet: EncodedPacket, time_base: Fraction) -> av.Packet:
    encoded = av.Packet(packet.data)
    encoded.pts = packet.pts
    encoded.dts = packet.dts
    encoded.duration = packet.duration
    encoded.time_base = time_base
    encoded.is_keyframe = packet.keyframe
    return encoded


def join_chunks(
    output: Path,
    job: ChunkJob,
    chunks: Iterable[EncodedChunk],
    *,
    keep_audio: bool | None = None,
    expected_chunks: int | None = None,
) -> JoinResult:
    """Mux the chunks' packets in order into ``output`` with the input's audio and subtitles.

    The file is written under a temporary name, checked (every chunk's first frame decodes,
    decode timestamps increase, the duration matches the plan) and only then renamed.
    """
    started = clock.perf_counter()
    if keep_audio is None:
        keep_audio = job.settings.keeps_audio()
    writer = VideoWriter(
        output,
        job.info,
        settings=job.settings.encode,
        rate=job.rate,
        time_base=job.time_base,
        keep_audio=keep_audio,
        keep_subtitles=keep_audio,
        metadata=job.metadata,
    )
    try:
        last_dts: int | None = None
        count = 0
        first_times: list[Fraction] = []
        for count, chunk in enumerate(chunks, start=1):  # noqa: B007 (count used after)
            if not chunk.packets:
                raise OutputError(f"chunk {chunk.index} came back without any frames")
            _check_header(writer, chunk.extradata)
            if not chunk.packets[0].keyframe:
                raise OutputError(f"chunk {chunk.index} does not start with a keyframe")
            first_times.append(min(p.pts for p in chunk.packets) * job.time_base)
            for packet in chunk.packets:
                if last_dts is not None and packet.dts <= last_dts:
                    raise OutputError(
                        f"chunk {chunk.index} overlaps the one before it (decode time "
                        f"{packet.dts} after {last_dts}); the chunks cannot be joined"
                    )
                last_dts = packet.dts
                writer.write_packet(_packet(packet, job.time_base), packet.pts * job.time_base)
        if expected_chunks is not None and count != expected_chunks:
            raise OutputError(f"expected {expected_chunks} chunks to join, got {count}")
        duration = (job.end_time - job.info.start) * job.scale
        frames = writer.frames_written
        writer.commit(check=lambda path: check_joined(path, frames, duration, first_times))
    except BaseException:
        writer.abort()
        raise
    return JoinResult(output, writer.frames_written, writer.notes, clock.perf_counter() - started)


def check_joined(path: Path, frames: int, duration: Fraction, starts: Iterable[Fraction]) -> None:
    """Raise ``OutputError`` unless ``path``'s video has ``frames`` packets, lasts ``duration``
    (within one frame's rounding) and every chunk start decodes without error.

    ``starts`` are the chunks' first output times; they and the duration are compared relative
    to the first frame, because a muxer may shift every stream (an audio encoder's priming
    samples start before zero).
    """
    expected = sorted(starts)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = Fraction(stream.time_base or Fraction(1, 1000))
        count = 0
        first: Fraction | None = None
        last_end = Fraction(0)
        for packet in container.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            count += 1
            shown = packet.pts * time_base
            first = shown if first is None else min(first, shown)
            last_end = max(last_end, shown + (packet.duration or 0) * time_base)
        container.seek(0)
        stream.codec_context.skip_frame = "NONKEY"  # every chunk starts with a keyframe
        decoded = []
        try:
            for frame in container.decode(stream):
                if frame.pts is not None:
                    decoded.append(frame.pts * time_base)
        except av.error.FFmpegError as error:
            raise OutputError(f"the joined video does not decode: {error}") from None
    if count != frames or first is None:
        raise OutputError(f"the joined video has {count} frames, expected {frames}")
    rate = Fraction(stream.average_rate) if stream.average_rate else None
    tolerance = max(1 / rate if rate else Fraction(0), time_base)
    if abs((last_end - first) - duration) > tolerance:
        raise OutputError(
            f"the joined video lasts {float(last_end - first):.3f} s, expected "
            f"{float(duration):.3f} s"
        )
    origin = expected[0] if expected else Fraction(0)
    for time in expected:
        if not any(abs((time - origin) - (shown - first)) <= time_base for shown in decoded):
            raise OutputError(
                f"the chunk starting at {float(time):.3f} s does not decode in the joined video"
            )
