"""Softmax splatting (Niklaus & Liu, CVPR 2020): forward warping that resolves collisions.

Every mode is a bilinear *sum* splat of a few channels, followed by a normalisation:

- ``sum``:    Σ image
- ``avg``:    Σ image / Σ 1
- ``linear``: Σ metric·image / Σ metric
- ``soft``:   Σ exp(metric)·image / Σ exp(metric)

Where nothing lands the result is 0. The softmax is computed as exp(metric − max metric): the
shift cancels in the ratio, so results are unchanged and no dtype overflows. Half-precision
inputs are accumulated in float32 and returned in their own dtype. On CUDA, inference
(no gradient needed) takes a fused two-kernel path that never materialises the weighted image.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch.autograd.function import once_differentiable

from frameinterp.errors import InvalidInputError
from frameinterp.ops import splat_torch
from frameinterp.ops.cuda_runtime import cupy_status, require_cupy

Backend = Literal["auto", "cuda", "torch"]
MODES: tuple[str, ...] = ("sum", "avg", "linear", "soft")
BACKENDS: tuple[str, ...] = ("auto", "cuda", "torch")


def choose_backend(tensor: torch.Tensor, backend: str = "auto") -> str:
    """Resolve ``auto`` to ``cuda`` (CUDA tensor, float16/32, working CuPy) or ``torch``."""
    if backend not in BACKENDS:
        raise InvalidInputError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "torch":
        return "torch"
    from frameinterp.ops import splat_cuda

    if backend == "cuda":
        require_cupy(tensor)
        if tensor.dtype not in splat_cuda.SUPPORTED_DTYPES:
            raise InvalidInputError(
                f"backend 'cuda' supports float32 and float16, got {tensor.dtype}; "
                "use backend='torch' for other dtypes"
            )
        return "cuda"
    usable = tensor.is_cuda and tensor.dtype in splat_cuda.SUPPORTED_DTYPES and cupy_status()[0]
    return "cuda" if usable else "torch"


class SplatSum(torch.autograd.Function):
    """Autograd wrapper around the bilinear sum splat, with an explicit backward per backend."""

    @staticmethod
    def forward(ctx: Any, values: torch.Tensor, flow: torch.Tensor, backend: str) -> torch.Tensor:
        ctx.save_for_backward(values, flow)
        ctx.backend = backend
        if backend == "cuda":
            from frameinterp.ops import splat_cuda

            return splat_cuda.splat_forward(values, flow)
        return splat_torch.splat_forward(values, flow)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
        values, flow = ctx.saved_tensors
        if ctx.backend == "cuda":
            from frameinterp.ops import splat_cuda

            grad_values, grad_flow = splat_cuda.splat_backward(values, flow, grad_output)
        else:
            grad_values, grad_flow = splat_torch.splat_backward(
                values, flow, grad_output.to(values.dtype)
            )
        return grad_values.to(values.dtype), grad_flow.to(flow.dtype), None


def _describe(tensor: torch.Tensor) -> str:
    return f"{tuple(tensor.shape)} {str(tensor.dtype).removeprefix('torch.')} on {tensor.device}"


def _check_inputs(
    image: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor | None, mode: str
) -> None:
    if mode not in MODES:
        raise InvalidInputError(f"unknown splatting mode {mode!r}; expected one of {MODES}")
    named = [("image", image), ("flow", flow)]
    if metric is not None:
        named.append(("metric", metric))
    for name, tensor in named:
        if not isinstance(tensor, torch.Tensor):
            raise InvalidInputError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dim() != 4:
            raise InvalidInputError(f"{name} must be 4-D (N×C×H×W), got {_describe(tensor)}")
        if not tensor.is_floating_point():
            raise InvalidInputError(f"{name} must be a floating dtype, got {_describe(tensor)}")
        if tensor.device != image.device:
            raise InvalidInputError(
                f"{name} is on {tensor.device} but image is on {image.device}; use one device"
            )
    batch, _, height, width = image.shape
    if tuple(flow.shape) != (batch, 2, height, width):
        raise InvalidInputError(
            f"flow must be N×2×H×W = {(batch, 2, height, width)} to match image "
            f"{tuple(image.shape)}, got {tuple(flow.shape)}"
        )
    if mode in ("sum", "avg") and metric is not None:
        raise InvalidInputError(f"mode {mode!r} takes no metric; pass metric=None")
    if mode in ("linear", "soft"):
        if metric is None:
            raise InvalidInputError(f"mode {mode!r} needs a metric tensor N×1×H×W")
        if tuple(metric.shape) != (batch, 1, height, width):
            raise InvalidInputError(
                f"metric must be N×1×H×W = {(batch, 1, height, width)}, got {tuple(metric.shape)}"
            )
        if torch.isnan(metric).any():
            raise InvalidInputError("metric contains NaN; check how it was computed")
    if not torch.isfinite(flow).all():
        raise InvalidInputError("flow contains NaN or infinite values; check the flow estimate")


def softsplat(
    image: torch.Tensor,
    flow: torch.Tensor,
    metric: torch.Tensor | None = None,
    mode: str = "soft",
    backend: str = "auto",
) -> torch.Tensor:
    """Forward-warp ``image`` along ``flow``, resolving collisions according to ``mode``.

    Shape:
        image N×C×H×W, flow N×2×H×W (pixels; channel 0 is x, 1 is y), metric N×1×H×W.
        Returns N×C×H×W in image's dtype.

    Example:
        >>> image = torch.rand(1, 3, 4, 5)
        >>> flow = torch.ones(1, 2, 4, 5)  # everything moves one pixel right and down
        >>> softsplat(image, flow, mode="avg")[0, :, 1:, 1:].equal(image[0, :, :-1, :-1])
        True
    """
    _check_inputs(image, flow, metric, mode)
    if image.shape[0] == 0:
        return image.clone()
    chosen = choose_backend(image, backend)
    needs_grad = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (image, flow, metric)
    )
    if chosen == "cuda" and mode != "sum" and not needs_grad:
        from frameinterp.ops import splat_cuda

        return splat_cuda.splat_normalised(image, flow, metric, mode)
    compute_dtype = torch.float64 if image.dtype == torch.float64 else torch.float32
    flow = flow.to(compute_dtype)  # never float16: landing points must not depend on the image
    if chosen == "cuda" and mode in ("sum", "avg"):
        compute_dtype = image.dtype  # float16 storage is fine: the kernel accumulates in float32
    values = image.to(compute_dtype)
    if mode == "sum":
        return SplatSum.apply(values, flow, chosen).to(image.dtype)
    if mode == "avg":
        weight = torch.ones_like(values[:, :1])
    else:
        assert metric is not None  # checked above; narrows the type for mypy
        weight = metric.to(compute_dtype)
        if mode == "soft":
            shift = weight.detach().amax(dim=(1, 2, 3), keepdim=True)
            weight = torch.exp(weight - shift)
    splatted = SplatSum.apply(torch.cat([values * weight, weight], dim=1), flow, chosen)
    numerator, denominator = splatted[:, :-1], splatted[:, -1:]
    landed = denominator != 0
    safe = torch.where(landed, denominator, torch.ones_like(denominator))
    result = torch.where(landed, numerator / safe, torch.zeros_like(numerator))
    return result.to(image.dtype)


class SoftSplat(torch.nn.Module):
    """Module twin of :func:`softsplat` with the mode and backend fixed at construction."""

    def __init__(self, mode: str = "soft", backend: str = "auto") -> None:
        super().__init__()
        if mode not in MODES:
            raise InvalidInputError(f"unknown splatting mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        self.backend = backend

    def forward(
        self, image: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor | None = None
    ) -> torch.Tensor:
        return softsplat(image, flow, metric, mode=self.mode, backend=self.backend)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, backend={self.backend!r}"
