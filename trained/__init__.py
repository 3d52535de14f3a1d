"""Checkpoints trained by `make results` and shipped with the package (see README, Results)."""
