"""Threaded decoding: the first video stream of a source as ``DecodedFrame``s with exact times.

Frames keep the source's own pixel format (RGB is made later, only for frames an engine needs).
Decoding runs in its own thread, at most ``queue_size`` frames ahead of the consumer. Damaged
packets are skipped and counted, so one bad packet costs one frame, not the job.
"""

from __future__ import annotations

import threading
import time as time_module
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter

from frameinterp.decoded import DecodedFrame
from frameinterp.errors import UnsupportedMediaError
from frameinterp.probe import VideoInfo, open_input, probe
from frameinterp.scene import measure_change, video_frame_signature
from frameinterp.threads import ThreadedIterator

# DecodedFrame and probe are re-exported: with them, a reader of frames needs one import.
__all__ = ["DecodeStats", "DecodedFrame", "VideoReader", "probe"]


@dataclass
class DecodeStats:
    """Counts gathered while decoding, read once decoding is over."""

    frames: int = 0
    corrupt_frames: int = 0  # frames flagged corrupt by the decoder
    bad_packets: int = 0  # packets the decoder rejected (each loses at least one frame)
    skipped_times: int = 0  # frames whose timestamp did not increase (dropped)
    seconds: float = 0.0  # time spent decoding and measuring (in the decode thread)
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
    The reader is a ``FrameSource`` for ``frameinterp.convert``.
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
        self.rate = info.rate
        self.time_base: Fraction | None = info.time_base
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
        with open_input(info.path, self._hwaccel, info.data) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if self._threads:
                stream.codec_context.thread_count = self._threads
            time_base = info.time_base
            previous_signature: np.ndarray | None = None
            reformatter = VideoReformatter()
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
                    measure = None
                    if self._measure:
                        signature = video_frame_signature(frame, deep, reformatter)
                        if previous_signature is not None:
                            measure = measure_change(previous_signature, signature)
                        previous_signature = signature
                    corrupt = bool(getattr(frame, "is_corrupt", False))
                    self.stats.corrupt_frames += corrupt
                    self.stats.frames += 1
                    last_time = time
                    self.stats.seconds += time_module.perf_counter() - begun
                    yield DecodedFrame(
                        index, time, duration, measure, frame=frame, corrupt=corrupt, deep=deep
                    )
                    begun = time_module.perf_counter()
                    index += 1
            self.stats.seconds += time_module.perf_counter() - begun
            self.stats.finished = True
