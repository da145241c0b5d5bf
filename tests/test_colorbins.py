"""Colour classes of the colorize head (Zhang et al. 2016): encoding, rebalancing and decoding."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training.colorbins import (  # noqa: E402
    ab_bin_centers,
    annealed_mean,
    rebalancing_weights,
    smooth_on_grid,
    soft_encode,
)
from training.config import resolve  # noqa: E402
from training.tasks import ColorizeNet  # noqa: E402

CENTERS = torch.from_numpy(ab_bin_centers())


def test_the_in_gamut_bins_are_a_grid_of_ten_and_include_gray():
    centers = ab_bin_centers()
    assert 200 < len(centers) < 400  # 313 in the paper's Lab; OpenCV's Lab gives a few less
    assert np.all(centers % 10 == 0)
    assert any((centers == 0).all(axis=1))


def test_soft_encoding_then_annealed_mean_near_zero_temperature_returns_the_bin_centre():
    index = torch.tensor([0, 57, 123, len(CENTERS) - 1])
    ab = CENTERS[index].T.reshape(1, 2, 1, 4)
    target = soft_encode(ab, CENTERS)  # (1, 1, 4, Q): 5 neighbours, the centre itself weighted most
    assert torch.allclose(target.sum(-1), torch.ones(1, 1, 4))
    assert torch.equal(target.argmax(-1).flatten(), index)
    logits = torch.log(target.clamp_min(1e-12)).permute(0, 3, 1, 2)
    decoded = annealed_mean(logits, CENTERS, 1e-3)
    assert torch.allclose(decoded, ab, atol=1e-3)


def test_rebalancing_weights_have_mean_one_under_the_prior_and_favour_rare_bins():
    rng = np.random.default_rng(0)
    prior = rng.random(len(CENTERS)) ** 4  # skewed, as photos are (mostly near gray)
    prior /= prior.sum()
    weights = rebalancing_weights(prior, mix=0.5)
    smoothed = smooth_on_grid(prior)
    assert np.isclose((smoothed * weights).sum(), 1.0, atol=1e-5)
    assert weights[np.argmin(smoothed)] > weights[np.argmax(smoothed)]
    assert np.all(np.diff(weights[np.argsort(smoothed)]) <= 1e-6)  # rarer -> heavier, monotonically


def test_prior_correction_subtracts_a_share_of_the_log_weights_before_decoding():
    weights = rebalancing_weights(np.full(len(CENTERS), 1.0 / len(CENTERS)) + np.linspace(0, 0.01, len(CENTERS)))
    logits = torch.randn(1, len(CENTERS), 2, 3)
    decoded = {}
    for share in (0.0, 0.5, 1.0):
        config = resolve("colorize", overrides=[{"color": {"prior_correction": share}}])
        model = ColorizeNet(config, weights)
        decoded[share] = model.decode(logits, 0.38, (2, 3))
        expected = annealed_mean(logits - share * torch.log(torch.from_numpy(weights)).view(-1, 1, 1), CENTERS, 0.38)
        assert torch.allclose(decoded[share], expected, atol=1e-5)
        assert "logit_shift" not in model.state_dict()  # derived from the prior, not a weight
    assert not torch.allclose(decoded[0.0], decoded[0.5])
