"""Quantized ab colour classes, after Zhang, Isola & Efros, "Colorful Image Colorization" (ECCV 2016).

- The ab plane is cut into a grid of step 10; the bins that in-gamut sRGB colours fall into are the classes (~313).
- Targets are soft-encoded: the 5 nearest bins of each ground-truth ab, weighted by a Gaussian (sigma 5).
- Class rebalancing: w ∝ ((1 - lambda) * p_smoothed + lambda / Q)^-1, normalized so that E_p[w] = 1 (lambda 0.5).
- Decoding: the annealed mean, softmax(logits / T) · bin centres (T = 0.38 in the paper).

Lab is OpenCV's float conversion (L in [0, 100]), the same one the inference side uses.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from restore.errors import ImageError
from training.data import read_rgb

GRID_STEP = 10.0
GRID_LIMIT = 110.0


def ab_bin_centers() -> np.ndarray:
    """The (Q, 2) float32 ab centres of the grid cells that in-gamut sRGB colours fall into: a new array each
    call (models hold theirs as buffers, which training updates in place: the EMA averages them)."""
    return _bin_centers().copy()


@lru_cache(maxsize=1)
def _bin_centers() -> np.ndarray:
    levels = np.linspace(0.0, 1.0, 96, dtype=np.float32)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    ab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3)[:, 1:]
    cells = np.unique(np.round(ab / GRID_STEP).astype(np.int32), axis=0)
    return (cells * GRID_STEP).astype(np.float32)


_TABLE_LIMIT = 130  # the candidate table covers a, b in [-130, 130] at 1-unit steps
_CANDIDATES = 4  # candidates per table cell beyond the neighbours wanted


@lru_cache(maxsize=4)
def _candidate_table(neighbours: int, device: str) -> torch.Tensor:
    """For every integer (a, b) in the table's range, the indices of its `neighbours + _CANDIDATES` nearest bins."""
    centers = torch.from_numpy(ab_bin_centers())
    axis = torch.arange(-_TABLE_LIMIT, _TABLE_LIMIT + 1, dtype=torch.float32)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)
    nearest = torch.cdist(grid, centers).topk(neighbours + _CANDIDATES, dim=1, largest=False).indices
    return nearest.view(len(axis), len(axis), -1).to(device)


def nearest_bins(
    ab: torch.Tensor, centers: torch.Tensor, neighbours: int = 5, sigma: float = 5.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 2, H, W) ab -> the `neighbours` nearest bins of each pixel, nearest first, (N, H, W, k) indices, and
    their Gaussian weights summing to 1: Zhang et al.'s soft encoding, kept sparse.

    Exact distances to a few candidate bins looked up from the rounded ab (the bins are 10 apart, so the
    nearest ones of a point lie among the nearest of the integer point next to it)."""
    points = ab.permute(0, 2, 3, 1).float()
    cell = points.round().clamp(-_TABLE_LIMIT, _TABLE_LIMIT).long() + _TABLE_LIMIT
    candidates = _candidate_table(neighbours, str(ab.device))[cell[..., 0], cell[..., 1]]  # (N, H, W, c)
    squared = ((points.unsqueeze(-2) - centers[candidates]) ** 2).sum(-1)
    nearest_squared, order = squared.topk(neighbours, dim=-1, largest=False)
    weights = torch.exp(-nearest_squared / (2 * sigma**2))
    return candidates.gather(-1, order), weights / weights.sum(dim=-1, keepdim=True)


def soft_encode(ab: torch.Tensor, centers: torch.Tensor, neighbours: int = 5, sigma: float = 5.0) -> torch.Tensor:
    """(N, 2, H, W) ab -> (N, H, W, Q) soft one-hot over the nearest `neighbours` bins, Gaussian weighted
    (`nearest_bins` made dense)."""
    indices, weights = nearest_bins(ab, centers, neighbours, sigma)
    target = torch.zeros(*indices.shape[:-1], centers.shape[0], device=ab.device)
    return target.scatter_(-1, indices, weights)


def annealed_mean(logits: torch.Tensor, centers: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    """(N, Q, H, W) logits -> (N, 2, H, W) ab: the mean of the distribution sharpened by 1/T."""
    probabilities = torch.softmax(logits.permute(0, 2, 3, 1) / temperature, dim=-1)
    return (probabilities @ centers).permute(0, 3, 1, 2)


def empirical_distribution(images: list[Path], pixels_per_image: int = 4096, seed: int = 0) -> np.ndarray:
    """Fraction of sampled training pixels whose ab falls nearest to each bin."""
    centers = ab_bin_centers()
    counts = np.zeros(len(centers), dtype=np.float64)
    rng = np.random.default_rng(seed)
    for path in images:
        try:
            rgb = read_rgb(path)
        except (ImageError, OSError):
            continue
        lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
        sample = lab[rng.integers(0, len(lab), size=min(pixels_per_image, len(lab))), 1:]
        nearest = np.argmin(((sample[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
        counts += np.bincount(nearest, minlength=len(centers))
    if counts.sum() == 0:
        raise ValueError("no readable images to compute the colour prior from")
    return counts / counts.sum()


def smooth_on_grid(distribution: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """Gaussian smoothing of the bin distribution in the ab plane (sigma in ab units)."""
    centers = ab_bin_centers()
    cells = np.round((centers + GRID_LIMIT) / GRID_STEP).astype(int)
    grid = np.zeros((cells.max() + 1, cells.max() + 1))
    grid[cells[:, 0], cells[:, 1]] = distribution
    smoothed = gaussian_filter(grid, sigma / GRID_STEP, mode="constant")[cells[:, 0], cells[:, 1]]
    return smoothed / smoothed.sum()


def rebalancing_weights(distribution: np.ndarray, mix: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Per-bin loss weights: inverse of the smoothed prior mixed with uniform, normalized to mean 1 under it."""
    smoothed = smooth_on_grid(distribution, sigma)
    weights = 1.0 / ((1.0 - mix) * smoothed + mix / len(smoothed))
    return (weights / (smoothed * weights).sum()).astype(np.float32)
