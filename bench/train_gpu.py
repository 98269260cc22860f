"""Train the softmax-splatting network on a lent GPU machine, in time-limited, resumable calls.

The GPU machines have PyTorch, CuPy and OpenCV but not PyAV, so videos are turned into JPEG
frame folders beforehand (``prepare``, on a machine with PyAV) and training reads the folders
through the library (``train``), not through the CLI (whose video commands import PyAV).
Evaluation runs back on the development machine with ``frameinterp benchmark middlebury``.

    python bench/train_gpu.py prepare --out .train-data           # here: frames from videos
    python3 bench/train_gpu.py train --data .train-data --run .train-run --minutes 8 \
        --export "$OUT"                                           # GPU: repeat to go on

See bench/train_gpu.sh for the whole sequence and the numbers to expect.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

# Footage whose licence allows shipping weights trained on it (see shared/data/README.md).
# Not used: imageio's clips (tests only) and Middlebury (the benchmark we report on).
VIDEOS = {
    "cup": "video/cup/cup.mp4",
    "car-turn": "video/car-turn/car-turn_640x360_25fps.mp4",
    "bigbuckbunny": "video/bigbuckbunny/bigbuckbunny.mp4",
    "tears-of-steel": "video/tears-of-steel/tears_of_steel.webm",
}
STILLS = ("davis-pair/one.png",)


def prepare(data_root: Path, out: Path, max_side: int) -> None:
    """Decode each video into ``out/<name>/<scene>/NNNNN.jpg`` (one folder per scene)."""
    from frameinterp.images import read_rgb
    from frameinterp.training.data import video_sequences

    out.mkdir(parents=True, exist_ok=True)
    for name, relative in VIDEOS.items():
        sequences = video_sequences(data_root / relative)
        for scene, frames in enumerate(sequences):
            folder = out / name / f"scene{scene:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            for index, frame in enumerate(frames):
                image = frame if not isinstance(frame, Path) else read_rgb(frame, np.uint8)
                scale = min(1.0, max_side / max(image.shape[:2]))
                if scale < 1.0:
                    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
                    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                cv2.imwrite(
                    str(folder / f"{index:05d}.jpg"),
                    image[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 92],
                )
        print(f"{name}: {sum(len(s) for s in sequences)} frames in {len(sequences)} scene(s)")
    stills = out / "stills"
    stills.mkdir(exist_ok=True)
    for relative in STILLS:
        image = cv2.imread(str(data_root / relative))
        cv2.imwrite(str(stills / Path(relative).name), image)
    (out / "SOURCE.txt").write_text(
        "Frames decoded from shared/data videos (cup: Apache-2.0 AND BSD-3-Clause; car-turn: "
        "DAVIS; bigbuckbunny and tears-of-steel: Blender Foundation, CC BY 3.0) and the DAVIS "
        "pair still, for training only. Not committed.\n"
    )


def train_run(args: argparse.Namespace) -> int:
    import torch

    from frameinterp.network.checkpoint import load_checkpoint, save_weights
    from frameinterp.training import Augmentation, TrainConfig, prepare_data, train

    data = prepare_data(
        [p for p in sorted(args.data.iterdir()) if p.is_dir() and p.name != "stills"],
        [args.data / "stills"],
        args.synthetic_count,
        stride=1,
        augmentation=Augmentation(crop=args.crop),
        validation_fraction=0.1,
        validation_count=16,
        validation_crop=256,
    )
    resume = (args.run / "checkpoint.pt").exists()
    init = None
    if not resume and args.init is not None and args.init.exists():
        init = args.init  # a fresh machine: continue from the weights brought back last time
    config = TrainConfig(
        output=args.run,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        device=args.device,
        mixed_precision=True,
        checkpoint_every=250,
        validate_every=500,
        workers=args.workers,
        resume=resume,
        init_weights=init,
        max_seconds=args.minutes * 60,
        notes=data.description,
    )
    print(json.dumps(data.description), flush=True)

    def show(progress) -> None:  # type: ignore[no-untyped-def]
        if progress.step % 100 == 0 or progress.validation_psnr is not None:
            line = f"step {progress.step} loss {progress.loss:.4f} {progress.seconds:.0f}s"
            if progress.validation_psnr is not None:
                line += f" val {progress.validation_psnr:.2f} dB"
            print(line, flush=True)

    started = time.perf_counter()
    result = train(config, data.training, data.held_out, on_progress=show)
    print(
        f"step {result.step}/{args.steps} finished={result.finished} "
        f"val={result.validation_psnr} call {time.perf_counter() - started:.0f}s on "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'}",
        flush=True,
    )
    if args.export is not None:
        # Files coming back are limited to 16 MiB: float16 weights (15.3 MB) fit, float32 do not.
        args.export.mkdir(parents=True, exist_ok=True)
        network = load_checkpoint(result.weights).half()
        save_weights(network, args.export / "weights-fp16.safetensors")
        (args.export / "training-record.json").write_bytes(result.record.read_bytes())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare", help="decode the training videos into JPEG folders")
    p.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, default=Path(".train-data"))
    p.add_argument("--max-side", type=int, default=640)
    t = commands.add_parser("train", help="train (or resume) for at most --minutes")
    t.add_argument("--data", type=Path, default=Path(".train-data"))
    t.add_argument("--run", type=Path, default=Path(".train-run"))
    t.add_argument("--init", type=Path, default=Path(".train-carry/weights-fp16.safetensors"))
    t.add_argument("--export", type=Path, default=None)
    t.add_argument("--steps", type=int, default=20_000)
    t.add_argument("--minutes", type=float, default=8.0)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--crop", type=int, default=256)
    t.add_argument("--learning-rate", type=float, default=2e-4)
    t.add_argument("--synthetic-count", type=int, default=2000)
    t.add_argument("--workers", type=int, default=12)
    t.add_argument("--device", default="cuda", help="cpu for a dry run of this script")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.data_root, args.out, args.max_side)
        return 0
    return train_run(args)


if __name__ == "__main__":
    sys.exit(main())
