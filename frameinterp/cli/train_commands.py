"""`frameinterp train`: options in, ``frameinterp.training.train`` out, one line per report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from frameinterp.cli.application import app, console, err_console, report_errors

if TYPE_CHECKING:
    from frameinterp.training import Progress


@app.command("train")
@report_errors
def train_command(
    sources: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="SOURCES",
            help="Video files and folders of frames (a folder of folders is one sequence each).",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Run folder: checkpoint, weights, record.")
    ] = Path("training-run"),
    steps: Annotated[int, typer.Option(help="Optimisation steps in total.")] = 100_000,
    batch_size: Annotated[int, typer.Option(help="Triplets per step.")] = 8,
    crop: Annotated[int, typer.Option(help="Square training crop in pixels.")] = 256,
    learning_rate: Annotated[float, typer.Option(help="Initial AdamW learning rate.")] = 1e-4,
    loss: Annotated[str, typer.Option(help="laplacian (as in the paper) or l1.")] = "laplacian",
    stride: Annotated[int, typer.Option(help="Triplets k-s, k, k+s from each sequence.")] = 1,
    synthetic: Annotated[
        list[Path] | None,
        typer.Option(help="Still images or folders for synthetic triplets with known motion."),
    ] = None,
    synthetic_count: Annotated[
        int, typer.Option(help="Synthetic triplets per epoch (needs --synthetic).")
    ] = 0,
    validation_fraction: Annotated[
        float, typer.Option(help="Tail of every sequence held out for validation PSNR.")
    ] = 0.1,
    validation_crop: Annotated[
        int, typer.Option(help="Centre crop for validation (0: whole frames).")
    ] = 256,
    validate_every: Annotated[int, typer.Option(help="Steps between validations.")] = 500,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 500,
    max_video_frames: Annotated[
        int | None, typer.Option(help="Decode at most this many frames per video.")
    ] = None,
    video_scale: Annotated[
        float, typer.Option(help="Downscale decoded video by this factor (e.g. 0.5).")
    ] = 1.0,
    init_weights: Annotated[
        Path | None,
        typer.Option(
            "--init",
            "--init-weights",
            metavar="WEIGHTS",
            help="Fine-tune: start from these weights (the published network-lf.pytorch, a "
            ".safetensors file or a previous run) instead of random ones.",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(metavar="", help="Continue the run in --output.")] = False,
    max_minutes: Annotated[
        float | None,
        typer.Option(help="Stop (checkpointed, resumable) after this many minutes."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
    mixed_precision: Annotated[
        bool,
        typer.Option(metavar="", help="float16 autocast on CUDA (ignored on the CPU)."),
    ] = True,
    workers: Annotated[int, typer.Option(help="Data-loading worker processes.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for weights and batches.")] = 0,
    report_every: Annotated[int, typer.Option(help="Steps between progress lines.")] = 50,
) -> None:
    """Train the softmax-splatting network on frame triplets (resumable)."""
    # Imported here so that other commands do not pay for the training stack at start-up.
    from frameinterp.training import Augmentation, TrainConfig, prepare_data, train

    data = prepare_data(
        sources or [],
        synthetic or [],
        synthetic_count,
        stride=stride,
        augmentation=Augmentation(crop=crop),
        validation_fraction=validation_fraction,
        validation_crop=validation_crop or None,
        max_video_frames=max_video_frames,
        video_scale=video_scale,
    )
    config = TrainConfig(
        output=output,
        steps=steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        loss=loss,
        device=device,
        mixed_precision=mixed_precision,
        checkpoint_every=checkpoint_every,
        validate_every=validate_every,
        seed=seed,
        workers=workers,
        init_weights=init_weights,
        resume=resume,
        max_seconds=max_minutes * 60 if max_minutes is not None else None,
        notes=data.description,
    )

    def show(progress: Progress) -> None:
        due = progress.step % max(1, report_every) == 0 or progress.step == progress.steps
        if not due and progress.validation_psnr is None:
            return
        line = (
            f"step {progress.step}/{progress.steps}  loss {progress.loss:.4f}  "
            f"lr {progress.learning_rate:.2e}  {progress.seconds:.0f} s"
        )
        if progress.validation_psnr is not None:
            line += f"  validation PSNR {progress.validation_psnr:.2f} dB"
        err_console.print(line, highlight=False)

    result = train(config, data.training, data.held_out, on_progress=show)
    psnr = f"{result.validation_psnr:.2f} dB" if result.validation_psnr is not None else "n/a"
    status = "" if result.finished else f" (stopped early at step {result.step}: --resume goes on)"
    console.print(
        f"trained {result.step} steps in {result.seconds:.0f} s; final loss {result.loss:.4f}; "
        f"validation PSNR {psnr}{status}\nweights: {result.weights}\nrecord: {result.record}",
        highlight=False,
    )
