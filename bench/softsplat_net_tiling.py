"""What tiling and reduced-scale flow change in softsplat-net's output, against the whole frame.

The engine processes a frame whole (exactly the published network) whenever it fits its memory
budget, and only otherwise synthesises in tiles and estimates flow on a downscaled copy. This
measures what those two approximations cost, each alone and together, on a real frame pair
(Big Buck Bunny, 1280×720, two neighbouring frames, resized bicubically to ``--size``) with
the reference test vector's weights (random, but with flow heads that reach several pixels).

Tiles and flow scale default to the plan the engine makes for a 4K frame with a 10.5 GB budget
(half of a 24 GB machine's free memory: tiles of 1912 px, flow at 2212 px), scaled to
``--size``; at 4K itself pass ``--size 3840x2160`` on a machine with about 70 GB free, which
the untiled reference needs (see bench/softsplat_net_memory.py).

    python bench/softsplat_net_tiling.py                # 1280×720: minutes on two cores, 6 GB
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

PLAN_4K = (2160, 3840, 1912, 2212)  # height, width, tile size, flow max size (10.5 GB budget)
ROOT = Path(__file__).resolve().parents[1]


def shared_folder() -> Path:
    beside = ROOT.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


def frame_pair(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two neighbouring Big Buck Bunny frames, RGB in [0, 1], resized to height×width."""
    import av

    clip = shared_folder() / "data" / "video" / "bigbuckbunny" / "bigbuckbunny.mp4"
    frames = []
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= 60:  # a moving shot, well after the opening
                frames.append(torch.from_numpy(frame.to_ndarray(format="rgb24")))
            if len(frames) == 2:
                break
    pair = torch.stack(frames).permute(0, 3, 1, 2).float() / 255
    resized = torch.nn.functional.interpolate(
        pair, size=(height, width), mode="bicubic", align_corners=False
    ).clamp(0, 1)
    return resized[0], resized[1]


def compare(whole: torch.Tensor, other: torch.Tensor) -> str:
    difference = (whole - other).abs()
    eight_bit = ((whole * 255).round() - (other * 255).round()).abs()
    mse = eight_bit.square().mean().clamp_min(1e-10)
    psnr = 10 * torch.log10(255.0**2 / mse)
    changed = (eight_bit > 0).float().mean() * 100
    return f"{difference.max():.4f} | {difference.mean():.2e} | {changed:.2f} % | {psnr:.1f} dB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT of the pair")
    parser.add_argument("--tile", type=int, default=None, help="tile side (default: see above)")
    parser.add_argument("--flow-max", type=int, default=None, help="flow's longer side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weights", type=Path, default=None, help="default: the test vector's")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = (int(side) for side in args.size.lower().split("x"))
    scale = width / PLAN_4K[1]
    tile = args.tile or int(PLAN_4K[2] * scale) // 4 * 4
    flow_max = args.flow_max or int(PLAN_4K[3] * scale)

    from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

    vector = shared_folder() / "reference" / "lf-test-vector" / "weights.safetensors"
    weights = args.weights or vector
    if not weights.is_file():
        print(f"no weights at {weights}; pass --weights PATH", file=sys.stderr)
        return 2
    one, two = frame_pair(height, width)
    runs: dict[str, tuple[int | None, int | None]] = {  # tile size, flow max size
        "whole frame (reference)": (None, None),
        f"tiles of {tile} px, overlap 64": (tile, None),
        f"flow at {flow_max} px": (None, flow_max),
        "both": (tile, flow_max),
    }
    results = {}
    seconds = {}
    huge = 1 << 60  # a budget this large never plans tiles: only the forced options apply
    for name, (tile_size, flow_max_size) in runs.items():
        engine = SoftsplatNetInterpolator(
            weights=weights,
            tile_size=tile_size,
            flow_max_size=flow_max_size,
            memory_budget=huge,
        )
        started = time.perf_counter()
        (results[name],) = engine.interpolate(one, two, [0.5])
        seconds[name] = time.perf_counter() - started
    reference = results["whole frame (reference)"]
    print(f"softsplat-net at {width}×{height}, t = 0.5, CPU float32, {args.threads} threads")
    print()
    print("| run | max abs diff | mean abs diff | 8-bit pixels changed | PSNR vs whole | s |")
    print("|---|---|---|---|---|---|")
    for name, output in results.items():
        row = "identical | 0 | 0 % | ∞" if output is reference else compare(reference, output)
        print(f"| {name} | {row} | {seconds[name]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
