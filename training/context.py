"""Whole-photo context for the restorer (#19): what the photo is and what state its colours are in, as FiLM.

The local restore network sees 189 px around each pixel, so it cannot tell a faded or yellowed print from a pale
or warm scene. This module sees a thumbnail of the whole degraded photo (at inference
restore.context.photo_thumbnail, an area resize; in training the degraded crop itself, which is the photo's
short side at that size), describes it by the pooled features of an ImageNet-pretrained encoder (frozen: what
is in the picture) and by colour statistics (training.global_correction.colour_statistics: black point, spread
and cast), and maps that vector to a feature-wise linear modulation (FiLM, Perez et al. 2018) of every U-Net
level: h <- h * (1 + gamma) + beta, per channel. The last layer starts at zero, so a restorer with context
starts as the restorer it was fine-tuned from. The thumbnail is the same for every tile of a photo, so tiled
and untiled inference stay equal.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from training.encoders import efficientnet_lite, lite_input
from training.global_correction import STATISTICS, colour_statistics
from training.models import Modulation


class PhotoContext(nn.Module):
    """(N, 3, S, S) thumbnail of the whole degraded photo, RGB in [0, 1] -> FiLM (gamma, beta) for layers of
    `channels` channels each."""

    def __init__(self, encoder: str, channels: list[int], hidden: int = 256):
        super().__init__()
        self.encoder = efficientnet_lite(encoder)
        self.encoder.reset_classifier(0)  # pooled features
        self.encoder.requires_grad_(False)
        self.encoder.eval()
        self.channels = list(channels)
        self.head = nn.Sequential(
            nn.Linear(self.encoder.num_features + STATISTICS, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 2 * sum(self.channels)),
        )
        nn.init.zeros_(self.head[-1].weight)  # no modulation at the start
        nn.init.zeros_(self.head[-1].bias)

    def train(self, mode: bool = True) -> PhotoContext:
        super().train(mode)
        self.encoder.eval()  # frozen, batch-norm statistics included
        return self

    def forward(self, thumbnail: torch.Tensor) -> Modulation:
        with torch.no_grad():
            pooled = self.encoder(lite_input(thumbnail * 255.0))
        vector = torch.cat([pooled.float(), colour_statistics(thumbnail.float())], dim=1)
        parameters = self.head(vector).split([2 * c for c in self.channels], dim=1)
        return [tuple(p.chunk(2, dim=1)) for p in parameters]
