"""Inpainting of the damage a restorer leaves: thick cracks, tears and scratches that its damage map marks."""

from __future__ import annotations

import math

import cv2
import numpy as np

INPAINT_RADIUS = 3  # px around each masked pixel that Telea's method draws from


def inpaint_damage(rgb: np.ndarray, damage: np.ndarray, threshold: float) -> np.ndarray:
    """Fill the pixels of uint8 HxWx3 `rgb` where the uint8 HxW `damage` map (probability x 255) reaches
    `threshold` (0-1), grown by one pixel to cover the defect's soft edge, from their surroundings (Telea 2004,
    as Bringing-Old-Photos-Back-to-Life fills what its scratch detector finds, there with a network)."""
    mask = damage_mask(damage, threshold).astype(np.uint8)
    if not mask.any():
        return np.ascontiguousarray(rgb)
    mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
    return cv2.inpaint(np.ascontiguousarray(rgb), mask, INPAINT_RADIUS, cv2.INPAINT_TELEA)


def damage_mask(damage: np.ndarray, threshold: float) -> np.ndarray:
    """Where the uint8 HxW `damage` map (probability x 255) reaches `threshold` (0-1), as HxW bool."""
    return damage >= max(1, math.ceil(threshold * 255))
