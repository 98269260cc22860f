"""Progress for library callers: an ``on_progress`` callback, a ``tqdm.auto`` bar, or both.

Library calls that take seconds accept ``progress: bool`` (draw a bar; ``tqdm.auto`` renders in
Jupyter and in terminals) and ``on_progress`` (a callable that gets each report). The CLI draws
its own rich display through ``on_progress`` and leaves ``progress`` off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol


@dataclass(frozen=True)
class JobProgress:
    """The one progress report of library jobs: work done, expected total (an estimate), seconds.

    Videos and image sequences count output frames, ``evaluate`` triplets, ``interpolate_frames``
    rendered times.
    """

    done: int
    total: int
    elapsed: float


class Report(Protocol):
    """What a progress report carries: work done, work expected (an estimate), seconds."""

    @property
    def done(self) -> int: ...

    @property
    def total(self) -> int: ...


class ProgressBar:
    """Forwards each report to ``on_progress`` and, with ``enabled``, moves a tqdm bar.

    Use as a context manager so the bar is closed however the call ends.
    """

    def __init__(
        self,
        enabled: bool,
        description: str,
        on_progress: Callable[[Any], None] | None = None,
        unit: str = "frame",
        total: int | None = None,
    ) -> None:
        self._forward = on_progress
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc=description, unit=unit, total=total, leave=True)

    def __call__(self, report: Report) -> None:
        if self._bar is not None:
            if self._bar.total != report.total:
                self._bar.total = report.total
            self._bar.update(report.done - self._bar.n)
        if self._forward is not None:
            self._forward(report)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
