"""The Typer application and the one place where errors become a red line and an exit code."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from frameinterp.errors import FrameInterpError

app = typer.Typer(
    name="frameinterp",
    help="Smoother or slower video by synthesising the frames in between (softmax splatting).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
benchmark_app = typer.Typer(
    help="Measure quality (PSNR/SSIM) and speed against baselines.", no_args_is_help=True
)
app.add_typer(benchmark_app, name="benchmark")


def _show_version(value: bool) -> None:
    if value:
        from frameinterp import __version__

        typer.echo(f"frameinterp {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            metavar="",
            help="Show the version.",
        ),
    ] = False,
) -> None:
    """Smoother or slower video by synthesising the frames in between (softmax splatting)."""


console = Console()
err_console = Console(stderr=True)

# An unexpected exception is one line with this exit code (BSD's EX_SOFTWARE), or its full
# traceback when this environment variable is set.
INTERNAL_ERROR_CODE = 70
TRACEBACK_VARIABLE = "FRAMEINTERP_TRACEBACK"

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command so expected failures print one line and exit non-zero, no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FrameInterpError as error:
            fail(str(error), error.exit_code)
        except KeyboardInterrupt as error:
            number = getattr(error, "signal_number", None)  # cli.Terminated: SIGTERM, SIGHUP
            what = "interrupted" if number is None else f"stopped by {error}"
            fail(
                f"{what}; no partial output was left behind",
                130 if number is None else 128 + number,
            )
        except OSError as error:  # disk full, permissions: the OS message says what is wrong
            fail(f"{error.strerror or error}: {error.filename or ''}".rstrip(": "), 4)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # the command's own exit code or usage message (Exit is a RuntimeError)
        except Exception as error:  # a bug of ours, or a library's: one line unless asked
            if os.environ.get(TRACEBACK_VARIABLE):
                raise
            fail(
                f"internal error ({type(error).__name__}: {error}); no partial output was left "
                f"behind. Rerun with {TRACEBACK_VARIABLE}=1 for the traceback, and please report "
                "it",
                INTERNAL_ERROR_CODE,
            )

    return wrapper


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """Print ``error: message`` in red on stderr, on one line, and exit with ``exit_code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(exit_code)
