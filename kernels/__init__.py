"""CUDA sources (``*.cu``), shipped inside the wheel as ``frameinterp.kernels`` package data."""
