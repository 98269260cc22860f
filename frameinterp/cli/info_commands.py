"""`frameinterp info` and `frameinterp splat-demo`."""
