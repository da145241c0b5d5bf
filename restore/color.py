"""CIE L*a*b* conversions (as OpenCV computes them, see docs/manifest.md) and the colourfulness test."""

from __future__ import annotations

import cv2
import numpy as np

# chroma_level below this counts as black-and-white (or toned) for `--colorize auto`.
GRAY_CHROMA_THRESHOLD = 4.0
_ANALYSIS_SIZE = 256  # longest side the colourfulness test looks at
_LIGHTNESS_BINS = 50  # 2 L* units each
_TINT_BINS = 100  # tint_curve: 1 L* unit each
_TINT_SMOOTHING = 1  # and its curve smoothed over this many units (Gaussian sigma)
_HUE_MARGIN = 2.0  # keep_print_hues: a*b* units a pixel's stray may move beyond half the original's
_STRAY_SMOOTHING = 2.0  # and px (Gaussian sigma) the original's stray is averaged over
_DAMAGE_REACH = 4.0  # and px around a defect its stray there is judged from
_HALO = 32  # rows around each strip: more than both filters reach (4 sigma each, + the 3x3 dilation)


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


TintCurve = tuple[np.ndarray, np.ndarray]  # L* values and the a*b* (N x 2) at each


def tint_curve(rgb: np.ndarray) -> TintCurve:
    """The image's mean a*b* at each lightness, measured at 1 L* unit, slightly smoothed, on the 256 px copy: a
    toned print's colour is this curve, a colour photo's coloured things stray from it."""
    lab = rgb_to_lab(shrink(rgb, _ANALYSIS_SIZE)).reshape(-1, 3).astype(np.float64)
    bins = _lightness_bin(lab[:, 0], _TINT_BINS)
    sums, counts = _sums_by_bin(lab, bins, _TINT_BINS)
    window = cv2.getGaussianKernel(4 * _TINT_SMOOTHING + 1, _TINT_SMOOTHING).ravel()
    counts = np.convolve(counts, window, mode="same")
    sums = np.stack([np.convolve(column, window, mode="same") for column in sums.T], axis=1)
    known = counts > 0  # bins within the smoothing window of some pixel
    centres = (np.arange(_TINT_BINS) + 0.5) * (100 / _TINT_BINS)
    return centres[known], sums[known] / counts[known, None]


def tint_stray(rgb: np.ndarray, curve: TintCurve) -> np.ndarray:
    """How far each pixel's a*b* strays from `curve` at its lightness (HxWx2 float32)."""
    lab = rgb_to_lab(rgb)
    return lab[..., 1:] - _tint_at(lab[..., 0], curve)


def keep_print_hues(original: np.ndarray, restored: np.ndarray, damaged: np.ndarray | None = None) -> np.ndarray:
    """`restored` (uint8) with no hue that the toned print `original` lacks. Each pixel's stray from its photo's
    tint curve may move from the original's stray there (averaged over a few pixels) by at most 2 a*b* units
    plus half that stray; a larger move is shortened to that. Where `damaged` (HxW bool) marks a defect, the
    original's stray on it and one pixel around is taken from further around, so a repaired crack gets the print's
    tint instead of the orange a network may fill it with, while a faded colour photo keeps its colours. Worked in
    strips of rows with a halo wider than the filters' reach, so the result is the whole photo's and memory stays
    bounded."""
    curves = tint_curve(original), tint_curve(restored)
    height = restored.shape[0]
    out = np.empty_like(restored)
    for rows in _strips(restored.shape, max(1 << 20, 4 * _HALO * restored.shape[1])):  # strips >> their halo
        top, bottom = max(0, rows.start - _HALO), min(height, rows.stop + _HALO)
        window = slice(top, bottom)
        kept = _keep_hues(original[window], restored[window], None if damaged is None else damaged[window], curves)
        out[rows] = kept[rows.start - top : min(rows.stop, height) - top]
    return out


def _keep_hues(
    original: np.ndarray, restored: np.ndarray, damaged: np.ndarray | None, curves: tuple[TintCurve, TintCurve]
) -> np.ndarray:
    """keep_print_hues() on a strip, with the two photos' tint curves."""
    stray_before = cv2.GaussianBlur(tint_stray(original, curves[0]), (0, 0), _STRAY_SMOOTHING)  # grain, JPEG noise
    if damaged is not None and damaged.any():
        sound = (cv2.dilate(damaged.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0).astype(np.float32)
        around = cv2.GaussianBlur(stray_before * sound[..., None], (0, 0), _DAMAGE_REACH)
        around /= np.maximum(cv2.GaussianBlur(sound, (0, 0), _DAMAGE_REACH), 1e-3)[..., None]
        stray_before = np.where(sound[..., None] > 0, stray_before, around)
    lab = rgb_to_lab(restored)
    tint = _tint_at(lab[..., 0], curves[1])
    move = lab[..., 1:] - tint - stray_before
    allowed = _HUE_MARGIN + 0.5 * np.hypot(stray_before[..., 0], stray_before[..., 1])
    shrink_by = np.minimum(1, allowed / np.maximum(np.hypot(move[..., 0], move[..., 1]), 1e-6))
    return merge_lightness(lab[..., 0], tint + stray_before + move * shrink_by[..., None])


def _tint_at(lightness: np.ndarray, curve: TintCurve) -> np.ndarray:
    """The curve's a*b* at each L* of `lightness` (HxW), HxWx2 float32."""
    centres, values = curve
    tint = np.empty((*lightness.shape, 2), np.float32)
    for channel in (0, 1):
        tint[..., channel] = np.interp(lightness, centres, values[:, channel])
    return tint


def _lightness_bin(lightness: np.ndarray, bins: int) -> np.ndarray:
    """Each L* value's bin of `bins` equal bins over [0, 100]."""
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
