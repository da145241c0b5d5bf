"""Image quality metrics on uint8 RGB images."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

PSNR_CEILING = 100.0  # dB: what identical images score (an undamaged copy), so that means stay finite


def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    """PSNR in dB over all RGB channels (data range 255), at most PSNR_CEILING."""
    if np.array_equal(reference, image):
        return PSNR_CEILING
    return min(float(peak_signal_noise_ratio(reference, image, data_range=255)), PSNR_CEILING)


def ssim(reference: np.ndarray, image: np.ndarray) -> float:
    """SSIM (Wang et al. 2004, Gaussian window) averaged over the RGB channels."""
    return float(
        structural_similarity(reference, image, channel_axis=2, data_range=255, gaussian_weights=True, sigma=1.5)
    )


def colorfulness(image: np.ndarray) -> float:
    """Hasler & Suesstrunk 2003 colourfulness, signed opponent channels: sigma_rgyb + 0.3 * mu_rgyb.

    rg = R - G and yb = (R + G) / 2 - B on 0-255 values; this is the paper's formula (DDColor's variant takes
    absolute values of rg and yb and gives different numbers).
    """
    r, g, b = (image[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
