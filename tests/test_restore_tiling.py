"""Tiled restoration equals the untiled run; blend windows; tile size checks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from restore.engine import OnnxModel
from restore.manifest import load_manifest
from restore.tiling import TilePlan, run_tiled


@pytest.fixture(scope="module")
def model(weights_dir) -> OnnxModel:
    return OnnxModel(load_manifest(weights_dir).model("restore"), "cpu")


def _photo(width: int, height: int) -> np.ndarray:
    return cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_CUBIC)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def _tiled(model, image, **options):
    calls = []

    def run(tile):
        calls.append(tile.shape[:2])
        return model.run_image(tile)

    spec = model.spec
    out = run_tiled(run, image, multiple=spec.size_multiple, receptive_field=spec.receptive_field, **options)
    return out, calls


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (601, 389)])
def test_tiled_equals_untiled(model, width, height):
    image = _photo(width, height)
    untiled, calls = _tiled(model, image, tile=0)
    assert calls == [(height, width)]
    tiled, calls = _tiled(model, image, tile=256, overlap=32)
    assert len(calls) > 4 and max(max(shape) for shape in calls) <= 256
    assert tiled.shape == image.shape and tiled.dtype == np.uint8
    assert _psnr(tiled, untiled) >= 45
    assert np.abs(tiled.astype(int) - untiled).max() <= 1  # only float summation order differs


def test_images_within_one_tile_run_once(model):
    image = _photo(200, 150)
    out, calls = _tiled(model, image, tile=256)
    assert calls == [(150, 200)] and out.shape == image.shape


def test_blend_windows_of_neighbours_sum_to_one():
    plan = TilePlan.make(tile=64, overlap=12, multiple=4, receptive_field=8)
    assert plan.stride == 64 - 12 - 8  # the cross-fade plus 4 px of context on each side
    starts = plan.starts(200)
    assert starts[0] == 0 and all(s % 4 == 0 for s in starts)
    total = np.zeros(200)
    for start in starts:
        window = plan.window(start, 200)
        total[start : start + len(window)] += window
        if start > 0:
            assert (window[: plan.margin] == 0).all()  # the context margin never counts
    np.testing.assert_allclose(total[: starts[-1]], 1.0, atol=1e-6)
    assert (total >= 1 - 1e-6).all()  # the last tile overlaps more; run_tiled divides by the sum


def test_every_tile_fits_the_image_and_the_last_ends_at_its_edge():
    plan = TilePlan.make(tile=256, overlap=32, multiple=8, receptive_field=12)
    for length in (257, 300, 777, 1024):
        starts = plan.starts(length)
        assert starts[-1] + min(plan.tile, length - starts[-1]) == length
        assert all(b - a <= plan.stride for a, b in zip(starts, starts[1:], strict=False))


def test_fitted_tiles_are_smaller_in_the_same_number_and_still_cover_the_image():
    plan = TilePlan.make(tile=512, overlap=32, multiple=16, receptive_field=96)
    for length in (600, 1024, 1536, 2160, 3840):
        fitted = plan.fit(length)
        starts = fitted.starts(length)
        assert len(starts) == len(plan.starts(length)) and fitted.tile <= plan.tile
        assert fitted.tile % 16 == 0 and all(s % 16 == 0 for s in starts)
        assert starts[-1] + min(fitted.tile, length - starts[-1]) == length
        assert all(b - a <= fitted.stride for a, b in zip(starts, starts[1:], strict=False))
    assert plan.fit(1024).tile == 432 and plan.fit(500) == plan  # one tile: nothing to fit


def test_too_small_tiles_are_refused_with_the_smallest_that_works():
    with pytest.raises(ValueError, match="use a tile of at least 56"):
        TilePlan.make(tile=48, overlap=32, multiple=8, receptive_field=12)
    TilePlan.make(tile=56, overlap=32, multiple=8, receptive_field=12)
