"""Command-line interface: parses options, calls the library, renders progress and errors.

Each command group lives in its own module and registers itself on ``app`` when imported; the
import order in ``_load`` is the order ``frameinterp --help`` lists them. ``main`` first makes
Ctrl-C, SIGTERM and SIGHUP one exception path (the one that cleans up partial outputs), then
imports the commands (torch takes seconds): an interrupt during start-up is one line, exit 130.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["Terminated", "app", "main"]


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so that it cleans up the same way."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


def _terminate(signal_number: int, frame: FrameType | None) -> None:
    raise Terminated(signal_number)


def handle_signals() -> None:
    """Turn SIGTERM and SIGHUP into ``Terminated`` in the main thread (where Python runs
    signal handlers)."""
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _terminate)


def _load() -> typer.Typer:
    # isort: off
    from frameinterp.cli import video_commands as video_commands  # slowmo, batch, evaluate
    from frameinterp.cli import pair_commands as pair_commands
    from frameinterp.cli import benchmark_commands as benchmark_commands
    from frameinterp.cli import train_commands as train_commands
    from frameinterp.cli import info_commands as info_commands  # info, splat-demo

    # isort: on
    from frameinterp.cli.application import app

    globals()["app"] = app  # later lookups of ``frameinterp.cli.app`` skip ``__getattr__``
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _load()
    raise AttributeError(f"module 'frameinterp.cli' has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    handle_signals()
    try:
        application = _load()
    except KeyboardInterrupt as error:
        code = 128 + error.signal_number if isinstance(error, Terminated) else 130
        print("error: interrupted while starting; nothing was done", file=sys.stderr)
        raise SystemExit(code) from None
    from frameinterp.memory import settle_for_long_jobs

    settle_for_long_jobs()
    application()
