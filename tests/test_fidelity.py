"""End to end: what comes out of ``interpolate_video`` looks like what went in.

Frames that are not interpolated (every other output frame at factor 2) must come back
bit-exact with FFV1 when the pixel format is kept, and at the encoder's own quality otherwise;
every output's colour tags must describe its pixels; depth and chroma are kept where the codec
can, or the summary says why not. Inputs are real clips from ``shared/data/video`` and clips made
here with PyAV in the exact pixel format under test (FFV1, so their samples are known).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from frameinterp import interpolate_video
from frameinterp.colour import frame_color
from frameinterp.engines.blend import BlendInterpolator

SHARED = Path(__file__).parents[1].parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")
VIDEO = SHARED / "data" / "video"
WALK = VIDEO / "intel" / "walk.mkv"  # real, full-range yuvj420p, 640×480
CAR = VIDEO / "car-turn" / "car-turn_640x360_25fps.mp4"  # real, limited range, no matrix tag
REALSHORT = VIDEO / "imageio" / "realshort.mp4"  # 45000/1499 fps, time base 1/90000

EXTENSION = {"x264": ".mp4", "x265": ".mp4", "av1": ".mp4", "prores": ".mov", "ffv1": ".mkv"}


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    return path


def planes_of(frame: av.VideoFrame) -> list[np.ndarray]:
    """Every plane's samples (cropped to the picture), as int64."""
    dtype = np.uint16 if max(c.bits for c in frame.format.components) > 8 else np.uint8
    result = []
    for plane in frame.planes:
        items = plane.line_size // np.dtype(dtype).itemsize
        data = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
        result.append(data.reshape(plane.height, items)[:, : plane.width].astype(np.int64))
    return result


def decode(path: Path, limit: int | None = None) -> list[av.VideoFrame]:
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame)
            if limit is not None and len(frames) == limit:
                break
    return frames


def shown(frame: av.VideoFrame) -> np.ndarray:
    """RGB as a player shows the frame: swscale, reading the frame's own range and matrix tags
    (an untagged matrix read as BT.601 below HD, BT.709 from HD, like players)."""
    frame.colorspace = frame_color(frame).matrix
    return frame.to_ndarray(format="rgb24").astype(np.float64)


def psnr(first: np.ndarray, second: np.ndarray) -> float:
    error = float(np.mean((first - second) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def make_yuv_clip(
    path: Path,
    pixel_format: str,
    *,
    frames: int = 4,
    width: int = 64,
    height: int = 48,
    matrix: int = 1,
    color_range: int = 1,
) -> None:
    """A lossless clip in exactly ``pixel_format`` (FFV1; x264 at qp 0 for the ``yuvj``
    names FFV1 does not take): gradients, a moving square and noise, some of it outside the
    RGB cube, so a trip through RGB would change samples."""
    generator = np.random.default_rng(0)
    jpeg = pixel_format.startswith("yuvj")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264" if jpeg else "ffv1", rate=24)
        if jpeg:
            stream.options = {"qp": "0", "preset": "ultrafast"}
        stream.width, stream.height, stream.pix_fmt = width, height, pixel_format
        context = stream.codec_context
        context.colorspace, context.color_range = matrix, color_range
        context.color_primaries = context.color_trc = 1
        for index in range(frames):
            frame = av.VideoFrame(width, height, pixel_format)
            for number, plane in enumerate(frame.planes):
                bits = max(c.bits for c in frame.format.components)
                dtype = np.uint16 if bits > 8 else np.uint8
                top = 2**bits - 1
                shape = (plane.height, plane.width)
                ramp = np.linspace(0.2, 0.8, shape[1])[None, :] + np.zeros(shape)
                if number == 0:
                    x = (4 + 6 * index) * shape[1] // width
                    ramp[shape[0] // 4 : shape[0] // 2, x : x + shape[1] // 5] = 0.9
                values = ramp * top + generator.normal(0, top / 40, shape)
                values = np.clip(np.rint(values), 0, top)
                items = plane.line_size // np.dtype(dtype).itemsize
                data = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
                data.reshape(plane.height, items)[:, : plane.width] = values
            frame.colorspace, frame.color_range = matrix, color_range
            frame.color_primaries = frame.color_trc = 1
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def convert(source: Path, output: Path, codec: str, **options: object) -> object:
    return interpolate_video(
        source,
        output,
        factor=2,
        codec=codec,
        interpolator=BlendInterpolator("cpu"),
        scene_threshold=None,
        static_threshold=None,
        **options,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# Unchanged frames are bit-exact with FFV1


@pytest.mark.parametrize(
    ("pixel_format", "color_range"),
    [
        ("yuv420p", 1),
        ("yuvj420p", 2),
        ("yuv420p", 2),
        ("yuv422p10le", 1),
        ("yuv444p", 1),
        ("yuv420p10le", 2),
        ("gbrp10le", 2),
    ],
)
def test_ffv1_passes_unchanged_frames_bit_exact(
    tmp_path: Path, pixel_format: str, color_range: int
) -> None:
    clip = tmp_path / "in.mkv"
    make_yuv_clip(clip, pixel_format, color_range=color_range, width=66, height=38)
    output = tmp_path / "out.mkv"
    convert(clip, output, "ffv1")
    inputs, outputs = decode(clip), decode(output)
    assert len(outputs) == 2 * len(inputs)
    for index, original in enumerate(inputs):
        copy = outputs[2 * index]
        assert copy.format.name == pixel_format.replace("yuvj", "yuv")
        assert copy.color_range == color_range
        for before, after in zip(planes_of(original), planes_of(copy), strict=True):
            assert np.array_equal(before, after), f"output frame {2 * index} differs"


def test_ffv1_passes_real_full_range_frames_bit_exact(tmp_path: Path) -> None:
    output = tmp_path / "walk.mkv"
    convert(shared(WALK), output, "ffv1", max_frames=4)
    inputs, outputs = decode(WALK, 4), decode(output)
    assert outputs[0].format.name == "yuv420p" and outputs[0].color_range == 2
    for index, original in enumerate(inputs):
        for before, after in zip(planes_of(original), planes_of(outputs[2 * index]), strict=True):
            assert np.array_equal(before, after), f"output frame {2 * index} differs"


# --------------------------------------------------------------------------------------------
# Tags describe the pixels, for every codec and both ranges


@pytest.mark.parametrize("codec", ["x264", "x265", "av1", "prores", "ffv1"])
@pytest.mark.parametrize("source", [WALK, CAR], ids=["full-range", "limited-range"])
def test_every_codec_tags_what_it_stores(tmp_path: Path, codec: str, source: Path) -> None:
    """Decoded the way a player does (by the output's own tags), unchanged frames look like
    the input's: ≥ 40 dB for the lossy codecs (a full-range picture tagged limited scores
    about 29 dB), ≥ 50 dB for FFV1 (exact samples; only the decoder's own rounding)."""
    output = tmp_path / f"out{EXTENSION[codec]}"
    options = {"crf": 16} if codec in ("x264", "x265", "av1") else {}
    convert(shared(source), output, codec, max_frames=3, **options)
    inputs, outputs = decode(source, 3), decode(output)
    full = source == WALK
    stores_range = codec != "prores"
    for frame in outputs:
        assert frame.color_range == (2 if full and stores_range else 1)
        assert frame.colorspace == 6  # the untagged SD input's BT.601, made explicit
    for index, original in enumerate(inputs):
        quality = psnr(shown(original), shown(outputs[2 * index]))
        assert quality >= (50 if codec == "ffv1" else 40), f"{codec}: {quality:.1f} dB"


# --------------------------------------------------------------------------------------------
# Depth and chroma are kept, or the summary says why not


@pytest.mark.parametrize(
    ("codec", "pixel_format", "expected", "profile"),
    [
        ("x264", "yuv420p10le", "yuv420p10le", "High 10"),
        ("x264", "yuv444p", "yuv444p", "High 4:4:4 Predictive"),
        ("x264", "yuv422p10le", "yuv422p10le", "High 4:2:2"),
        ("ffv1", "yuv444p", "yuv444p", None),
        ("ffv1", "yuv444p10le", "yuv444p10le", None),
        ("x265", "yuv444p10le", "yuv444p10le", None),
        ("prores", "yuv444p", "yuv444p12le", "4444"),  # ProRes 4444 decodes as 12-bit
    ],
)
def test_depth_and_chroma_are_kept(
    tmp_path: Path, codec: str, pixel_format: str, expected: str, profile: str | None
) -> None:
    clip = tmp_path / "in.mkv"
    make_yuv_clip(clip, pixel_format)
    output = tmp_path / f"out{EXTENSION[codec]}"
    summary = convert(clip, output, codec)
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        first = next(container.decode(stream))
        assert first.format.name == expected
        if profile is not None:
            assert stream.codec_context.profile == profile
    assert not any("→" in warning for warning in summary.warnings)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("codec", "pixel_format", "note"),
    [("av1", "yuv444p10le", "4:4:4 → 4:2:0"), ("x264", "yuv444p12le", "12-bit → 10-bit")],
)
def test_summary_says_what_was_not_kept(
    tmp_path: Path, codec: str, pixel_format: str, note: str
) -> None:
    clip = tmp_path / "in.mkv"
    make_yuv_clip(clip, pixel_format, frames=2)
    output = tmp_path / f"out{EXTENSION[codec]}"
    summary = convert(clip, output, codec)
    warnings = summary.warnings  # type: ignore[attr-defined]
    assert any(note in warning for warning in warnings), warnings


# --------------------------------------------------------------------------------------------
# Near-equal rates pass frames through


def test_near_equal_rate_passes_frames_through(tmp_path: Path) -> None:
    """``--fps 30.02`` on a 45000/1499 clip: every target is within the time base's precision
    of an input frame, so nothing is interpolated (before: 34 of 36 were, at tiny offsets)."""
    output = tmp_path / "out.mkv"
    summary = interpolate_video(
        shared(REALSHORT),
        output,
        fps=Fraction("30.02"),
        codec="ffv1",
        interpolator=BlendInterpolator("cpu"),
        keep_audio=False,
    )
    assert summary.interpolated_frames == 0
    assert summary.output_frames == summary.input_frames == 36
