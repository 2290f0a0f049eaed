"""Benchmarks (``python -m bench``; docs/benchmarks.md)."""

# hotline's package init sets one BLAS thread for numpy, which only works before numpy is
# first imported: the benchmark modules import numpy before hotline, so load hotline first.
import hotline  # noqa: F401
