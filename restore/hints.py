"""Colour hints for the colorizer: an HxWx3 float32 map of a*, b* (Lab units) and a mask (1 where hinted).

A model that takes hints (its manifest lists a `hints` input) gets all zeros for automatic colourization.
"""

from __future__ import annotations

import cv2
import numpy as np


def no_hints(height: int, width: int) -> np.ndarray:
    """The all-zero hint map: automatic colourization."""
    return np.zeros((height, width, 3), np.float32)


def resize_hints(hints: np.ndarray, height: int, width: int) -> np.ndarray:
    """`hints` at another size: a*b* averaged over the hinted pixels of each new pixel, which counts as hinted
    when any of them was (a 1 px hint on a large photo survives the render size)."""
    if hints.shape[:2] == (height, width):
        return hints.astype(np.float32, copy=False)
    mask = hints[..., 2:3].astype(np.float32)
    weighted = np.concatenate([hints[..., :2] * mask, mask], axis=2)
    small = cv2.resize(weighted, (width, height), interpolation=cv2.INTER_AREA)
    coverage = small[..., 2:3]
    hinted = coverage > 1e-6
    ab = np.where(hinted, small[..., :2] / np.maximum(coverage, 1e-6), 0.0)
    return np.concatenate([ab, hinted], axis=2).astype(np.float32)
