"""A U-Net on an ImageNet-pretrained encoder, in DeOldify's manner (Antic 2019, after fastai's DynamicUnet).

    L* -> gray -> pretrained encoder (features at strides 2, 4, 8, 16, 32)
       -> middle convolutions at stride 32
       -> decoder blocks up to stride 2, each: PixelShuffle x2 (ICNR init, blur) of the lower level, concatenated
          with the encoder's skip at that scale (and the user's colour hints at that scale), two 3x3 convolutions
       -> self-attention (SAGAN) after the stride-16 block
       -> a dense skip from the input: the L* input folded losslessly to stride 2 (pixel unshuffle), concatenated
       -> output head at stride 2

Colour hints (Zhang et al. 2017) enter every decoder scale as (mean a*, mean b*, covered fraction) of the hinted
pixels in each cell, so a hint can reach the whole photo through the coarse scales; all-zero hints mean automatic.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from training.encoders import efficientnet_lite, lightness_to_gray, lite_input
from training.models import SelfAttention

HINT_CHANNELS = 3  # a* / 110 and b* / 110 where hinted, then the hint mask (1 = hinted)


def icnr_(weight: torch.Tensor, scale: int = 2) -> None:
    """ICNR (Aitken et al. 2017): initialise a conv feeding PixelShuffle(scale) so that every sub-pixel starts
    with the same kernel, i.e. like nearest-neighbour upsampling: no checkerboard at the start."""
    out_channels, in_channels, kh, kw = weight.shape
    base = torch.empty(out_channels // scale**2, in_channels, kh, kw)
    nn.init.kaiming_normal_(base)
    with torch.no_grad():
        weight.copy_(base.repeat_interleave(scale**2, dim=0))


def conv_bn_relu(cin: int, cout: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class PixelShuffleUp(nn.Module):
    """x2 upsampling: 1x1 conv to 4x channels (ICNR), PixelShuffle, then a 2x2 average after a replication pad
    (the blur of Sugawara et al. 2019 that DeOldify uses against checkerboard artifacts)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 1)
        icnr_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.shuffle = nn.PixelShuffle(2)
        self.blur = nn.Sequential(nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blur(self.act(self.shuffle(self.conv(x))))


class DecoderBlock(nn.Module):
    """Upsample the lower level, concatenate the batch-normalised skip and the hints at this scale, two convs."""

    def __init__(self, cin: int, cskip: int, cout: int, attention: bool = False):
        super().__init__()
        self.up = PixelShuffleUp(cin, cin // 2)
        self.skip_norm = nn.BatchNorm2d(cskip)
        self.convs = nn.Sequential(conv_bn_relu(cin // 2 + cskip + HINT_CHANNELS, cout), conv_bn_relu(cout, cout))
        self.attention = SelfAttention(cout) if attention else nn.Identity()

    def forward(self, x: torch.Tensor, skip: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        x = self.up(x)[..., : skip.shape[-2], : skip.shape[-1]]  # an odd skip size: drop the extra row/column
        return self.attention(self.convs(torch.cat([x, F.relu(self.skip_norm(skip)), hints], dim=1)))


def hints_at(hints: torch.Tensor, stride: int) -> torch.Tensor:
    """(N, 3, H, W) hints -> their cell means at `stride`, with a*b* averaged over the hinted pixels only."""
    if stride == 1:
        return hints
    pooled = F.avg_pool2d(hints, stride, ceil_mode=True)
    coverage = pooled[:, 2:3]
    return torch.cat([pooled[:, :2] / coverage.clamp_min(1e-6) * (coverage > 0), coverage], dim=1)


class EncoderUNet(nn.Module):
    """L* in [0, 100] (and optional hints) -> `out_channels` maps at stride 2.

    Args:
        encoder: "efficientnet_lite0" or "efficientnet_lite2" (packaged ImageNet weights, `training.encoders`).
        out_channels: e.g. the ab-bin count for the colour head.
        widths: decoder channels at strides 16, 8, 4, 2 (the middle keeps the widest).
    """

    size_multiple = 32

    def __init__(self, encoder: str, out_channels: int, widths: tuple[int, int, int, int] = (192, 128, 96, 64)):
        super().__init__()
        self.encoder = efficientnet_lite(encoder, features_only=True, in_chans=1)
        channels = self.encoder.feature_info.channels()  # strides 2, 4, 8, 16, 32
        middle = channels[-1]
        self.middle = nn.Sequential(conv_bn_relu(channels[-1] + HINT_CHANNELS, middle), conv_bn_relu(middle, middle))
        blocks, cin = [], middle
        for skip, cout, stride in zip(reversed(channels[:-1]), widths, (16, 8, 4, 2), strict=True):
            blocks.append(DecoderBlock(cin, skip, cout, attention=stride == 16))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.head = nn.Sequential(conv_bn_relu(cin + 4 + HINT_CHANNELS, cin), nn.Conv2d(cin, out_channels, 1))
        self.freeze_encoder(True)
        self.encoder.eval()

    def freeze_encoder(self, frozen: bool) -> None:
        """Stop or start training the encoder's weights. Its batch-norm statistics stay frozen either way (see
        `train`): batches of a few crops would pull them off their ImageNet values."""
        self.encoder.requires_grad_(not frozen)

    def train(self, mode: bool = True) -> EncoderUNet:
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        n, _, h, w = lightness.shape
        if hints is None:
            hints = lightness.new_zeros(n, HINT_CHANNELS, h, w)
        features = self.encoder(lite_input(lightness_to_gray(lightness)))
        x = self.middle(torch.cat([features[-1], hints_at(hints, 32)], dim=1))
        for block, skip, stride in zip(self.decoder, reversed(features[:-1]), (16, 8, 4, 2), strict=True):
            x = block(x, skip, hints_at(hints, stride))
        dense = self.unshuffle(lightness / 50.0 - 1.0)
        return self.head(torch.cat([x, dense, hints_at(hints, 2)], dim=1))
