"""Colour hints sampled from the ground truth, as Zhang et al. 2017 ("Real-Time User-Guided Image Colorization
with Learned Deep Priors", section 3.3) train their local-hints network:

- a share of samples gets no hints at all, so the same network colourizes automatically;
- the others get a geometric number of points (mean `mean_points`), each a square patch of 1-9 px at a uniform
  position, coloured with the mean a*b* of the ground truth in that patch.

Hints are (N, 3, H, W): a* / 110 and b* / 110 inside the patches (0 elsewhere), then the mask (1 inside).
"""

from __future__ import annotations

import torch

AB_SCALE = 110.0
MAX_PATCH = 9


def empty_hints(like: torch.Tensor) -> torch.Tensor:
    """No hints for a batch shaped like `like` (N, C, H, W): the automatic path."""
    n, _, h, w = like.shape
    return like.new_zeros(n, 3, h, w)


def sample_hints(
    ab: torch.Tensor, share: float, mean_points: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Hints for a batch of ground-truth a*b* (N, 2, H, W) in Lab units; see the module docstring."""
    n, _, h, w = ab.shape
    hints = empty_hints(ab)
    with_hints = torch.rand(n, generator=generator) < share
    # Geometric(p) on {1, 2, ...}, mean 1 / p, by inversion: floor(log U / log(1 - p)) + 1
    p = 1.0 / max(mean_points, 1.0)
    uniform = torch.rand(n, generator=generator).clamp_min(1e-12)
    counts = torch.ones(n) if p >= 1.0 else torch.floor(torch.log(uniform) / torch.log1p(torch.tensor(-p))) + 1
    for i in torch.nonzero(with_hints).flatten().tolist():
        for _ in range(int(counts[i])):
            size = int(torch.randint(1, MAX_PATCH + 1, (1,), generator=generator))
            top = int(torch.randint(0, max(1, h - size + 1), (1,), generator=generator))
            left = int(torch.randint(0, max(1, w - size + 1), (1,), generator=generator))
            patch = ab[i, :, top : top + size, left : left + size]
            hints[i, :2, top : top + size, left : left + size] = patch.mean(dim=(1, 2), keepdim=True) / AB_SCALE
            hints[i, 2, top : top + size, left : left + size] = 1.0
    return hints
