"""restore's global colour correction: the manifest's "correct" model, run once per photo by the Restorer and
applied to every pixel (tiling cannot change it); the trainable network and its ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers_training import SAMPLE_PHOTOS, write_sample_photos
from skimage import data

from benchmarks.tiny_models import CORRECT_SIZE, write_weights
from restore.manifest import load_manifest
from restore.pipeline import Restorer, apply_colour_transform


@pytest.fixture(scope="module")
def corrected_weights(tmp_path_factory):
    return write_weights(tmp_path_factory.mktemp("corrected"), correct=True)


def yellowed(rgb: np.ndarray) -> np.ndarray:
    """A warm cast: blue down, red up."""
    return np.clip(rgb.astype(int) + np.array([25, 5, -35]), 0, 255).astype(np.uint8)


def test_the_correction_runs_after_restoring_and_tiles_do_not_change_it(weights_dir, corrected_weights):
    photo = yellowed(data.astronaut()[::2, ::2])  # 256 x 256
    plain = Restorer(weights_dir, device="cpu").restore_image(photo, tile=0)
    restorer = Restorer(corrected_weights, device="cpu")
    whole = restorer.restore_image(photo, tile=0)
    tiled = restorer.restore_image(photo, tile=96)
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1  # one transform for the whole photo
    small = cv2.resize(plain, (CORRECT_SIZE, CORRECT_SIZE), interpolation=cv2.INTER_AREA) / 255.0
    means = small.reshape(-1, 3).mean(axis=0)
    grey_world = np.zeros((3, 4), np.float32)
    grey_world[:, 3] = means.mean() - means  # what the tiny model predicts from the restored photo
    assert np.abs(whole.astype(int) - apply_colour_transform(plain, grey_world).astype(int)).max() <= 1
    cast = lambda rgb: np.ptp(rgb.reshape(-1, 3).mean(axis=0))  # noqa: E731 (spread of the channel means)
    assert cast(whole) < cast(plain) / 2
    assert "restore_global.onnx" in str(restorer.model("correct").path)


def test_a_colour_transform_is_rgb_plus_a_rgb_plus_b():
    rgb = np.array([[[100, 150, 200]]], np.uint8)
    identity = apply_colour_transform(rgb, np.zeros((3, 4), np.float32))
    assert np.array_equal(identity, rgb)
    swap = np.zeros((3, 4), np.float32)
    swap[:, :3] = np.array([[-1, 0, 1], [0, 0, 0], [1, 0, -1]])  # red and blue trade places
    swap[1, 3] = 0.1
    assert apply_colour_transform(rgb, swap).tolist() == [[[200, 176, 100]]]


def test_a_correct_model_needs_its_input_size(corrected_weights, tmp_path):
    manifest = json.loads((corrected_weights / "manifest.json").read_text())
    del manifest["models"]["correct"]["inputs"]["image"]["shape"]
    for name in ("restore.onnx", "colorize.onnx", "restore_global.onnx"):
        (tmp_path / name).write_bytes((corrected_weights / name).read_bytes())
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(Exception, match="needs its shape"):
        load_manifest(tmp_path)


def test_the_network_starts_at_the_identity_and_exports_with_parity(tmp_path):
    torch = pytest.importorskip("torch")
    from training.export import export_correction
    from training.global_correction import SIZE, GlobalCorrection, apply_correction

    model = GlobalCorrection().eval()
    photo = torch.rand(2, 3, SIZE, SIZE)
    assert torch.equal(apply_correction(photo, model(photo)), photo)
    with torch.no_grad():
        model.head[-1].bias.copy_(torch.linspace(-0.05, 0.05, 12))
    write_weights(tmp_path, correct=False)
    entry = export_correction(model, tmp_path, {"note": "test"})
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    restorer = Restorer(tmp_path, device="cpu")
    expected = model(torch.from_numpy(np.zeros((1, 3, SIZE, SIZE), np.float32))).detach().numpy()[0]
    got = restorer.model("correct").run({"image": np.zeros((1, 3, SIZE, SIZE), np.float32)})[0]
    assert np.abs(got - expected).max() < 1e-4


def test_tone_quantiles_find_a_faded_prints_black_point():
    torch = pytest.importorskip("torch")
    from training.global_correction import QUANTILES, tone_quantiles

    photo = torch.from_numpy(data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255
    faded = 0.2 + 0.8 * photo  # the black lifted to 0.2
    quantiles = len(QUANTILES)
    black = lambda rgb: tone_quantiles(rgb)[0, : quantiles * 4 : quantiles]  # noqa: E731 (1% of R, G, B, luma)
    assert torch.all(black(photo) < 0.05)
    assert torch.allclose(black(faded), 0.2 + 0.8 * black(photo), atol=1e-4)


def fit_correction(tmp_path, *options: str) -> tuple[Path, dict]:
    """`revive-train fit-correction` (500 steps) on six sample photos, with `options`, behind tiny weights:
    the weights folder and the fit's summary; the holdout score must beat the uncorrected copies by 1 dB."""
    from training.cli import main as revive_train

    names = (*SAMPLE_PHOTOS, "immunohistochemistry", "colorwheel")
    photos = write_sample_photos(tmp_path / "photos", names, ".png")
    weights = write_weights(tmp_path / "weights", correct=False)
    run = tmp_path / "run"
    args = ["fit-correction", "--data", str(photos), "--holdout", str(photos), "--run", str(run), "--iters", "500"]
    assert revive_train([*args, *(option.format(weights=weights) for option in options)]) == 0
    summary = json.loads((run / "log.json").read_text())["summary"]
    assert summary["holdout_psnr_corrected"] > summary["holdout_psnr_uncorrected"] + 1.0
    return weights, summary


def test_fit_correction_learns_to_undo_fading_and_the_restorer_applies_it(tmp_path):
    pytest.importorskip("torch")
    weights, _ = fit_correction(tmp_path, "--draws", "16", "--export", "{weights}")
    photo = data.astronaut()[::2, ::2]
    faded = (40 + 0.75 * photo).astype(np.uint8)  # lifted blacks, less contrast
    restorer = Restorer(weights, device="cpu")
    assert restorer.manifest.models["correct"].path.name == "restore_global.onnx"
    (matrix,) = restorer.colour_corrections([faded])
    error = lambda rgb: np.abs(rgb.astype(float) - photo).mean()  # noqa: E731
    assert error(apply_colour_transform(faded, matrix)) < 0.7 * error(faded)


def test_fit_correction_behind_a_restorer_fits_on_its_outputs(tmp_path):
    pytest.importorskip("torch")
    fit_correction(tmp_path, "--behind", "{weights}", "--preset", "tone", "--draws", "8")
    (cache,) = (tmp_path / "run").glob("samples-fit-*.npz")
    assert "tone-behind" in cache.name  # full-size copies through the restore model, not thumbnails toned


def test_fit_correction_behind_a_folder_without_weights_is_one_line(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.cli import main as revive_train

    photos = write_sample_photos(tmp_path / "photos", SAMPLE_PHOTOS[:1], ".png")
    run = tmp_path / "run"
    args = ["fit-correction", "--data", str(photos), "--holdout", str(photos), "--run", str(run),
            "--behind", str(tmp_path / "missing")]  # fmt: skip
    assert revive_train(args) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("revive-train: error:") and "manifest.json" in error and "\n" not in error
    assert not run.exists()  # failed before making anything
