"""GPU check for the softsplat kernels: correctness against the PyTorch path first, then timings.

Run on a machine with an NVIDIA GPU and CuPy (``pip install 'frameinterp[cuda13]'``):

    python bench/gpu_check.py   # prints a table, writes bench/results/gpu_check-<date>.md

For each size (640×480, 1080p, 4K) and mode it compares the CuPy backend with the torch backend
on the same inputs (forward and the gradients of image, flow and metric), then times both with
CUDA events. Timings are only meaningful from a real GPU run: never copy figures by hand.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import subprocess
import sys
from pathlib import Path

import torch

from frameinterp.ops import softsplat
from frameinterp.ops.cuda_runtime import cupy_status

SIZES = {"640x480": (480, 640), "1080p": (1080, 1920), "4K": (2160, 3840)}
MODES = ("sum", "avg", "linear", "soft")
TOLERANCE = {"forward": 1e-4, "gradient": 1e-3}  # float32; atomics reorder the sums


def make_inputs(height: int, width: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator(device="cuda").manual_seed(seed)
    image = torch.rand(1, 3, height, width, device="cuda", generator=generator)
    flow = torch.randn(1, 2, height, width, device="cuda", generator=generator) * 8
    metric = torch.rand(1, 1, height, width, device="cuda", generator=generator) * 2
    return image, flow, metric


def run(mode: str, backend: str, image, flow, metric, backward: bool):
    leaves = [t.detach().clone().requires_grad_(backward) for t in (image, flow, metric)]
    weight = leaves[2] if mode in ("linear", "soft") else None
    output = softsplat(leaves[0], leaves[1], weight, mode=mode, backend=backend)
    if not backward:
        return output, []
    output.square().mean().backward()
    return output, [t.grad for t in leaves if t.grad is not None]


def max_relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.abs().max().clamp_min(1e-12)
    return float((actual - expected).abs().max() / scale)


def time_ms(function, repeats: int = 20) -> float:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "results")
    arguments = parser.parse_args()
    ready, reason = cupy_status()
    if not ready:
        print(f"no GPU check possible here: {reason}", file=sys.stderr)
        return 2
    lines = [
        f"# softsplat GPU check, {datetime.date.today().isoformat()}",
        "",
        f"- device: {torch.cuda.get_device_name()} ({driver_line()})",
        f"- torch {torch.__version__}, CUDA {torch.version.cuda}, {reason}",
        f"- command: python bench/gpu_check.py --sizes {' '.join(arguments.sizes)}",
        f"- device copy bandwidth measured now: {copy_bandwidth_gbs():.0f} GB/s",
        "",
        "| size | mode | fwd max rel err | grad max rel err | torch fwd ms | cuda fwd ms "
        "| speed-up | torch fwd+bwd ms | cuda fwd+bwd ms | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    failures = 0
    for size in arguments.sizes:
        height, width = SIZES[size]
        image, flow, metric = make_inputs(height, width)
        for mode in MODES:
            expected, expected_grads = run(mode, "torch", image, flow, metric, backward=True)
            actual, actual_grads = run(mode, "cuda", image, flow, metric, backward=True)
            forward_error = max_relative_error(actual, expected)
            grad_error = max(
                max_relative_error(a, e) for a, e in zip(actual_grads, expected_grads, strict=True)
            )
            ok = forward_error < TOLERANCE["forward"] and grad_error < TOLERANCE["gradient"]
            failures += not ok
            times = {}
            for backend in ("torch", "cuda"):
                call = functools.partial(run, mode, backend, image, flow, metric)
                times[backend, False] = time_ms(functools.partial(call, backward=False))
                times[backend, True] = time_ms(functools.partial(call, backward=True), repeats=5)
            lines.append(
                f"| {size} | {mode} | {forward_error:.1e}{'' if ok else ' FAIL'} | "
                f"{grad_error:.1e} | {times['torch', False]:.2f} | {times['cuda', False]:.2f} | "
                f"{times['torch', False] / times['cuda', False]:.1f}x | "
                f"{times['torch', True]:.2f} | {times['cuda', True]:.2f} | "
                f"{times['torch', True] / times['cuda', True]:.1f}x |"
            )
            print(lines[-1], flush=True)
    lines += ["", f"tolerances (max error relative to the largest value): {TOLERANCE}"]
    report = "\n".join(lines) + "\n"
    print(report)
    arguments.output_dir.mkdir(parents=True, exist_ok=True)
    path = arguments.output_dir / f"gpu_check-{datetime.date.today().isoformat()}.md"
    path.write_text(report)
    print(f"wrote {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
