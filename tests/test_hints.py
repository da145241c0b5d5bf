"""Colour hints: parsing points and hint images (restore.hints), the pipeline's hints, and the colour candidates."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import onnx
import pytest
from PIL import Image
from skimage import data

from restore.color import rgb_to_lab
from restore.errors import HintsError, WeightsError
from restore.hints import DEFAULT_RADIUS, load_hints, parse_colour, parse_points, points_json, render_points
from restore.palette import MERGE_DELTA_E, likeliest_colours
from restore.pipeline import REPO_WEIGHTS, Restorer

BLUE = (32, 64, 255)


def gray_ramp(height: int = 70, width: int = 100) -> np.ndarray:
    """A gray photo whose lightness rises from left to right."""
    row = np.linspace(40, 210, width).astype(np.uint8)
    return np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2)


def ab_of(rgb) -> np.ndarray:
    return rgb_to_lab(np.array([[rgb]], np.uint8))[0, 0, 1:]


def mean_ab(rgb: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    return rgb_to_lab(rgb[rows, cols]).reshape(-1, 3)[:, 1:].mean(axis=0)


def test_points_as_fractions_and_as_pixels_land_on_the_same_pixel_in_their_colour():
    as_fractions = render_points(parse_points('[{"x": 0.25, "y": 0.5, "color": "#2040ff", "radius": 0}]'), 40, 60)
    as_pixels = render_points(parse_points('[{"x": 15, "y": 20, "color": "#2040FF", "radius": 0}]'), 40, 60)
    np.testing.assert_array_equal(as_fractions, as_pixels)
    assert list(zip(*np.nonzero(as_pixels[..., 2]), strict=True)) == [(20, 15)]
    np.testing.assert_allclose(as_pixels[20, 15, :2], ab_of(BLUE), atol=1e-4)
    edges = render_points(parse_points('[{"x": 1.0, "y": 0.0, "color": "#fff", "radius": 0}]'), 40, 60)
    assert edges[0, 59, 2] == 1  # 1.0 is the right edge; 1 would be the second pixel
    one = render_points(parse_points('[{"x": 1, "y": 0, "color": "#fff", "radius": 0}]'), 40, 60)
    assert one[0, 1, 2] == 1


def test_radius_in_pixels_or_a_fraction_of_the_longer_side_and_later_points_on_top():
    points = parse_points('[{"x": 30, "y": 20, "color": "#ff0000", "radius": 5}, {"x": 30, "y": 20, "color": "#00f"}]')
    assert points[1].radius == DEFAULT_RADIUS
    hints = render_points(points, 40, 60)
    assert hints[20, 25, 2] == 1 and hints[20, 24, 2] == 0  # a disc of 5 px
    np.testing.assert_allclose(hints[20, 30, :2], ab_of((0, 0, 255)), atol=1e-4)  # the second point wins
    np.testing.assert_allclose(hints[20, 26, :2], ab_of((255, 0, 0)), atol=1e-4)
    wide = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#f00", "radius": 0.1}]'), 40, 60)
    assert wide[20, 24, 2] == 1 and wide[20, 23, 2] == 0  # 0.1 of 60 px
    assert parse_points(points_json(points)) == points


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not valid JSON"),
        ('{"x": 1}', "must be a JSON list"),
        ("[3]", "point 1: not an object"),
        ('[{"x": 1, "y": 2}]', "point 1: no 'color'"),
        ('[{"x": 1, "y": 2, "color": "#fff"}, {"x": 1, "y": 2, "colour": "#fff"}]', "point 2: unknown key 'colour'"),
        ('[{"x": 1, "y": 2, "color": "blue"}]', "point 1: color 'blue' is not #RRGGBB"),
        ('[{"x": -1, "y": 2, "color": "#fff"}]', "point 1: x must be a number >= 0"),
        ('[{"x": 1, "y": "2", "color": "#fff"}]', "point 1: y must be a number >= 0"),
        ('[{"x": 1, "y": 2, "color": "#fff", "radius": true}]', "point 1: radius must be a number"),
        ('[{"x": 60, "y": 2, "color": "#fff"}]', "point 1: x=60 is outside the photo (60 px"),
        ('[{"x": 0.5, "y": 40.0, "color": "#fff"}]', "point 1: y=40.0 is outside the photo (40 px"),
    ],
)
def test_bad_points_are_one_line_naming_the_point(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as raised:
        render_points(parse_points(text), 40, 60)
    assert "\n" not in str(raised.value)


def test_colours_from_hex_and_from_a_colour_picker():
    assert parse_colour("#2040ff") == parse_colour("#2040FF") == BLUE
    assert parse_colour("#f00") == (255, 0, 0)
    assert parse_colour("rgba(32, 64, 255, 1)") == parse_colour("rgb(32,64,255)") == BLUE
    for bad in ("#12345", "red", "rgb(300, 0, 0)", 12):
        with pytest.raises(ValueError, match="is not #RRGGBB"):
            parse_colour(bad)


def write_rgba(path, width: int, height: int, painted: tuple[slice, slice], rgb=BLUE):
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[painted] = (*rgb, 255)
    Image.fromarray(rgba).save(path)
    return path


def test_a_hint_image_of_another_size_is_scaled_to_the_photo(tmp_path):
    png = write_rgba(tmp_path / "hints.png", 50, 35, (slice(10, 20), slice(5, 15)))
    hints = load_hints(png, 70, 100)
    assert hints.shape == (70, 100, 3) and hints.dtype == np.float32
    hinted = hints[..., 2] > 0
    rows, cols = np.nonzero(hinted)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (20, 39, 10, 29)
    np.testing.assert_allclose(hints[30, 20, :2], ab_of(BLUE), atol=0.01)
    assert not hints[~hinted].any()
    same = load_hints(write_rgba(tmp_path / "same.png", 100, 70, (slice(20, 40), slice(10, 30))), 70, 100)
    np.testing.assert_allclose(same, hints, atol=0.01)


def test_points_from_a_json_file(tmp_path):
    path = tmp_path / "points.json"
    path.write_text('[{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 3}]', encoding="utf-8")
    hints = load_hints(path, 70, 100)
    assert hints[35, 50, 2] == 1 and hints[..., 2].sum() == 29  # a disc of radius 3


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("opaque.png", "rgb", "has no transparency"),
        ("tall.png", "tall", "is 35x50 px, a different shape from the 100x70 photo"),
        ("scan.png", b"not an image", "not an image"),
        ("empty.png", b"", "empty file"),
        ("points.json", b"\xff\xfe\x00binary", "not a text file"),
        ("points.json", b'[{"x": 2, "y": 1}]', "point 1: no 'color'"),
        ("missing.json", None, "No such file or directory"),
    ],
)
def test_bad_hint_files_are_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    if content == "rgb":
        Image.new("RGB", (100, 70), BLUE).save(path)
    elif content == "tall":
        write_rgba(path, 35, 50, (slice(0, 5), slice(0, 5)))
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(HintsError) as raised:
        load_hints(path, 70, 100)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def hinted(hinted_weights_dir) -> Restorer:
    return Restorer(hinted_weights_dir, device="cpu")


def test_a_hint_moves_its_region_toward_its_colour_and_no_hints_is_automatic(hinted):
    gray = gray_ramp()
    automatic = hinted.process(gray, restore=False)
    assert np.array_equal(hinted.process(gray, restore=False, hints=None), automatic)
    assert np.array_equal(hinted.process(gray, restore=False, hints=np.zeros((70, 100, 3), np.float32)), automatic)
    hints = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 4}]'), 70, 100)
    result = hinted.process(gray, restore=False, hints=hints)
    region = (slice(32, 39), slice(47, 54))
    before = np.linalg.norm(mean_ab(automatic, *region) - ab_of(BLUE))
    after = np.linalg.norm(mean_ab(result, *region) - ab_of(BLUE))
    assert after < before / 3, (before, after)
    far = (slice(0, 10), slice(0, 10))  # about 60 px away, darker: the hint has faded there
    near_change = np.linalg.norm(mean_ab(result, *region) - mean_ab(automatic, *region))
    far_change = np.linalg.norm(mean_ab(result, *far) - mean_ab(automatic, *far))
    assert far_change < near_change / 10, (near_change, far_change)


def test_hints_colourize_a_colour_photo_under_auto_and_malformed_maps_are_refused(hinted):
    colour = np.random.default_rng(0).integers(0, 256, (70, 100, 3), dtype=np.uint8)
    hints = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#2040ff"}]'), 70, 100)
    assert np.array_equal(hinted.process(colour, restore=False), colour)  # auto keeps a colour photo
    assert not np.array_equal(hinted.process(colour, restore=False, hints=hints), colour)
    with pytest.raises(ValueError, match="colorize 'never' would ignore them"):
        hinted.process(colour, colorize="never", hints=hints)
    with pytest.raises(ValueError, match="at its image's size"):
        hinted.process(colour, hints=hints[:10])
    with pytest.raises(ValueError, match="2 hint maps for 1 images"):
        hinted.process_batch([colour], hints=[hints, hints])
    assert np.array_equal(hinted.process(colour, restore=False, hints=np.zeros_like(hints)), colour)


def test_a_model_without_a_hints_input_follows_hints_spread_over_the_photo(weights_dir):
    old = Restorer(weights_dir, device="cpu")
    assert old.manifest.model("colorize").hints is None
    gray = gray_ramp()
    automatic = old.process(gray, restore=False)
    hints = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 4}]'), 70, 100)
    result = old.process(gray, restore=False, hints=hints)
    region = (slice(32, 39), slice(47, 54))
    before = np.linalg.norm(mean_ab(automatic, *region) - ab_of(BLUE))
    after = np.linalg.norm(mean_ab(result, *region) - ab_of(BLUE))
    assert after < before / 3, (before, after)  # at the ramp's lightness the hint's blue is out of gamut


def test_batches_take_a_hint_map_or_none_per_image(hinted):
    gray = gray_ramp()
    hints = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 4}]'), 70, 100)
    one, two = hinted.process_batch([gray, gray], restore=False, hints=[None, hints])
    assert np.array_equal(one, hinted.process(gray, restore=False))
    assert np.array_equal(two, hinted.process(gray, restore=False, hints=hints))


def test_colour_candidates_are_the_likeliest_distinct_colours_and_follow_the_hints(hinted, weights_dir):
    gray = gray_ramp()
    automatic = hinted.process(gray, restore=False)
    candidates = hinted.colour_candidates(gray, 50, 35)
    assert len(candidates) == 5
    probabilities = [c.probability for c in candidates]
    assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] > 0.5 and sum(probabilities) <= 1
    assert np.linalg.norm(ab_of(candidates[0].rgb) - ab_of(automatic[35, 50])) < 10  # the output's own colour
    shown = [rgb_to_lab(np.array([[c.rgb]], np.uint8))[0, 0] for c in candidates]
    assert min(np.linalg.norm(a - b) for i, a in enumerate(shown) for b in shown[i + 1 :]) >= MERGE_DELTA_E - 1
    lightness = rgb_to_lab(gray[35:36, 50:51])[0, 0, 0]
    assert all(abs(lab[0] - lightness) < 8 for lab in shown[:1])  # at the pixel's lightness
    assert candidates[0].hex == "#{:02x}{:02x}{:02x}".format(*candidates[0].rgb)
    hints = render_points(parse_points('[{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 4}]'), 70, 100)
    toward = ab_of(hinted.colour_candidates(gray, 50, 35, hints=hints)[0].rgb)
    assert np.linalg.norm(toward - ab_of(hinted.process(gray, restore=False, hints=hints)[35, 50])) < 10
    assert np.linalg.norm(toward - ab_of(candidates[0].rgb)) > 50  # from orange to blue
    with pytest.raises(ValueError, match="outside the 100x70 image"):
        hinted.colour_candidates(gray, 100, 0)
    with pytest.raises(ValueError, match="gives no colour distribution"):
        Restorer(weights_dir, device="cpu").colour_candidates(gray, 5, 5)


def test_a_distribution_the_graph_computes_but_does_not_output_is_exposed_by_the_manifest(hinted_weights_dir, tmp_path):
    def without_logits_output(folder, name):  # the hinted model's graph, its logits no longer an output
        shutil.copytree(hinted_weights_dir, folder)
        model = onnx.load(str(folder / "colorize.onnx"))
        kept = [output for output in model.graph.output if output.name != "ab_logits"]
        del model.graph.output[:]
        model.graph.output.extend(kept)
        onnx.save(model, str(folder / "colorize.onnx"))
        manifest = json.loads((folder / "manifest.json").read_text())
        entry = manifest["models"]["colorize"]
        entry["sha256"] = hashlib.sha256((folder / "colorize.onnx").read_bytes()).hexdigest()
        entry["distribution"]["output"] = name
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder

    gray = gray_ramp()
    expected = Restorer(hinted_weights_dir, device="cpu").colour_candidates(gray, 50, 35)
    exposed = Restorer(without_logits_output(tmp_path / "hidden", "ab_logits"), device="cpu")
    assert exposed.colour_candidates(gray, 50, 35) == expected
    reference = Restorer(hinted_weights_dir, device="cpu").process(gray, restore=False)
    assert np.array_equal(exposed.process(gray, restore=False), reference)  # the edited graph colours the same
    wrong = Restorer(without_logits_output(tmp_path / "missing", "no_such_tensor"), device="cpu")
    for _ in range(2):  # the refusal is remembered, not rebuilt at every click
        with pytest.raises(WeightsError, match="names no_such_tensor as an output, which this graph cannot give"):
            wrong.colour_candidates(gray, 5, 5)
    assert np.array_equal(wrong.process(gray, restore=False), reference)  # automatic colours still work


def test_the_shipped_colorizer_offers_its_likeliest_colours():
    gray = np.repeat(data.astronaut()[::2, ::2].mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    shipped = Restorer(REPO_WEIGHTS, device="cpu")
    candidates = shipped.colour_candidates(gray, 128, 60)  # on the face
    assert len(candidates) == 5 and candidates[0].probability > 0.3
    colourized = shipped.process(gray, restore=False, colorize="always")
    assert np.linalg.norm(ab_of(candidates[0].rgb) - ab_of(colourized[60, 128])) < 10  # the output's own colour


def test_neighbouring_bins_merge_into_one_candidate():
    bins = np.array([[0, 0], [10, 0], [60, 0], [0, -60]], np.float32)
    candidates = likeliest_colours(np.array([0.3, 0.25, 0.35, 0.1]), bins, 60.0, k=5)
    assert [round(c.probability, 2) for c in candidates] == [0.55, 0.35, 0.1]
    assert candidates[0].rgb == tuple(int(c) for c in np.full(3, candidates[0].rgb[0]))  # gray: a*b* = 0
