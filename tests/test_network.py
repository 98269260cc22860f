"""The network against the published model's test vector, and properties that can fail."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.network import FlowEstimator, Normalisation, SoftsplatNetwork
from frameinterp.network.blocks import GridNet
from frameinterp.network.flow import resize_flow, resize_flow_per_axis
from frameinterp.network.model import Tiling
from frameinterp.network.synthesis import splat_published
from frameinterp.ops.softsplat import softsplat


def shared_folder() -> Path:
    """``shared/`` beside the clone (CI), else the development machine's copy."""
    beside = Path(__file__).resolve().parents[1].parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


VECTOR = shared_folder() / "reference" / "lf-test-vector"


@pytest.fixture(scope="module")
def network() -> SoftsplatNetwork:
    torch.manual_seed(0)
    return SoftsplatNetwork().eval()


def frames(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    pair = torch.rand(2, 1, 3, height, width, generator=generator)
    return pair[0], pair[1]


# ------------------------------------------------------------ the published model's outputs
def read_rgb(path: Path) -> torch.Tensor:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return torch.from_numpy(bgr[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255


@pytest.fixture(scope="module")
def vector_engine():  # type: ignore[no-untyped-def]
    from frameinterp.engines import create_interpolator

    weights = VECTOR / "weights.safetensors"
    if not weights.is_file():
        pytest.skip(f"reference test vector not found at {VECTOR} (shared/reference/)")
    return create_interpolator("softsplat-net", "cpu", weights=str(weights))


@pytest.mark.parametrize(
    ("case", "times"),
    [
        pytest.param("rubberwhale", (0.25, 0.5), marks=pytest.mark.slow, id="584x388"),
        pytest.param("beanbags-odd", (0.5,), id="255x191-odd"),
    ],
)
def test_reference_vector(vector_engine, case: str, times: tuple[float, ...]) -> None:  # type: ignore[no-untyped-def]
    # Same weights and frames as the reference implementation: RGB frames in, RGB frames out,
    # through the engine users run. A faithful float32 implementation lands near 1e-6.
    one, two = read_rgb(VECTOR / f"{case}-one.png"), read_rgb(VECTOR / f"{case}-two.png")
    height, width = one.shape[-2:]
    plan = vector_engine.tiling_for(height, width)
    assert plan == Tiling(), f"this machine's memory plan tiles a {width}×{height} frame: {plan}"
    outputs = vector_engine.interpolate(one, two, list(times))
    for time, output in zip(times, outputs, strict=True):
        expected = torch.from_numpy(np.load(VECTOR / f"{case}-t{time}.npy")).permute(2, 0, 1)
        assert output.shape == expected.shape
        difference = (output - expected).abs()
        worst, mean = difference.max().item(), difference.mean().item()
        assert worst <= 1e-4, f"{case} t={time}: max |difference| {worst:.3g}"
        # float32 rounding gives a mean near 3e-8; a convention off by a little (for example
        # each level's flow resized from full resolution) still moves the mean past 5e-6.
        assert mean <= 1e-6, f"{case} t={time}: mean |difference| {mean:.3g}"


# ------------------------------------------------------------------------------ properties
def test_smoke(network: SoftsplatNetwork) -> None:
    one, two = frames(64, 64)
    with torch.no_grad():
        outputs = network(one, two, [0.25, 0.5])
    assert len(outputs) == 2
    assert all(output.shape == (1, 3, 64, 64) for output in outputs)
    assert all(torch.isfinite(output).all() for output in outputs)
    assert not torch.equal(outputs[0], outputs[1])  # t changes the splatting


@pytest.mark.parametrize(("height", "width"), [(33, 47), (2, 2), (70, 18)])
def test_odd_sizes(network: SoftsplatNetwork, height: int, width: int) -> None:
    one, two = frames(height, width)
    with torch.no_grad():
        (output,) = network(one, two, [0.5])
    assert output.shape == (1, 3, height, width)
    assert torch.isfinite(output).all()


def test_brightness_affine_equivariance(network: SoftsplatNetwork) -> None:
    # Joint normalisation: scaling and offsetting both inputs does the same to the output.
    one, two = frames(32, 48, seed=1)
    with torch.no_grad():
        (plain,) = network(one, two, [0.5])
        (scaled,) = network(one * 0.5 + 0.2, two * 0.5 + 0.2, [0.5])
    torch.testing.assert_close(scaled, plain * 0.5 + 0.2, rtol=1e-4, atol=1e-4)


def test_batch_matches_single(network: SoftsplatNetwork) -> None:
    one_a, two_a = frames(32, 32, seed=2)
    one_b, two_b = frames(32, 32, seed=3)
    with torch.no_grad():
        (batched,) = network(torch.cat([one_a, one_b]), torch.cat([two_a, two_b]), [0.5])
        (single,) = network(one_b, two_b, [0.5])
    torch.testing.assert_close(batched[1:], single, rtol=1e-4, atol=1e-4)


def test_normalisation_is_joint_population_statistics() -> None:
    one, two = frames(8, 8, seed=4)
    one = one * 0.5  # the frames' means differ: the joint std is not the mean of their stds
    stats = Normalisation.of(one, two)
    both = torch.cat([one, two]).double()
    assert abs(stats.mean.item() - both.mean().item()) < 1e-6
    assert abs(stats.std.item() - both.std(correction=0).item()) < 1e-6
    normalised = torch.cat([stats.apply(one), stats.apply(two)])
    assert abs(normalised.std(correction=0).item() - 1.0) < 1e-5
    torch.testing.assert_close(stats.invert(stats.apply(one)), one)


def test_flat_pair_stays_finite(network: SoftsplatNetwork) -> None:
    # Zero spread: the published normalisation divides by std + 1e-7 and gives the grey back.
    grey = torch.full((1, 3, 16, 16), 0.4)
    with torch.no_grad():
        (output,) = network(grey, grey, [0.5])
    torch.testing.assert_close(output, grey)


def test_odd_sides_are_padded_before_normalising(network: SoftsplatNetwork) -> None:
    # The published code pads an odd side by replication and normalises the padded pair.
    one, two = frames(17, 23, seed=8)
    padded = [torch.nn.functional.pad(f, (0, 1, 0, 1), mode="replicate") for f in (one, two)]
    with torch.no_grad():
        (odd,) = network(one, two, [0.5])
        (even,) = network(padded[0], padded[1], [0.5])
    torch.testing.assert_close(odd, even[..., :17, :23], rtol=0, atol=1e-6)


def test_channels_enter_in_published_order(network: SoftsplatNetwork) -> None:
    # The published weights expect B, G, R: a red frame must arrive with channel 2 brightest.
    seen: list[torch.Tensor] = []
    hook = network.flow.pyramid.levels[0].register_forward_hook(
        lambda module, inputs, output: seen.append(inputs[0])
    )
    red = torch.zeros(1, 3, 16, 16)
    red[:, 0] = 1.0
    try:
        with torch.no_grad():
            network(red, red, [0.5])
    finally:
        hook.remove()
    channel_means = seen[0][0].mean((1, 2))
    assert int(channel_means.argmax()) == 2


def test_resize_flow_scales_both_components_by_width() -> None:
    flow = torch.ones(1, 2, 8, 12)
    published = resize_flow(flow, (12, 36))
    torch.testing.assert_close(published, torch.full((1, 2, 12, 36), 3.0))
    exact = resize_flow_per_axis(flow, (12, 36))
    torch.testing.assert_close(exact[:, 1], torch.full((1, 12, 36), 1.5))


def test_upsampling_doubles_then_crops_after_the_convolutions() -> None:
    # At an odd target size the published GridNet upsamples ×2, convolves, then drops the last
    # row/column; the convolutions see that extra row, so resizing straight to size differs.
    from frameinterp.network.blocks import UpsamplingBlock, resize_to

    torch.manual_seed(2)
    block = UpsamplingBlock(4, 4)
    features = torch.randn(1, 4, 5, 6)
    with torch.no_grad():
        output = block(features, (9, 12))
        doubled = torch.nn.functional.interpolate(features, scale_factor=2.0, mode="bilinear")
        expected = block.block(doubled)[..., :9, :12]
        straight = block.block(resize_to(features, (9, 12)))
    assert output.shape == (1, 4, 9, 12)
    torch.testing.assert_close(output, expected, rtol=0, atol=0)
    assert (output - straight).abs().max() > 1e-3


def test_splat_published_normalisation() -> None:
    # Σ w·x / (Σ w + 1e-7) with w = exp(metric): equal to the exact softmax for large weights,
    # and pulled towards 0 where the weights are as small as 1e-7 (the operator is exact there).
    image = torch.tensor([[[[2.0, 3.0]]]])
    flow = torch.zeros(1, 2, 1, 2)
    metric = torch.tensor([[[[0.0, -20.0]]]])
    published = splat_published(image, flow, metric)
    exact = softsplat(image, flow, metric, mode="soft")
    weight = np.exp(-20.0)
    assert published[0, 0, 0, 0].item() == pytest.approx(2.0 / (1 + 1e-7), rel=1e-6)
    assert published[0, 0, 0, 1].item() == pytest.approx(3 * weight / (weight + 1e-7), rel=1e-5)
    assert exact[0, 0, 0, 1].item() == pytest.approx(3.0, rel=1e-6)


def test_flow_shapes_and_directions() -> None:
    torch.manual_seed(0)
    estimator = FlowEstimator().eval()
    one, two = frames(64, 96, seed=5)
    with torch.no_grad():
        forward, backward = estimator(one, two)
        backward_swapped, forward_swapped = estimator(two, one)
    assert forward.shape == backward.shape == (1, 2, 64, 96)
    # One set of weights in both directions: swapping the inputs swaps the flows.
    torch.testing.assert_close(forward, forward_swapped, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(backward, backward_swapped, rtol=1e-4, atol=1e-4)


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    network = SoftsplatNetwork()
    one, two = frames(32, 32, seed=6)
    (output,) = network(one, two, [0.5])
    output.square().mean().backward()
    missing = [name for name, p in network.named_parameters() if p.grad is None]
    assert not missing


def test_autocast_mixed_precision(network: SoftsplatNetwork) -> None:
    # Training uses autocast (float16 on CUDA); bfloat16 on the CPU exercises the same casts.
    one, two = frames(32, 32, seed=7)
    with torch.no_grad():
        (reference,) = network(one, two, [0.5])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            (mixed,) = network(one, two, [0.5])
    assert torch.isfinite(mixed).all()
    assert (mixed.float() - reference).abs().mean() < 0.05 * (
        reference - reference.mean()
    ).abs().mean() + 1e-3


def test_gridnet_rows_need_first_input() -> None:
    grid = GridNet((4, 8), columns=2, down_columns=1)
    assert grid([torch.rand(1, 4, 9, 9), None]).shape == (1, 4, 9, 9)
    with pytest.raises(ValueError, match="row 0"):
        grid([None, torch.rand(1, 8, 5, 5)])


def test_exception(network: SoftsplatNetwork) -> None:
    with pytest.raises(InvalidInputError, match="N×3×H×W"):
        network(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9), [0.5])
    with pytest.raises(InvalidInputError, match="N×3×H×W"):
        network(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8), [0.5])


# ------------------------------------------------------------------ engine softsplat-net
def middlebury_crop(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A textured real crop (RubberWhale) so the tiles see real structure and motion."""
    from pathlib import Path

    import cv2

    folder = Path(__file__).parent / "data" / "middlebury" / "RubberWhale"
    images = []
    for name in ("frame10.png", "frame11.png"):
        bgr = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)[
            100 : 100 + height, 200 : 200 + width
        ]
        images.append(torch.from_numpy(bgr[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255)
    return images[0], images[1]


def test_engine_needs_weights() -> None:
    from frameinterp.engines import create_interpolator

    with pytest.raises(
        InvalidInputError, match=r"needs trained weights.*no weights are downloaded"
    ):
        create_interpolator("softsplat-net", "cpu")


def test_engine_loads_weights_file(tmp_path, network: SoftsplatNetwork) -> None:  # type: ignore[no-untyped-def]
    from frameinterp.engines import create_interpolator
    from frameinterp.network import save_weights

    path = tmp_path / "weights.safetensors"
    save_weights(network, path)
    engine = create_interpolator("softsplat-net", "cpu", weights=str(path))
    one, two = middlebury_crop(40, 56)
    (middle,) = engine.interpolate(one, two, [0.5])
    with torch.no_grad():
        (expected,) = network(one[None], two[None], [0.5])
    assert middle.shape == one.shape
    torch.testing.assert_close(middle, expected[0].clamp(0, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_engine_tiled_matches_untiled(network: SoftsplatNetwork) -> None:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator, aligned_tiles

    one, two = middlebury_crop(72, 100)
    whole = SoftsplatNetInterpolator(network=network, tile_size=128, tile_overlap=16)
    tiled = SoftsplatNetInterpolator(network=network, tile_size=64, tile_overlap=16)
    assert len(aligned_tiles(72, 100, 64, 16)) == 4
    expected = whole.interpolate(one, two, [0.3, 0.5])
    actual = tiled.interpolate(one, two, [0.3, 0.5])
    for untiled, from_tiles in zip(expected, actual, strict=True):
        difference = (untiled - from_tiles).abs()
        spread = (untiled - untiled.mean()).abs().mean()
        # Random weights vary little, so compare against the picture's own variation.
        assert difference.mean() < 0.02 * spread
        assert difference.max() < 0.5 * spread + 1e-3


class ConstantFlow(torch.nn.Module):
    """A flow estimator stub: flow of (width / 8, height / 8) pixels of whatever it is given."""

    def forward(self, one: torch.Tensor, two: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = one.shape[-2:]
        flow = torch.tensor([width / 8, height / 8]).view(1, 2, 1, 1).expand(1, 2, height, width)
        return flow, -flow


def test_reduced_scale_flow_is_scaled_per_axis() -> None:
    # Flow estimated on a downscaled copy must come back in full-size pixels, on both axes.
    network = SoftsplatNetwork().eval()
    network.flow = ConstantFlow()  # type: ignore[assignment]
    one, two = frames(64, 160, seed=9)
    forward, backward = network.estimate_flow(one, two, max_size=64)
    assert forward.shape == backward.shape == (1, 2, 64, 160)
    torch.testing.assert_close(forward[:, 0], torch.full((1, 64, 160), 20.0), rtol=0, atol=0.5)
    torch.testing.assert_close(forward[:, 1], torch.full((1, 64, 160), 8.0), rtol=0, atol=0.5)
    whole, _ = network.estimate_flow(one, two, max_size=None)
    torch.testing.assert_close(whole, torch.tensor([20.0, 8.0]).view(1, 2, 1, 1).expand_as(whole))


def test_engine_tiles_only_where_the_frame_would_not_fit(network: SoftsplatNetwork) -> None:
    from frameinterp.engines.softsplat_net import (
        FLOW_BYTES_PER_PIXEL,
        SYNTHESIS_BYTES_PER_PIXEL,
        SoftsplatNetInterpolator,
        plan_tiling,
    )

    height, width = 2160, 3840
    roomy = (height * width) * max(SYNTHESIS_BYTES_PER_PIXEL, FLOW_BYTES_PER_PIXEL)
    assert plan_tiling(height, width, roomy) == Tiling()
    tight = roomy // 8
    plan = plan_tiling(height, width, tight)
    assert plan.tile_size is not None and plan.flow_max_size is not None
    assert plan.tile_size**2 * SYNTHESIS_BYTES_PER_PIXEL <= tight
    flow_pixels = plan.flow_max_size**2 * height / width
    assert flow_pixels * FLOW_BYTES_PER_PIXEL <= tight
    engine = SoftsplatNetInterpolator(network=network, memory_budget=tight)
    assert engine.tiling_for(height, width) == plan
    assert engine.tiling_for(480, 640) == Tiling()
    forced = SoftsplatNetInterpolator(network=network, tile_size=512, memory_budget=roomy)
    assert forced.tiling_for(height, width).tile_size == 512


def test_engine_reduced_precision(network: SoftsplatNetwork) -> None:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    one, two = middlebury_crop(48, 64)
    (full,) = SoftsplatNetInterpolator(network=network).interpolate(one, two, [0.5])
    engine = SoftsplatNetInterpolator(network=network, precision="bfloat16")
    (reduced,) = engine.interpolate(one, two, [0.5])
    assert reduced.dtype == torch.float32
    assert (reduced - full).abs().mean() < 0.01


def test_engine_exception(network: SoftsplatNetwork) -> None:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    with pytest.raises(InvalidInputError, match="multiple of 4"):
        SoftsplatNetInterpolator(network=network, tile_overlap=10)
    with pytest.raises(InvalidInputError, match="3 × the"):
        SoftsplatNetInterpolator(network=network, tile_size=64, tile_overlap=32)
    with pytest.raises(InvalidInputError, match="precision"):
        SoftsplatNetInterpolator(network=network, precision="int8")
    engine = SoftsplatNetInterpolator(network=network)
    with pytest.raises(InvalidInputError, match="3×H×W"):
        engine.interpolate(torch.rand(3, 8, 8), torch.rand(3, 8, 9), [0.5])
