"""Working set per pixel of softsplat-net inference on the CPU: flow and synthesis apart.

The engine decides from these figures whether a frame fits in memory whole (exactly the
published network) or needs tiles and reduced-scale flow (``SYNTHESIS_BYTES_PER_PIXEL`` and
``FLOW_BYTES_PER_PIXEL`` in ``frameinterp/engines/softsplat_net.py``). Each measurement runs in
a fresh process: the peak resident size (VmHWM, reset just before) minus the resident size
before the stage, at two frame sizes; the slope between them is the per-pixel cost.

    python bench/softsplat_net_memory.py            # about a minute on two cores
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SIZES = ((256, 384), (512, 768))  # height, width: even, not multiples of 64


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} missing from /proc/self/status")


def measure(stage: str, height: int, width: int) -> int:
    """Peak extra resident bytes of one stage (run in this process)."""
    import torch

    from frameinterp.memory import release_free_memory
    from frameinterp.network import SoftsplatNetwork

    torch.manual_seed(0)
    network = SoftsplatNetwork().eval()
    one, two = torch.rand(2, 1, 3, height, width)
    with torch.inference_mode():
        flows = network.flow(one, two)  # warm-up (and the flows synthesis needs)
        network.synthesis(one, two, *flows, [0.5])
        release_free_memory()  # what the warm-up freed must not hide this stage's growth
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current resident size
        before = _status("VmRSS")
        if stage == "flow":
            network.flow(one, two)
        else:
            network.synthesis(one, two, *flows, [0.5])
        return _status("VmHWM") - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "HEIGHT", "WIDTH"))
    args = parser.parse_args()
    if args.child:
        stage, height, width = args.child[0], int(args.child[1]), int(args.child[2])
        print(json.dumps(measure(stage, height, width)))
        return 0
    print("| stage | at 256×384 | at 512×768 | per pixel (slope) | per pixel (512×768) |")
    print("|---|---|---|---|---|")
    for stage in ("flow", "synthesis"):
        peaks = []
        for height, width in SIZES:
            command = [sys.executable, __file__, "--child", stage, str(height), str(width)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            peaks.append(int(output.strip().splitlines()[-1]))
        pixels = [height * width for height, width in SIZES]
        slope = (peaks[1] - peaks[0]) / (pixels[1] - pixels[0])
        largest = peaks[1] / pixels[1]
        print(f"| {stage} | {peaks[0]:,} | {peaks[1]:,} | {slope:,.0f} | {largest:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
