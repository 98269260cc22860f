"""GPU check for the learned network: correlation kernels first, then speeds to plan training.

Run on a machine with an NVIDIA GPU and CuPy (the package installed, so kernels are found):

    python3 bench/gpu_network_check.py            # prints a table; --out FILE also writes it

1. Correlation: CuPy against the PyTorch path on the same inputs (forward and both gradients)
   at the network's level sizes for 1080p; stops if they disagree.
2. Correlation time, CuPy vs torch backend, measured in the same run (ratio).
3. The reference test vector on the GPU (CuPy kernels): max |difference| from the published
   model's outputs, float32 (expected near 1e-6) and float16.
4. softsplat-net inference (random weights: speed does not depend on them) at 480p, 1080p and
   4K, float32 and float16, with the engine's memory plan (whole frame where it fits); peak GPU
   memory per pixel, to check the plan's estimates (``SYNTHESIS_BYTES_PER_PIXEL``).
5. Training steps per second at 256x256 crops, batch 16, float16 autocast: divide the steps
   you want by this to plan a training call.
Never copy figures by hand: numbers come from a real GPU run only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator
from frameinterp.network import SoftsplatNetwork
from frameinterp.ops.correlation import correlation
from frameinterp.ops.cuda_runtime import cupy_status
from frameinterp.training import laplacian_loss, train_step

# (channels, height, width) of the six pyramid levels of a 1080p frame (half size first).
LEVELS_1080P = [(16, 540, 960), (32, 270, 480), (64, 135, 240), (96, 68, 120), (128, 34, 60)]
SIZES = {"480p": (480, 640), "1080p": (1080, 1920), "4K": (2160, 3840)}


def milliseconds(function, repeats: int = 10) -> float:  # type: ignore[no-untyped-def]
    """Median of CUDA-event timings after two warm-up runs."""
    for _ in range(2):
        function()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        function()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def check_correlation(lines: list[str]) -> bool:
    lines.append("| level (C×H×W) | max |Δ| forward | max |Δ| grads | cuda ms | torch ms | ratio |")
    lines.append("|---|---|---|---|---|---|")
    ok = True
    for channels, height, width in LEVELS_1080P:
        one = torch.randn(1, channels, height, width, device="cuda")
        two = torch.randn(1, channels, height, width, device="cuda")
        grad = torch.randn(1, 81, height, width, device="cuda")
        results = {}
        for backend in ("cuda", "torch"):
            a = one.clone().requires_grad_()
            b = two.clone().requires_grad_()
            volume = correlation(a, b, 4, backend=backend)  # type: ignore[arg-type]
            volume.backward(grad)
            results[backend] = (volume.detach(), a.grad, b.grad)
        forward = (results["cuda"][0] - results["torch"][0]).abs().max().item()
        grads = max(
            (results["cuda"][i] - results["torch"][i]).abs().max().item()  # type: ignore[operator]
            for i in (1, 2)
        )
        ok &= forward < 1e-4 and grads < 1e-3
        with torch.no_grad():
            cuda_ms = milliseconds(lambda a=one, b=two: correlation(a, b, 4, backend="cuda"))
            torch_ms = milliseconds(lambda a=one, b=two: correlation(a, b, 4, backend="torch"))
        lines.append(
            f"| {channels}×{height}×{width} | {forward:.2e} | {grads:.2e} | {cuda_ms:.2f} | "
            f"{torch_ms:.2f} | {torch_ms / cuda_ms:.1f}× faster |"
        )
    return ok


def check_vector(lines: list[str]) -> bool:
    """The published model's outputs on the GPU; False where float32 misses 1e-4."""
    import cv2
    import numpy as np

    root = Path(__file__).resolve().parents[1]
    vector = root.parent / "shared" / "reference" / "lf-test-vector"
    if not vector.is_dir():
        vector = Path("/work/shared/reference/lf-test-vector")
    if not (vector / "weights.safetensors").is_file():
        lines.append("reference test vector not found: skipped")
        return True
    lines.append("")
    lines.append("| vector case | precision | max |Δ| from the published model |")
    lines.append("|---|---|---|")
    ok = True
    for precision in ("float32", "float16"):
        engine = SoftsplatNetInterpolator(
            "cuda", weights=vector / "weights.safetensors", precision=precision
        )
        for case, times in (("rubberwhale", (0.25, 0.5)), ("beanbags-odd", (0.5,))):
            pair = []
            for which in ("one", "two"):
                bgr = cv2.imread(str(vector / f"{case}-{which}.png"))
                if bgr is None:
                    raise FileNotFoundError(vector / f"{case}-{which}.png")
                pair.append(torch.from_numpy(bgr[:, :, ::-1].copy()))
            one, two = (frame.permute(2, 0, 1).float().cuda() / 255 for frame in pair)
            outputs = engine.interpolate(one, two, list(times))
            for time, output in zip(times, outputs, strict=True):
                expected = np.load(vector / f"{case}-t{time}.npy")
                worst = float(np.abs(output.permute(1, 2, 0).cpu().numpy() - expected).max())
                ok &= precision != "float32" or worst <= 1e-4
                lines.append(f"| {case} t={time} | {precision} | {worst:.2e} |")
    return ok


def check_inference(lines: list[str]) -> None:
    network = SoftsplatNetwork().cuda().eval()
    lines.append("")
    lines.append("| size | precision | plan | ms / frame | peak GiB | peak bytes / pixel |")
    lines.append("|---|---|---|---|---|---|")
    for name, (height, width) in SIZES.items():
        one = torch.rand(3, height, width, device="cuda")
        two = torch.rand(3, height, width, device="cuda")
        for precision in ("float32", "float16"):
            engine = SoftsplatNetInterpolator("cuda", network=network, precision=precision)
            plan = engine.tiling_for(height, width)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            ms = milliseconds(lambda e=engine, a=one, b=two: e.interpolate(a, b, [0.5]), repeats=5)
            peak = torch.cuda.max_memory_allocated() - base
            lines.append(
                f"| {name} | {precision} | tiles {plan.tile_size}, flow {plan.flow_max_size} | "
                f"{ms:.1f} | {peak / 2**30:.2f} | {peak / (height * width):.0f} |"
            )


def check_training(lines: list[str], batch: int = 16, crop: int = 256) -> None:
    network = SoftsplatNetwork().cuda()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda")
    triplets = torch.rand(batch, 3, 3, crop, crop, device="cuda")
    ms = milliseconds(
        lambda: train_step(network, optimizer, triplets, laplacian_loss, scaler), repeats=10
    )
    lines.append("")
    lines.append(
        f"training: {ms:.0f} ms per step at batch {batch}, {crop}×{crop}, float16 autocast "
        f"= {1000 / ms:.2f} steps/s; peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    available, reason = cupy_status()
    if not available:
        print(f"needs a GPU with CuPy: {reason}", file=sys.stderr)
        return 2
    lines = [f"# softsplat-net GPU check on {torch.cuda.get_device_name()}", ""]
    if not check_correlation(lines):
        print("\n".join(lines))
        print("CuPy correlation disagrees with the torch path: not timing anything else")
        return 1
    if not check_vector(lines):
        print("\n".join(lines))
        print("the engine misses the reference test vector on the GPU: not timing anything else")
        return 1
    check_inference(lines)
    check_training(lines)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
