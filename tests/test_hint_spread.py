"""restore.hint_spread: hints recolour their own region up to its edges, and several hints that agree correct the
whole photo's colours."""

from __future__ import annotations

import numpy as np

from restore.hint_spread import TRANSFER_MIN_POINTS, spread_hints


def two_regions(height: int = 120, width: int = 160) -> np.ndarray:
    """L*: a light left half (70) and a dark right half (30), with a little texture."""
    lightness = np.full((height, width), 70.0, np.float32)
    lightness[:, width // 2 :] = 30.0
    return lightness + np.random.default_rng(0).normal(0, 0.5, (height, width)).astype(np.float32)


def point_hints(shape: tuple[int, int], points: list[tuple[int, int]], ab: tuple[float, float]) -> np.ndarray:
    hints = np.zeros((*shape, 3), np.float32)
    for y, x in points:
        hints[y - 2 : y + 3, x - 2 : x + 3] = (*ab, 1.0)
    return hints


def test_no_hints_leave_the_colours_alone():
    lightness = two_regions()
    ab = np.random.default_rng(1).normal(0, 10, (*lightness.shape, 2)).astype(np.float32)
    assert spread_hints(lightness, ab, np.zeros((*lightness.shape, 3), np.float32)) is ab


def test_a_stroke_recolours_its_region_and_stops_at_the_edge():
    lightness = two_regions()
    ab = np.zeros((*lightness.shape, 2), np.float32)
    hint = (40.0, -30.0)
    stroke = point_hints(lightness.shape, [(60, x) for x in range(10, 71, 5)], hint)  # across the light half
    result = spread_hints(lightness, ab, stroke)
    own, other = result[40:81, 5:75].reshape(-1, 2), result[:, 85:].reshape(-1, 2)  # own: within 20 px
    assert np.linalg.norm(own.mean(axis=0) - hint) < 10  # the light half around the stroke takes the colour
    assert np.linalg.norm(other, axis=1).max() < 5  # the dark half keeps the model's colours
    dot = spread_hints(lightness, ab, point_hints(lightness.shape, [(60, 40)], hint))
    distance = np.linalg.norm(dot - np.float32(hint), axis=2)
    assert distance[58:63, 38:43].mean() < 10 and distance[5:15, 5:75].mean() > 20  # a lone dot reaches less far


def test_hints_that_agree_correct_the_model_everywhere_but_fewer_only_locally():
    lightness = two_regions()
    model = np.zeros((*lightness.shape, 2), np.float32)
    model[..., 0] = 20.0  # the model paints everything too red by 20 a*
    points = [(20, 20), (100, 20), (60, 60), (20, 100), (100, 100)]  # truth: a* = 0 everywhere
    many = spread_hints(lightness, model, point_hints(lightness.shape, points, (0.0, 0.0)))
    assert np.abs(many[..., 0]).max() < 4
    few = points[: TRANSFER_MIN_POINTS - 1]
    corner = (slice(0, 10), slice(150, 160))  # the dark half, which the few hints do not reach
    local = spread_hints(lightness, model, point_hints(lightness.shape, few, (0.0, 0.0)))
    assert np.abs(local[corner][..., 0] - 20.0).max() < 2
