"""Writing outputs safely: check the folder first, write under a temporary name, then rename.

A reader never sees a half-written file, an interrupted write leaves nothing behind, and the
finished file gets the usual permissions (the temporary is created with ``open``, so the umask
applies, unlike ``mkstemp``'s private 0600 files).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from frameinterp.errors import OutputError


def check_output_folder(path: Path) -> None:
    """Raise ``OutputError`` unless ``path``'s folder exists and can be written."""
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"output folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another with -o")


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    check_output_folder(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {path}: {error.strerror or error}; choose a folder you can write to"
        ) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def temporary_path(final: Path) -> Path:
    """A hidden name beside ``final`` (same folder, so the rename is atomic), same extension."""
    return final.with_name(f".{final.stem}.partial-{secrets.token_hex(4)}{final.suffix}")


def check_output_path(output: Path, inputs: Sequence[Path], overwrite: bool) -> None:
    """Refuse before any work: missing or read-only folder, an input, or an existing file."""
    folder = output.parent
    if not folder.is_dir():
        raise OutputError(f"output folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"output folder {str(folder)!r} is not writable")
    resolved = output.resolve()
    for path in inputs:
        if path.resolve() == resolved:
            raise OutputError(f"output {str(output)!r} is the input; choose another name with -o")
    if output.exists() and not overwrite:
        raise OutputError(f"output {str(output)!r} already exists; pass --overwrite to replace it")
