"""The two tasks as networks with their units, reconstruction losses and critic views.

restore:  degraded RGB in [0, 1] -> clean RGB in [0, 1]   (U-Net with an output residual, no normalization layers,
          so tiled inference equals whole-image inference up to the receptive field)
colorize: L* in [0, 100] -> a*b*                            (U-Net with group norm and self-attention, or a U-Net
          on an ImageNet-pretrained encoder that also takes colour hints; the head is the ab-bin classifier of
          Zhang et al. 2016 decoded with the annealed mean, or plain regression)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from training.colorbins import ab_bin_centers, annealed_mean, nearest_bins
from training.config import TrainConfig
from training.encoder_unet import EncoderUNet
from training.hints import sample_hints
from training.losses import rebalanced_cross_entropy
from training.models import PatchCritic, UNetGenerator

AB_SCALE = 110.0


class RestoreNet(nn.Module):
    """Degraded RGB -> restored RGB, both in [0, 1] (the output is clamped only at export)."""

    def __init__(self, config: TrainConfig):
        super().__init__()
        g = config.generator
        self.unet = UNetGenerator(3, 3, g.width, g.depth, g.norm, g.attention, residual=True)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.unet(image)

    def predict(self, image: torch.Tensor, temperature: float | torch.Tensor = 1.0) -> torch.Tensor:
        """The output in target units at the input's size."""
        return self.forward(image)


class ColorizeNet(nn.Module):
    """L* (and colour hints, with a pretrained encoder) -> raw head output at 1/out_stride: bin logits (`bins`)
    or tanh-bounded ab / 110 (`regression`)."""

    def __init__(self, config: TrainConfig, class_weights: np.ndarray | None = None):
        super().__init__()
        g, c = config.generator, config.color
        self.head = c.head
        self.register_buffer("centers", torch.from_numpy(ab_bin_centers()))
        outputs = len(self.centers) if c.head == "bins" else 2
        self.takes_hints = bool(g.encoder)
        if g.encoder:
            if c.out_stride != 2:
                raise ValueError("a colorizer on a pretrained encoder predicts at stride 2 (color.out_stride=2)")
            self.unet = EncoderUNet(g.encoder, outputs, g.decoder_widths)
        else:
            if c.hint_share > 0:
                raise ValueError("colour hints need a pretrained encoder (generator.encoder)")
            self.unet = UNetGenerator(1, outputs, g.width, g.depth, g.norm, g.attention, out_stride=c.out_stride)
        shift = None
        if c.head == "bins" and class_weights is not None and c.prior_correction:
            shift = -c.prior_correction * torch.log(torch.as_tensor(class_weights, dtype=torch.float32)).view(-1, 1, 1)
        # derived from the colour prior, not learned: kept out of checkpoints, exported as a constant
        self.register_buffer("logit_shift", shift, persistent=False)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.takes_hints:
            return self.unet(lightness, hints)
        return self.unet(lightness / 50.0 - 1.0)

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """The bin logits the decoding uses: the head's, less the share of rebalancing it undoes."""
        return raw.float() if self.logit_shift is None else raw.float() + self.logit_shift

    def decode(
        self, raw: torch.Tensor, temperature: float | torch.Tensor, size: tuple[int, int], shifted: bool = False
    ) -> torch.Tensor:
        """Raw head output (or `shifted`: its `logits`) -> a*b* in Lab units at `size` (bilinear upsampling)."""
        if self.head == "bins":
            ab = annealed_mean(raw.float() if shifted else self.logits(raw), self.centers, temperature)
        else:
            ab = torch.tanh(raw.float()) * AB_SCALE
        return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)

    def predict(
        self, lightness: torch.Tensor, temperature: float | torch.Tensor = 0.38, hints: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.decode(self.forward(lightness, hints), temperature, lightness.shape[-2:])


class Task:
    """Ties a generator to its loss terms and to what its critic sees."""

    def __init__(self, config: TrainConfig, class_weights: np.ndarray | None = None):
        self.config = config
        self.name = config.task
        self.centers = torch.from_numpy(ab_bin_centers())
        self.class_weights = None if class_weights is None else torch.from_numpy(class_weights)
        if self.name == "colorize" and config.color.head == "bins" and class_weights is None:
            raise ValueError("the bins colour head needs class-rebalancing weights (the colour prior)")
        if self.name == "colorize" and config.color.head == "regression" and config.l1_weight <= 0:
            raise ValueError("the regression colour head needs l1_weight > 0")

    def build_generator(self) -> nn.Module:
        if self.name == "restore":
            return RestoreNet(self.config)
        weights = None if self.class_weights is None else self.class_weights.numpy()
        return ColorizeNet(self.config, weights)

    def build_critic(self) -> PatchCritic:
        channels = 6 if self.name == "restore" else 3
        return PatchCritic(channels, self.config.critic.width, self.config.critic.layers)

    def needs_prediction(self, adversarial: bool) -> bool:
        """Whether a generator step must decode its output (decoding the colour bins is costly)."""
        return self.name == "restore" or adversarial or self.config.l1_weight > 0

    def training_hints(self, target: torch.Tensor) -> torch.Tensor | None:
        """Colour hints drawn from the ground truth for a training batch (None: the task takes no hints)."""
        c = self.config.color
        if self.name != "colorize" or c.hint_share <= 0:
            return None
        return sample_hints(target, c.hint_share, c.hint_mean_points)

    def generate(
        self, generator: nn.Module, x: torch.Tensor, decode: bool = True, hints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(raw output, prediction in target units at full size, or None when not `decode`)."""
        if self.name == "restore":
            raw = generator(x)
            return raw, raw
        raw = generator(x, hints)
        return raw, generator.decode(raw, self.config.color.temperature, x.shape[-2:]) if decode else None

    def reconstruction_loss(
        self,
        raw: torch.Tensor,
        prediction: torch.Tensor | None,
        target: torch.Tensor,
        hints: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Named, weighted loss terms (their sum is the reconstruction loss); `hints` as the generator saw them."""
        c = self.config
        terms = {}
        if self.name == "colorize" and c.color.head == "bins":
            stride = c.color.out_stride
            target_small = F.avg_pool2d(target, stride) if stride > 1 else target
            centers, weights = self._on(self.centers, raw), self._on(self.class_weights, raw)
            bins, soft = nearest_bins(target_small, centers, c.color.neighbours, c.color.soft_sigma)
            emphasis = self.hint_emphasis(hints, stride)
            terms["class"] = c.class_weight * rebalanced_cross_entropy(raw, bins, soft, weights, emphasis)
        if c.l1_weight > 0:
            scale = 1.0 if self.name == "restore" else AB_SCALE
            terms["l1"] = c.l1_weight * F.l1_loss(prediction.float() / scale, target / scale)
        return terms

    def hint_emphasis(self, hints: torch.Tensor | None, stride: int) -> torch.Tensor | None:
        """(N, H/stride, W/stride) loss weights: 1 + hint_weight within hint_radius px of a hinted pixel."""
        c = self.config.color
        if hints is None or c.hint_weight <= 0:
            return None
        mask = F.max_pool2d(hints[:, 2:3].float(), stride) if stride > 1 else hints[:, 2:3].float()
        radius = max(0, c.hint_radius // stride)
        near = F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)
        return (1.0 + c.hint_weight * near)[:, 0]

    @staticmethod
    def _on(tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return tensor if tensor.device == like.device else tensor.to(like.device)

    def critic_view(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(condition, image) normalized to about [-1, 1], as the critic sees them."""
        if self.name == "restore":
            return x * 2.0 - 1.0, image * 2.0 - 1.0
        return x / 50.0 - 1.0, image / AB_SCALE
