"""Tiles cover every pixel, overlap exactly, and their blend weights sum to one everywhere."""

from __future__ import annotations

import itertools

import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.tiling import Tile, blend_weights, pad_to_multiple, plan_axis, plan_tiles

SIZES = [1, 2, 7, 31, 64, 65, 97, 128, 129, 200, 513]
PLANS = [(16, 0), (16, 5), (32, 8), (33, 11), (64, 16), (100, 7)]


@pytest.mark.parametrize(("tile_size", "overlap"), PLANS)
@pytest.mark.parametrize("length", SIZES)
def test_plan_axis_covers_with_exact_overlap(length: int, tile_size: int, overlap: int) -> None:
    spans = plan_axis(length, tile_size, overlap)
    assert spans[0][0] == 0
    assert spans[-1][1] == length
    for (_start, end), (next_start, _) in itertools.pairwise(spans):
        assert end - next_start == overlap
    lengths = [end - start for start, end in spans]
    assert max(lengths) <= tile_size
    assert max(lengths) - min(lengths) <= 1
    # The fewest tiles: one fewer could not cover the axis.
    fewer = len(spans) - 1
    assert fewer == 0 or fewer * tile_size - (fewer - 1) * overlap < length


@pytest.mark.parametrize(("tile_size", "overlap"), PLANS)
@pytest.mark.parametrize(("height", "width"), [(1, 1), (7, 200), (65, 33), (129, 97), (31, 513)])
def test_blend_weights_sum_to_one(height: int, width: int, tile_size: int, overlap: int) -> None:
    tiles = plan_tiles(height, width, tile_size, overlap)
    total = torch.zeros(1, 1, height, width)
    coverage = torch.zeros(1, 1, height, width)
    for tile in tiles:
        weights = blend_weights(tile, height, width, overlap)
        assert weights.shape == (1, 1, tile.height, tile.width)
        assert weights.dtype == torch.float32
        assert bool((weights > 0).all()) and bool((weights <= 1).all())
        tile.crop(total).add_(weights)
        tile.crop(coverage).add_(1.0)
    assert torch.allclose(total, torch.ones_like(total), atol=1e-6)
    assert bool((coverage >= 1).all())


def test_tile_larger_than_image_is_one_tile() -> None:
    tiles = plan_tiles(50, 70, 512, 32)
    assert tiles == [Tile(0, 50, 0, 70)]
    assert torch.equal(blend_weights(tiles[0], 50, 70, 32), torch.ones(1, 1, 50, 70))


def test_weights_are_one_inside_and_ramp_smoothly() -> None:
    tiles = plan_tiles(10, 300, 128, 16)
    assert [(tile.x0, tile.x1) for tile in tiles] == [(0, 111), (95, 206), (190, 300)]
    middle = blend_weights(tiles[1], 10, 300, 16)[0, 0, 0]
    assert bool((middle[16:-16] == 1).all())
    rising = middle[:16]
    assert bool((rising[1:] > rising[:-1]).all())
    assert torch.allclose(rising + rising.flip(0), torch.ones(16))


def test_blended_tiles_reconstruct_the_frame() -> None:
    frame = torch.rand(1, 3, 77, 131, generator=torch.Generator().manual_seed(0))
    result = torch.zeros_like(frame)
    for tile in plan_tiles(77, 131, 40, 12):
        tile.crop(result).add_(tile.crop(frame) * blend_weights(tile, 77, 131, 12))
    assert torch.allclose(result, frame, atol=1e-6)


@pytest.mark.parametrize(("height", "width", "multiple"), [(1, 1, 8), (31, 64, 16), (64, 64, 8)])
def test_pad_to_multiple(height: int, width: int, multiple: int) -> None:
    tensor = torch.arange(height * width, dtype=torch.float32).reshape(1, 1, height, width)
    padded, crop = pad_to_multiple(tensor, multiple)
    assert padded.shape[-2] % multiple == 0 and padded.shape[-1] % multiple == 0
    assert padded.shape[-2] - height < multiple and padded.shape[-1] - width < multiple
    assert torch.equal(crop(padded), tensor)
    # Replicated border: the last row and column repeat.
    assert torch.equal(
        padded[..., height:, :width], tensor[..., -1:, :].expand_as(padded[..., height:, :width])
    )
    assert torch.equal(
        padded[..., :height, width:], tensor[..., :, -1:].expand_as(padded[..., :height, width:])
    )


def test_exception() -> None:
    with pytest.raises(InvalidInputError, match="3 × the overlap"):
        plan_tiles(100, 100, 20, 8)
    with pytest.raises(InvalidInputError, match="length 0"):
        plan_tiles(0, 100, 64, 8)
    with pytest.raises(InvalidInputError, match="overlap"):
        plan_tiles(100, 100, 64, -1)
    with pytest.raises(InvalidInputError, match="inside"):
        blend_weights(Tile(0, 20, 0, 20), 10, 10, 2)
    with pytest.raises(InvalidInputError, match="N, C, H, W"):
        pad_to_multiple(torch.zeros(3, 5, 5), 8)
    with pytest.raises(InvalidInputError, match="multiple"):
        pad_to_multiple(torch.zeros(1, 3, 5, 5), 0)
    with pytest.raises(InvalidInputError, match="replicate"):
        pad_to_multiple(torch.zeros(1, 1, 3, 3), 8, mode="reflect")


def test_tile_side_for_budget():
    from frameinterp.tiling import tile_side_for_budget

    assert tile_side_for_budget(128 * 1000 * 1000, 128) == 1000
    assert tile_side_for_budget(128 * 1000 * 1000 - 1, 128) == 999
    with pytest.raises(InvalidInputError, match="too small"):
        tile_side_for_budget(1000, 128)


def test_memory_budget_tiles_the_classic_engine_without_changing_the_result(data_dir):
    """A small budget (as on a nearly full card) makes many small tiles, same frame."""
    from frameinterp.engines import create_interpolator
    from frameinterp.images import load_image

    folder = data_dir / "middlebury" / "RubberWhale"
    frame0 = load_image(folder / "frame10.png").colour
    frame1 = load_image(folder / "frame11.png").colour
    roomy = create_interpolator("classic", "cpu")
    tight = create_interpolator("classic", "cpu", memory_budget=128 * 100 * 100)
    assert tight.options.tile_size == 100 < roomy.options.tile_size
    expected = roomy.interpolate(frame0, frame1, [0.5])[0]
    actual = tight.interpolate(frame0, frame1, [0.5])[0]
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=0)


@pytest.mark.cuda
def test_4k_on_cuda_stays_within_a_small_budget(data_dir):
    """4K with a 64 MiB budget: the engine tiles, and its peak beyond the frames fits."""
    from frameinterp.engines import create_interpolator
    from frameinterp.images import load_image

    folder = data_dir / "middlebury" / "RubberWhale"
    frames = [
        torch.nn.functional.interpolate(
            load_image(folder / name).colour[None].cuda(), size=(2160, 3840), mode="bilinear"
        )[0]
        for name in ("frame10.png", "frame11.png")
    ]
    budget = 64 * 2**20
    engine = create_interpolator("classic", "cuda", memory_budget=budget)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    engine.interpolate(frames[0], frames[1], [0.5])
    output_bytes = frames[0].numel() * 4
    assert torch.cuda.max_memory_allocated() - baseline <= budget + 2 * output_bytes
