"""Random draws from the ranges of the options, all from the caller's ``np.random.Generator``."""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from training.degradations.schema import IntRange, Range


def uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def integer(rng: np.random.Generator, bounds: IntRange) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def odd(rng: np.random.Generator, bounds: IntRange) -> int:
    """An odd number in ``bounds`` (an even lower bound is rounded up)."""
    low = bounds[0] | 1
    return low + 2 * int(rng.integers(0, max(0, bounds[1] - low) // 2 + 1))


def happens(rng: np.random.Generator, p: float) -> bool:
    return p > 0 and rng.random() < p


def pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    """A key of ``weights``, drawn with probability proportional to its weight."""
    names, values = list(weights), np.array(list(weights.values()))
    return names[int(rng.choice(len(names), p=values / values.sum()))]


def one_of(rng: np.random.Generator, names: tuple[str, ...]) -> str:
    return names[int(rng.integers(len(names)))]


def luma_of(img: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (the weights of PIL ``convert("L")`` and OpenCV), shape (h, w)."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
