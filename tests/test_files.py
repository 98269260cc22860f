"""Atomic writes: nothing half-written, nothing left over, ordinary permissions."""

from __future__ import annotations

import os

import pytest

from frameinterp.errors import OutputError
from frameinterp.files import write_atomically


def test_written_with_umask_permissions_and_no_leftovers(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "out.bin", b"data")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"data"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_exception_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_atomically(tmp_path / "missing" / "out.bin", b"x")


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")
def test_exception_unwritable_folder_even_for_root():
    with pytest.raises(OutputError, match=r"cannot write /sys/kernel/out\.bin"):
        write_atomically("/sys/kernel/out.bin", b"x")


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_rerun_removes_stale_partials_of_the_same_output_only(tmp_path):
    from frameinterp.files import TemporaryFile, temporary_path

    final = tmp_path / "clip.2x.mp4"
    ours = temporary_path(final)
    assert ours.name.startswith(f".clip.2x.partial-{os.getpid()}-") and ours.suffix == ".mp4"
    dead = _dead_pid()
    stale = tmp_path / f".clip.2x.partial-{dead}-0123abcd.mp4"
    alive = tmp_path / ".clip.2x.partial-1-0123abcd.mp4"  # pid 1 always runs
    other = tmp_path / f".other.partial-{dead}-0123abcd.mp4"  # another output's
    lookalike = tmp_path / ".clip.2x.partial-notes.mp4"  # not our pattern
    for path in (stale, alive, other, lookalike):
        path.write_bytes(b"x")
    folder = tmp_path / f".shots.partial-{dead}-0123abcd"  # a stale sequence folder
    folder.mkdir()
    (folder / "frame_000001.png").write_bytes(b"x")

    TemporaryFile(final)
    assert not stale.exists()
    assert alive.exists() and other.exists() and lookalike.exists()
    from frameinterp.files import TemporaryFolder

    made = TemporaryFolder(tmp_path / "shots")
    assert not folder.exists() and made.temporary.is_dir()
    made.discard()
    assert not made.temporary.exists()


def test_exception_output_is_a_folder_or_a_file(tmp_path):
    from frameinterp.files import check_output_path

    (tmp_path / "dir").mkdir()
    with pytest.raises(OutputError, match="is a folder; give a file name"):
        check_output_path(tmp_path / "dir", (), overwrite=True)
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_path(tmp_path / "file", (), overwrite=True, folder=True)
