"""CIE L*a*b* conversions (as OpenCV computes them, see docs/manifest.md) and the colourfulness test."""

from __future__ import annotations

import cv2
import numpy as np

# chroma_level below this counts as black-and-white (or toned) for `--colorize auto`.
GRAY_CHROMA_THRESHOLD = 4.0
_ANALYSIS_SIZE = 256  # longest side the colourfulness test looks at
_LIGHTNESS_BINS = 50  # 2 L* units each
_TINT_BINS = 100  # tint_deviation: 1 L* unit each
_TINT_SMOOTHING = 1  # and its curve smoothed over this many units (Gaussian sigma)
_STRAY_SMOOTHING = 2.0  # keep_print_hues: px (Gaussian sigma) the original's stray is averaged over
_DAMAGE_REACH = 4.0  # and px around a defect its stray there is judged from


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB (uint8, or float in [0, 1]) to float32 Lab: L in [0, 100], a and b about [-127, 127]."""
    if rgb.dtype == np.uint8:
        rgb = rgb.astype(np.float32) * np.float32(1 / 255)
    elif np.issubdtype(rgb.dtype, np.floating):
        rgb = rgb.astype(np.float32, copy=False)
    else:
        raise ValueError(f"expected uint8 or float RGB, got {rgb.dtype}")
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """HxWx3 float Lab to sRGB uint8 (out-of-gamut colours are clipped)."""
    return to_uint8(cv2.cvtColor(lab.astype(np.float32, copy=False), cv2.COLOR_Lab2RGB))


def rgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """L* (HxW float32) of an HxWx3 sRGB image, as rgb_to_lab, converted in strips of rows so that only one
    strip at a time has float copies (a whole 8K photo would need 0.8 GB of them)."""
    lightness = np.empty(rgb.shape[:2], np.float32)
    for rows in _strips(rgb.shape[:2]):
        lightness[rows] = rgb_to_lab(rgb[rows])[..., 0]
    return lightness


def merge_lightness(lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """sRGB uint8 of L* (HxW) and a*b* (HxWx2), as lab_to_rgb of the stacked Lab, in strips of rows."""
    rgb = np.empty((*lightness.shape, 3), np.uint8)
    for rows in _strips(lightness.shape):
        rgb[rows] = lab_to_rgb(np.dstack([lightness[rows], ab[rows]]))
    return rgb


def _strips(shape: tuple[int, ...], pixels: int = 1 << 20) -> list[slice]:
    """Row ranges of about `pixels` pixels each covering an image of `shape` (height, width)."""
    height, width = shape[:2]
    rows = max(1, pixels // max(1, width))
    return [slice(top, top + rows) for top in range(0, height, rows)]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] to uint8, rounded and clipped."""
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def chroma_level(rgb: np.ndarray) -> float:
    """How much colour the image has that its lightness cannot explain, in a*b* units.

    Pixels are grouped by lightness (2 L* units per group) and the result is the RMS distance of
    their (a*, b*) from their group's mean colour. Gray images score 0, and so do toned prints
    (sepia, selenium, cyanotype): their colour is one tint per lightness, however strong. A colour
    photo scores high because things of equal lightness differ in hue. Measured on a copy shrunk to
    256 px (longest side), which also averages out scanner chroma noise.
    """
    lab = rgb_to_lab(shrink(rgb, _ANALYSIS_SIZE)).reshape(-1, 3).astype(np.float64)
    bins = _lightness_bin(lab[:, 0], _LIGHTNESS_BINS)
    sums, counts = _sums_by_bin(lab, bins, _LIGHTNESS_BINS)
    group_mean = sums / np.maximum(counts, 1)[:, None]
    return float(np.sqrt(np.sum((lab[:, 1:] - group_mean[bins]) ** 2) / len(lab)))


def tint_deviation(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L* (HxW) and how far each pixel's a*b* strays from the image's tint curve, its mean a*b* at each lightness
    (HxWx2): zero everywhere for a toned print, large on the coloured things of a colour photo. The curve is
    measured at 1 L* unit, slightly smoothed, on the 256 px copy."""
    lab = rgb_to_lab(shrink(rgb, _ANALYSIS_SIZE)).reshape(-1, 3).astype(np.float64)
    bins = _lightness_bin(lab[:, 0], _TINT_BINS)
    sums, counts = _sums_by_bin(lab, bins, _TINT_BINS)
    window = cv2.getGaussianKernel(4 * _TINT_SMOOTHING + 1, _TINT_SMOOTHING).ravel()
    counts = np.convolve(counts, window, mode="same")
    sums = np.stack([np.convolve(column, window, mode="same") for column in sums.T], axis=1)
    known = counts > 0  # bins within the smoothing window of some pixel
    centres = (np.arange(_TINT_BINS) + 0.5) * (100 / _TINT_BINS)
    curve = sums[known] / counts[known, None]
    full = rgb_to_lab(rgb)
    tint = np.dstack([np.interp(full[..., 0], centres[known], curve[:, channel]) for channel in (0, 1)])
    return full[..., 0], full[..., 1:] - tint.astype(np.float32)


def keep_print_hues(
    original: np.ndarray, restored: np.ndarray, damaged: np.ndarray | None = None, margin: float = 2.0
) -> np.ndarray:
    """`restored` (uint8) with no hue that the toned print `original` lacks. Each pixel's stray from the tint
    curve (tint_deviation) may differ from the original's there, averaged over a few pixels, by at most `margin`
    a*b* units plus half the original's stray; a larger change is shortened to that. Where `damaged` (HxW bool)
    marks a defect, the original's stray is taken from around it, so a repaired crack gets the print's tint
    instead of the orange a network may fill it with, while a faded colour photo keeps its colours."""
    _, stray_before = tint_deviation(original)
    stray_before = cv2.GaussianBlur(stray_before, (0, 0), _STRAY_SMOOTHING)  # grain and JPEG chroma noise
    if damaged is not None and damaged.any():
        sound = (~cv2.dilate(damaged.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)).astype(np.float32)
        around = cv2.GaussianBlur(stray_before * sound[..., None], (0, 0), _DAMAGE_REACH)
        around /= np.maximum(cv2.GaussianBlur(sound, (0, 0), _DAMAGE_REACH), 1e-3)[..., None]
        stray_before = np.where(sound[..., None] > 0, stray_before, around)
    lightness, stray = tint_deviation(restored)
    change = stray - stray_before
    size = np.hypot(change[..., 0], change[..., 1])
    allowed = margin + 0.5 * np.hypot(stray_before[..., 0], stray_before[..., 1])
    shortened = stray_before + change * np.minimum(1, allowed / np.maximum(size, 1e-6))[..., None]
    return merge_lightness(lightness, rgb_to_lab(restored)[..., 1:] - stray + shortened)


def _lightness_bin(lightness: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((lightness * (bins / 100)).astype(np.intp), 0, bins - 1)


def _sums_by_bin(lab: np.ndarray, bins: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per lightness bin: the sums of a* and b* (count x 2) and the number of pixels."""
    sums = np.stack([np.bincount(bins, lab[:, channel], count) for channel in (1, 2)], axis=1)
    return sums, np.bincount(bins, minlength=count).astype(np.float64)


def is_grayscale(rgb: np.ndarray, threshold: float = GRAY_CHROMA_THRESHOLD) -> bool:
    """True for black-and-white, toned (e.g. sepia) or almost colourless images: ones that need colour."""
    return chroma_level(rgb) < threshold


def is_neutral_gray(rgb: np.ndarray, tolerance: int = 2) -> bool:
    """True when (almost) every pixel has equal R, G and B (within `tolerance` levels, for a colour JPEG of a gray
    scan): a black-and-white photo with no tone of its own, which restoring must keep gray."""
    spread = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
    return np.count_nonzero(spread > tolerance) <= 0.001 * spread.size


def as_gray(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> its luma (ITU-R BT.601, OpenCV's) in all three channels."""
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def shrink(image: np.ndarray, max_side: int, min_side: int = 1) -> np.ndarray:
    """`image` scaled down (INTER_AREA) to at most `max_side` px on its longest side, each side kept at least
    `min_side` px; never upscaled."""
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(min_side, round(width * scale)), max(min_side, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
