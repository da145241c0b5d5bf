"""Global colour correction after restoration: one affine colour transform per photo, seen from the whole photo.

The local restore network sees 189 px around each pixel, so it cannot tell a faded or yellowed print from a pale or
warm scene, and it leaves or even amplifies casts (issue #19). This network sees the whole restored photo at
SIZE x SIZE, describes it by the pooled features of an ImageNet-pretrained EfficientNet-Lite0 (frozen: what is in
the picture) and by colour statistics (per-channel mean, spread and a soft histogram: what its colours are now), and
predicts the 3 x 4 matrix [A | b] of a colour transform rgb -> rgb + A rgb + b, started at the identity. It runs
once per photo and the transform applies to every pixel at full resolution, so tiling cannot change it.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from training.encoders import efficientnet_lite

SIZE = 224  # the side the photo is resized to (ImageNet's)
HISTOGRAM_BINS = 8
STATISTICS = 3 * (2 + HISTOGRAM_BINS)


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


def apply_correction(rgb: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
    """rgb + A rgb + b for each photo: (N, 3, H, W) in [0, 1] and (N, 3, 4) [A | b] -> (N, 3, H, W), clipped."""
    matrix, offset = correction[:, :, :3], correction[:, :, 3]
    changed = torch.einsum("nij,njhw->nihw", matrix, rgb) + offset[:, :, None, None]
    return (rgb + changed).clamp(0.0, 1.0)


class GlobalCorrection(nn.Module):
    """(N, 3, SIZE, SIZE) restored RGB in [0, 1] -> (N, 3, 4) [A | b] of its colour correction."""

    def __init__(self, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.encoder = efficientnet_lite("efficientnet_lite0")
        self.encoder.reset_classifier(0)  # pooled features (1280)
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        features = self.encoder.num_features
        self.head = nn.Sequential(
            nn.Linear(features + STATISTICS, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 12),
        )
        nn.init.zeros_(self.head[-1].weight)  # the identity transform at the start
        nn.init.zeros_(self.head[-1].bias)

    def train(self, mode: bool = True) -> GlobalCorrection:
        super().train(mode)
        self.encoder.eval()  # frozen, batch-norm statistics included
        return self

    def features(self, rgb: torch.Tensor) -> torch.Tensor:
        """The encoder's pooled features and the colour statistics, (N, 1280 + STATISTICS)."""
        with torch.no_grad():
            pooled = self.encoder((rgb * 255.0 - 127.0) / 128.0)
        return torch.cat([pooled, colour_statistics(rgb)], dim=1)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features).view(-1, 3, 4)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return self.predict(self.features(rgb))
