"""The classic engine: exact synthetic motion, endpoints, tiling, determinism, real frames."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from frameinterp.engines import ENGINES, Interpolator, create_interpolator
from frameinterp.engines.classic import ClassicInterpolator, ClassicOptions, fill_holes
from frameinterp.errors import InvalidInputError
from frameinterp.metrics import psnr, to_uint8_rgb
from frameinterp.ops import backwarp

DATA = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"


def _frame(name: str) -> torch.Tensor:
    rgb = cv2.imread(str(DATA / name), cv2.IMREAD_COLOR)[:, :, ::-1].copy()
    return torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0


@pytest.fixture(scope="module")
def real_pair() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return _frame("frame10.png"), _frame("frame11.png"), _frame("frame10i11.png")


def _shifted(texture: torch.Tensor, dx: int, dy: int, factor: int = 4) -> torch.Tensor:
    """``texture`` moved by (dx, dy) pixels, then area-averaged by ``factor``: an exact
    sub-pixel translation by (dx, dy) / factor with the same blur in every frame."""
    moved = torch.roll(texture, shifts=(dy, dx), dims=(1, 2))
    return F.avg_pool2d(moved[None], factor)[0]


def _interior(frame: torch.Tensor, margin: int = 8) -> np.ndarray:
    return to_uint8_rgb(frame[:, margin:-margin, margin:-margin])


def test_smoke_registered(real_pair: tuple[torch.Tensor, ...]) -> None:
    """Built by name, it makes a frame of the inputs' shape, dtype and device from a real crop;
    prepare + render is interpolate exactly; options given by name reach the engine."""
    engine = create_interpolator("classic", "cpu")
    assert "classic" in ENGINES
    assert isinstance(engine, Interpolator) and isinstance(engine, ClassicInterpolator)
    assert engine.name == "classic"
    assert engine.device == torch.device("cpu")
    frame0, frame1, _ = (frame[:, 100:196, 200:328].contiguous() for frame in real_pair)
    middle = engine.interpolate(frame0, frame1, [0.4])[0]
    assert middle.shape == frame0.shape and middle.dtype == frame0.dtype
    assert middle.device == frame0.device
    rendered = engine.render(engine.prepare(frame0, frame1), frame0, frame1, [0.4])[0]
    assert torch.equal(rendered, middle)
    flat = create_interpolator("classic", "cpu", alpha=0.0, quality="fast")
    assert isinstance(flat, ClassicInterpolator)
    assert flat.options.alpha == 0.0 and flat.options.quality == "fast"
    assert not torch.equal(flat.interpolate(frame0, frame1, [0.4])[0], middle)


def test_subpixel_translation() -> None:
    """A real texture moving by (2.5, 1.5) px: the middle frame is its (1.25, 0.75) px shift."""
    rgb = cv2.imread(str(DATA / "frame10.png"), cv2.IMREAD_COLOR)[:, :, ::-1]
    # Band-limited (σ = 3/4 px after downscaling), so bilinear sampling itself is near-exact.
    smooth = cv2.GaussianBlur(rgb.astype(np.float32) / 255.0, (0, 0), 3.0)
    texture = torch.from_numpy(smooth).permute(2, 0, 1)
    frame0, frame1, truth = (_shifted(texture, *shift) for shift in ((0, 0), (10, 6), (5, 3)))
    middle = ClassicInterpolator("cpu").interpolate(frame0, frame1, [0.5])[0]
    # The same frame made with the true motion and the same bilinear sampling: the ceiling.
    half = torch.tensor([1.25, 0.75]).view(1, 2, 1, 1).expand(1, 2, *frame0.shape[1:])
    ideal = 0.5 * (backwarp(frame0[None], -half) + backwarp(frame1[None], half))[0]
    quality = psnr(_interior(middle), _interior(truth))
    assert quality > 40.0
    assert quality > psnr(_interior(ideal), _interior(truth)) - 0.5
    assert quality > psnr(_interior(torch.lerp(frame0, frame1, 0.5)), _interior(truth)) + 10.0


def test_endpoints_give_the_inputs_back(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1 = (frame[:, 100:260, 200:400] for frame in real_pair[:2])
    engine = ClassicInterpolator("cpu")
    at0, near0, near1, at1 = engine.interpolate(frame0, frame1, [0.0, 1e-4, 1 - 1e-4, 1.0])
    assert torch.allclose(at0, frame0, atol=1e-5)
    assert torch.allclose(at1, frame1, atol=1e-5)
    assert psnr(to_uint8_rgb(near0), to_uint8_rgb(frame0)) > 50.0
    assert psnr(to_uint8_rgb(near1), to_uint8_rgb(frame1)) > 50.0


@pytest.mark.parametrize("sampler", ["opencv", "torch"])
def test_tiled_matches_untiled(real_pair: tuple[torch.Tensor, ...], sampler: str) -> None:
    whole = ClassicInterpolator("cpu", ClassicOptions(tile_size=4096, sampler=sampler))
    tiled = ClassicInterpolator("cpu", ClassicOptions(tile_size=48, sampler=sampler))
    # An even width: the motion (at half the flow's scale) is exactly half the frame's size.
    # An odd one: a tile's affine upsampling of the motion resolves 1/32 pixel (OpenCV's
    # fixed-point coordinates) where the whole frame's resize does not, so the two differ by
    # far less than one 8-bit step.
    for right, tolerance in ((434, 1e-5), (433, 1e-3)):
        frame0, frame1 = (frame[:, 60:250, 150:right] for frame in real_pair[:2])
        expected = whole.interpolate(frame0, frame1, [0.3])[0]
        result = tiled.interpolate(frame0, frame1, [0.3])[0]
        assert torch.allclose(result, expected, atol=tolerance)


def test_opencv_and_torch_samplers_agree(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1 = (frame[:, 100:260, 200:400] for frame in real_pair[:2])
    fast = ClassicInterpolator("cpu", ClassicOptions(sampler="opencv"))
    portable = ClassicInterpolator("cpu", ClassicOptions(sampler="torch"))
    difference = (
        fast.interpolate(frame0, frame1, [0.5])[0] - portable.interpolate(frame0, frame1, [0.5])[0]
    )
    # cv2.remap resolves coordinates to 1/32 pixel: tiny differences, nothing 8-bit output shows.
    assert float(difference.abs().max()) < 2e-2
    assert float(difference.abs().mean()) < 1e-3


def test_channel_last_and_planar_frames_agree(real_pair: tuple[torch.Tensor, ...]) -> None:
    """Frames uploaded channel-last (the benchmark) and as contiguous planes (FrameTransfer)
    take different OpenCV paths; each result keeps its input's layout, and they agree."""
    frame0, frame1 = real_pair[:2]
    assert frame0.permute(1, 2, 0).is_contiguous()  # the fixture is an H×W×3 image, permuted
    engine = ClassicInterpolator("cpu")
    channel_last = engine.interpolate(frame0, frame1, [0.5])[0]
    planar = engine.interpolate(frame0.contiguous(), frame1.contiguous(), [0.5])[0]
    assert channel_last.permute(1, 2, 0).is_contiguous()
    assert planar.is_contiguous()
    # The area downscale of H×W×3 and of single planes differs in the last bit, which can move
    # the flow locally: small differences, nothing on average.
    assert float((channel_last - planar).abs().mean()) < 1e-3


def test_several_times_reuse_one_flow(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1 = (frame[:, 100:260, 200:400] for frame in real_pair[:2])
    engine = ClassicInterpolator("cpu")
    frames = engine.interpolate(frame0, frame1, [0.25, 0.5, 0.75])
    assert len(frames) == 3
    assert all(f.shape == frame0.shape and f.dtype == frame0.dtype for f in frames)
    # Deterministic: the same request twice gives bit-identical frames.
    assert torch.equal(frames[1], engine.interpolate(frame0, frame1, [0.5])[0])
    assert engine.interpolate(frame0, frame1, []) == []


def test_real_middlebury_beats_blending(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1, truth = real_pair
    middle = ClassicInterpolator("cpu").interpolate(frame0, frame1, [0.5])[0]
    quality = psnr(to_uint8_rgb(middle), to_uint8_rgb(truth))
    blended = psnr(to_uint8_rgb(torch.lerp(frame0, frame1, 0.5)), to_uint8_rgb(truth))
    assert quality > blended + 2.0


def test_fill_holes_keeps_known_and_fills_smoothly() -> None:
    generator = torch.Generator().manual_seed(0)
    values = torch.rand(1, 2, 37, 53, generator=generator)
    known = torch.rand(1, 1, 37, 53, generator=generator) > 0.7
    known[..., 10:30, 10:40] = False  # a large hole
    filled = fill_holes(values * known, known)
    assert torch.equal(filled[known.expand_as(filled)], (values * known)[known.expand_as(values)])
    hole = ~known.expand_as(filled)
    assert bool((filled[hole] >= 0).all()) and bool((filled[hole] <= 1).all())
    assert torch.equal(fill_holes(values, torch.ones_like(known)), values)
    constant = torch.full((1, 1, 9, 9), 3.0)
    assert torch.allclose(fill_holes(constant, torch.rand(1, 1, 9, 9) > 0.5), constant)


def test_exception(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1 = real_pair[0], real_pair[1]
    engine = ClassicInterpolator("cpu")
    with pytest.raises(InvalidInputError, match="differ in size"):
        engine.interpolate(frame0, frame1[:, :-1], [0.5])
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        engine.interpolate(frame0, frame1, [1.5])
    with pytest.raises(InvalidInputError, match=r"\(3, H, W\)"):
        engine.interpolate(frame0[:1], frame1[:1], [0.5])
    with pytest.raises(InvalidInputError, match="sampler"):
        ClassicInterpolator("cpu", ClassicOptions(sampler="magic"))
    with pytest.raises(InvalidInputError, match="tile_size"):
        ClassicInterpolator("cpu", replace(ClassicOptions(), tile_size=4))


@pytest.mark.cuda
def test_cuda_matches_cpu(real_pair: tuple[torch.Tensor, ...]) -> None:
    frame0, frame1 = (frame[:, 100:260, 200:400] for frame in real_pair[:2])
    options = ClassicOptions(sampler="torch")
    on_cpu = ClassicInterpolator("cpu", options).interpolate(frame0, frame1, [0.5])[0]
    on_gpu = ClassicInterpolator("cuda", options).interpolate(frame0.cuda(), frame1.cuda(), [0.5])[
        0
    ]
    assert on_gpu.device.type == "cuda"
    assert float((on_gpu.cpu() - on_cpu).abs().mean()) < 1e-3


def test_quality_presets_pick_the_flow() -> None:
    from frameinterp.engines.classic import QUALITIES, QUALITY_FLOW
    from frameinterp.flow import FlowOptions

    assert QUALITIES == ("fast", "balanced", "best")
    assert ClassicOptions().quality == "balanced"
    for quality in QUALITIES:
        assert ClassicOptions(quality=quality).flow_options == QUALITY_FLOW[quality]
    # Middlebury-sized frames get full-resolution flow by default, half scale when fast.
    assert ClassicOptions().flow_options.max_side >= 640
    assert ClassicOptions(quality="fast").flow_options.max_side < 640
    explicit = FlowOptions(max_side=64)
    assert ClassicOptions(quality="best", flow=explicit).flow_options is explicit
    with pytest.raises(InvalidInputError, match="unknown quality 'ultra'"):
        ClassicOptions(quality="ultra")  # type: ignore[arg-type]


@pytest.mark.parametrize("quality", ["fast", "balanced"])
def test_orientations_agree_on_real_frames(
    real_pair: tuple[torch.Tensor, ...], quality: str
) -> None:
    """Mirroring the input mirrors the result: PSNR within 0.3 dB over the four orientations
    (half-scale flow on periodic texture once moved by 2.4 dB)."""
    frame0, frame1, truth = real_pair
    engine = ClassicInterpolator("cpu", ClassicOptions(quality=quality))  # type: ignore[arg-type]
    scores = []
    for dims in ((), (2,), (1,), (1, 2)):
        a, b, c = (frame.flip(dims) if dims else frame for frame in (frame0, frame1, truth))
        middle = engine.interpolate(a, b, [0.5])[0]
        scores.append(psnr(to_uint8_rgb(middle), to_uint8_rgb(c)))
    assert max(scores) - min(scores) < 0.3
    assert min(scores) > 40.0


def test_close_stops_the_flow_threads_and_the_engine_still_works(
    real_pair: tuple[torch.Tensor, ...],
) -> None:
    import threading

    frame0, frame1, _ = real_pair
    small0, small1 = (F.avg_pool2d(f[None], 4)[0] for f in (frame0, frame1))
    with ClassicInterpolator("cpu") as engine:
        first = engine.interpolate(small0, small1, [0.5])[0]
        assert any(t.name.startswith("frameinterp-flow") for t in threading.enumerate())
    engine.close()  # twice is fine
    assert engine._pool is None
    again = engine.interpolate(small0, small1, [0.5])[0]
    assert torch.equal(first, again)
    engine.close()
    assert engine.flow_seconds > 0


def test_refill_replaces_contradicted_flow_only() -> None:
    engine = ClassicInterpolator("cpu", ClassicOptions(refill_threshold=2.0))
    flows = torch.zeros(2, 2, 8, 8)
    flows[:, 0] = 3.0
    flows[0, :, 4, 4] = torch.tensor([-20.0, 9.0])  # a wild guess at a hidden pixel
    disagreement = torch.zeros(2, 1, 8, 8)
    disagreement[0, 0, 4, 4] = 25.0
    refilled = engine._refill(flows, disagreement)
    assert torch.allclose(refilled[0, :, 4, 4], torch.tensor([3.0, 0.0]))
    assert torch.equal(refilled[1], flows[1])
    mask = torch.ones(8, 8, dtype=torch.bool)
    mask[4, 4] = False
    assert torch.equal(refilled[0][:, mask], flows[0][:, mask])
    off = ClassicInterpolator("cpu", ClassicOptions(refill_threshold=0.0))
    assert off._refill(flows, disagreement) is flows


def test_host_splat_and_fill_match_torch() -> None:
    """The OpenCV path's numpy splat and hole filling give the torch operators' numbers."""
    from frameinterp.engines.classic import _fill_holes_host, _splat_host
    from frameinterp.ops import splat_torch

    generator = torch.Generator().manual_seed(3)
    values = torch.rand(3, 23, 31, generator=generator)
    flow = torch.randn(2, 23, 31, generator=generator) * 4.0
    expected = splat_torch.splat_forward(values[None], 0.5 * flow[None])[0]
    ours = _splat_host(values.numpy(), flow.permute(1, 2, 0).numpy().copy(), 0.5)
    assert np.allclose(ours, expected.numpy(), atol=1e-5)
    known = torch.rand(1, 1, 23, 31, generator=generator) > 0.7
    filled = fill_holes(values[None], known)[0]
    ours_filled = _fill_holes_host(values.numpy(), known[0, 0].numpy())
    assert np.allclose(ours_filled, filled.numpy(), atol=1e-5)


@pytest.mark.parametrize("quality", ["fast", "balanced", "best"])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (8, 8), (11, 11), (5, 40)])
def test_frames_smaller_than_dis_accepts_are_interpolated(
    real_pair: tuple[torch.Tensor, ...], quality: str, size: tuple[int, int]
) -> None:
    """OpenCV's DIS refuses frames with both sides under 12 px (a traceback from `pair` on an
    8×8 image, once); they are padded for it, and the frames come back whole and exact at the
    ends, on both samplers."""
    height, width = size
    frame0 = real_pair[0][:, 200 : 200 + height, 300 : 300 + width].contiguous()
    frame1 = real_pair[1][:, 200 : 200 + height, 300 : 300 + width].contiguous()
    for sampler in ("opencv", "torch"):
        engine = ClassicInterpolator("cpu", ClassicOptions(quality=quality, sampler=sampler))
        at0, middle, at1 = engine.interpolate(frame0, frame1, [0.0, 0.5, 1.0])
        assert middle.shape == frame0.shape and bool(torch.isfinite(middle).all())
        assert torch.allclose(at0, frame0, atol=1e-5)
        assert torch.allclose(at1, frame1, atol=1e-5)


def test_four_orientations_make_the_result_independent_of_flips(
    real_pair: tuple[torch.Tensor, ...],
) -> None:
    """``best`` averages the pair as is, mirrored, flipped and both: flipping the input then
    only flips the output (up to the order of the float sums), and the average is not just
    one of its parts."""
    frame0, frame1 = (frame[:, 100:260, 200:400] for frame in real_pair[:2])
    channel_last = [f.permute(1, 2, 0).contiguous().permute(2, 0, 1) for f in (frame0, frame1)]
    engine = ClassicInterpolator("cpu", ClassicOptions(quality="best"))
    assert ClassicOptions(quality="best").resolved_orientations == 4
    middle = engine.interpolate(*channel_last, [0.5])[0]
    for dims in ((2,), (1,), (1, 2)):
        flipped = engine.interpolate(*(f.flip(dims) for f in channel_last), [0.5])[0]
        assert torch.allclose(flipped.flip(dims), middle, atol=1e-5)
    single = ClassicInterpolator("cpu", ClassicOptions(quality="best", orientations=1))
    alone = single.interpolate(*channel_last, [0.5])[0]
    assert float((alone - middle).abs().max()) > 1e-3
    with pytest.raises(InvalidInputError, match="orientations"):
        ClassicOptions(orientations=3)
