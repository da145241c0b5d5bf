"""Generator and critic.

Generator: a conditional U-Net (Ronneberger et al. 2015) built from residual blocks, with optional SAGAN-style
self-attention at the bottleneck (Zhang et al. 2019, as DeOldify uses) and an optional output residual (`restore`
predicts a correction to its input).

Critic: a PatchGAN (Isola et al. 2017) conditioned on the generator's input by channel concatenation, with no batch
norm, as WGAN-GP's per-sample gradient penalty requires (Gulrajani et al. 2017, section 4), and spectral
normalization (Miyato et al. 2018) on every convolution: a choice added to WGAN-GP, not required by it (the SN-GAN
and DeOldify critics use it; it bounds the critic's Lipschitz constant layer by layer).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

Modulation = list[tuple[torch.Tensor, torch.Tensor]]  # FiLM per modulated layer: (gamma, beta), each (N, channels)


def _norm(kind: str, channels: int) -> nn.Module:
    """Per-pixel-independent layers keep tiled inference exact; group norm sees the whole image."""
    if kind == "none":
        return nn.Identity()
    if kind == "group":
        return nn.GroupNorm(min(32, channels // 4), channels)
    raise ValueError(f"unknown norm {kind!r}")


class ResBlock(nn.Module):
    """conv3x3 - act - conv3x3 with an identity shortcut; the residual branch starts small."""

    def __init__(self, channels: int, norm: str = "none"):
        super().__init__()
        self.body = nn.Sequential(
            _norm(norm, channels),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            _norm(norm, channels),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        nn.init.zeros_(self.body[-1].bias)
        self.body[-1].weight.data.mul_(0.1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class SelfAttention(nn.Module):
    """SAGAN self-attention: out = x + gamma * softmax(Q^T K) V, gamma starting at 0."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # n, hw, c/8
        k = self.key(x).flatten(2)  # n, c/8, hw
        v = self.value(x).flatten(2)  # n, c, hw
        attention = torch.softmax(torch.bmm(q, k), dim=-1)  # n, hw, hw
        out = torch.bmm(v, attention.transpose(1, 2)).view(n, c, h, w)
        return x + self.gamma * out


class Down(nn.Module):
    """Halve the resolution with a strided convolution, then a residual block."""

    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.block = ResBlock(cout, norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.act(self.conv(x)))


class Up(nn.Module):
    """Bilinear upsampling to the skip's size (no checkerboard), conv, concatenate the skip, fuse, residual block."""

    def __init__(self, cin: int, cskip: int, cout: int, norm: str):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.fuse = nn.Conv2d(cout + cskip, cout, 1)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.block = ResBlock(cout, norm)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        x = self.act(self.conv(x))
        return self.block(self.act(self.fuse(torch.cat([x, skip], dim=1))))


class UNetGenerator(nn.Module):
    """Conditional U-Net.

    Args:
        in_channels / out_channels: e.g. 3 -> 3 for `restore`, 1 -> 313 bin logits for `colorize`.
        width: channels at full resolution; level i has width * 2**min(i, 3).
        depth: number of downsamplings; inputs are padded to a multiple of 2**depth by the caller.
        norm: "none" (tiles exactly) or "group".
        attention: self-attention at the bottleneck.
        residual: add the input to the output (`restore`).
        out_stride: 1 for full-resolution output, 2 or 4 to stop the decoder early (the colour head works at
            reduced resolution, as in Zhang et al. 2016).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        width: int = 32,
        depth: int = 4,
        norm: str = "none",
        attention: bool = False,
        residual: bool = False,
        out_stride: int = 1,
    ):
        super().__init__()
        if residual and in_channels != out_channels:
            raise ValueError("an output residual needs in_channels == out_channels")
        skipped_levels = {1: 0, 2: 1, 4: 2}[out_stride]
        channels = [width * 2 ** min(i, 3) for i in range(depth + 1)]
        self.residual = residual
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True))
        self.downs = nn.ModuleList(Down(channels[i], channels[i + 1], norm) for i in range(depth))
        self.attention = SelfAttention(channels[-1]) if attention else nn.Identity()
        self.ups = nn.ModuleList(
            Up(channels[i + 1], channels[i], channels[i], norm) for i in reversed(range(skipped_levels, depth))
        )
        self.head = nn.Conv2d(channels[skipped_levels], out_channels, 3, padding=1)
        self.size_multiple = 2**depth
        # the layers `modulation` scales and shifts, in order: the stem, each down level, each up level
        self.modulated_channels = [width, *channels[1:], *reversed(channels[skipped_levels:depth])]

    def forward(self, x: torch.Tensor, modulation: Modulation | None = None) -> torch.Tensor:
        """modulation: per layer of `modulated_channels`, h <- h * (1 + gamma) + beta (training.context)."""
        return self.output(x, self.features(x, modulation))

    def features(self, x: torch.Tensor, modulation: Modulation | None = None) -> torch.Tensor:
        """The last decoder level's activations, which the head turns into the output (another head may share
        them)."""
        layers = iter(modulation or ())

        def modulated(h: torch.Tensor) -> torch.Tensor:
            if modulation is None:
                return h
            gamma, beta = next(layers)
            return h * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]

        h = modulated(self.stem(x))
        skips = []
        for down in self.downs:
            skips.append(h)
            h = modulated(down(h))
        h = self.attention(h)
        for up in self.ups:
            h = modulated(up(h, skips.pop()))
        return h

    def output(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """The head on `features` (from features(x)), with the input added for a residual U-Net."""
        out = self.head(features)
        return x + out if self.residual else out


class PatchCritic(nn.Module):
    """Spectrally normalized PatchGAN critic on concat(condition, image); one score per ~70 px patch.

    No normalization layers: the gradient penalty is taken per sample (Gulrajani et al. 2017).
    `forward(..., features=True)` also returns each block's activations for feature matching (pix2pixHD).
    """

    def __init__(self, in_channels: int, width: int = 64, layers: int = 3):
        super().__init__()
        blocks = []
        cin = in_channels
        for i in range(layers):
            cout = width * 2 ** min(i, 3)
            blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)))
            cin = cout
        cout = width * 2 ** min(layers, 3)
        blocks.append(nn.Sequential(spectral_norm(nn.Conv2d(cin, cout, 4, padding=1)), nn.LeakyReLU(0.2)))
        self.blocks = nn.ModuleList(blocks)
        self.score = spectral_norm(nn.Conv2d(cout, 1, 4, padding=1))

    def forward(
        self, condition: torch.Tensor, image: torch.Tensor, features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        h = torch.cat([condition, image], dim=1)
        activations = []
        for block in self.blocks:
            h = block(h)
            activations.append(h)
        score = self.score(h)
        return (score, activations) if features else score
