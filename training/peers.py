"""Peer restorers for `revive-train eval` (evaluation only; never shipped).

FFDNet (Zhang, Zuo & Zhang 2018, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based Image Denoising"):

    x -> replicate-pad to even size -> pixel-unshuffle by 2 (4x the channels, half the size)
      -> concatenate a constant noise-level map sigma / 255 (one channel)
      -> conv 3x3 + ReLU, 10 x (conv 3x3 + ReLU), conv 3x3      (96 channels for colour)
      -> pixel-shuffle by 2 -> crop to the input size: the clean image

The layer names follow KAIR's `models/network_ffdnet.py` (`model.0` ... `model.22`: the convolutions at the even
indices, ReLUs between), so its released weights load unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIGMAS = (5.0, 10.0, 15.0, 25.0, 35.0, 50.0)  # candidate noise levels (0-255) when the level is tuned


class FFDNet(nn.Module):
    """FFDNet for `channels`-channel images in [0, 1], `width` features, `depth` convolutions."""

    def __init__(self, channels: int = 3, width: int = 96, depth: int = 12):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels * 4 + 1, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, channels * 4, 3, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """image (N, C, H, W) in [0, 1]; sigma (N,) noise standard deviations in [0, 1] units."""
        height, width = image.shape[-2:]
        x = F.pad(image, (0, width % 2, 0, height % 2), mode="replicate")
        x = F.pixel_unshuffle(x, 2)
        level = sigma.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[-2:])
        x = F.pixel_shuffle(self.model(torch.cat([x, level], dim=1)), 2)
        return x[..., :height, :width]


def load_ffdnet(path: Path) -> FFDNet:
    """FFDNet with a KAIR-layout state dict (e.g. the official `ffdnet_color.pth`), in eval mode."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    first = state.get("model.0.weight")
    if first is None:
        raise ValueError(f"{path} is not an FFDNet state dict in KAIR's layout (no model.0.weight)")
    width, inputs = first.shape[:2]
    depth = sum(1 for key in state if key.endswith(".weight"))
    network = FFDNet((inputs - 1) // 4, width, depth)
    network.load_state_dict(state)
    return network.eval()


def ffdnet_restorer(network: FFDNet, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """uint8 RGB -> uint8 RGB, FFDNet at the noise level `sigma` (0-255 units)."""

    @torch.no_grad()
    def restore(rgb: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
        y = network(x, torch.tensor([sigma / 255.0]))
        return (y[0].permute(1, 2, 0).clamp(0, 1) * 255.0).round().byte().numpy()

    return restore


def tune_sigma(
    network: FFDNet, pairs: list[tuple[np.ndarray, np.ndarray]], score: Callable[[np.ndarray, np.ndarray], float]
) -> tuple[float, dict[float, float]]:
    """The candidate noise level with the best mean `score(clean, restored)` over (clean, degraded) `pairs`,
    and every candidate's mean: FFDNet's one free parameter, chosen on photos other than the evaluation's."""
    means = {}
    for sigma in SIGMAS:
        restore = ffdnet_restorer(network, sigma)
        means[sigma] = float(np.mean([score(clean, restore(degraded)) for clean, degraded in pairs]))
    return max(means, key=means.get), means
