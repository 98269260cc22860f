"""Progress display for long jobs: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from frameinterp.convert import JobProgress
from frameinterp.pipeline import VideoSummary

__all__ = ["ProgressDisplay", "is_data_loss", "print_summary", "print_warnings"]

# Words that mark a warning about lost data: shown even with --quiet.
_DATA_LOSS = ("lost", "dropped", "skipped", "damaged", "truncated", "could not be decoded")


class _RateColumn(ProgressColumn):
    """Output frames per second, averaged over the whole run so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if elapsed <= 0 or not task.completed:
            return Text("– fps", style="progress.data.speed")
        return Text(f"{task.completed / elapsed:.1f} fps", style="progress.data.speed")


class ProgressDisplay:
    """One display for one or more jobs; ``track(label)`` gives each job its callback.

    On a terminal it draws rich bars (frames done/total, output fps, ETA); when output is
    redirected it prints one plain line per job every ``interval`` seconds; ``quiet`` prints
    nothing. Callbacks may come from worker threads.
    """

    def __init__(self, console: Console, *, quiet: bool = False, interval: float = 5.0) -> None:
        self.console = console
        self.quiet = quiet
        self.interval = interval
        self._lock = threading.Lock()
        self._bars: Progress | None = None
        if not quiet and console.is_terminal:
            self._bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("frames"),
                _RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
            )

    def __enter__(self) -> ProgressDisplay:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    def track(self, label: str) -> Callable[[JobProgress], None]:
        """A progress callback for one job called ``label``."""
        if self.quiet:
            return lambda update: None
        if self._bars is not None:
            bars = self._bars
            task = bars.add_task(label, total=None)

            def update_bar(update: JobProgress) -> None:
                bars.update(task, completed=update.done, total=update.total)
                if update.done >= update.total:
                    bars.stop_task(task)  # a finished bar keeps its final rate and time

            return update_bar
        first: list[tuple[float, int]] = []
        last = [0.0]

        def print_line(update: JobProgress) -> None:
            now = time.monotonic()
            if not first:  # rates count from the first frame, not from start-up
                first.append((now, update.done))
                last[0] = now
            finished = update.done >= update.total
            if now - last[0] < self.interval and not finished:
                return
            last[0] = now
            started, done_then = first[0]
            span = now - started
            # The ETA needs a rate measured while frames flow: the first line has none yet,
            # and the rate since start-up (model loading included) would give hours.
            recent = (update.done - done_then) / span if span > 0 else 0.0
            overall = update.done / update.elapsed if update.elapsed > 0 else 0.0
            rate = recent if recent > 0 and not finished else overall
            remaining = float("nan")
            if finished:
                remaining = 0.0
            elif recent > 0:
                remaining = (update.total - update.done) / recent
            with self._lock:
                self.console.print(
                    f"{label}: {update.done}/{update.total} frames, {rate:.1f} fps, "
                    f"ETA {_seconds(remaining)}",
                    highlight=False,
                    soft_wrap=True,
                )

        return print_line


def _seconds(value: float) -> str:
    if value != value or value == float("inf"):  # NaN or unknown
        return "--:--"
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _rate(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def print_summary(console: Console, summary: VideoSummary) -> None:
    """The end-of-run summary: frames, rates, durations, time taken, streams and warnings."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("output", str(summary.output))
    table.add_row(
        "frames",
        f"{summary.input_frames} in → {summary.output_frames} out "
        f"({summary.interpolated_frames} interpolated)",
    )
    table.add_row(
        "rate",
        f"{_rate(float(summary.input_rate))} fps → {_rate(float(summary.output_rate))} fps",
    )
    table.add_row("duration", f"{summary.input_duration:.2f} s → {summary.output_duration:.2f} s")
    table.add_row(
        "time taken",
        f"{summary.seconds:.1f} s ({summary.frames_per_second:.1f} output fps, "
        f"{summary.engine} on {summary.device})",
    )
    if summary.scene_cuts or summary.static_intervals:
        table.add_row(
            "not interpolated",
            f"{summary.scene_cuts} scene cut(s), {summary.static_intervals} static interval(s)",
        )
    streams = summary.streams
    parts = [f"copied {', '.join(streams.copied)}"] if streams.copied else []
    if streams.reencoded:
        parts.append(f"re-encoded {', '.join(streams.reencoded)}")
    if streams.dropped:
        parts.append(f"dropped {', '.join(streams.dropped)}")
    if parts:
        table.add_row("other streams", "; ".join(parts))
    console.print(table)


def is_data_loss(warning: str) -> bool:
    """Whether a warning says that something of the input did not make it to the output."""
    return any(word in warning for word in _DATA_LOSS)


def print_warnings(
    console: Console, warnings: list[str], *, quiet: bool = False, damaged: bool = False
) -> None:
    """Warnings, one line each (meant for stderr); ``quiet`` keeps only data-loss ones."""
    for warning in warnings:
        if quiet and not (is_data_loss(warning) or damaged):
            continue
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
