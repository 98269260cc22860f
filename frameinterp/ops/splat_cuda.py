"""CuPy launchers for ``kernels/softsplat.cu``: the same contract as ``splat_torch``.

Values may be float32 or float16; the flow (and the fused path's metric) is always passed as
float32, as the PyTorch path computes it, so a float16 image never moves a landing point.
"""

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
    """Float32 sum of ``values`` (float32 or float16) splatted along ``flow`` (read as float32)."""
    values = values.contiguous()
    flow = flow.float().contiguous()
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
    flow = flow.float().contiguous()
    grad_output = grad_output.float().contiguous()
    suffix = SUFFIX[values.dtype]
    shape = _shape_arguments(values)
    grad_values = torch.empty(values.shape, dtype=torch.float32, device=values.device)
    function = kernel(SOURCE, "splat_backward_values", values.device)
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


FUSED_SOURCE = "softsplat_fused.cu"
FUSED_MODES = {"avg": 0, "linear": 1, "soft": 2}


def splat_normalised(
    image: torch.Tensor, flow: torch.Tensor, metric: torch.Tensor | None, mode: str
) -> torch.Tensor:
    """Inference-only ``avg``/``linear``/``soft`` splatting in two fused kernels.

    Weights are computed inside the kernel (no weighted copy of the image is materialised) and
    the normalisation writes the image's dtype directly.
    """
    import numpy as np

    image = image.contiguous()
    flow = flow.float().contiguous()
    batch, channels, height, width = image.shape
    weights = (metric if metric is not None else flow[:, :1]).float().contiguous()
    if mode == "soft":
        shift = weights.amax(dim=(1, 2, 3)).contiguous()
    else:
        shift = torch.zeros(batch, dtype=torch.float32, device=image.device)
    accumulator = torch.zeros(
        (batch, channels + 1, height, width), dtype=torch.float32, device=image.device
    )
    suffix = SUFFIX[image.dtype]
    pixels = batch * height * width
    shape = _shape_arguments(image)
    launch(
        kernel(FUSED_SOURCE, f"splat_weighted_{suffix}", image.device),
        pixels,
        (
            *shape,
            np.int32(FUSED_MODES[mode]),
            pointer(image),
            pointer(flow),
            pointer(weights),
            pointer(shift),
            pointer(accumulator),
        ),
        image.device,
    )
    output = torch.empty_like(image)
    launch(
        kernel(FUSED_SOURCE, f"splat_normalise_{suffix}", image.device),
        pixels,
        (*shape, pointer(accumulator), pointer(output)),
        image.device,
    )
    return output
