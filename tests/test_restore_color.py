"""Lab conversions (the manifest's convention) and the black-and-white test behind --colorize auto."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from restore import color as color_module
from restore.color import (
    chroma_level,
    is_grayscale,
    keep_print_hues,
    lab_to_rgb,
    merge_lightness,
    rgb_to_lab,
    rgb_to_lightness,
    tint_curve,
)

SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def test_every_8bit_colour_survives_the_lab_round_trip():
    cube = np.arange(256**3, dtype=np.uint32)
    rgb = np.stack([cube >> 16, (cube >> 8) & 255, cube & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)
    back = lab_to_rgb(rgb_to_lab(rgb))
    assert np.abs(back.astype(np.int16) - rgb).max() <= 1


def test_lab_is_opencv_on_float_srgb_as_the_manifest_says():
    rgb = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0]]], np.uint8)
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float32
    np.testing.assert_allclose(lab, cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2Lab))
    np.testing.assert_allclose(lab[0, 0], [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[0, 1], [0, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab[0, 2], [53.24, 80.09, 67.20], atol=0.05)
    np.testing.assert_allclose(rgb_to_lab(rgb.astype(np.float64) / 255), lab, atol=1e-4)


def test_strip_wise_conversions_equal_the_whole_image_ones():
    rgb = cv2.resize(data.astronaut(), (1000, 1200), interpolation=cv2.INTER_CUBIC)  # 1.2 MP: two strips
    lab = rgb_to_lab(rgb)
    np.testing.assert_array_equal(rgb_to_lightness(rgb), lab[..., 0])
    ab = lab[..., 1:] * 1.5  # some colours out of gamut, to be clipped alike
    np.testing.assert_array_equal(merge_lightness(lab[..., 0], ab), lab_to_rgb(np.dstack([lab[..., 0], ab])))


def test_rgb_to_lab_refuses_other_integer_types():
    with pytest.raises(ValueError, match="uint16"):
        rgb_to_lab(np.zeros((2, 2, 3), np.uint16))


def _gray(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def _jpeg(rgb: np.ndarray, quality: int = 60) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _needs_colour():
    photo = data.astronaut()
    gray = _gray(photo)
    sepia = np.clip(photo.astype(np.float64) @ SEPIA.T, 0, 255).astype(np.uint8)
    noisy = np.clip(gray + np.random.default_rng(0).normal(0, 6, gray.shape), 0, 255).astype(np.uint8)
    cyanotype = np.clip(gray * [0.3, 0.6, 0.9] + [0, 0, 25], 0, 255).astype(np.uint8)
    return {
        "gray": gray,
        "sepia": sepia,
        "sepia_jpeg": _jpeg(sepia),
        "cyanotype": cyanotype,
        "gray_with_colour_noise": noisy,
    }


def _colour():
    patch = _gray(data.astronaut())
    patch[200:300, 200:300] = [200, 20, 20]  # one red object on a gray photo
    return {"astronaut": data.astronaut(), "coffee": data.coffee(), "chelsea": data.chelsea(), "red_patch": patch}


@pytest.mark.parametrize("name", sorted(_needs_colour()))
def test_black_and_white_and_toned_photos_need_colour(name):
    image = _needs_colour()[name]
    assert is_grayscale(image), f"{name}: chroma_level {chroma_level(image):.2f}"


@pytest.mark.parametrize("name", sorted(_colour()))
def test_colour_photos_do_not(name):
    image = _colour()[name]
    assert not is_grayscale(image), f"{name}: chroma_level {chroma_level(image):.2f}"


def test_a_strong_uniform_tint_scores_near_zero():
    gray = np.repeat(data.camera()[..., None], 3, axis=2)
    lab = rgb_to_lab(gray)
    lab[..., 1], lab[..., 2] = 25.0, 40.0  # only gamut clipping at the extremes bends the hue
    assert chroma_level(lab_to_rgb(lab)) < 1.5
    assert chroma_level(gray) < 0.1


def test_a_repair_gets_the_prints_tint_and_a_faded_colour_keeps_its_hue():
    toned = lab_to_rgb(rgb_to_lab(_gray(data.astronaut())) + [0, -2, -8])  # a cool selenium tone
    toned[300:360, 300:420] = lab_to_rgb(rgb_to_lab(toned[300:360, 300:420]) + [0, 12, 0])  # a faded red object
    cracked = toned.copy()
    cracked[200:203, 50:450] = [250, 240, 215]  # a cream crack
    restored = toned.copy()
    restored[200:203, 50:450] = lab_to_rgb(rgb_to_lab(restored[200:203, 50:450]) + [0, 25, 30])  # filled in orange
    restored[300:360, 300:420] = lab_to_rgb(rgb_to_lab(restored[300:360, 300:420]) + [0, 6, 0])  # a little redder
    damaged = np.zeros(toned.shape[:2], bool)
    damaged[199:204, 50:450] = True

    def crack_hue_error(kept: np.ndarray) -> float:
        return float(np.abs(rgb_to_lab(kept) - rgb_to_lab(toned))[200:203, 50:450, 1:].mean())

    kept = keep_print_hues(cracked, restored, damaged)
    assert crack_hue_error(kept) < 3 < 20 < crack_hue_error(restored)  # the fill back on the print's tint
    np.testing.assert_allclose(rgb_to_lab(kept)[..., 0], rgb_to_lab(restored)[..., 0], atol=1)  # lightness kept
    change = np.abs(kept.astype(int) - restored)
    assert change[300:360, 300:420].mean() < 0.5 and change[:150].mean() < 0.1  # the red object and the rest kept
    assert crack_hue_error(keep_print_hues(cracked, restored)) > 6  # without the damage map, the crack's own hue


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1)])
def test_keep_print_hues_takes_photos_of_a_pixel_or_a_line(shape):
    sepia = np.zeros((*shape, 3), np.uint8) + np.array([140, 120, 90], np.uint8)
    np.testing.assert_allclose(keep_print_hues(sepia, sepia), sepia, atol=1)


def test_keep_print_hues_in_strips_equals_the_whole_photo_at_once():
    rng = np.random.default_rng(0)
    tall = cv2.resize(_gray(data.astronaut()), (64, 20000), interpolation=cv2.INTER_LINEAR)  # 1.3 MP: two strips
    toned = lab_to_rgb(rgb_to_lab(tall) + [0, 6, 18])
    restored = np.clip(toned.astype(int) + rng.integers(-12, 13, toned.shape), 0, 255).astype(np.uint8)
    damaged = rng.random(toned.shape[:2]) < 0.01
    curves = tint_curve(toned), tint_curve(restored)
    whole = color_module._keep_hues(toned, restored, damaged, curves)  # the filters over the whole photo
    np.testing.assert_array_equal(keep_print_hues(toned, restored, damaged), whole)
