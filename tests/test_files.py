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
