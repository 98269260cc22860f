"""GPU check for the softsplat kernels: correctness against the PyTorch path first, then timings.

Run on a machine with an NVIDIA GPU and CuPy (``pip install 'frameinterp[cuda13]'``):

    python bench/gpu_check.py check   # CuPy vs PyTorch per size, mode and dtype, then timings
    python bench/gpu_check.py floor   # 4K forward splatting against the memory-copy floor

``check`` compares the CuPy backend with the torch backend on the same inputs (forward, and the
gradients of image, flow and metric), then times both with CUDA events. ``floor`` times the 4K
inference forward (fused kernels for avg/linear/soft) and divides by the time the same GPU
needs just to move the bytes that any implementation must read and write, with the copy
bandwidth measured in the same run. Each writes a markdown table (``--output``). Timings are
only meaningful from a real GPU run: never copy figures by hand.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from frameinterp.ops import softsplat
from frameinterp.ops.cuda_runtime import cupy_status

DEVICE = "cuda"  # tests/test_kernel_emulation.py runs this script on the CPU emulation
SIZES = {"640x480": (480, 640), "1080p": (1080, 1920), "4K": (2160, 3840)}
MODES = ("sum", "avg", "linear", "soft")
DTYPES = {"float32": torch.float32, "float16": torch.float16}
# Max error relative to the largest value; atomics reorder the sums, float16 rounds its output.
TOLERANCE = {
    torch.float32: {"forward": 1e-4, "gradient": 1e-3},
    torch.float16: {"forward": 2e-3, "gradient": 1e-2},
}


def make_inputs(height: int, width: int, dtype: torch.dtype, seed: int = 0) -> list[torch.Tensor]:
    """Image in ``dtype``; flow and metric stay float32 (as the network passes them)."""
    generator = torch.Generator(device=DEVICE).manual_seed(seed)
    image = torch.rand(1, 3, height, width, device=DEVICE, generator=generator).to(dtype)
    flow = torch.randn(1, 2, height, width, device=DEVICE, generator=generator) * 8
    metric = torch.rand(1, 1, height, width, device=DEVICE, generator=generator) * 2
    return [image, flow, metric]


def run(
    mode: str, backend: str, inputs: list[torch.Tensor], backward: bool
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One softsplat call (inference, or forward and backward); no copies of the inputs."""
    if not backward:
        with torch.inference_mode():
            weight = inputs[2] if mode in ("linear", "soft") else None
            return softsplat(inputs[0], inputs[1], weight, mode=mode, backend=backend), []
    leaves = [t.detach().requires_grad_() for t in inputs]
    weight = leaves[2] if mode in ("linear", "soft") else None
    output = softsplat(leaves[0], leaves[1], weight, mode=mode, backend=backend)
    output.float().square().mean().backward()
    return output, [t.grad for t in leaves if t.grad is not None]


def max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.detach().float().abs().max().clamp_min(1e-12)
    return float((actual.detach().float() - expected.detach().float()).abs().max() / scale)


def time_ms(function: Callable[[], object], repeats: int = 20) -> float:
    for _ in range(3):
        function()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        function()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats


def copy_bandwidth_gbs(tensor_bytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth measured now (read + write bytes per second)."""
    source = torch.empty(tensor_bytes // 4, device="cuda")
    target = torch.empty_like(source)
    milliseconds = time_ms(lambda: target.copy_(source), repeats=10)
    return 2 * tensor_bytes / (milliseconds / 1000) / 1e9


def driver_line() -> str:
    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
        return subprocess.run(query, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "nvidia-smi unavailable"


def header(title: str, command: str, reason: str) -> list[str]:
    return [
        f"# {title}, {datetime.date.today().isoformat()}",
        "",
        f"- device: {torch.cuda.get_device_name()} ({driver_line()})",
        f"- torch {torch.__version__}, CUDA {torch.version.cuda}, {reason}",
        f"- command: python bench/gpu_check.py {command}",
        "",
    ]


def check(arguments: argparse.Namespace, reason: str) -> tuple[list[str], int]:
    lines = header(
        "softsplat GPU check",
        f"check --sizes {' '.join(arguments.sizes)} --dtypes {' '.join(arguments.dtypes)}",
        reason,
    )
    lines += [
        "| size | dtype | mode | fwd max rel err | grad max rel err | torch fwd ms | cuda fwd ms "
        "| speed-up | torch fwd+bwd ms | cuda fwd+bwd ms | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    failures = 0
    for size in arguments.sizes:
        height, width = SIZES[size]
        for dtype_name in arguments.dtypes:
            dtype = DTYPES[dtype_name]
            inputs = make_inputs(height, width, dtype)
            for mode in MODES:
                expected, expected_grads = run(mode, "torch", inputs, backward=True)
                actual, actual_grads = run(mode, "cuda", inputs, backward=True)
                inference, _ = run(mode, "cuda", inputs, backward=False)  # fused kernels
                forward_error = max(
                    max_relative_error(actual, expected), max_relative_error(inference, expected)
                )
                grad_error = max(
                    max_relative_error(a, e)
                    for a, e in zip(actual_grads, expected_grads, strict=True)
                )
                tolerance = TOLERANCE[dtype]
                ok = forward_error < tolerance["forward"] and grad_error < tolerance["gradient"]
                failures += not ok
                times = {}
                for backend in ("torch", "cuda"):
                    call = functools.partial(run, mode, backend, inputs)
                    times[backend, False] = time_ms(functools.partial(call, backward=False))
                    times[backend, True] = time_ms(functools.partial(call, backward=True), 5)
                lines.append(
                    f"| {size} | {dtype_name} | {mode} | {forward_error:.1e}"
                    f"{'' if ok else ' FAIL'} | {grad_error:.1e} | {times['torch', False]:.2f} | "
                    f"{times['cuda', False]:.2f} | "
                    f"{times['torch', False] / times['cuda', False]:.1f}x | "
                    f"{times['torch', True]:.2f} | {times['cuda', True]:.2f} | "
                    f"{times['torch', True] / times['cuda', True]:.1f}x |"
                )
                print(lines[-1], flush=True)
    lines += ["", f"tolerances (max error relative to the largest value): {TOLERANCE}"]
    return lines, failures


def floor(arguments: argparse.Namespace, reason: str) -> tuple[list[str], int]:
    """4K inference forward vs the time to move the bytes it must read and write."""
    height, width = SIZES["4K"]
    bandwidth = copy_bandwidth_gbs()
    lines = header("softsplat 4K forward vs the memory-copy floor", "floor", reason)
    lines += [
        f"- device-to-device copy measured now: {bandwidth:.0f} GB/s (bytes read + written)",
        "- floor = (image + flow + metric read, output written) / that bandwidth; the kernels "
        "also zero, accumulate and read a float32 (C + 1)-channel buffer",
        "",
        "| dtype | mode | cuda fwd ms | torch fwd ms | floor ms | cuda / floor | torch / cuda |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)
    for dtype_name in arguments.dtypes:
        dtype = DTYPES[dtype_name]
        inputs = make_inputs(height, width, dtype)
        image, flow, metric = inputs
        for mode in MODES:
            needed = 2 * image.numel() * image.element_size() + flow.numel() * 4
            needed += metric.numel() * 4 if mode in ("linear", "soft") else 0
            floor_ms = needed / (bandwidth * 1e9) * 1000
            cuda_ms = time_ms(functools.partial(run, mode, "cuda", inputs, False))
            torch_ms = time_ms(functools.partial(run, mode, "torch", inputs, False), 5)
            lines.append(
                f"| {dtype_name} | {mode} | {cuda_ms:.3f} | {torch_ms:.3f} | {floor_ms:.3f} | "
                f"{cuda_ms / floor_ms:.1f}x | {torch_ms / cuda_ms:.1f}x |"
            )
            print(lines[-1], flush=True)
    return lines, 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", default="check", choices=["check", "floor"])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="*", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--output", type=Path, help="markdown file to write (default: results/)")
    arguments = parser.parse_args()
    ready, reason = cupy_status()
    if not ready:
        print(f"no GPU check possible here: {reason}", file=sys.stderr)
        return 2
    lines, failures = (check if arguments.task == "check" else floor)(arguments, reason)
    report = "\n".join(lines) + "\n"
    day = datetime.date.today().isoformat()
    path = arguments.output or Path(__file__).parent / "results" / f"gpu_{arguments.task}-{day}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report)
    print(f"wrote {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
