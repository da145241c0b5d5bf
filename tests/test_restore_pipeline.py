"""Restorer: restore then colourize, lazy model loading, options from the manifest."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from skimage import data

from benchmarks.tiny_models import write_weights
from restore import ProcessOptions, Restorer
from restore.color import as_gray, chroma_level, rgb_to_lab, tint_curve, tint_stray
from restore.errors import WeightsError
from restore.pipeline import REPO_WEIGHTS, default_weights_dir

PHOTO = cv2.resize(data.astronaut(), (300, 200), interpolation=cv2.INTER_AREA)
GRAY = np.repeat(cv2.cvtColor(PHOTO, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


@pytest.fixture
def restorer(weights_dir) -> Restorer:
    return Restorer(weights_dir, device="cpu", tile=128, tile_overlap=16)


def test_process_returns_uint8_rgb_of_the_same_size(restorer):
    for image in (PHOTO, GRAY, PHOTO[:37, :53]):
        out = restorer.process(image)
        assert out.shape == image.shape and out.dtype == np.uint8
        assert out is not image


def test_restore_runs_tiled_and_matches_the_untiled_run(restorer, weights_dir):
    untiled = Restorer(weights_dir, device="cpu", tile=0).process(PHOTO, colorize="never")
    tiled = restorer.process(PHOTO, colorize="never")
    assert np.abs(tiled.astype(int) - untiled).max() <= 1
    assert not np.array_equal(tiled, PHOTO)  # the model did something


def test_a_gray_photo_restores_to_gray_and_a_colour_one_keeps_its_colour(restorer):
    scratched = GRAY.copy()
    cv2.line(scratched, (20, 30), (280, 170), (255, 255, 255), 3)
    assert chroma_level(restorer.restore_image(PHOTO)) > 4  # the tiny model mixes channels
    wobbled = np.clip(scratched.astype(int) + [0, 1, -1], 0, 255).astype(np.uint8)  # a colour JPEG of a gray scan
    for gray, strength in ((scratched, 1.0), (wobbled, 1.0), (wobbled, 0.5)):
        out = restorer.restore_image(gray, strength=strength)
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
        assert np.abs(out.astype(int) - as_gray(gray)).mean() > 1  # restored, not only grayed


def test_a_toned_print_gains_no_hue_from_the_model(restorer):
    sepia = np.clip(GRAY * [1.0, 0.85, 0.65], 0, 255).astype(np.uint8)
    cv2.line(sepia, (20, 30), (280, 170), (250, 235, 200), 3)
    out = restorer.restore_image(sepia)
    stray = np.hypot(*np.moveaxis(tint_stray(out, tint_curve(out)), 2, 0))  # colour off the output's tint curve
    assert np.percentile(stray, 99) < 6  # the tiny model mixes channels: 26 without keep_print_hues
    assert np.hypot(*np.moveaxis(rgb_to_lab(out)[..., 1:], 2, 0)).mean() > 10  # toned still, not grayed


def test_strength_keeps_that_share_of_the_models_change(restorer):
    full = restorer.process(PHOTO, colorize="never").astype(int)
    assert np.array_equal(restorer.process(PHOTO, colorize="never", strength=1.0), full)
    assert np.array_equal(restorer.process(PHOTO, colorize="never", strength=0.0), PHOTO)
    half = restorer.process(PHOTO, colorize="never", strength=0.5).astype(int)
    assert np.abs(2 * half - (PHOTO + full)).max() <= 1  # halfway, to the rounding
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="strength must be between 0 and 1"):
            restorer.process(PHOTO, strength=bad)


def test_auto_colourizes_black_and_white_only(restorer):
    colourized = restorer.process(GRAY, restore=False)
    assert chroma_level(colourized) > 4 * chroma_level(GRAY) + 1
    np.testing.assert_array_equal(restorer.process(PHOTO, restore=False, colorize="auto"), PHOTO)
    assert not np.array_equal(restorer.process(PHOTO, restore=False, colorize="always"), PHOTO)
    np.testing.assert_array_equal(restorer.process(GRAY, restore=False, colorize="never"), GRAY)


def test_colour_keeps_the_full_resolution_lightness(restorer):
    out = restorer.process(GRAY, restore=False, colorize="always", render_size=32)
    lightness_error = np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(GRAY)[..., 0])
    assert np.median(lightness_error) < 0.5 and lightness_error.max() < 8  # rounding, gamut clipping


def test_render_size_bounds_the_colorize_input_and_never_upscales(restorer, monkeypatch):
    model = restorer.model("colorize")
    seen = []
    original = model.run_image
    monkeypatch.setattr(model, "run_image", lambda image, *rest: seen.append(image.shape) or original(image, *rest))
    restorer.process(GRAY, restore=False, colorize="always")  # manifest render_size: 64
    restorer.process(GRAY, restore=False, colorize="always", render_size=100)
    restorer.process(GRAY[:40, :50], restore=False, colorize="always", render_size=100)
    assert seen == [(43, 64, 1), (67, 100, 1), (40, 50, 1)]


def test_lower_temperature_is_more_vivid(restorer):
    vivid = restorer.process(GRAY, restore=False, colorize="always", temperature=0.1)
    dull = restorer.process(GRAY, restore=False, colorize="always", temperature=1.0)
    chroma = [np.hypot(*np.moveaxis(rgb_to_lab(image)[..., 1:], -1, 0)).mean() for image in (vivid, dull)]
    assert chroma[0] > 1.5 * chroma[1]
    with pytest.raises(ValueError, match=r"outside the colorize model's range \[0.05, 1.0\]"):
        restorer.process(GRAY, colorize="always", temperature=3.0)


def test_a_colorize_model_without_temperature_ignores_it(tmp_path, caplog):
    restorer = Restorer(write_weights(tmp_path, restore=False, temperature=False), device="cpu")
    with caplog.at_level(logging.WARNING, logger="restore"):
        first = restorer.process(GRAY, restore=False, colorize="always", temperature=0.2)
        restorer.process(GRAY, restore=False, colorize="always", temperature=0.2)
    np.testing.assert_array_equal(first, restorer.process(GRAY, restore=False, colorize="always"))
    assert [r.message for r in caplog.records if "temperature" in r.message] == [
        "the colorize model has no temperature input; ignoring temperature=0.2"
    ]


def test_models_load_lazily_and_once(restorer):
    assert restorer.device_used is None and restorer.providers == []
    restorer.process(PHOTO, colorize="never")
    assert set(restorer._models) == {"restore"}
    assert restorer.model("restore") is restorer.model("restore")
    assert restorer.device_used == "cpu" and restorer.providers == ["CPUExecutionProvider"]


def test_missing_models_fail_clearly_and_early(tmp_path):
    restorer = Restorer(write_weights(tmp_path, colorize=False), device="cpu")
    restorer.prepare(colorize="never")
    with pytest.raises(WeightsError, match=r"no 'colorize' model \(it has: restore\)"):
        restorer.prepare(colorize="auto")
    with pytest.raises(WeightsError, match="no 'colorize' model"):
        restorer.process(GRAY, colorize="always")
    with pytest.raises(WeightsError, match="manifest.json: not found"):
        Restorer(tmp_path / "empty").process(PHOTO)


def test_prepare_checks_options_before_any_work(weights_dir):
    with pytest.raises(ValueError, match="tile of at least"):
        Restorer(weights_dir, device="cpu", tile=40).prepare()
    with pytest.raises(ValueError, match="outside"):
        Restorer(weights_dir, device="cpu").prepare(temperature=5.0)
    with pytest.raises(ValueError, match="colorize must be one of"):
        Restorer(weights_dir, device="cpu").prepare(colorize="sometimes")


def test_one_options_object_or_its_fields_as_keywords_give_the_same_photo(restorer):
    options = ProcessOptions(colorize="always", render_size=96, temperature=0.5, strength=0.5)
    by_keywords = restorer.process(GRAY, colorize="always", render_size=96, temperature=0.5, strength=0.5)
    np.testing.assert_array_equal(restorer.process(GRAY, options), by_keywords)
    # keywords change the options given, and are checked the same way
    np.testing.assert_array_equal(
        restorer.process(GRAY, options, colorize="never"), restorer.process(GRAY, options.changed(colorize="never"))
    )
    with pytest.raises(ValueError, match="strength must be between 0 and 1"):
        restorer.process(GRAY, options, strength=2)
    with pytest.raises(TypeError):
        restorer.process(GRAY, options, vibrance=0.5)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("colorize", "sometimes", "colorize must be one of auto, always, never"),
        ("render_size", 0, "render_size must be > 0"),
        ("temperature", 0.0, "temperature must be > 0"),
        ("temperature", float("inf"), "temperature must be > 0"),
        ("tile", -1, "tile must be >= 0"),
        ("strength", 1.5, "strength must be between 0 and 1"),
    ],
)
def test_process_options_refuse_each_bad_value_naming_it(field, value, message):
    with pytest.raises(ValueError, match=message):
        ProcessOptions(**{field: value})
    with pytest.raises(ValueError, match=message):
        ProcessOptions().changed(**{field: value})
    with pytest.raises(ValueError, match="nothing to do"):
        ProcessOptions(restore=False, colorize="never").check_work()


def test_bad_arguments(weights_dir):
    with pytest.raises(ValueError, match="device must be one of"):
        Restorer(weights_dir, device="gpu")
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Restorer(weights_dir).process(PHOTO.astype(np.float32))


def test_weights_folder_defaults_to_env_then_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("REVIVE_WEIGHTS", raising=False)
    assert default_weights_dir() == REPO_WEIGHTS and REPO_WEIGHTS.name == "weights"
    assert Restorer().weights_dir == REPO_WEIGHTS
    monkeypatch.setenv("REVIVE_WEIGHTS", str(tmp_path))
    assert Restorer().weights_dir == tmp_path
