"""YUV ↔ RGB conversion, frame-to-frame conversion, encoder pixel formats and colour tags.

Conversions are checked against a float64 reference written from the textbook formulas (each
output sample must be the reference rounded once: within 0.5), and round trips on synthetic
frames made with PyAV and on real decoded frames.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from frameinterp.colour import (
    CODECS,
    ColorInfo,
    convert_frame,
    downgrade_note,
    encoder_options,
    encoder_pixel_format,
    frame_color,
    frame_from_rgb,
    output_color,
    resolve_color,
    rgb_from_frame,
)

SHARED = Path(__file__).parents[1].parent / "shared"
if not SHARED.exists():
    SHARED = Path("/work/shared")
VIDEO = SHARED / "data" / "video"

WEIGHTS = {1: (0.2126, 0.0722), 6: (0.299, 0.114), 9: (0.2627, 0.0593)}
SUBSAMPLING = {"420": (2, 2), "422": (2, 1), "444": (1, 1)}
# Rounding once in float32 leaves each sample within half a step of the float64 reference
# (plus float32's relative error on the 16-bit scale).
HALF = 0.5 + 1e-3
HALF_DEEP = 0.5 + 0.04


def parse(pixel_format: str) -> tuple[tuple[int, int], int]:
    """(horizontal, vertical) chroma subsampling and bit depth of a planar YUV name."""
    chroma = pixel_format.removeprefix("yuvj").removeprefix("yuv")[:3]
    return SUBSAMPLING[chroma], 10 if pixel_format.endswith("10le") else 8


def levels(depth: int, full: bool) -> tuple[float, float, float, float]:
    """(luma offset, luma scale, chroma offset, chroma scale): ITU-R BT.601/709/2020 coding."""
    if full:
        return 0.0, 2.0**depth - 1, 2.0 ** (depth - 1), 2.0**depth - 1
    unit = 2.0 ** (depth - 8)
    return 16 * unit, 219 * unit, 128 * unit, 224 * unit


def planes_of(frame: av.VideoFrame) -> list[np.ndarray]:
    dtype = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
    result = []
    for plane in frame.planes[: 1 if frame.format.name.startswith("gray") else 3]:
        items = plane.line_size // np.dtype(dtype).itemsize
        data = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
        result.append(data.reshape(plane.height, items)[:, : plane.width].astype(np.int64))
    return result


def make_frame(
    pixel_format: str, planes: list[np.ndarray], *, matrix: int = 2, color_range: int = 0
) -> av.VideoFrame:
    height, width = planes[0].shape
    frame = av.VideoFrame(width, height, pixel_format)
    dtype = np.uint16 if frame.format.components[0].bits > 8 else np.uint8
    for plane, values in zip(frame.planes, planes, strict=True):
        items = plane.line_size // np.dtype(dtype).itemsize
        data = np.frombuffer(memoryview(plane), dtype)[: plane.height * items]
        data.reshape(plane.height, items)[:, : plane.width] = values
    frame.colorspace = matrix
    frame.color_range = color_range
    return frame


def random_yuv(
    pixel_format: str, width: int = 66, height: int = 38, seed: int = 0, full: bool = False
) -> list[np.ndarray]:
    """Random planes covering the whole legal range, plus some samples outside it."""
    (step_x, step_y), depth = parse(pixel_format)
    generator = np.random.default_rng(seed)
    top = 2**depth - 1
    low, high = (0, top) if full else (16 << (depth - 8), 235 << (depth - 8))
    luma = generator.integers(low, high + 1, (height, width))
    shape = (-(-height // step_y), -(-width // step_x))
    chroma_high = top if full else 240 << (depth - 8)
    chroma = [generator.integers(low, chroma_high + 1, shape) for _ in range(2)]
    return [luma, *chroma]


def reference_rgb(
    planes: list[np.ndarray], pixel_format: str, matrix: int, full: bool
) -> np.ndarray:
    """float64 RGB in [0, 1], unclipped; each chroma sample covers its block of pixels."""
    (step_x, step_y), depth = parse(pixel_format)
    y_offset, y_scale, c_offset, c_scale = levels(depth, full)
    height, width = planes[0].shape
    y = (planes[0] - y_offset) / y_scale
    cb, cr = (
        np.repeat(np.repeat(p, step_y, 0), step_x, 1)[:height, :width].astype(float)
        for p in planes[1:]
    )
    cb, cr = (cb - c_offset) / c_scale, (cr - c_offset) / c_scale
    kr, kb = WEIGHTS[matrix]
    kg = 1 - kr - kb
    red = y + (2 - 2 * kr) * cr
    blue = y + (2 - 2 * kb) * cb
    green = (y - kr * red - kb * blue) / kg
    return np.stack([red, green, blue], axis=-1)


def reference_yuv(rgb: np.ndarray, pixel_format: str, matrix: int, full: bool) -> list[np.ndarray]:
    """float64 code values from RGB in [0, 1]; chroma averaged over each block."""
    (step_x, step_y), depth = parse(pixel_format)
    y_offset, y_scale, c_offset, c_scale = levels(depth, full)
    kr, kb = WEIGHTS[matrix]
    red, green, blue = (rgb[..., i] for i in range(3))
    y = kr * red + (1 - kr - kb) * green + kb * blue
    cb = (blue - y) / (2 - 2 * kb)
    cr = (red - y) / (2 - 2 * kr)
    height, width = y.shape
    pad = ((0, -height % step_y), (0, -width % step_x))
    chroma = []
    for plane in (cb, cr):
        padded = np.pad(plane, pad, mode="edge")
        blocks = padded.reshape(padded.shape[0] // step_y, step_y, -1, step_x)
        chroma.append(blocks.mean(axis=(1, 3)) * c_scale + c_offset)
    return [y * y_scale + y_offset, *chroma]


def smooth_yuv(pixel_format: str, full: bool, matrix: int = 1, seed: int = 0) -> list[np.ndarray]:
    """Planes of a smooth random RGB picture, like real footage: nearly all in gamut."""
    generator = np.random.default_rng(seed)
    coarse = generator.uniform(0.02, 0.98, (5, 8, 3))
    rows, columns = np.linspace(0, 4, 38), np.linspace(0, 7, 66)
    rgb = np.stack(
        [
            np.array([np.interp(columns, np.arange(8), line) for line in coarse[:, :, c]]).T
            for c in range(3)
        ],
        axis=-1,
    )  # 66 × 5 × 3, then along rows
    rgb = np.stack(
        [
            np.array([np.interp(rows, np.arange(5), line) for line in rgb[:, :, c]]).T
            for c in range(3)
        ],
        axis=-1,
    )
    top = 2 ** parse(pixel_format)[1] - 1
    return [
        np.clip(np.rint(p), 0, top).astype(np.int64)
        for p in reference_yuv(rgb, pixel_format, matrix, full)
    ]


FORMATS = ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le"]


@pytest.mark.parametrize("pixel_format", FORMATS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("matrix", [6, 1, 9])
def test_rgb_from_frame_matches_the_reference(pixel_format: str, full: bool, matrix: int) -> None:
    planes = random_yuv(pixel_format, full=full, seed=matrix)
    frame = make_frame(pixel_format, planes, matrix=matrix, color_range=2 if full else 1)
    deep = pixel_format.endswith("10le")
    peak = 65535 if deep else 255
    rgb = rgb_from_frame(frame, deep)
    assert rgb.dtype == (np.uint16 if deep else np.uint8) and rgb.shape == (38, 66, 3)
    expected = np.clip(reference_rgb(planes, pixel_format, matrix, full), 0, 1) * peak
    assert np.abs(rgb - expected).max() <= (HALF_DEEP if deep else HALF)


@pytest.mark.parametrize("pixel_format", FORMATS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("matrix", [6, 1, 9])
def test_frame_from_rgb_matches_the_reference(pixel_format: str, full: bool, matrix: int) -> None:
    generator = np.random.default_rng(matrix)
    deep = pixel_format.endswith("10le")
    peak = 65535 if deep else 255
    rgb = generator.integers(0, peak + 1, (38, 66, 3)).astype(np.uint16 if deep else np.uint8)
    color = ColorInfo(primaries=1, transfer=1, matrix=matrix, range=2 if full else 1)
    frame = frame_from_rgb(rgb, pixel_format, color)
    assert frame.format.name == pixel_format
    assert (frame.colorspace, frame.color_range) == (matrix, color.range)
    assert (frame.color_primaries, frame.color_trc) == (1, 1)
    expected = reference_yuv(rgb / peak, pixel_format, matrix, full)
    for got, want in zip(planes_of(frame), expected, strict=True):
        assert got.shape == want.shape
        assert np.abs(got - np.clip(want, 0, 2 ** parse(pixel_format)[1] - 1)).max() <= HALF


@pytest.mark.parametrize("pixel_format", ["yuv420p", "yuvj420p", "yuv422p", "yuv444p"])
@pytest.mark.parametrize("full", [False, True])
def test_yuv_rgb_yuv_round_trip_is_exact_in_gamut(pixel_format: str, full: bool) -> None:
    """Samples whose pixels have an RGB colour come back exactly from one trip through 8-bit
    RGB; samples outside the RGB cube are clipped on the way, as any conversion must."""
    full = full or pixel_format.startswith("yuvj")
    plain = pixel_format.replace("yuvj", "yuv")
    planes = smooth_yuv(plain, full)
    (step_x, step_y), _ = parse(plain)
    frame = make_frame(pixel_format, planes, matrix=1, color_range=2 if full else 1)
    color = frame_color(frame)
    again = frame_from_rgb(rgb_from_frame(frame, False), pixel_format, color)
    inside = (np.abs(reference_rgb(planes, plain, 1, full) - 0.5) <= 0.5).all(axis=-1)
    height, width = inside.shape
    blocks = np.pad(inside, ((0, -height % step_y), (0, -width % step_x)), mode="edge")
    block_inside = blocks.reshape(blocks.shape[0] // step_y, step_y, -1, step_x).all(axis=(1, 3))
    after = planes_of(again)
    assert block_inside.mean() > 0.9  # nearly all samples can be judged
    assert np.array_equal(after[0][inside], planes[0][inside])
    for index in (1, 2):
        assert np.array_equal(after[index][block_inside], planes[index][block_inside])


def test_ten_bit_round_trip_through_sixteen_bit_rgb_is_exact() -> None:
    planes = smooth_yuv("yuv420p10le", False)
    frame = make_frame("yuv420p10le", planes, matrix=1, color_range=1)
    inside = (np.abs(reference_rgb(planes, "yuv420p10le", 1, False) - 0.5) <= 0.5).all(axis=-1)
    assert inside.all()
    again = frame_from_rgb(rgb_from_frame(frame, True), "yuv420p10le", ColorInfo(1, 1, 1, 1))
    for before, after in zip(planes, planes_of(again), strict=True):
        assert np.array_equal(before, after)


@pytest.mark.parametrize(
    ("name", "bias_limit", "exact"),
    [("intel/walk.mkv", 0.02, 0.985), ("car-turn/car-turn_640x360_25fps.mp4", 0.01, 0.995)],
)
def test_real_frames_round_trip_without_bias(name: str, bias_limit: float, exact: float) -> None:
    """Real decoded frames (full-range yuvj420p, limited yuv420p) through RGB and back: the
    swscale path this replaced came back 0.86 and 1.02 luma levels darker, 28-35% exact."""
    path = VIDEO / name
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    color = frame_color(frame)
    again = frame_from_rgb(rgb_from_frame(frame, False), "yuv420p", color)
    before, after = planes_of(frame), planes_of(again)
    assert abs((after[0] - before[0]).mean()) < bias_limit
    differences = np.concatenate([(a - b).ravel() for a, b in zip(before, after, strict=True)])
    assert np.mean(differences == 0) > exact


def test_unspecified_matrix_is_bt601_below_hd_and_bt709_from_hd() -> None:
    planes = random_yuv("yuv444p", width=8, height=8)
    small = make_frame("yuv444p", planes)
    assert frame_color(small).matrix == 6 and frame_color(small).range == 1
    expected = np.clip(reference_rgb(planes, "yuv444p", 6, False), 0, 1) * 255
    assert np.abs(rgb_from_frame(small, False) - expected).max() <= HALF
    assert resolve_color(ColorInfo(), "yuv420p", 1280, 720).matrix == 1
    assert resolve_color(ColorInfo(), "yuv420p", 720, 576).matrix == 6
    assert resolve_color(ColorInfo(), "yuvj420p", 640, 480).range == 2
    assert resolve_color(ColorInfo(matrix=5, range=2), "yuv420p", 64, 64) == ColorInfo(
        matrix=5, range=2
    )
    assert resolve_color(ColorInfo(), "gbrp", 64, 64).matrix == 0


# --------------------------------------------------------------------------------------------
# convert_frame


def test_convert_frame_same_format_is_the_same_object() -> None:
    frame = make_frame("yuv420p", random_yuv("yuv420p"), matrix=1, color_range=1)
    frame.pict_type = av.video.frame.PictureType.I
    color = ColorInfo(primaries=1, transfer=1, matrix=1, range=1)
    assert convert_frame(frame, "yuv420p", color) is frame
    assert (frame.color_primaries, frame.color_trc, frame.colorspace, frame.color_range) == (
        1,
        1,
        1,
        1,
    )
    assert frame.pict_type == av.video.frame.PictureType.NONE  # the encoder picks keyframes
    # Unspecified tags resolve to what the output is tagged with: still no conversion.
    untagged = make_frame("yuv420p", random_yuv("yuv420p"))
    assert convert_frame(untagged, "yuv420p", ColorInfo(matrix=6, range=1)) is untagged


def test_convert_frame_full_range_jpeg_format_keeps_samples() -> None:
    planes = random_yuv("yuv420p", full=True)
    frame = make_frame("yuvj420p", planes)
    frame.pts = 7
    converted = convert_frame(frame, "yuv420p", ColorInfo(matrix=6, range=2))
    assert converted.format.name == "yuv420p" and converted.color_range == 2
    assert converted.pts == 7
    for before, after in zip(planes, planes_of(converted), strict=True):
        assert np.array_equal(before, after)


def test_convert_frame_depth_is_exact_both_ways() -> None:
    planes = random_yuv("yuv420p")
    frame = make_frame("yuv420p", planes, matrix=1, color_range=1)
    deep = convert_frame(frame, "yuv420p10le", ColorInfo(matrix=1, range=1))
    assert deep.format.name == "yuv420p10le"
    for before, after in zip(planes, planes_of(deep), strict=True):
        assert np.array_equal(after, before * 4)
    back = convert_frame(deep, "yuv420p", ColorInfo(matrix=1, range=1))
    for before, after in zip(planes, planes_of(back), strict=True):
        assert np.array_equal(after, before)
    ten = random_yuv("yuv420p10le", seed=3)
    shallow = convert_frame(
        make_frame("yuv420p10le", ten, matrix=1, color_range=1), "yuv420p", ColorInfo(1, 1, 1, 1)
    )
    for before, after in zip(ten, planes_of(shallow), strict=True):
        assert np.abs(after - before / 4).max() <= 0.5


def test_convert_frame_full_to_limited_for_prores() -> None:
    """yuvj420p → yuv422p10le limited: levels rescaled, each chroma row repeated."""
    planes = random_yuv("yuv420p", full=True)
    frame = make_frame("yuvj420p", planes, matrix=6)
    converted = convert_frame(frame, "yuv422p10le", ColorInfo(matrix=6, range=1))
    luma, blue, red = planes_of(converted)
    assert converted.color_range == 1
    assert np.abs(luma - (planes[0] * 876 / 255 + 64)).max() <= 0.5
    for after, before in ((blue, planes[1]), (red, planes[2])):
        assert after.shape == (38, 33)
        expected = np.repeat((before - 128) * 896 / 255 + 512, 2, axis=0)[:38]
        assert np.abs(after - expected).max() <= 0.5


@pytest.mark.parametrize("pixel_format", ["yuv420p", "yuv422p", "yuv420p10le"])
def test_convert_frame_chroma_up_and_down_is_lossless(pixel_format: str) -> None:
    planes = random_yuv(pixel_format, width=65, height=37)
    frame = make_frame(pixel_format, planes, matrix=1, color_range=1)
    wide = "yuv444p10le" if pixel_format.endswith("10le") else "yuv444p"
    back = convert_frame(
        convert_frame(frame, wide, ColorInfo(matrix=1, range=1)),
        pixel_format,
        ColorInfo(matrix=1, range=1),
    )
    for before, after in zip(planes, planes_of(back), strict=True):
        assert np.array_equal(before, after)


def test_convert_frame_changes_matrix_through_unrounded_rgb() -> None:
    planes = random_yuv("yuv444p")
    frame = make_frame("yuv444p", planes, matrix=6, color_range=1)
    converted = convert_frame(frame, "yuv444p", ColorInfo(matrix=1, range=1))
    assert converted.colorspace == 1
    expected = reference_yuv(reference_rgb(planes, "yuv444p", 6, False), "yuv444p", 1, False)
    for got, want in zip(planes_of(converted), expected, strict=True):
        assert np.abs(got - np.clip(want, 0, 255)).max() <= HALF


def test_convert_frame_grey_and_semi_planar() -> None:
    grey = make_frame("gray", random_yuv("yuv444p")[:1])
    as_yuv = convert_frame(grey, "yuv420p", ColorInfo(matrix=6, range=1))
    luma, blue, red = planes_of(as_yuv)
    assert np.array_equal(luma, planes_of(grey)[0])
    assert (blue == 128).all() and (red == 128).all()
    frame = make_frame("yuv420p", random_yuv("yuv420p"), matrix=6, color_range=1)
    nv12 = frame.reformat(format="nv12")
    back = convert_frame(nv12, "yuv420p", ColorInfo(matrix=6, range=1))
    for before, after in zip(planes_of(frame), planes_of(back), strict=True):
        assert np.array_equal(before, after)
    rgb = convert_frame(frame, "gbrp10le", ColorInfo(matrix=0, range=2))
    assert rgb.format.name == "gbrp10le"
    green, blue_, red_ = planes_of(rgb)
    reference = np.clip(reference_rgb(planes_of(frame), "yuv420p", 6, False), 0, 1) * 1023
    assert np.abs(np.stack([red_, green, blue_], -1) - reference).max() <= HALF


# --------------------------------------------------------------------------------------------
# Encoder formats and tags


@pytest.mark.parametrize(
    ("codec", "source", "depth", "expected"),
    [
        ("x264", "yuv420p", 8, "yuv420p"),
        ("x264", "yuvj420p", 8, "yuv420p"),
        ("x264", "yuv420p10le", 10, "yuv420p10le"),
        ("x264", "yuv422p10le", 10, "yuv422p10le"),
        ("x264", "yuv444p", 8, "yuv444p"),
        ("x264", "yuv444p12le", 12, "yuv444p10le"),
        ("x264", "gbrp", 8, "yuv444p"),
        ("x264", "gray", 8, "yuv420p"),
        ("x264", "nv12", 8, "yuv420p"),
        ("x264", "p010le", 10, "yuv420p10le"),
        ("x264", "yuv411p", 8, "yuv422p"),
        ("x265", "yuv444p12le", 12, "yuv444p12le"),
        ("x265", "yuv420p", 8, "yuv420p"),
        ("av1", "yuv444p10le", 10, "yuv420p10le"),
        ("av1", "yuv420p", 8, "yuv420p"),
        ("prores", "yuv420p", 8, "yuv422p10le"),
        ("prores", "yuv444p", 8, "yuv444p10le"),
        ("prores", "rgb24", 8, "yuv444p10le"),
        ("ffv1", "yuv444p", 8, "yuv444p"),
        ("ffv1", "yuv420p10le", 10, "yuv420p10le"),
        ("ffv1", "yuvj422p", 8, "yuv422p"),
        ("ffv1", "gbrp", 8, "bgr0"),
        ("ffv1", "rgb24", 8, "bgr0"),
        ("ffv1", "gbrp10le", 10, "gbrp10le"),
        ("ffv1", "rgb48le", 16, "gbrp16le"),
        ("ffv1", "gray10le", 10, "gray10le"),
        ("ffv1", "yuva420p", 8, "yuv420p"),
        ("ffv1", "yuv411p", 8, "yuv411p"),
    ],
)
def test_encoder_pixel_format_keeps_what_the_encoder_can(
    codec: str, source: str, depth: int, expected: str
) -> None:
    chosen = encoder_pixel_format(codec, source, depth)
    assert chosen == expected
    encoder = av.codec.Codec(CODECS[codec][0], "w")
    assert chosen in {video_format.name for video_format in encoder.video_formats}


def test_downgrade_note_says_what_was_lost() -> None:
    assert downgrade_note("x264", "yuv420p10le", "yuv420p10le") is None
    assert downgrade_note("x264", "gray", "yuv420p") is None
    assert downgrade_note("prores", "yuv420p", "yuv422p10le") is None
    note = downgrade_note("av1", "yuv444p10le", "yuv420p10le")
    assert note is not None and "4:4:4 → 4:2:0" in note and "av1" in note
    note = downgrade_note("x264", "yuv444p12le", "yuv444p10le")
    assert note is not None and "12-bit → 10-bit" in note
    note = downgrade_note("x264", "gbrp", "yuv444p")
    assert note is not None and "RGB → YUV" in note
    note = downgrade_note("ffv1", "yuva420p", "yuv420p")
    assert note is not None and "alpha" in note


def test_output_color_describes_the_pixels() -> None:
    full = ColorInfo(primaries=2, transfer=2, matrix=2, range=2)
    for codec in ("x264", "x265", "av1", "ffv1"):
        tags = output_color(codec, "yuv420p", full, "yuvj420p", 640, 480)
        assert tags == ColorInfo(primaries=2, transfer=2, matrix=6, range=2)
    # ProRes has no range flag: full-range input is converted to limited and tagged so.
    assert output_color("prores", "yuv422p10le", full, "yuvj420p", 640, 480).range == 1
    hd = output_color("x264", "yuv420p", ColorInfo(), "yuv420p", 1920, 1080)
    assert (hd.matrix, hd.range) == (1, 1)
    bt2020 = ColorInfo(primaries=9, transfer=16, matrix=9, range=1)
    assert output_color("x265", "yuv420p10le", bt2020, "yuv420p10le", 3840, 2160) == bt2020
    rgb = output_color("ffv1", "bgr0", ColorInfo(), "gbrp", 64, 48)
    assert (rgb.matrix, rgb.range) == (0, 2)
    as_yuv = output_color("x264", "yuv444p", ColorInfo(), "gbrp", 64, 48)
    assert (as_yuv.matrix, as_yuv.range) == (6, 1)


def test_encoder_options_prores_profile() -> None:
    assert encoder_options("prores", "yuv444p10le") == {"profile": "4"}
    assert encoder_options("prores", "yuv422p10le") == {"profile": "3"}
    assert encoder_options("x264", "yuv444p") == {}


def test_grey_and_planar_rgb_to_rgb() -> None:
    luma = random_yuv("yuv444p")[0]
    grey = make_frame("gray", [luma], color_range=1)
    expected = np.clip((luma - 16) / 219, 0, 1)[:, :, None].repeat(3, axis=2) * 255
    assert np.abs(rgb_from_frame(grey, False) - expected).max() <= HALF
    generator = np.random.default_rng(2)
    rgb = generator.integers(0, 1024, (38, 66, 3))
    planar = make_frame("gbrp10le", [rgb[..., 1], rgb[..., 2], rgb[..., 0]])
    assert np.abs(rgb_from_frame(planar, True) - rgb * 65535 / 1023).max() <= HALF_DEEP


def test_formats_without_a_numpy_path_go_through_accurate_swscale() -> None:
    """Packed RGB in, planar YUV out: swscale with accurate rounding, close to the numpy path."""
    generator = np.random.default_rng(4)
    rgb = generator.integers(0, 256, (38, 66, 3)).astype(np.uint8)
    packed = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    color = ColorInfo(matrix=1, range=1)
    converted = convert_frame(packed, "yuv444p", color)
    assert converted.format.name == "yuv444p" and converted.colorspace == 1
    reference = frame_from_rgb(rgb, "yuv444p", color)
    for got, want in zip(planes_of(converted), planes_of(reference), strict=True):
        assert np.abs(got - want).max() <= 1
    assert np.abs(rgb_from_frame(packed, False).astype(int) - rgb).max() == 0
