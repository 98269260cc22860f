"""PyAV layer: probing by content, decoding with exact times, metadata, 10-bit, stream copies."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from video_clips import make_clip, make_damaged_clip, picture, stream_seconds, with_subtitles

from frameinterp.decode import VideoReader
from frameinterp.encode import EncodeSettings, StreamNotes, VideoWriter
from frameinterp.errors import InputNotFoundError, OutputError, UnsupportedMediaError
from frameinterp.files import check_output_path
from frameinterp.probe import VideoInfo, probe
from frameinterp.scene import frame_signature, measure_change
from frameinterp.timing import DEFAULT_SCENE_THRESHOLD, DEFAULT_STATIC_THRESHOLD, classify_interval

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "cup.mp4"


def decode_all(path: Path) -> tuple[list, VideoReader]:
    info = probe(path)
    with VideoReader(info) as reader:
        frames = list(reader)
    return frames, reader


def test_smoke_probe_sample() -> None:
    info = probe(SAMPLE)
    assert (info.width, info.height, info.codec) == (640, 480, "h264")
    assert info.rate == Fraction(26777, 1000)
    assert info.frame_count == 217
    assert info.audio_codecs == ("aac",)
    assert info.bit_depth == 8


def test_probe_by_content_not_extension(tmp_path: Path) -> None:
    clip = tmp_path / "clip.data"
    make_clip(clip, 5, container_format="mp4")
    info = probe(clip)
    assert (info.width, info.height, info.rate) == (64, 48, Fraction(24))


def test_exception_probe_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        probe(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 20)
    with pytest.raises(UnsupportedMediaError, match="not a video"):
        probe(text)
    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((2, 1024), np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        probe(audio_only)
    empty = tmp_path / "empty.avi"  # MP4 drops a track without samples; AVI keeps it
    make_clip(empty, 0)
    with pytest.raises(UnsupportedMediaError, match="no decodable frames"):
        probe(empty)


def test_decode_times_and_pixels(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    pictures = make_clip(clip, 10, rate=Fraction(30000, 1001))
    frames, reader = decode_all(clip)
    assert [frame.time for frame in frames] == [Fraction(i * 1001, 30000) for i in range(10)]
    assert reader.stats.frames == 10 and reader.stats.affected_frames == 0
    for frame, original in zip(frames, pictures, strict=True):
        assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)
        # crf 1 and 4:2:0 chroma: close to the source, not exact
        assert np.abs(frame.image.astype(int) - original).mean() < 4


def test_bt709_round_trip_uses_the_source_matrix(tmp_path: Path) -> None:
    clip = tmp_path / "bt709.mp4"
    color = {"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1}
    pictures = make_clip(clip, 4, color=color)
    info = probe(clip)
    assert (info.color.matrix, info.color.primaries, info.color.transfer) == (1, 1, 1)
    frames, _ = decode_all(clip)
    # Decoding a BT.709 file with the BT.601 matrix would shift the saturated colours by ~10.
    assert np.abs(frames[0].image.astype(int) - pictures[0]).mean() < 3


def test_metadata_carried(tmp_path: Path) -> None:
    clip = tmp_path / "rotated.mp4"
    color = {"colorspace": 1, "color_primaries": 1, "color_trc": 1, "color_range": 1}
    make_clip(clip, 4, rotation=90, color=color)
    info = probe(clip)
    assert info.rotation == 90
    output = tmp_path / "out.mp4"
    frames, _ = decode_all(clip)
    writer = VideoWriter(
        output, info, settings=EncodeSettings(), rate=info.rate, time_base=info.time_base
    )
    for frame in frames:
        writer.write(frame.image, frame.time)
    writer.commit()
    carried = probe(output)
    assert carried.rotation == 90
    assert carried.color == info.color
    assert (carried.width, carried.height) == (64, 48)


@pytest.mark.parametrize(("codec", "pixel_format"), [("x265", "yuv420p10le"), ("prores", None)])
def test_ten_bit_stays_ten_bit(tmp_path: Path, codec: str, pixel_format: str | None) -> None:
    clip = tmp_path / "deep.mkv"
    make_clip(clip, 4, codec="libx265", pixel_format="yuv420p10le")
    info = probe(clip)
    assert info.bit_depth == 10
    frames, _ = decode_all(clip)
    assert frames[0].image.dtype == np.uint16
    output = tmp_path / ("out.mkv" if codec == "x265" else "out.mov")
    writer = VideoWriter(
        output, info, settings=EncodeSettings(codec=codec), rate=info.rate, time_base=info.time_base
    )
    for frame in frames:
        writer.write(frame.image, frame.time)
    writer.commit()
    result = probe(output)
    assert result.bit_depth == 10
    assert result.pixel_format == (pixel_format or "yuv422p10le")
    back, _ = decode_all(output)
    assert len(back) == 4
    assert np.abs(back[0].image.astype(int) - frames[0].image.astype(int)).mean() < 600


def test_audio_copied_without_reencoding(tmp_path: Path) -> None:
    clip = tmp_path / "with_audio.mp4"
    make_clip(clip, 12, audio=True)
    info = probe(clip)
    frames, _ = decode_all(clip)
    output = tmp_path / "copy.mp4"
    writer = VideoWriter(
        output, info, settings=EncodeSettings(), rate=info.rate, time_base=info.time_base
    )
    for frame in frames:
        writer.write(frame.image, frame.time)
    writer.commit()
    assert writer.notes.copied == ["audio (aac)"]

    def audio_digest(path: Path) -> str:
        digest = hashlib.sha256()
        with av.open(str(path)) as container:
            for packet in container.demux(container.streams.audio[0]):
                digest.update(bytes(packet))
        return digest.hexdigest()

    assert audio_digest(output) == audio_digest(clip)


OUTPUTS = ("out.mkv", "out.mp4")


def copy_through_writer(output: Path, info: VideoInfo, frames: list) -> StreamNotes:
    """Write the decoded frames back out at their own times; what happened to other streams."""
    writer = VideoWriter(
        output, info, settings=EncodeSettings(), rate=info.rate, time_base=info.time_base
    )
    for frame in frames:
        writer.write(frame.image, frame.time)
    writer.commit()
    return writer.notes


def test_audio_reencoded_when_container_cannot_hold_it(tmp_path: Path) -> None:
    clip = tmp_path / "pcm.mkv"
    make_clip(clip, 12, audio=True, audio_codec="pcm_s16le")
    info = probe(clip)
    frames, _ = decode_all(clip)
    notes = {name: copy_through_writer(tmp_path / name, info, frames) for name in OUTPUTS}
    assert notes["out.mkv"].copied == ["audio (pcm_s16le)"]  # Matroska takes PCM as it is
    assert notes["out.mp4"].reencoded == ["audio (pcm_s16le → aac)"]
    assert probe(tmp_path / "out.mp4").audio_codecs == ("aac",)
    _, end = stream_seconds(tmp_path / "out.mp4", "audio")
    assert abs(end - 0.5) < 1024 / 48000 + 0.03  # 12 frames at 24 fps; AAC priming aside


def test_writer_abort_leaves_nothing(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    info = probe(clip)
    output = tmp_path / "out.mp4"
    writer = VideoWriter(
        output, info, settings=EncodeSettings(), rate=info.rate, time_base=info.time_base
    )
    writer.write(picture(0), Fraction(0))
    assert writer.temporary.exists() and writer.temporary.parent == tmp_path
    writer.abort()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_exception_container_cannot_hold_codec(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    make_clip(clip, 4)
    info = probe(clip)
    with pytest.raises(OutputError, match=r"use \.mp4"):  # WebM holds VP8/VP9/AV1 only
        VideoWriter(
            tmp_path / "out.webm",
            info,
            settings=EncodeSettings(codec="x264"),
            rate=info.rate,
            time_base=info.time_base,
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]


def test_exception_output_paths(tmp_path: Path) -> None:
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.mp4", (source,), False)
    with pytest.raises(OutputError, match="is the input"):
        check_output_path(source, (source,), True)
    with pytest.raises(OutputError, match="--overwrite"):
        check_output_path(source, (), False)
    check_output_path(source, (), True)


def test_corrupt_packet_is_counted_and_skipped(tmp_path: Path) -> None:
    clip = tmp_path / "damaged.mkv"
    make_damaged_clip(
        clip, lambda size: np.random.default_rng(0).integers(0, 256, size, np.uint8).tobytes()
    )
    frames, reader = decode_all(clip)
    assert len(frames) == 11
    assert reader.stats.affected_frames == 1


def test_measure_flags_cut_and_duplicates(tmp_path: Path) -> None:
    clip = tmp_path / "cut.mp4"
    make_clip(clip, 8, cut_at=4, duplicate=(2,))
    frames, _ = decode_all(clip)
    kinds = [
        classify_interval(frame.measure, DEFAULT_SCENE_THRESHOLD, DEFAULT_STATIC_THRESHOLD)
        for frame in frames[1:]
    ]
    assert kinds == ["motion", "static", "motion", "cut", "motion", "motion", "motion"]


def test_measure_on_real_cut() -> None:
    """Tears of Steel excerpt: a hard cut between frames 1 and 2, motion elsewhere."""
    path = Path(__file__).parent / "data" / "tears-of-steel" / "tears_of_steel.webm"
    if not path.exists():
        pytest.skip("tests/data/tears-of-steel not present")
    frames, _ = decode_all(path)
    cuts = [
        frame.index
        for frame in frames[1:]
        if classify_interval(frame.measure, DEFAULT_SCENE_THRESHOLD, None) == "cut"
    ]
    assert cuts == [2]


def test_signature_and_measure_ranges() -> None:
    first = frame_signature(picture(0, width=640, height=480))
    assert first.shape == (48, 64) and first.dtype == np.float32
    same = measure_change(first, first)
    assert (same.difference, same.histogram_distance, same.peak_difference) == (0, 0, 0)
    other = measure_change(first, frame_signature(picture(0, scene=1, width=640, height=480)))
    # The dark scene reuses many grey levels, so the difference term is what flags this cut.
    assert other.difference > 0.2 and other.cut_score > DEFAULT_SCENE_THRESHOLD


def test_exception_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read-only folders, simulated: the tests may run as root, who can write anywhere."""
    import frameinterp.files as files_module

    monkeypatch.setattr(files_module.os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="not writable"):
        check_output_path(tmp_path / "out.mp4", (), False)


def test_subtitles_copied_or_reported(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mkv"
    make_clip(plain, 6, audio=True)
    clip = tmp_path / "subtitled.mkv"
    with_subtitles(plain, clip, "hello")
    info = probe(clip)
    assert info.subtitle_codecs == ("srt",)
    frames, _ = decode_all(clip)
    notes = {name: copy_through_writer(tmp_path / name, info, frames) for name in OUTPUTS}
    assert notes["out.mkv"].copied == ["audio (aac)", "subtitle (srt)"]
    with av.open(str(tmp_path / "out.mkv")) as container:
        stream = container.streams.subtitles[0]
        packets = [packet for packet in container.demux(stream) if packet.size]
        assert [(bytes(p), p.pts * p.time_base) for p in packets] == [(b"hello", Fraction(1, 10))]
    # MP4 holds only mov_text subtitles: SubRip is left out, and the notes say so.
    assert notes["out.mp4"].dropped == ["subtitles (srt: the container cannot hold them)"]


def test_exception_unknown_codec(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    make_clip(clip, 4, codec="mpeg4")
    data = clip.read_bytes()
    assert data.count(b"FMP4") == 2  # the stream's FourCC, in its header and format chunk
    clip.write_bytes(data.replace(b"FMP4", b"QQQQ"))  # a codec no FFmpeg build knows
    with pytest.raises(UnsupportedMediaError, match="cannot decode"):
        probe(clip)
