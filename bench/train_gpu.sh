#!/usr/bin/env bash
# Train the softmax-splatting network on a lent GPU machine and decide whether to ship it.
#
# Stages (run from the repository root):
#   here:   bash bench/train_gpu.sh prepare    # frames from the licensed videos -> .train-data/
#   GPU:    bash bench/train_gpu.sh train      # via the device tool's `run`, see below; repeat
#   here:   bash bench/train_gpu.sh collect DIR  # DIR = the reply's files_at: keep the weights
#   here:   bash bench/train_gpu.sh evaluate   # Middlebury: softsplat-net vs classic, same run
#
# The device tool call for the train stage (each call at most 10 minutes; 30 per session):
#   run(command="CHECK=1 MINUTES=6 bash bench/train_gpu.sh train",
#       carry=[".train-data", ".train-carry"], timeout_s=600)      # first call
#   run(command="bash bench/train_gpu.sh train", carry=[".train-data", ".train-carry"],
#       timeout_s=600)                                            # later calls
# It checks the CuPy kernels against the PyTorch path first (tests marked cuda), then trains for
# MINUTES (default 8) and returns weights-fp16.safetensors (15.4 MB: files back are limited to
# 16 MiB), training-record.json and train.log. While the machine stays warm (30 s after a call)
# the next call resumes .train-run/checkpoint.pt exactly; on a fresh machine it starts from the
# weights carried in .train-carry/ (optimiser state restarts, recorded in the record).
#
# What to expect (estimates, not measurements): at 256x256 crops, batch 16, float16 autocast,
# an H100 should do several steps per second, so three calls give a few thousand steps. The
# paper trained far longer (Vimeo-90k, pretrained PWC-Net flow), so weights from one session
# are unlikely to beat the training-free engine; ship them only if they do (issue 6).
set -euo pipefail
stage=${1:-help}
exclude() {
  for path in /.train-data/ /.train-run/ /.train-carry/; do
    grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >> .git/info/exclude
  done
}

case "$stage" in
  prepare)
    exclude
    python bench/train_gpu.py prepare --data-root "${DATA_ROOT:-../shared/data}" --out .train-data
    du -sh .train-data
    ;;
  train)
    export PYTHONUNBUFFERED=1
    out=${OUT:-.train-out}
    mkdir -p "$out"
    # The package must be installed (not just on PYTHONPATH) so that kernels/*.cu is found as
    # frameinterp.kernels; no network there, so no build isolation and no dependencies.
    python3 -m pip install -q --no-deps --no-build-isolation --no-compile . 2>&1 | tail -2
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
    python3 -m pytest -q -p no:cacheprovider tests/test_correlation.py tests/test_softsplat.py \
      -m cuda 2>&1 | tee "$out/cuda-tests.log" | tail -3
    if [ "${CHECK:-0}" = 1 ]; then  # first call: kernels vs torch, inference and step speed
      python3 bench/gpu_network_check.py --out "$out/gpu-network-check.md"
    fi
    python3 bench/train_gpu.py train --data .train-data --run .train-run \
      --init .train-carry/weights-fp16.safetensors --minutes "${MINUTES:-8}" \
      --steps "${STEPS:-20000}" --export "$out" 2>&1 | tee "$out/train.log"
    ;;
  collect)
    from=${2:?usage: collect FOLDER (the files_at folder of the run reply)}
    exclude
    mkdir -p .train-carry
    cp "$from/weights-fp16.safetensors" "$from/training-record.json" .train-carry/
    cp "$from/train.log" ".train-carry/train-$(date +%H%M%S).log" 2>/dev/null || true
    ls -la .train-carry
    ;;
  evaluate)
    weights=${WEIGHTS:-.train-carry/weights-fp16.safetensors}
    day=$(date +%Y-%m-%d)
    mkdir -p bench/results
    python - "$weights" "${RESULT:-bench/results/softsplat-net-middlebury-$day.json}" \
      "${MIDDLEBURY:-../shared/data/middlebury}" <<'PY'
import json
import sys

from frameinterp.benchmark import benchmark_middlebury
from frameinterp.engines import ENGINES
from frameinterp.engines.softsplat_net import SoftsplatNetInterpolator

weights, output, folder = sys.argv[1:4]
# Until every command takes --weights, register the trained file under its own engine name.
ENGINES["softsplat-net-trained"] = lambda device, **_: SoftsplatNetInterpolator(device, weights)
results = {}
for engine in ("classic", "softsplat-net-trained"):
    report = benchmark_middlebury(folder, engine=engine, device="auto",
                                  repeats=1, baselines=engine == "classic")
    results[engine] = report.to_dict()
    mean = report.mean(engine)
    print(f"{engine}: PSNR {mean.psnr:.2f} dB  SSIM {mean.ssim:.4f}")
record = json.loads(open(weights.replace("weights-fp16.safetensors", "training-record.json")).read())
results["training_record"] = record
with open(output, "w") as handle:
    json.dump(results, handle, indent=2)
print(f"written {output}; ship the weights only if softsplat-net beats classic on mean PSNR")
PY
    ;;
  *)
    sed -n '2,27p' "$0"
    ;;
esac
