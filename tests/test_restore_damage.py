"""The damage map: a restorer's damage head trained alone on a fixed restorer (`generator.train_only`), exported as
a second graph output, and inpainted by the engine where it reaches the manifest's threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

torch = pytest.importorskip("torch")

from helpers_training import tiny_restore_config as _config  # noqa: E402
from helpers_training import write_sample_photos  # noqa: E402

from restore.errors import WeightsError  # noqa: E402
from restore.inpaint import inpaint_damage  # noqa: E402
from restore.manifest import load_manifest  # noqa: E402
from restore.pipeline import Restorer  # noqa: E402
from training import checkpoint  # noqa: E402
from training.export import export  # noqa: E402
from training.trainer import Trainer  # noqa: E402

HEAD_ONLY = {
    "generator": {"damage_head": True, "train_only": ["damage."]},
    "degradation_params": {"cracks": {"p": 1.0}, "scratches": {"p": 1.0}},
    "l1_weight": 0.0,
    "damage_weight": 1.0,
    "pretrain_lr": 1e-2,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tiny restorer, exported, and its damage head trained alone on it, exported with the map."""
    root = tmp_path_factory.mktemp("damage")
    photos = write_sample_photos(root / "photos")
    Trainer(_config(photos, root / "plain-run")).fit()
    export(root / "plain-run" / "last.pt", root / "plain")
    Trainer(_config(photos, root / "head-run", HEAD_ONLY, {"init_from": str(root / "plain" / "restore.onnx")})).fit()
    export(root / "head-run" / "last.pt", root / "head")
    return {"root": root, "plain": root / "plain", "head": root / "head"}


def test_a_run_started_from_the_head_only_export_trains_the_whole_restorer(runs, tmp_path):
    from training.cli import main as revive_train

    run = tmp_path / "run"
    args = ["fit", "--task", "restore", "--data", str(runs["root"] / "photos"), "--out", str(run),
            "--init-from", str(runs["head"] / "restore.onnx"), "--iters", "2", "--pretrain-iters", "2",
            "--batch", "2", "--crop", "32", "--set", "workers=0", "--set", "threads=1"]  # fmt: skip
    assert revive_train(args) == 0
    started = checkpoint.load(run / "last.pt")["generator"]
    shipped = checkpoint.ema_generator_state(checkpoint.load(runs["root"] / "head-run" / "last.pt"))
    assert started["damage.4.weight"].shape == shipped["damage.4.weight"].shape  # the head's shape came along
    moved = [name for name in started if name.startswith("unet.") and not torch.equal(started[name], shipped[name])]
    assert moved  # the U-Net trains too: the head-only stage's train_only stayed behind


def _with_threshold(source: Path, folder: Path, threshold: float | None) -> Path:
    """A copy of the weights whose manifest inpaints at `threshold` (None: no damage entry)."""
    shutil.copytree(source, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if threshold is None:
        del manifest["models"]["restore"]["damage"]
    else:
        manifest["models"]["restore"]["damage"]["threshold"] = threshold
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _outputs(folder: Path, names: list[str] | None, image: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(folder / "restore.onnx"), providers=["CPUExecutionProvider"])
    return session.run(names, {"image": image})


def test_train_only_trains_the_head_and_leaves_the_restorer_as_it_was(runs):
    exported = checkpoint.ema_generator_state(checkpoint.load(runs["root"] / "plain-run" / "last.pt"))
    trained = checkpoint.load(runs["root"] / "head-run" / "last.pt")["generator"]  # its own weights, not the EMA
    assert all(torch.equal(exported[name], trained[name]) for name in exported)  # the U-Net did not move
    initial = Trainer(_config(runs["root"] / "photos", runs["root"] / "fresh", HEAD_ONLY)).generator.damage[4].weight
    assert not torch.equal(trained["damage.4.weight"], initial) and "damage.4.weight" not in exported
    with pytest.raises(ValueError, match="names none of the generator's parameters"):
        Trainer(_config(runs["root"] / "photos", runs["root"] / "bad", {"generator": {"train_only": ["nothing."]}}))


def test_the_export_has_the_map_and_restores_as_the_restorer_alone(runs):
    entry = json.loads((runs["head"] / "manifest.json").read_text())["models"]["restore"]
    assert entry["damage"] == {"output": "damage", "threshold": 0.5} and list(entry["outputs"]) == ["restored"]
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    assert load_manifest(runs["head"]).model("restore").damage.threshold == 0.5
    assert load_manifest(runs["plain"]).model("restore").damage is None
    image = np.random.default_rng(0).random((1, 3, 48, 64), dtype=np.float32)
    plain, head = (_outputs(runs[name], None, image) for name in ("plain", "head"))
    np.testing.assert_allclose(head[0], plain[0], atol=1e-5)
    assert head[1].shape == (1, 1, 48, 64) and head[1].min() >= 0.0 and head[1].max() <= 1.0


def test_the_engine_inpaints_where_the_map_reaches_the_threshold_and_tiles_alike(runs, tmp_path):
    photo = data.astronaut()[::2, ::2]  # 256 x 256
    plain = Restorer(_with_threshold(runs["head"], tmp_path / "none", None), device="cpu")
    without = plain.restore_image(photo, tile=0)
    image = photo.transpose(2, 0, 1)[None].astype(np.float32) / 255
    damage = (_outputs(runs["head"], ["damage"], image)[0][0, 0] * 255).round()  # as the engine reads it (uint8)
    threshold = float(np.quantile(damage, 0.9)) / 255  # the tenth of the photo the map marks most
    restorer = Restorer(_with_threshold(runs["head"], tmp_path / "some", threshold), device="cpu")
    whole = restorer.restore_image(photo, tile=0, scratches=True)
    marked = damage >= round(threshold * 255)
    near = cv2.dilate(marked.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    assert np.array_equal(whole[~near], without[~near])  # unmarked pixels are the restorer's own
    assert np.abs(whole[marked].astype(int) - without[marked]).mean() > 1.0  # marked ones are refilled
    tiled = np.abs(restorer.restore_image(photo, tile=96, scratches=True).astype(int) - whole)
    # tiles differ in float summation order only, which may flip a pixel right at the threshold and its fill
    assert (tiled > 2).mean() < 1e-3


def test_a_toned_photo_keeps_its_hues_where_the_map_marks_damage_and_tiles_alike(runs, tmp_path):
    sepia = np.clip(cv2.cvtColor(data.astronaut()[::2, ::2], cv2.COLOR_RGB2GRAY)[..., None] * [1.0, 0.85, 0.65], 0, 255)
    sepia = sepia.astype(np.uint8)
    image = sepia.transpose(2, 0, 1)[None].astype(np.float32) / 255
    damage = (_outputs(runs["head"], ["damage"], image)[0][0, 0] * 255).round()
    threshold = float(np.quantile(damage, 0.9)) / 255
    folder = _with_threshold(runs["head"], tmp_path / "some", threshold)
    restorer = Restorer(folder, device="cpu")
    whole = restorer.restore_image(sepia, tile=0)
    without_map = Restorer(_with_threshold(runs["head"], tmp_path / "none", None), device="cpu")
    marked = damage >= round(threshold * 255)
    # the map changes where the print's hue is judged from, on what it marks and the pixel around
    differs = np.any(whole != without_map.restore_image(sepia, tile=0), axis=2)
    assert differs.any() and not (differs & ~cv2.dilate(marked.astype(np.uint8), np.ones((3, 3))).astype(bool)).any()
    tiled = np.abs(restorer.restore_image(sepia, tile=96).astype(int) - whole)
    assert (tiled > 2).mean() < 1e-3  # as the inpainting: a pixel right at the threshold may flip


def test_inpainting_fills_a_marked_scratch_from_its_surroundings():
    rgb = np.tile(np.linspace(40, 200, 96, dtype=np.uint8)[None, :, None], (64, 1, 3))
    scratched = rgb.copy()
    scratched[30:33, 10:90] = 255
    damage = np.zeros((64, 96), np.uint8)
    damage[30:33, 10:90] = 230
    filled = inpaint_damage(scratched, damage, threshold=0.5)
    assert np.abs(filled.astype(int) - rgb).max() <= 6  # the scratch is gone
    assert np.array_equal(inpaint_damage(scratched, damage, threshold=0.95), scratched)  # below the threshold
    assert np.array_equal(inpaint_damage(scratched, damage, threshold=1e-6)[:20], scratched[:20])  # 0 is never marked


def test_a_damage_entry_with_a_threshold_out_of_range_or_no_such_output_is_refused(runs, tmp_path):
    folder = _with_threshold(runs["head"], tmp_path / "bad", 0.0)
    with pytest.raises(WeightsError, match=r"damage must be a restore model's \{output, threshold in \(0, 1\]\}"):
        load_manifest(folder)
    stale = tmp_path / "stale"  # a restorer without the map, its manifest still naming one
    shutil.copytree(runs["head"], stale)
    shutil.copy(runs["plain"] / "restore.onnx", stale / "restore.onnx")
    manifest = json.loads((stale / "manifest.json").read_text())
    manifest["models"]["restore"]["sha256"] = json.loads((runs["plain"] / "manifest.json").read_text())["models"][
        "restore"
    ]["sha256"]
    (stale / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="the manifest's damage map 'damage' is not a graph output"):
        Restorer(stale, device="cpu").model("restore")


def test_exporting_a_restorer_without_a_head_drops_the_damage_entry(runs, tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(runs["head"], folder)
    export(runs["root"] / "plain-run" / "last.pt", folder)
    assert "damage" not in json.loads((folder / "manifest.json").read_text())["models"]["restore"]
    assert load_manifest(folder).model("restore").damage is None


def test_train_only_can_be_replaced_or_cleared_by_a_later_setting(runs):
    config = _config(runs["root"] / "photos", runs["root"] / "unused", HEAD_ONLY)
    assert config.generator.train_only == ("damage.",)
    again = _config(runs["root"] / "photos", runs["root"] / "unused", HEAD_ONLY, {"generator": {"train_only": []}})
    assert again.generator.train_only == ()
    two = {"generator": {"train_only": ["damage.", "unet.head."]}}
    assert _config(runs["root"] / "photos", runs["root"] / "unused", HEAD_ONLY, two).generator.train_only == (
        "damage.",
        "unet.head.",
    )


def test_revive_photo_fills_scratches_only_when_asked_and_says_when_it_cannot(runs, tmp_path, capsys):
    from restore.cli import main

    photo = data.astronaut()[::2, ::2]
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    image = photo.transpose(2, 0, 1)[None].astype(np.float32) / 255
    damage = (_outputs(runs["head"], ["damage"], image)[0][0, 0] * 255).round()
    weights = _with_threshold(runs["head"], tmp_path / "weights", float(np.quantile(damage, 0.9)) / 255)
    args = ["photo", str(tmp_path / "a.png"), "--weights", str(weights), "--colorize", "never"]
    assert main([*args, "-o", str(tmp_path / "plain")]) == 0
    assert main([*args, "-o", str(tmp_path / "filled"), "--scratches"]) == 0
    plain, filled = (
        cv2.cvtColor(cv2.imread(str(tmp_path / name / "a.png")), cv2.COLOR_BGR2RGB) for name in ("plain", "filled")
    )
    restorer = Restorer(weights, device="cpu")
    assert np.array_equal(plain, restorer.restore_image(photo))  # off by default
    assert np.array_equal(filled, restorer.restore_image(photo, scratches=True)) and not np.array_equal(filled, plain)
    capsys.readouterr()
    no_map = ["photo", str(tmp_path / "a.png"), "--weights", str(runs["plain"]), "--colorize", "never", "--scratches"]
    with pytest.raises(SystemExit) as caught:
        main([*args, "-o", str(tmp_path / "none"), "--scratches", "--no-restore", "--colorize", "always"])
    assert caught.value.code == 2 and "--scratches fills what the restore model finds" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:
        main([*no_map, "-o", str(tmp_path / "none")])
    assert caught.value.code == 2
    assert (
        capsys.readouterr().err.strip().endswith("error: restore.onnx has no damage map, so scratches cannot be filled")
    )
    assert not (tmp_path / "none" / "a.png").exists()


def _with_colorizer(folder: Path, weights_dir: Path) -> Path:
    """`folder` with the shared tiny colorizer added (the web UI loads one)."""
    shutil.copy(weights_dir / "colorize.onnx", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["models"]["colorize"] = json.loads((weights_dir / "manifest.json").read_text())["models"]["colorize"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_the_web_jobs_fill_scratches_when_the_box_is_ticked_and_refuse_without_a_map(runs, weights_dir, tmp_path):
    import gradio as gr
    from gradio.utils import get_upload_folder

    from restore.web import Jobs, WebSettings

    photo = data.astronaut()[::2, ::2]
    upload = Path(get_upload_folder()) / "test-restore-damage"  # the web UI restores only uploaded files
    upload.mkdir(parents=True, exist_ok=True)
    uploaded = str(upload / "a.png")
    cv2.imwrite(uploaded, cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    image = photo.transpose(2, 0, 1)[None].astype(np.float32) / 255
    damage = (_outputs(runs["head"], ["damage"], image)[0][0, 0] * 255).round()
    weights = _with_threshold(runs["head"], tmp_path / "weights", float(np.quantile(damage, 0.9)) / 255)
    weights = _with_colorizer(weights, weights_dir)
    settings = WebSettings(tmp_path / "work", "127.0.0.1", 0, False, 1.0, 250_000, 1, 5)
    jobs = Jobs(Restorer(weights, device="cpu"), settings)
    restorer = Restorer(weights, device="cpu")
    for scratches in (False, True):
        _, png, _ = jobs.photo(uploaded, colorize="never", scratches=scratches)
        result = cv2.cvtColor(cv2.imread(png), cv2.COLOR_BGR2RGB)
        assert np.array_equal(result, restorer.restore_image(photo, scratches=scratches))
    without_map = _with_colorizer(_with_threshold(runs["head"], tmp_path / "no-map", None), weights_dir)
    plain = Jobs(Restorer(without_map, device="cpu"), settings)
    with pytest.raises(gr.Error, match="finds no scratches to fill: turn scratches off"):
        plain.photo(uploaded, colorize="never", scratches=True)


def test_the_damage_boost_makes_an_error_on_a_marked_pixel_cost_more_than_elsewhere(tmp_path):
    from training.tasks import make_task

    def l1(boost: float, on_damage: bool) -> float:
        task = make_task(
            _config(tmp_path, tmp_path / "run", {"damage_l1_boost": boost}, {"generator": {"damage_head": True}})
        )
        target = torch.zeros(1, 4, 8, 8)
        target[:, 3, :, :2] = 1.0  # the damage map marks the first two columns
        prediction = torch.zeros(1, 3, 8, 8)
        prediction[:, :, 0, 0 if on_damage else 7] = 0.5  # one wrong pixel, on the mark or off it
        raw = torch.cat([prediction, torch.zeros(1, 1, 8, 8)], dim=1)
        return float(task.reconstruction_loss(raw, prediction, target)["l1"])

    assert l1(0.0, True) == pytest.approx(l1(0.0, False))  # no boost: plain L1
    assert l1(10.0, True) > 5 * l1(10.0, False)  # weights 11 and 1, normalised by their mean
    assert l1(10.0, False) < l1(0.0, False)  # an error off the mark weighs less than in plain L1
