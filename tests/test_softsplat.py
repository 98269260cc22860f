"""softsplat against an independent float64 loop reference, gradcheck, dtypes and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from frameinterp.errors import BackendUnavailableError, InvalidInputError
from frameinterp.ops import SoftSplat, softsplat

MODES = ("sum", "avg", "linear", "soft")


def loop_reference(image, flow, metric, mode):
    """Textbook definition, one source pixel at a time, in float64."""
    image, flow = image.double(), flow.double()
    batch, channels, height, width = image.shape
    numerator = torch.zeros(batch, channels, height, width, dtype=torch.float64)
    denominator = torch.zeros(batch, 1, height, width, dtype=torch.float64)
    for n in range(batch):
        for y in range(height):
            for x in range(width):
                tx = x + flow[n, 0, y, x].item()
                ty = y + flow[n, 1, y, x].item()
                if mode in ("sum", "avg"):
                    importance = 1.0
                elif mode == "linear":
                    importance = metric[n, 0, y, x].item()
                else:
                    importance = math.exp(metric[n, 0, y, x].item())
                left, top = math.floor(tx), math.floor(ty)
                for cx, cy in ((left, top), (left + 1, top), (left, top + 1), (left + 1, top + 1)):
                    if 0 <= cx < width and 0 <= cy < height:
                        weight = (1 - abs(tx - cx)) * (1 - abs(ty - cy)) * importance
                        numerator[n, :, cy, cx] += weight * image[n, :, y, x]
                        denominator[n, 0, cy, cx] += weight
    if mode == "sum":
        return numerator
    out = torch.zeros_like(numerator)
    landed = denominator[:, 0] != 0
    for c in range(channels):
        out[:, c][landed] = numerator[:, c][landed] / denominator[:, 0][landed]
    return out


def make_inputs(batch, channels, height, width, flow_scale=3.0, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(batch, channels, height, width, generator=generator, dtype=dtype)
    flow = torch.randn(batch, 2, height, width, generator=generator, dtype=dtype) * flow_scale
    metric = torch.rand(batch, 1, height, width, generator=generator, dtype=dtype) * 4 - 2
    return image, flow, metric


def metric_for(mode, metric):
    if mode == "linear":
        return metric.abs() + 0.1  # linear weights must be positive
    return metric if mode == "soft" else None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 1, 6, 4), (3, 4, 9, 11)])
def test_matches_loop_reference(mode, shape):
    image, flow, metric = make_inputs(*shape, seed=sum(shape))
    metric = metric_for(mode, metric)
    expected = loop_reference(image, flow, metric, mode)
    actual = softsplat(image, flow, metric, mode=mode, backend="torch")
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", MODES)
def test_non_contiguous_inputs(mode):
    image, flow, metric = make_inputs(2, 3, 8, 6, seed=3)
    image_t = image.transpose(2, 3).contiguous().transpose(2, 3)  # same values, other strides
    flow_t = flow[:, :, :, :].permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2)
    assert not image_t.is_contiguous() and not flow_t.is_contiguous()
    metric = metric_for(mode, metric)
    torch.testing.assert_close(
        softsplat(image_t, flow_t, metric, mode=mode), loop_reference(image, flow, metric, mode)
    )


def test_many_sources_on_one_target():
    """Every pixel lands exactly on (2, 1): the sum collects all, avg gives their mean."""
    image, _, metric = make_inputs(1, 2, 4, 5, seed=5)
    ys, xs = torch.meshgrid(torch.arange(4.0), torch.arange(5.0), indexing="ij")
    flow = torch.stack([2 - xs, 1 - ys])[None].double()
    summed = softsplat(image, flow, mode="sum")
    torch.testing.assert_close(summed[0, :, 1, 2], image[0].sum(dim=(1, 2)))
    assert summed[0, :, 0, 0].abs().max() == 0
    averaged = softsplat(image, flow, mode="avg")
    torch.testing.assert_close(averaged[0, :, 1, 2], image[0].mean(dim=(1, 2)))
    weights = torch.softmax(metric[0, 0].flatten(), 0)
    soft = softsplat(image, flow, metric, mode="soft")
    torch.testing.assert_close(soft[0, :, 1, 2], image[0].flatten(1) @ weights)


def test_out_of_frame_sources_dropped_and_holes_are_zero():
    image = torch.rand(1, 3, 6, 6, dtype=torch.float64)
    flow = torch.full((1, 2, 6, 6), 100.0, dtype=torch.float64)  # everything leaves the frame
    flow[0, :, 2, 2] = 0.0  # except one pixel that stays put
    for mode in ("sum", "avg", "soft"):
        metric = torch.zeros(1, 1, 6, 6, dtype=torch.float64) if mode == "soft" else None
        out = softsplat(image, flow, metric, mode=mode)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out[0, :, 2, 2], image[0, :, 2, 2])
        out[0, :, 2, 2] = 0
        assert out.abs().max() == 0


def test_huge_flow_is_dropped_not_wrapped():
    image = torch.rand(1, 1, 4, 4)
    flow = torch.full((1, 2, 4, 4), 1e30)
    assert softsplat(image, flow, mode="sum").abs().max() == 0


def test_integer_shift_is_exact():
    image = torch.rand(1, 3, 10, 12)
    flow = torch.zeros(1, 2, 10, 12)
    flow[:, 0] = 3.0
    flow[:, 1] = -2.0
    out = softsplat(image, flow, mode="avg")
    torch.testing.assert_close(out[..., 0:8, 3:12], image[..., 2:10, 0:9])


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck(mode):
    image, flow, metric = make_inputs(2, 2, 5, 6, flow_scale=1.5, seed=11)
    metric = metric_for(mode, metric)
    inputs = [image.requires_grad_(), flow.requires_grad_()]
    if metric is not None:
        inputs.append(metric.requires_grad_())

    def function(*tensors):
        return softsplat(tensors[0], tensors[1], tensors[2] if metric is not None else None, mode)

    assert torch.autograd.gradcheck(function, tuple(inputs), eps=1e-6, atol=1e-5)


def test_soft_is_shift_invariant_and_float16_safe():
    image, flow, metric = make_inputs(1, 3, 16, 16, seed=2, dtype=torch.float32)
    metric = metric * 10  # metrics in [-20, 20]
    reference = softsplat(image, flow, metric, mode="soft")
    torch.testing.assert_close(softsplat(image, flow, metric + 500.0, mode="soft"), reference)
    half = softsplat(image.half(), flow.half(), (metric * 5).half(), mode="soft")  # [-100, 100]
    assert half.dtype == torch.float16 and torch.isfinite(half).all()
    half = softsplat(image.half(), flow.half(), metric.half(), mode="soft")
    # float16 rounds the inputs (flow to ~1e-3 px): stated tolerance 2e-2 absolute
    torch.testing.assert_close(half.float(), reference, atol=2e-2, rtol=0)


def test_module_twin_matches_function():
    image, flow, metric = make_inputs(1, 3, 7, 7, seed=4)
    module = SoftSplat(mode="soft")
    torch.testing.assert_close(module(image, flow, metric), softsplat(image, flow, metric))
    assert "soft" in repr(module)


def test_empty_batch():
    image = torch.rand(0, 3, 4, 4)
    assert softsplat(image, torch.zeros(0, 2, 4, 4), mode="avg").shape == (0, 3, 4, 4)


IMAGE = torch.rand(1, 3, 4, 4)
ZERO_FLOW = torch.zeros(1, 2, 4, 4)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((torch.rand(3, 4, 4), torch.zeros(1, 2, 4, 4), None, "avg"), "4-D"),
        ((torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 5), None, "avg"), "flow must be"),
        ((torch.rand(2, 3, 4, 4), torch.zeros(1, 2, 4, 4), None, "avg"), "flow must be"),
        (
            (torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4), "sum"),
            "takes no metric",
        ),
        ((torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), None, "soft"), "needs a metric"),
        ((torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), "soft"), "N×1"),
        ((torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), None, "median"), "unknown"),
        (
            (torch.ones(1, 3, 4, 4, dtype=torch.int64), torch.zeros(1, 2, 4, 4), None, "avg"),
            "float",
        ),
        ((torch.rand(1, 3, 4, 4), torch.full((1, 2, 4, 4), math.nan), None, "avg"), "NaN"),
    ],
)
def test_exception(arguments, message):
    with pytest.raises(InvalidInputError, match=message):
        softsplat(*arguments)


def test_exception_cuda_backend_on_cpu_tensor():
    with pytest.raises(BackendUnavailableError, match=r"frameinterp\[cuda12\]|CUDA device"):
        softsplat(torch.rand(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), mode="avg", backend="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cuda_matches_torch(mode, dtype):
    image, flow, metric = make_inputs(2, 3, 37, 53, seed=7, dtype=torch.float32)
    metric = metric_for(mode, metric)
    tensors = [t.cuda().to(dtype) if t is not None else None for t in (image, flow, metric)]
    expected = softsplat(*[t.float() if t is not None else None for t in tensors], mode, "torch")
    actual = softsplat(*tensors, mode=mode, backend="cuda")
    tolerance = 1e-4 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(actual.float(), expected, atol=tolerance, rtol=tolerance)


@pytest.mark.cuda
@pytest.mark.parametrize("mode", MODES)
def test_cuda_gradients_match_torch(mode):
    image, flow, metric = make_inputs(2, 3, 21, 19, seed=8, dtype=torch.float32)
    metric = metric_for(mode, metric)
    gradients = {}
    for backend in ("torch", "cuda"):
        leaves = [t.cuda().requires_grad_() for t in (image, flow) if t is not None]
        extra = metric.cuda().requires_grad_() if metric is not None else None
        out = softsplat(leaves[0], leaves[1], extra, mode=mode, backend=backend)
        out.square().sum().backward()
        gradients[backend] = [t.grad for t in [*leaves, extra] if t is not None]
    for expected, actual in zip(gradients["torch"], gradients["cuda"], strict=True):
        torch.testing.assert_close(actual, expected, atol=1e-3, rtol=1e-3)
