"""Writing outputs safely: the one place that decides temporary names, permission checks, the
overwrite rule and clean-up, for single files, videos and folders alike.

Every output is written under a hidden temporary name beside its final one (same folder, so the
rename is atomic) and renamed when complete: a reader never sees a half-written output, and an
error, Ctrl-C, SIGTERM or SIGHUP leaves nothing behind. The temporary name carries the writing
process's id, ``.NAME.partial-<pid>-<hex>.EXT``, so that a rerun can remove what a killed run
(SIGKILL, power loss) left: only names of this pattern for the same output, and only when no
live process has that id. Temporaries are created with ``open``/``mkdir``, so the umask applies
(unlike ``mkstemp``'s private 0600 files).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from frameinterp.errors import OutputError

__all__ = [
    "TemporaryFile",
    "TemporaryFolder",
    "check_output_folder",
    "check_output_path",
    "remove_stale_partials",
    "temporary_path",
    "write_atomically",
]


def check_output_folder(path: Path) -> None:
    """Raise ``OutputError`` unless ``path``'s folder exists and can be written."""
    folder = path.parent
    if not folder.exists():
        raise OutputError(f"output folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise OutputError(f"output folder {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another with -o")


def check_output_path(
    output: Path, inputs: Sequence[Path], overwrite: bool, *, folder: bool = False
) -> None:
    """Refuse before any work: missing or read-only folder, an input, or an existing output.

    The overwrite rule for every command: an existing output is replaced only with
    ``overwrite``. ``folder`` says that the output is a folder (an image sequence); a file
    output must not be an existing folder, nor a folder output an existing file.
    """
    check_output_folder(output)
    _try_writing(output.parent)
    resolved = output.resolve()
    for path in inputs:
        if path.resolve() == resolved:
            raise OutputError(f"output {str(output)!r} is the input; choose another name with -o")
    if output.is_dir() and not folder:
        raise OutputError(
            f"output {str(output)!r} is a folder; give a file name with -o (for example "
            f"{str(output / 'clip.2x.mp4')!r})"
        )
    if output.exists() and folder and not output.is_dir():
        raise OutputError(f"output {str(output)!r} is a file; the output here is a folder")
    if output.exists() and not overwrite:
        raise OutputError(f"output {str(output)!r} already exists; pass --overwrite to replace it")


def _try_writing(folder: Path) -> None:
    """Create and delete a file in ``folder``: permission bits do not tell the whole story
    (root passes every ``access`` check, yet cannot write to /sys or a read-only mount)."""
    probe = folder / f".frameinterp-write-test-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with open(probe, "xb"):
            pass
    except OSError as error:
        raise OutputError(
            f"cannot write to output folder {str(folder)!r}: it is not writable "
            f"({error.strerror or error}); choose another with -o"
        ) from None
    probe.unlink(missing_ok=True)


_PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-(?P<pid>[0-9]+)-(?P<token>[0-9a-f]{8})$")


def temporary_path(final: Path) -> Path:
    """The hidden temporary name for ``final``: ``.STEM.partial-<pid>-<hex>.EXT``."""
    return final.with_name(
        f".{final.stem}.partial-{os.getpid()}-{secrets.token_hex(4)}{final.suffix}"
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_partials(final: Path) -> list[Path]:
    """Delete temporaries of ``final`` left by runs that no longer live; return what went.

    Only names ``temporary_path`` makes for this very output are considered, and only those
    whose process id is not a live process (never this process's own).
    """
    removed: list[Path] = []
    folder = final.parent
    if not folder.is_dir():
        return removed
    suffix = final.suffix
    try:
        candidates = list(folder.glob(f".{final.stem}.partial-*"))
    except OSError:
        return removed
    for path in candidates:
        name = path.name[: len(path.name) - len(suffix)] if suffix else path.name
        if suffix and not path.name.endswith(suffix):
            continue
        match = _PARTIAL.match(name)
        if match is None or match["name"] != final.stem or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


class TemporaryFile:
    """A temporary name for one output file: ``commit`` renames it, ``discard`` deletes it.

    Creating one first removes stale temporaries of the same output (see the module).
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        remove_stale_partials(final)
        self.temporary = temporary_path(final)

    def commit(self) -> None:
        os.replace(self.temporary, self.final)

    def discard(self) -> None:
        """Delete the temporary (safe to call more than once, and after ``commit``)."""
        with contextlib.suppress(OSError):
            self.temporary.unlink()


class TemporaryFolder:
    """A temporary folder for an output folder: filled, then renamed over the final one."""

    def __init__(self, final: Path) -> None:
        self.final = final
        remove_stale_partials(final)
        self.temporary = temporary_path(final)
        try:
            self.temporary.mkdir()
        except OSError as error:
            raise OutputError(
                f"cannot create a folder beside {str(final)!r}: {error.strerror or error}"
            ) from None

    def commit(self) -> None:
        """Replace the final folder (which the overwrite rule has already allowed)."""
        if self.final.is_dir():
            shutil.rmtree(self.final)
        self.temporary.rename(self.final)

    def discard(self) -> None:
        shutil.rmtree(self.temporary, ignore_errors=True)


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    check_output_folder(path)
    temporary = TemporaryFile(path)
    try:
        with open(temporary.temporary, "xb") as stream:
            stream.write(data)
        temporary.commit()
    except OSError as error:
        temporary.discard()
        raise OutputError(
            f"cannot write {path}: {error.strerror or error}; choose a folder you can write to"
        ) from None
    except BaseException:
        temporary.discard()
        raise
    return path
