"""Typed errors: the CLI turns every ``FrameInterpError`` into one red line and an exit code."""

from __future__ import annotations


class FrameInterpError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class InvalidInputError(FrameInterpError, ValueError):
    """An argument, tensor or option is not what the function expects."""

    exit_code = 2


class InputNotFoundError(FrameInterpError, FileNotFoundError):
    """An input file or folder does not exist."""

    exit_code = 2


class UnsupportedMediaError(FrameInterpError):
    """A file exists but cannot be used: not a video or image, no video stream, no frames."""

    exit_code = 3


class OutputError(FrameInterpError, OSError):
    """An output cannot be written (missing or read-only folder, would overwrite an input)."""

    exit_code = 4


class BackendUnavailableError(FrameInterpError, RuntimeError):
    """A requested compute backend (CuPy/CUDA) cannot run on this machine."""

    exit_code = 5


class CheckpointError(FrameInterpError):
    """A weights file does not match the network or is not plain tensor data."""

    exit_code = 2
