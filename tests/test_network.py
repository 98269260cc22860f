"""The network's shapes, invariances and gradients, with random weights at small sizes."""

from __future__ import annotations

import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.network import FlowEstimator, Normalisation, SoftsplatNetwork
from frameinterp.network.blocks import GridNet


@pytest.fixture(scope="module")
def network() -> SoftsplatNetwork:
    torch.manual_seed(0)
    return SoftsplatNetwork().eval()


def frames(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    pair = torch.rand(2, 1, 3, height, width, generator=generator)
    return pair[0], pair[1]


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


def test_normalisation_round_trip() -> None:
    one, two = frames(8, 8, seed=4)
    stats = Normalisation.of(one, two)
    both = torch.stack([stats.apply(one), stats.apply(two)])
    assert abs(both.mean().item()) < 1e-5
    assert abs(both.std().item() - 1.0) < 1e-4
    torch.testing.assert_close(stats.invert(stats.apply(one)), one)


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


def test_engine_reduced_scale_flow(network: SoftsplatNetwork) -> None:
    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    one, two = middlebury_crop(64, 128)
    engine = SoftsplatNetInterpolator(network=network, flow_max_size=64)
    padded = torch.stack([one, two])[:, None]
    forward, backward = engine.estimate_flow(padded[0], padded[1])
    assert forward.shape == backward.shape == (1, 2, 64, 128)
    (middle,) = engine.interpolate(one, two, [0.5])
    assert middle.shape == one.shape
    assert middle.min() >= 0 and middle.max() <= 1


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
