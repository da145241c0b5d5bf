"""The colour prior of a run: the ab-bin distribution of its training photos, computed once and kept in the run
folder (`color_prior.npy`), so that training on your own photos rebalances for them and an export decodes as the
run trained."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from training.colorbins import empirical_distribution
from training.config import TrainConfig


def colour_prior(config: TrainConfig, run_dir: Path, photos: Callable[[], list[Path]]) -> np.ndarray:
    """The stored distribution (`color.prior` if set, else run_dir's file), or that of `photos()`, then stored:
    an export finds it in the run folder even where the training photos are not."""
    stored = Path(config.color.prior) if config.color.prior else run_dir / "color_prior.npy"
    if stored.exists():
        return np.load(stored)
    distribution = empirical_distribution(photos())
    run_dir.mkdir(parents=True, exist_ok=True)
    np.save(stored, distribution)
    return distribution
