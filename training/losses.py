"""Losses: adversarial variants, the WGAN-GP gradient penalty, feature matching, rebalanced colour classification.

Adversarial objectives, as (critic loss, generator loss) from critic scores on real and fake samples:
- wgan-gp / wgan-clip: Arjovsky et al. 2017; critic maximizes E[D(real)] - E[D(fake)]. The Lipschitz constraint comes
  from the gradient penalty (Gulrajani et al. 2017) or from weight clipping (the original WGAN).
- hinge: Lim & Ye 2017 / Miyato et al. 2018.
- lsgan: Mao et al. 2017, targets 1 (real) and 0 (fake).
- vanilla: Goodfellow et al. 2014 with the non-saturating generator loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from training.encoders import efficientnet_lite, lite_input

ADVERSARIAL_LOSSES = ("wgan-gp", "wgan-clip", "hinge", "lsgan", "vanilla")


def critic_loss(kind: str, real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    """What the critic minimizes."""
    if kind in ("wgan-gp", "wgan-clip"):
        return fake_score.mean() - real_score.mean()
    if kind == "hinge":
        return F.relu(1.0 - real_score).mean() + F.relu(1.0 + fake_score).mean()
    if kind == "lsgan":
        return 0.5 * ((real_score - 1.0) ** 2).mean() + 0.5 * (fake_score**2).mean()
    if kind == "vanilla":
        return F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose from {ADVERSARIAL_LOSSES}")


def generator_loss(kind: str, fake_score: torch.Tensor) -> torch.Tensor:
    """What the generator minimizes against the critic."""
    if kind in ("wgan-gp", "wgan-clip", "hinge"):
        return -fake_score.mean()
    if kind == "lsgan":
        return 0.5 * ((fake_score - 1.0) ** 2).mean()
    if kind == "vanilla":
        return F.softplus(-fake_score).mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; choose from {ADVERSARIAL_LOSSES}")


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """Two-sided penalty E[(||grad_x D(x)||_2 - 1)^2] at random interpolates x = eps*real + (1-eps)*fake.

    `critic` maps an image batch to scores (the condition is bound by the caller); a patch critic's score for a
    sample is the mean over its patches. Gulrajani et al. 2017, Algorithm 1.
    """
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    interpolates = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(True)
    scores = critic(interpolates).flatten(1).mean(dim=1)
    (gradients,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    norms = gradients.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def feature_matching(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """pix2pixHD's feature-matching loss: mean L1 between the critic's activations on real and fake."""
    return sum(F.l1_loss(f, r.detach()) for r, f in zip(real_features, fake_features, strict=True)) / len(real_features)


def instance_noise_sigma(initial: float, step: int, total: int) -> float:
    """Standard deviation of the noise added to critic inputs, annealed linearly to 0 (Arjovsky & Bottou 2017)."""
    return initial * max(0.0, 1.0 - step / max(1, total))


def rebalanced_cross_entropy(
    logits: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    class_weights: torch.Tensor,
    emphasis: torch.Tensor | None = None,
) -> torch.Tensor:
    """Zhang et al. 2016 eq. 2: -sum_hw v(Z_hw) sum_q Z_hwq log Zhat_hwq, v = weight of the target's modal bin.

    logits: (N, Q, H, W); the soft encoding Z as its non-zero entries (training.colorbins.nearest_bins): bin
    `indices` (N, H, W, k), nearest (modal) first, with their `weights`. `emphasis` (N, H, W), if given,
    multiplies v pixel by pixel (e.g. more weight near colour hints).
    """
    log_probabilities = torch.log_softmax(logits.float().permute(0, 2, 3, 1), dim=-1)
    pixel_weights = class_weights[indices[..., 0]]
    if emphasis is not None:
        pixel_weights = pixel_weights * emphasis
    return -(pixel_weights * (weights * log_probabilities.gather(-1, indices)).sum(dim=-1)).mean()


class FeatureLoss(torch.nn.Module):
    """DeOldify's feature (perceptual) loss (Johnson et al. 2016): mean L1 between a frozen ImageNet network's
    activations on the generated and on the true colour image, averaged over its first `levels` scales.

    The network is EfficientNet-Lite0 on RGB (the colorizer's own encoder sees L only), so the loss asks for the
    colours an ImageNet model expects of the scene, not only per-pixel likely ones.
    """

    def __init__(self, levels: int = 4):
        super().__init__()
        # eval(): batch-norm statistics stay ImageNet's (nothing trains this module)
        self.network = efficientnet_lite("efficientnet_lite0", features_only=True).eval().requires_grad_(False)
        self.levels = levels

    def forward(self, generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """generated, target: (N, 3, H, W) RGB in [0, 1]."""
        fake = self.network(lite_input(generated * 255.0))[: self.levels]
        with torch.no_grad():
            real = self.network(lite_input(target * 255.0))[: self.levels]
        return sum(F.l1_loss(f.float(), r.float()) for f, r in zip(fake, real, strict=True)) / self.levels
