"""The whole photo as a context-conditioned restorer sees it: one thumbnail per photo, fed with each of its tiles
(training.context: in training the degraded crop, the photo's short side at CONTEXT_SIZE, is its own thumbnail)."""

from __future__ import annotations

import cv2
import numpy as np

CONTEXT_SIZE = 128  # the thumbnail's side in training (a training crop's); a model's manifest entry gives its own


def photo_thumbnail(rgb: np.ndarray, shape: tuple[int, int] = (CONTEXT_SIZE, CONTEXT_SIZE)) -> np.ndarray:
    """HxWx3 RGB, uint8 or float in [0, 1] -> float32 (3, height, width) in [0, 1]: the whole photo resized to
    `shape` (height, width) with area averaging, its aspect not kept."""
    height, width = shape
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    scale = np.float32(1 / 255 if rgb.dtype == np.uint8 else 1)
    return np.ascontiguousarray(small.transpose(2, 0, 1), dtype=np.float32) * scale
