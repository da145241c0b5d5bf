"""One order of the Real-ESRGAN chain (Wang et al. 2021): blur -> resize -> noise -> JPEG."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would query PyPI on import
from albumentations.augmentations.blur import functional as fblur  # noqa: E402
from albumentations.augmentations.geometric import functional as fgeometric  # noqa: E402
from albumentations.augmentations.pixel import functional as fpixel  # noqa: E402

from restore.color import to_uint8
from training.degradations.sampling import happens, integer, luma_of, odd, one_of, pick, uniform
from training.degradations.schema import INTERPOLATIONS, Blur, Jpeg, Noise, Resize, Stage


def _aniso_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """Rotated bivariate Gaussian kernel (Real-ESRGAN ``bivariate_Gaussian``), normalised to sum 1."""
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    inv_cov = np.linalg.inv(rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T)
    ax = np.arange(size) - size // 2
    grid = np.stack(np.meshgrid(ax, ax), axis=-1)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inv_cov, grid))
    return (kernel / kernel.sum()).astype(np.float32)


def _blur(img: np.ndarray, cfg: Blur, rng: np.random.Generator) -> np.ndarray:
    """Convolve with one kernel drawn from ``cfg.kinds``; every kernel is centred, so nothing shifts."""
    kind = pick(rng, cfg.kinds)
    if kind == "iso":
        size = odd(rng, cfg.kernel_size)
        return fpixel.separable_convolve(img, fblur.create_gaussian_kernel_1d(uniform(rng, cfg.sigma), size))
    if kind == "aniso":
        size = odd(rng, cfg.kernel_size)
        sigma_x, sigma_y = uniform(rng, cfg.sigma), uniform(rng, cfg.sigma)
        return fpixel.convolve(img, _aniso_kernel(size, sigma_x, sigma_y, rng.uniform(-np.pi, np.pi)))
    if kind == "motion":
        size = max(3, odd(rng, cfg.motion_length))
        # direction 0 keeps the streak symmetric about the centre; random_state is only used when shifted
        angle = rng.uniform(0, 180)
        kernel = fblur.create_motion_kernel(size, angle, 0.0, allow_shifted=False, random_state=None)
        return fpixel.convolve(img, kernel / kernel.sum())
    return fblur.defocus(img, integer(rng, cfg.defocus_radius), uniform(rng, (0.1, 0.5)))


def _resize(img: np.ndarray, cfg: Resize, rng: np.random.Generator) -> np.ndarray:
    """Resize by a random factor with a random filter, then back to the input size with another."""
    height, width = img.shape[:2]
    scale_y = uniform(rng, cfg.scale)
    scale_x = uniform(rng, cfg.scale) if cfg.per_axis else scale_y
    size = (max(1, round(height * scale_y)), max(1, round(width * scale_x)))
    small = fgeometric.resize(img, size, INTERPOLATIONS[one_of(rng, cfg.down)])
    return fgeometric.resize(small, (height, width), INTERPOLATIONS[one_of(rng, cfg.up)])


def _noise(img: np.ndarray, cfg: Noise, rng: np.random.Generator) -> np.ndarray:
    """Add noise of one kind; with probability ``gray_p`` the same noise goes to every channel."""
    kind = pick(rng, cfg.kinds)
    shape = img.shape[:2] + ((1,) if happens(rng, cfg.gray_p) else (3,))
    if kind == "salt_pepper":
        hit = rng.random(shape, dtype=np.float32) < uniform(rng, cfg.amount)
        salt = rng.random(shape, dtype=np.float32) < uniform(rng, cfg.salt_ratio)
        return np.where(hit, salt.astype(np.float32), img)
    gauss = rng.standard_normal(shape, dtype=np.float32)
    if kind == "poisson":
        # Real-ESRGAN's poisson(255 x) / 255 - x for an 8-bit signal x, in its normal approximation
        # N(0, x / 255): same mean and variance, several times cheaper than sampling Poisson counts
        signal = luma_of(img)[..., None] if shape[2] == 1 else img
        return img + gauss * np.sqrt(signal / 255.0) * uniform(rng, cfg.poisson_scale)
    sigma = uniform(rng, cfg.sigma) / 255.0
    return img + gauss * sigma * (img if kind == "speckle" else 1.0)


def _jpeg(img: np.ndarray, cfg: Jpeg, rng: np.random.Generator) -> np.ndarray:
    """JPEG round trip at a random quality, fed as BGR so libjpeg's YCbCr and chroma subsampling are right."""
    bgr = cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2BGR)
    decoded = fpixel.image_compression(bgr, integer(rng, cfg.quality), ".jpg")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


_CHAIN: tuple[tuple[str, Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]], ...] = (
    ("blur", _blur),
    ("resize", _resize),
    ("noise", _noise),
    ("jpeg", _jpeg),
)


def stage(img: np.ndarray, cfg: Stage, rng: np.random.Generator) -> np.ndarray:
    """One order of the chain; each step happens with its own probability."""
    order = rng.permutation(len(_CHAIN)) if cfg.shuffle else range(len(_CHAIN))
    for index in order:
        name, step = _CHAIN[index]
        step_cfg = getattr(cfg, name)
        if happens(rng, step_cfg.p):
            img = np.clip(step(img, step_cfg, rng), 0.0, 1.0)
    return img
