"""CuPy launchers for ``kernels/softsplat.cu``: the same contract as ``splat_torch``."""

from __future__ import annotations

import torch

from frameinterp.ops.cuda_runtime import kernel, launch, pointer

SOURCE = "softsplat.cu"
SUFFIX = {torch.float32: "f32", torch.float16: "f16"}
SUPPORTED_DTYPES = tuple(SUFFIX)


def _shape_arguments(values: torch.Tensor) -> tuple[object, ...]:
    import numpy as np

    _, channels, height, width = values.shape
    return (np.int32(channels), np.int32(height), np.int32(width))


def splat_forward(values: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Float32 sum of ``values`` splatted along ``flow`` (values/flow float32 or float16)."""
    values = values.contiguous()
    flow = flow.to(values.dtype).contiguous()
    output = torch.zeros(values.shape, dtype=torch.float32, device=values.device)
    function = kernel(SOURCE, f"splat_forward_{SUFFIX[values.dtype]}", values.device)
    arguments = (*_shape_arguments(values), pointer(values), pointer(flow), pointer(output))
    launch(function, values.numel(), arguments, values.device)
    return output


def splat_backward(
    values: torch.Tensor, flow: torch.Tensor, grad_output: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float32 gradients with respect to ``values`` and ``flow``."""
    values = values.contiguous()
    flow = flow.to(values.dtype).contiguous()
    grad_output = grad_output.float().contiguous()
    suffix = SUFFIX[values.dtype]
    shape = _shape_arguments(values)
    grad_values = torch.empty(values.shape, dtype=torch.float32, device=values.device)
    function = kernel(SOURCE, f"splat_backward_values_{suffix}", values.device)
    launch(
        function,
        values.numel(),
        (*shape, pointer(flow), pointer(grad_output), pointer(grad_values)),
        values.device,
    )
    grad_flow = torch.empty(flow.shape, dtype=torch.float32, device=values.device)
    function = kernel(SOURCE, f"splat_backward_flow_{suffix}", values.device)
    batch, _, height, width = values.shape
    launch(
        function,
        batch * height * width,
        (*shape, pointer(values), pointer(flow), pointer(grad_output), pointer(grad_flow)),
        values.device,
    )
    return grad_values, grad_flow
