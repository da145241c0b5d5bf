"""Colour hints carried from the pixels they cover to the photo around them, after the colorizer has run.

What spreads is each hint's *correction*: the hint's a*b* minus the colorizer's own a*b* there, so that the model's
colours stay wherever no hint says otherwise. Two steps:

1. **Colour transfer** (with at least `TRANSFER_MIN_POINTS` separate hints): an affine map of a*b*, model -> hinted,
   fitted by ridge regression on the hints' mean colours (one sample per hint, pulled toward the identity by
   `TRANSFER_PRIOR` samples' worth), applied to every pixel: several hints that agree that the model paints too red,
   or too pale, fix that everywhere.
2. **Edge-aware spreading** of what the transfer left at the hints, as Levin, Lischinski & Weiss 2004
   ("Colorization using Optimization") spread scribbles: neighbouring pixels of similar lightness change alike.
   The correction field c minimises

       sum_{p~q} w_pq (c_p - c_q)^2 + SCREENING * sum_p c_p^2 + PINNING * sum_{hinted p} coverage_p (c_p - d_p)^2,

   w_pq = exp(-(L_p - L_q)^2 / (2 s^2)) on 4-neighbours, s^2 LOCAL_VARIANCE times L*'s variance around p and q
   (Levin's local affinity) kept between LIGHTNESS_SIGMA^2 and TEXTURE_SIGMA^2: one sparse screened-Poisson
   solve (scipy) on a grid of at most `SOLVE_SIDE` px, shared by a* and b*. The screening keeps a lone hint from
   tinting the whole photo through weak edges; a larger stroke reaches further.

The constants were chosen on the labelled holdout split from the training photos (`revive-train eval --task colorize
--hint-points 10`), not on val, and the screening by eye on old photos: the longest reach that keeps one hint on a
robe from tinting the background behind it (10 true hints lose 0.03 dB against the best reach tried).
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix, diags
from scipy.sparse.linalg import splu

from restore.hints import shrink_hints

SOLVE_SIDE = 192  # px: the longest side of the grid the correction is solved on
LIGHTNESS_SIGMA = 2.0  # L* units: in a flat region a step of 2 sigma cuts the coupling to 1/7
LOCAL_VARIANCE = 4.0  # in texture the edge scale grows with the local variance of L*, up to
TEXTURE_SIGMA = 5.0  # L* units, so that a strong edge still stops a hint
SCREENING = 5e-4  # a correction fades over about 1 / sqrt(SCREENING) = 45 px of a SOLVE_SIDE grid's flat region
PINNING = 10.0  # how firmly the correction holds at a hinted pixel
TRANSFER_MIN_POINTS = 3  # fewer separate hints only recolour their own regions
TRANSFER_PRIOR = 1.0  # hints' worth of evidence for the identity map
TYPICAL_CHROMA_SQUARED = 400.0  # (a*^2 + b*^2) of a typical colour: scales the prior of the map's linear part


def spread_hints(lightness: np.ndarray, ab: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """The colorizer's a*b* (HxWx2) changed to follow `hints` (HxWx3 at ab's size, restore.hints: a*, b*, mask),
    see the module docstring. lightness: HxW L* in [0, 100] at ab's size."""
    mask = hints[..., 2] > 0
    if not mask.any():
        return ab
    ab = transfer_colours(ab, hints)
    height, width = lightness.shape
    scale = min(1.0, SOLVE_SIDE / max(height, width))
    grid = (max(1, round(width * scale)), max(1, round(height * scale)))
    correction = np.where(mask[..., None], hints[..., :2] - ab, 0.0)
    target, coverage = shrink_hints(np.dstack([correction, mask]).astype(np.float32), grid[1], grid[0])
    pin = np.minimum(coverage / scale**2, 1.0)  # a hinted render pixel pins the grid cell it falls in
    guide = cv2.resize(lightness.astype(np.float32), grid, interpolation=cv2.INTER_AREA)
    field = _solve_correction(guide, target, pin)
    return ab + cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)


def transfer_colours(ab: np.ndarray, hints: np.ndarray) -> np.ndarray:
    """`ab` through the affine a*b* map fitted to the hints (step 1), or unchanged with too few separate hints."""
    count, labels = cv2.connectedComponents((hints[..., 2] > 0).astype(np.uint8))
    if count - 1 < TRANSFER_MIN_POINTS:
        return ab
    model = np.array([ab[labels == k].mean(axis=0) for k in range(1, count)])
    wanted = np.array([hints[..., :2][labels == k].mean(axis=0) for k in range(1, count)])
    samples = np.concatenate([model, np.ones((len(model), 1))], axis=1)
    prior = TRANSFER_PRIOR * np.diag([TYPICAL_CHROMA_SQUARED, TYPICAL_CHROMA_SQUARED, 1.0])
    identity = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    transform = np.linalg.solve(samples.T @ samples + prior, samples.T @ wanted + prior @ identity)
    return (ab @ transform[:2] + transform[2]).astype(np.float32)


def _solve_correction(lightness: np.ndarray, target: np.ndarray, pin: np.ndarray) -> np.ndarray:
    """Step 2 on the grid: (edge-aware Laplacian + screening + pinning) c = PINNING * pin * target, per channel."""
    height, width = lightness.shape
    index = np.arange(height * width).reshape(height, width)
    scale = _affinity_scale(lightness)
    first, second, step, pair_scale = (
        np.concatenate([horizontal.ravel(), vertical.ravel()])
        for horizontal, vertical in (
            (index[:, :-1], index[:-1, :]),
            (index[:, 1:], index[1:, :]),
            (np.diff(lightness, axis=1), np.diff(lightness, axis=0)),
            (scale[:, :-1] + scale[:, 1:], scale[:-1, :] + scale[1:, :]),
        )
    )
    weight = np.exp(-(step.astype(np.float64) ** 2) / pair_scale)  # exp(-step^2 / (2 * mean of the two scales))
    n = height * width
    coupling = coo_matrix(
        (np.concatenate([-weight, -weight]), (np.concatenate([first, second]), np.concatenate([second, first]))),
        shape=(n, n),
    )
    degree = np.bincount(first, weight, n) + np.bincount(second, weight, n)
    pinning = PINNING * pin.ravel().astype(np.float64)
    screening = SCREENING * (SOLVE_SIDE / max(height, width)) ** 2  # the same reach on a smaller photo's grid
    solver = splu((coupling + diags(degree + screening + pinning)).tocsc())
    field = solver.solve(pinning[:, None] * target.reshape(n, 2).astype(np.float64))
    return field.reshape(height, width, 2).astype(np.float32)


def _affinity_scale(lightness: np.ndarray) -> np.ndarray:
    """Per pixel, the squared lightness step that counts as an edge: LOCAL_VARIANCE times the variance of L* in
    its 3x3 window (Levin et al.'s affinity: texture does not stop a hint), from LIGHTNESS_SIGMA^2 to
    TEXTURE_SIGMA^2 (a window across a strong edge has a large variance too)."""
    mean = cv2.blur(lightness, (3, 3))
    variance = np.maximum(cv2.blur(lightness * lightness, (3, 3)) - mean * mean, 0.0)
    return np.clip(LOCAL_VARIANCE * variance, LIGHTNESS_SIGMA**2, TEXTURE_SIGMA**2)
