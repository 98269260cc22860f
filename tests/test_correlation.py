"""Cost volume: torch path against a float64 loop reference, gradcheck, CuPy against torch."""

from __future__ import annotations

import pytest
import torch

from frameinterp.errors import InvalidInputError
from frameinterp.ops.correlation import Correlation, correlation


def loop_reference(one: torch.Tensor, two: torch.Tensor, radius: int) -> torch.Tensor:
    """The definition, written out pixel by pixel in float64."""
    one, two = one.double(), two.double()
    batch, channels, height, width = one.shape
    diameter = 2 * radius + 1
    volume = torch.zeros(batch, diameter * diameter, height, width, dtype=torch.float64)
    for n in range(batch):
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                d = (dy + radius) * diameter + (dx + radius)
                for y in range(height):
                    for x in range(width):
                        if 0 <= y + dy < height and 0 <= x + dx < width:
                            products = one[n, :, y, x] * two[n, :, y + dy, x + dx]
                            volume[n, d, y, x] = products.sum() / channels
    return volume


def test_smoke() -> None:
    volume = Correlation()(torch.rand(2, 3, 8, 7), torch.rand(2, 3, 8, 7))
    assert volume.shape == (2, 81, 8, 7)
    assert volume.dtype == torch.float32


@pytest.mark.parametrize("radius", [0, 1, 4])
def test_matches_loop_reference(radius: int) -> None:
    generator = torch.Generator().manual_seed(radius)
    one = torch.randn(2, 5, 6, 9, generator=generator)
    two = torch.randn(2, 5, 6, 9, generator=generator)
    expected = loop_reference(one, two, radius)
    actual = correlation(one, two, radius, backend="torch")
    torch.testing.assert_close(actual.double(), expected, rtol=1e-5, atol=1e-6)


def test_known_shift_peaks_at_displacement() -> None:
    # two = one moved right by 2 and down by 1: the best match is dx=+2, dy=+1.
    one = torch.randn(1, 16, 20, 20, generator=torch.Generator().manual_seed(3))
    two = torch.roll(one, shifts=(1, 2), dims=(2, 3))
    volume = correlation(one, two, 4, backend="torch")
    best = volume[0, :, 8:12, 8:12].mean((1, 2)).argmax().item()
    assert best == (1 + 4) * 9 + (2 + 4)


def test_gradcheck() -> None:
    generator = torch.Generator().manual_seed(0)
    one = torch.randn(1, 3, 5, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    two = torch.randn(1, 3, 5, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: correlation(a, b, 2, backend="torch"), (one, two), eps=1e-6, atol=1e-7
    )


def test_non_contiguous_input() -> None:
    one = torch.randn(1, 4, 7, 5).transpose(2, 3)
    two = torch.randn(1, 4, 7, 5).transpose(2, 3)
    torch.testing.assert_close(
        correlation(one, two, 2, backend="torch").double(),
        loop_reference(one.contiguous(), two.contiguous(), 2),
        rtol=1e-5,
        atol=1e-6,
    )


def test_exception() -> None:
    with pytest.raises(InvalidInputError, match="same shape"):
        correlation(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(InvalidInputError, match="radius"):
        correlation(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), radius=-1)
    with pytest.raises(InvalidInputError, match="backend"):
        correlation(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), backend="opencl")  # type: ignore[arg-type]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_matches_torch(dtype: torch.dtype) -> None:
    from frameinterp.ops.cuda_runtime import cupy_status

    available, reason = cupy_status()
    if not available:
        pytest.skip(reason)
    generator = torch.Generator().manual_seed(1)
    # Odd sizes and more channels than one warp, on the GPU.
    one = torch.randn(2, 37, 19, 23, generator=generator).cuda().to(dtype).requires_grad_()
    two = torch.randn(2, 37, 19, 23, generator=generator).cuda().to(dtype).requires_grad_()
    grad = torch.randn(2, 81, 19, 23, generator=generator).cuda().to(dtype)
    results = {}
    for backend in ("cuda", "torch"):
        inputs = [one.float().detach().requires_grad_(), two.float().detach().requires_grad_()]
        if backend == "cuda":
            inputs = [one.detach().clone().requires_grad_(), two.detach().clone().requires_grad_()]
        volume = correlation(inputs[0], inputs[1], 4, backend=backend)  # type: ignore[arg-type]
        volume.backward(grad.to(volume.dtype))
        results[backend] = [volume.float(), inputs[0].grad.float(), inputs[1].grad.float()]  # type: ignore[union-attr]
    tolerance = (
        {"rtol": 1e-4, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-2, "atol": 1e-2}
    )
    for cuda_value, torch_value in zip(results["cuda"], results["torch"], strict=True):
        torch.testing.assert_close(cuda_value, torch_value, **tolerance)
