"""Everything a lent GPU should check, in one call: about 7 minutes on an H200 (see bench/GPU.md).

    python3 bench/gpu_suite.py [--out DIR]

Steps, each in its own process with its own time limit, so that a failure or a hang is reported
and the next step still runs:

1. environment: device, driver, torch, CUDA, CuPy, date, commit
2. ``pytest -m cuda`` (every CUDA test: kernels, engines, tiling)
3. ``bench/gpu_check.py check``: CuPy against PyTorch (float32, float16), then timings
4. ``bench/gpu_check.py floor``: 4K forward splatting against the memory-copy floor
5. ``frameinterp slowmo --device cuda`` at 1080p and 4K, classic engine, with the blend engine
   on the same clip as the decode + encode baseline measured in the same run
6. Middlebury on CUDA and on the CPU (classic engine): each sequence within 0.05 dB

Writes ``DIR/gpu-suite-<date>.md`` (ready to commit under ``bench/results/``) and
``DIR/gpu-suite.log`` (every step's full output). ``DIR`` defaults to ``$OUT`` if set, else
``bench/results``. Exit status 0 only if every step passed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "cup.mp4"
MIDDLEBURY_CANDIDATES = [
    ROOT.parent / "shared" / "data" / "middlebury",
    ROOT / "shared" / "data" / "middlebury",
    Path("/work/shared/data/middlebury"),
    ROOT / ".gpu-carry" / "middlebury",
    ROOT / "tests" / "data" / "middlebury",  # one sequence only: the report says which was used
]
PSNR_TOLERANCE_DB = 0.05
SLOWMO_CLIPS = {"1080p": 36, "4k": 16}  # size: input frames


@dataclass
class Step:
    name: str
    command: list[str]
    limit_s: int
    keep: str = "all"  # "all" of stdout in the report, or "tail" (last lines)


def steps(python: str) -> list[Step]:
    suite = [python, str(Path(__file__).resolve())]
    check = [python, str(ROOT / "bench" / "gpu_check.py")]
    return [
        Step("environment", [*suite, "environment"], 45),
        Step(
            "pytest -m cuda",
            [
                python,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-m",
                "cuda",
                "-rfEs",
                "tests",
            ],
            100,
            keep="tail",
        ),
        Step("gpu_check check", [*check, "check", "--output", os.devnull], 100),
        Step("gpu_check floor", [*check, "floor", "--output", os.devnull], 40),
        Step("slowmo --device cuda", [*suite, "slowmo"], 110),
        Step("middlebury cuda vs cpu", [*suite, "middlebury"], 70),
    ]


def run_step(step: Step, log: list[str]) -> tuple[str, float, str, str]:
    """(status, seconds, stdout, stderr) of one step; never raises."""
    started = time.perf_counter()
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    try:
        result = subprocess.run(
            step.command,
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=step.limit_s,
        )
        stdout, stderr = result.stdout, result.stderr
        status = "passed" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    except subprocess.TimeoutExpired as error:
        stdout, stderr = _text(error.stdout), _text(error.stderr)
        status = f"TIMED OUT after {step.limit_s} s"
    except OSError as error:
        stdout, stderr, status = "", str(error), f"FAILED to start ({error})"
    seconds = time.perf_counter() - started
    log += [f"===== {step.name}: {status}, {seconds:.0f} s", f"$ {' '.join(step.command)}"]
    log += [stdout, "----- stderr", stderr]
    return status, seconds, stdout, stderr


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def suite(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    day = datetime.date.today().isoformat()
    report_path, log_path = out / f"gpu-suite-{day}.md", out / "gpu-suite.log"
    report = [f"# GPU suite, {day}", "", "Produced by `python3 bench/gpu_suite.py`.", ""]
    summary = ["| step | result | seconds |", "|---|---|---|"]
    sections: list[str] = []
    log: list[str] = []
    failures = 0
    for step in steps(sys.executable):
        print(f"== {step.name} (limit {step.limit_s} s)", flush=True)
        status, seconds, stdout, stderr = run_step(step, log)
        failures += status != "passed"
        summary.append(f"| {step.name} | {status} | {seconds:.0f} |")
        lines = stdout.rstrip().splitlines()
        if step.keep == "tail":
            lines = lines[-25:]
            lines = ["```", *lines, "```"]
        sections += ["", f"## {step.name}: {status}", "", *lines]
        if status != "passed":
            reason = stderr.strip().splitlines()[-8:]
            sections += ["", "stderr (last lines):", "```", *reason, "```"]
        print(f"   {status} in {seconds:.0f} s", flush=True)
        # Written after every step, so a call cut short still returns what was measured.
        report_path.write_text("\n".join([*report, *summary, *sections]) + "\n")
        log_path.write_text("\n".join(log) + "\n")
    print("\n" + report_path.read_text())
    print(f"wrote {report_path} and {log_path}")
    return 1 if failures else 0


# ------------------------------------------------------------- steps run in their own process
def environment() -> int:
    import torch

    from frameinterp.ops.cuda_runtime import cupy_status

    query = "--query-gpu=name,driver_version,memory.total"
    try:
        smi = subprocess.run(
            ["nvidia-smi", query, "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip()
    except OSError as error:
        smi = f"nvidia-smi unavailable ({error})"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    print(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- device (nvidia-smi: name, driver, memory): {smi}")
    print(
        f"- torch {torch.__version__}, CUDA {torch.version.cuda}, sees GPU: "
        f"{torch.cuda.is_available()}"
    )
    print(f"- CuPy: {cupy_status()[1]}")
    print(f"- commit: {commit or 'unknown (no git here; add it by hand)'}")
    print(f"- python {sys.version.split()[0]}, {os.cpu_count()} CPU cores")
    return 0 if torch.cuda.is_available() and cupy_status()[0] else 1


def slowmo(device: str) -> int:
    """`frameinterp slowmo` as a user runs it; blend on the same clip is the I/O baseline."""
    import av

    from frameinterp.speed import make_clip

    print(
        "Wall time of the whole command (process start, CUDA and kernel set-up included), "
        "factor 2, x264; blend = decode + trivial engine + encode, the pipeline's ceiling."
    )
    print("")
    print(
        "| size | input frames | engine | output frames | seconds | output fps | "
        "classic / blend time |"
    )
    print("|---|---|---|---|---|---|---|")
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        for size, frames in SLOWMO_CLIPS.items():
            clip = make_clip(SAMPLE, Path(folder) / f"{size}.mp4", size, frames)
            seconds: dict[str, float] = {}
            for engine in ("blend", "classic"):
                target = Path(folder) / f"{size}-{engine}.mp4"
                command = [
                    sys.executable,
                    "-m",
                    "frameinterp",
                    "slowmo",
                    str(clip),
                    "-o",
                    str(target),
                    "--engine",
                    engine,
                    "--device",
                    device,
                    "--overwrite",
                    "--quiet",
                ]
                started = time.perf_counter()
                result = subprocess.run(command, capture_output=True, text=True)
                seconds[engine] = time.perf_counter() - started
                if result.returncode != 0:
                    failures += 1
                    print(
                        f"| {size} | {frames} | {engine} | FAILED: "
                        f"{' '.join(result.stderr.strip().splitlines()[-1:])} | | | |"
                    )
                    continue
                with av.open(str(target)) as container:
                    written = sum(1 for _ in container.decode(video=0))
                ratio = (
                    f"{seconds['classic'] / seconds['blend']:.1f}x"
                    if engine == "classic" and "blend" in seconds
                    else ""
                )
                print(
                    f"| {size} | {frames} | {engine} | {written} | {seconds[engine]:.1f} | "
                    f"{written / seconds[engine]:.1f} | {ratio} |",
                    flush=True,
                )
    return 1 if failures else 0


def middlebury(device: str) -> int:
    from frameinterp.benchmark import benchmark_middlebury

    folder = next((f for f in MIDDLEBURY_CANDIDATES if f.is_dir()), None)
    if folder is None:
        print(f"no Middlebury folder among {[str(f) for f in MIDDLEBURY_CANDIDATES]}")
        return 1
    print(
        f"classic engine, t = 0.5, folder {folder.relative_to(ROOT.parent)}; "
        f"pass: every sequence within {PSNR_TOLERANCE_DB} dB"
    )
    print("")
    reports = {
        d: benchmark_middlebury(folder, "classic", d, repeats=1, baselines=False)
        for d in (device, "cpu")
    }
    print(f"| sequence | PSNR {device} | PSNR cpu | difference dB | SSIM {device} | SSIM cpu |")
    print("|---|---|---|---|---|---|")
    worst = 0.0
    for on_gpu, on_cpu in zip(reports[device].sequences, reports["cpu"].sequences, strict=True):
        gpu, cpu = on_gpu.methods["classic"], on_cpu.methods["classic"]
        worst = max(worst, abs(gpu.psnr - cpu.psnr))
        print(
            f"| {on_gpu.name} | {gpu.psnr:.3f} | {cpu.psnr:.3f} | {gpu.psnr - cpu.psnr:+.3f} | "
            f"{gpu.ssim:.4f} | {cpu.ssim:.4f} |"
        )
    gpu_mean, cpu_mean = reports[device].mean("classic"), reports["cpu"].mean("classic")
    print(
        f"| mean | {gpu_mean.psnr:.3f} | {cpu_mean.psnr:.3f} | "
        f"{gpu_mean.psnr - cpu_mean.psnr:+.3f} | {gpu_mean.ssim:.4f} | {cpu_mean.ssim:.4f} |"
    )
    print("")
    verdict = "PASS" if worst <= PSNR_TOLERANCE_DB else "FAIL"
    print(f"{verdict}: largest per-sequence difference {worst:.3f} dB")
    return 0 if verdict == "PASS" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "step", nargs="?", default="all", choices=["all", "environment", "slowmo", "middlebury"]
    )
    parser.add_argument(
        "--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "bench" / "results")
    )
    parser.add_argument("--device", default="cuda", help="slowmo/middlebury: device to test")
    arguments = parser.parse_args()
    if arguments.step == "all":
        return suite(arguments.out)
    if arguments.step == "environment":
        return environment()
    return {"slowmo": slowmo, "middlebury": middlebury}[arguments.step](arguments.device)


if __name__ == "__main__":
    raise SystemExit(main())
