"""Command-line interface: parses options, calls the library, renders progress and errors.

Each command group lives in its own module and registers itself on ``app`` when imported; the
import order below is the order ``frameinterp --help`` lists them.
"""

from __future__ import annotations

# isort: off
from frameinterp.cli import video_commands as video_commands  # slowmo, batch, evaluate
from frameinterp.cli import pair_commands as pair_commands
from frameinterp.cli import benchmark_commands as benchmark_commands
from frameinterp.cli import train_commands as train_commands
from frameinterp.cli import info_commands as info_commands  # info, splat-demo

# isort: on
from frameinterp.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
