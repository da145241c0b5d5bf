"""Global tone correction after restoration: one affine colour transform per photo, seen from the whole photo.

The local restore network sees 189 px around each pixel, so it cannot tell a faded or yellowed print from a pale or
warm scene (issue #19). A restorer trained to leave tone alone (`keep_tone`) repairs damage only; this network then
looks at the whole restored photo at SIZE x SIZE, describes its tones by colour statistics (per-channel mean,
spread and a soft histogram) and quantiles (per channel and of the luma: black point, white point, contrast, cast;
and the mean chroma), and predicts the 3 x 4 matrix [A | b] of a colour transform rgb -> rgb + A rgb + b, started
at the identity. Fading (less contrast and saturation, lifted blacks) and yellowing are affine in RGB, so one such
transform can undo them. It runs once per photo and applies to every pixel at full resolution, so tiling cannot
change it. (An ImageNet-pretrained encoder's pooled features as well made it worse on held-out photos: the head
learned the training photos, not the tones; model card.)
"""

from __future__ import annotations

import torch
import torch.nn as nn

SIZE = 128  # the side the photo is resized to, its aspect not kept
HISTOGRAM_BINS = 8
STATISTICS = 3 * (2 + HISTOGRAM_BINS)
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
FEATURES = STATISTICS + 4 * len(QUANTILES) + 3
LUMA = (0.299, 0.587, 0.114)


def colour_statistics(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, STATISTICS): per channel the mean, the standard deviation and a soft
    histogram (Gaussian kernels at HISTOGRAM_BINS evenly spaced levels, normalised to sum to 1)."""
    mean = rgb.mean(dim=(2, 3))
    spread = rgb.std(dim=(2, 3))
    levels = torch.linspace(0.0, 1.0, HISTOGRAM_BINS, device=rgb.device).view(1, 1, -1, 1)
    width = 0.5 / (HISTOGRAM_BINS - 1)
    weights = torch.exp(-0.5 * ((rgb.flatten(2).unsqueeze(2) - levels) / width) ** 2)  # (N, 3, bins, HW)
    histogram = weights.mean(dim=3)
    histogram = histogram / histogram.sum(dim=2, keepdim=True).clamp_min(1e-6)
    return torch.cat([mean, spread, histogram.flatten(1)], dim=1)


def tone_quantiles(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 4 * len(QUANTILES) + 3): the QUANTILES of each channel and of the luma
    (by sorting: H and W are fixed, so the ranks are constants of the exported graph), and each channel's mean
    distance from the luma (how colourful the photo is)."""
    weights = torch.tensor(LUMA, device=rgb.device).view(1, 3, 1, 1)
    luma = (rgb * weights).sum(dim=1, keepdim=True)
    values = torch.cat([rgb, luma], dim=1).flatten(2)
    count = int(values.shape[2])  # a constant of the exported graph
    ranks = [round(q * (count - 1)) for q in QUANTILES]
    quantiles = torch.sort(values, dim=2).values[:, :, ranks]
    chroma = (rgb - luma).abs().mean(dim=(2, 3))
    return torch.cat([quantiles.flatten(1), chroma], dim=1)


def apply_correction(rgb: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
    """rgb + A rgb + b for each photo: (N, 3, H, W) in [0, 1] and (N, 3, 4) [A | b] -> (N, 3, H, W), clipped."""
    matrix, offset = correction[:, :, :3], correction[:, :, 3]
    changed = torch.einsum("nij,njhw->nihw", matrix, rgb) + offset[:, :, None, None]
    return (rgb + changed).clamp(0.0, 1.0)


class GlobalCorrection(nn.Module):
    """(N, 3, SIZE, SIZE) restored RGB in [0, 1] -> (N, 3, 4) [A | b] of its tone correction."""

    def __init__(self, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        # the training features' mean and spread (`normalize_features`): the head sees standardised features
        self.register_buffer("feature_mean", torch.zeros(FEATURES))
        self.register_buffer("feature_scale", torch.ones(FEATURES))
        self.head = nn.Sequential(
            nn.Linear(FEATURES, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 12),
        )
        nn.init.zeros_(self.head[-1].weight)  # the identity transform at the start
        nn.init.zeros_(self.head[-1].bias)

    @staticmethod
    def features(rgb: torch.Tensor) -> torch.Tensor:
        """The photo's colour statistics and tone quantiles, (N, FEATURES)."""
        return torch.cat([colour_statistics(rgb), tone_quantiles(rgb)], dim=1)

    def normalize_features(self, features: torch.Tensor) -> None:
        """Standardise the head's input by these (training) features' mean and spread."""
        self.feature_mean.copy_(features.mean(dim=0))
        self.feature_scale.copy_(features.std(dim=0).clamp_min(1e-4))

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.head((features - self.feature_mean) / self.feature_scale).view(-1, 3, 4)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.predict(self.features(rgb))
