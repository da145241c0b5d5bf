"""`revive photo --hints FILE` and `--hints-dir DIR` on the tiny hinted colorizer, and their errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image
from test_hints import BLUE, ab_of, gray_ramp, mean_ab, write_rgba
from test_restore_cli import revive

from restore.cli import main
from restore.pipeline import Restorer

REGION = (slice(30, 41), slice(45, 56))  # around the middle of the 100x70 ramp
POINT = [{"x": 0.5, "y": 0.5, "color": "#2040ff", "radius": 5}]


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "ramp.png"
    Image.fromarray(gray_ramp()).save(path)
    return path


def run(capsys, *args: object) -> tuple[int, str]:
    """`revive ARGS` in this process: (exit status, stderr)."""
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


def distance_to_blue(path) -> float:
    return float(np.linalg.norm(mean_ab(np.asarray(Image.open(path).convert("RGB")), *REGION) - ab_of(BLUE)))


def test_hints_move_the_region_toward_their_colour_and_the_automatic_result_is_unchanged(
    photo, tmp_path, hinted_weights_dir
):
    points = tmp_path / "points.json"
    points.write_text(json.dumps(POINT))
    painted = write_rgba(tmp_path / "painted.png", 50, 35, (slice(15, 20), slice(23, 28)))  # half size
    (tmp_path / "none.json").write_text("[]")
    common = ["--weights", hinted_weights_dir, "--no-restore", "--device", "cpu"]
    result = revive("photo", photo, "-o", tmp_path / "auto", *common)
    assert result.returncode == 0, result.stderr
    automatic = tmp_path / "auto" / "ramp.png"
    expected = Restorer(hinted_weights_dir, device="cpu").process(gray_ramp(), restore=False)
    assert np.array_equal(np.asarray(Image.open(automatic)), expected)
    result = revive("photo", photo, "-o", tmp_path / "hinted", "--hints", points, *common)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"revive: \S+ramp\.png: not restored, colourized, 100x70 px, [\d.]+ s\n", result.stderr)
    assert distance_to_blue(tmp_path / "hinted" / "ramp.png") < distance_to_blue(automatic) / 3
    for hints, out in ((painted, "painted"), (tmp_path / "none.json", "none")):
        assert main(["photo", str(photo), "-o", str(tmp_path / out), "--hints", str(hints), *map(str, common)]) == 0
    assert distance_to_blue(tmp_path / "painted" / "ramp.png") < distance_to_blue(automatic) / 3
    assert np.array_equal(np.asarray(Image.open(tmp_path / "none" / "ramp.png")), expected)  # no hints: automatic


def test_a_hints_folder_gives_each_photo_its_own_and_a_clash_fails_that_photo_alone(
    tmp_path, hinted_weights_dir, capsys
):
    album = tmp_path / "album"
    (album / "1950s").mkdir(parents=True)
    for name in ("a.png", "b.png", "1950s/c.png"):
        Image.fromarray(gray_ramp()).save(album / name)
    hints = album / "hints"  # inside the album: its images are hints, not photos to restore
    (hints / "1950s").mkdir(parents=True)
    (hints / "1950s" / "c.json").write_text(json.dumps(POINT))
    write_rgba(hints / "b.png", 100, 70, (slice(0, 5), slice(0, 5)))
    (hints / "b.json").write_text("[]")
    out = tmp_path / "out"
    code, err = run(capsys, "photo", album, "-o", out, "--hints-dir", hints, "--weights", hinted_weights_dir)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("revive: error:")]
    assert errors == [
        f"revive: error: {hints / 'b.png'}: b.json is there too: two hint files for {album / 'b.png'}; keep one"
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == ["1950s/c.png", "a.png"]
    assert distance_to_blue(out / "1950s" / "c.png") < distance_to_blue(out / "a.png") / 3


def test_bad_hint_files_fail_the_photo_in_one_line(photo, tmp_path, hinted_weights_dir, capsys):
    bad = tmp_path / "points.json"
    bad.write_text('[{"x": 0.5, "y": 0.5, "color": "#2040ff"}, {"x": 500, "y": 1, "color": "#fff"}]')
    out = tmp_path / "out"
    code, err = run(capsys, "photo", photo, "-o", out, "--hints", bad, "--weights", hinted_weights_dir)
    assert code == 1
    assert (
        err.strip()
        == f"revive: error: {bad}: point 2: x=500 is outside the photo (100 px; fractions are written 0.0 to 1.0)"
    )
    assert not (out / "ramp.png").exists()
    opaque = tmp_path / "opaque.png"
    Image.new("RGB", (100, 70), BLUE).save(opaque)
    code, err = run(capsys, "photo", photo, "-o", out, "--hints", opaque, "--weights", hinted_weights_dir)
    assert code == 1 and err.startswith(f"revive: error: {opaque}: has no transparency") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("inputs", "extra", "message"),
    [
        (["PHOTO"], ["--hints", "h.json", "--hints-dir", "."], "not allowed with argument --hints"),
        (["PHOTO"], ["--hints", "h.json", "--colorize", "never"], "--colorize never would ignore them"),
        (["PHOTO"], ["--hints-dir", "nowhere"], "--hints-dir nowhere: not a folder"),
        (["PHOTO", "PHOTO"], ["--hints", "h.json"], "--hints is for one input photo"),
        (["FOLDER"], ["--hints", "h.json"], "--hints is for one input photo"),
    ],
)
def test_hint_options_that_cannot_apply_are_usage_errors(photo, tmp_path, inputs, extra, message, capsys):
    inputs = [{"PHOTO": photo, "FOLDER": tmp_path}[name] for name in inputs]
    code, err = run(capsys, "photo", *inputs, "-o", tmp_path / "out", *extra)
    assert code == 2 and message in err


def test_a_model_without_a_hints_input_follows_hints_from_the_cli(photo, tmp_path, weights_dir, capsys):
    points = tmp_path / "points.json"
    points.write_text(json.dumps(POINT))
    out = tmp_path / "out"
    code, err = run(capsys, "photo", photo, "-o", out, "--hints", points, "--weights", weights_dir)
    assert code == 0, err
    code, err = run(capsys, "photo", photo, "-o", tmp_path / "auto", "--colorize", "always", "--weights", weights_dir)
    assert code == 0, err
    assert distance_to_blue(out / "ramp.png") < distance_to_blue(tmp_path / "auto" / "ramp.png") / 3
