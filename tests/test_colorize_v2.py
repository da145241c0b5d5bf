"""Colorize v2: the packaged ImageNet encoders, colour hints, export with hints, and the semantic measure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from helpers_training import write_sample_photos  # noqa: E402
from skimage import data  # noqa: E402

from training.encoders import efficientnet_lite, lightness_to_gray, mobilenet_v2  # noqa: E402
from training.hints import sample_hints  # noqa: E402
from training.semantics import centre_crop, judges, semantic_row  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
CUP_CLASSES = (967, 968, 504)  # espresso, cup, coffee mug


def imagenet_batch(rgb: np.ndarray, crop: int = 224) -> torch.Tensor:
    return torch.from_numpy(centre_crop(rgb, crop)).permute(2, 0, 1)[None].float()


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite2"])
def test_packaged_efficientnet_lite_weights_recognise_a_cat_and_a_cup(name):
    model = efficientnet_lite(name).eval()
    with torch.no_grad():
        cat = model((imagenet_batch(data.chelsea()) - 127.0) / 128.0)
        cup = model((imagenet_batch(data.coffee()) - 127.0) / 128.0)
    assert int(cat.argmax()) in CAT_CLASSES
    assert int(cup.argmax()) in CUP_CLASSES
    assert torch.softmax(cat, 1).max() > 0.3  # a confident answer, not a lucky one from random weights


def test_packaged_mobilenet_v2_weights_recognise_a_cat():
    from training.encoders import IMAGENET_MEAN, IMAGENET_STD

    mean, std = (torch.tensor(v).view(1, 3, 1, 1) * 255 for v in (IMAGENET_MEAN, IMAGENET_STD))
    with torch.no_grad():
        logits = mobilenet_v2().eval()((imagenet_batch(data.chelsea()) - mean) / std)
    assert int(logits.argmax()) in CAT_CLASSES


def test_the_one_channel_encoder_sees_gray_as_the_rgb_encoder_sees_gray_rgb():
    gray = imagenet_batch(np.repeat(data.camera()[..., None], 3, axis=2))[:, :1]
    one = efficientnet_lite("efficientnet_lite0", features_only=True, in_chans=1).eval()
    three = efficientnet_lite("efficientnet_lite0", features_only=True).eval()
    with torch.no_grad():
        a, b = one((gray - 127.0) / 128.0), three((gray.repeat(1, 3, 1, 1) - 127.0) / 128.0)
    assert len(a) == 5
    for x, y in zip(a, b, strict=True):
        assert torch.allclose(x, y, atol=1e-3, rtol=1e-3)


def test_lightness_to_gray_inverts_opencv_lab_for_gray_pixels():
    import cv2

    values = np.arange(256, dtype=np.uint8).reshape(1, -1, 1).repeat(3, axis=2)
    lightness = cv2.cvtColor(values.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    back = lightness_to_gray(torch.from_numpy(lightness)).numpy()
    assert np.abs(back - values[..., 0]).max() < 0.5


def test_hint_sampling_gives_none_some_or_all_samples_patch_means_of_the_truth():
    torch.manual_seed(0)
    ab = torch.randn(64, 2, 48, 48) * 30
    assert not sample_hints(ab, 0.0, 8).any()
    hints = sample_hints(ab, 1.0, 8, torch.Generator().manual_seed(1))
    mask = hints[:, 2]
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    assert (mask.flatten(1).sum(1) > 0).all()  # every sample hinted at share 1
    assert (hints[:, :2] * (1 - mask[:, None])).abs().max() == 0  # no colour outside the patches
    half = sample_hints(ab, 0.5, 8, torch.Generator().manual_seed(2))
    hinted = (half[:, 2].flatten(1).sum(1) > 0).float().mean()
    assert 0.25 < hinted < 0.75
    # a lone 1 px patch holds the truth's colour / 110
    single = sample_hints(ab[:1], 1.0, 1, torch.Generator().manual_seed(3))
    ys, xs = torch.nonzero(single[0, 2], as_tuple=True)
    patch = ab[0, :, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].mean(dim=(1, 2)) / 110
    assert torch.allclose(single[0, :2, ys[0], xs[0]], patch, atol=1e-5)


def test_the_class_loss_weighs_more_near_hints_and_alike_without_them():
    from training.config import resolve
    from training.tasks import make_task

    config = resolve("colorize", overrides=[{"color": {"hint_weight": 9.0, "hint_radius": 4}}])
    task = make_task(config, np.ones(313, dtype=np.float32))
    hints = torch.zeros(2, 3, 64, 64)
    hints[0, 2, 30:32, 40:42] = 1.0  # one 2 px patch in the first sample, none in the second
    emphasis = task.hint_emphasis(hints, stride=2)
    assert emphasis.shape == (2, 32, 32)
    assert emphasis[0, 15, 20] == 10.0 and emphasis[0, 15, 22] == 10.0  # on the patch and 4 px away
    assert emphasis[0, 15, 23] == 1.0 and emphasis[0, 0, 0] == 1.0  # farther away
    assert (emphasis[1] == 1.0).all()
    target = torch.randn(2, 2, 64, 64) * 30
    raw = torch.zeros(2, 313, 32, 32)
    plain = task.reconstruction_loss(raw, None, target)["class"]
    weighted = task.reconstruction_loss(raw, None, target, hints)["class"]
    assert weighted > plain
    assert torch.equal(task.reconstruction_loss(raw, None, target, torch.zeros_like(hints))["class"], plain)


def test_the_feature_loss_is_zero_on_the_truth_and_pulls_wrong_colours_toward_it():
    """DeOldify's feature loss on colours rendered with the photo's own L*: nothing to learn from the true colours,
    a gradient on a*b* that points toward them from wrong ones (a step along it lowers the loss)."""
    from restore.color import rgb_to_lab
    from training.losses import FeatureLoss
    from training.tasks import lab_to_rgb_tensor

    lab = torch.from_numpy(rgb_to_lab(data.chelsea()[::4, ::4])).permute(2, 0, 1)[None]  # 113 x 126
    lightness, truth = lab[:, :1], lab[:, 1:]
    rendered = lab_to_rgb_tensor(lightness, truth)
    original = torch.from_numpy(data.chelsea()[::4, ::4].copy()).permute(2, 0, 1)[None].float() / 255
    assert float((rendered - original).abs().max()) < 2.5 / 255  # kornia's Lab is OpenCV's (training's)
    loss = FeatureLoss()
    assert float(loss(rendered, rendered)) == 0.0
    wrong = (truth.flip(1) + 30.0).requires_grad_(True)  # a*, b* swapped and shifted: a violet cat
    value = loss(lab_to_rgb_tensor(lightness, wrong), rendered)
    (gradient,) = torch.autograd.grad(value, wrong)
    assert float(value) > 0.05 and float(gradient.abs().sum()) > 0
    stepped = (wrong - 5.0 * gradient / gradient.abs().max()).detach()  # at most 5 units of a*b* per pixel
    assert float(loss(lab_to_rgb_tensor(lightness, stepped), rendered)) < float(value)


def test_a_colorizer_with_feature_weight_trains_on_the_feature_loss(tmp_path):

    from training.config import resolve
    from training.data import training_batches
    from training.trainer import Trainer

    photos = write_sample_photos(tmp_path / "photos", ("astronaut", "coffee"))
    config = resolve(
        "colorize",
        overrides=[
            {"generator": {"encoder": "efficientnet_lite0", "decoder_widths": [16, 16, 8, 8]}},
            {"batch": 2, "crop": 64, "iters": 2, "pretrain_iters": 2, "workers": 0, "threads": 1},
            {"feature_weight": 0.2, "data": str(photos), "val": str(photos), "out": str(tmp_path / "run")},
        ],
    )
    trainer = Trainer(config)
    trainer.batches = training_batches(trainer.dataset, config.batch, 0, 0, 1, 0, config.seed)
    stats = trainer.train_step()
    assert stats["generator/feature"] > 0 and stats["generator/class"] > 0


def test_semantic_row_agrees_with_itself_and_gray_loses_feature_similarity():
    classifiers = judges()
    truth = data.chelsea()
    gray = np.repeat(np.dot(truth, [0.299, 0.587, 0.114]).astype(np.uint8)[..., None], 3, axis=2)
    row = semantic_row(classifiers, truth, gray, truth.copy(), label=282)
    for name in ("mobilenet_v2", "efficientnet_lite2"):
        assert row[f"{name}_model_agreement"] == 1.0
        assert row[f"{name}_model_cosine"] == pytest.approx(1.0, abs=1e-5)
        assert row[f"{name}_gray_cosine"] < 0.99
        assert f"{name}_truth_top1" in row


@pytest.fixture(scope="module")
def hinted_colorizer(tmp_path_factory):
    """A tiny colorizer on the pretrained encoder, trained a few steps with hints, exported to ONNX."""

    from training.config import resolve
    from training.export import export
    from training.trainer import Trainer

    root = tmp_path_factory.mktemp("v2")
    photos = write_sample_photos(root / "photos")
    config = resolve(
        "colorize",
        overrides=[
            {"generator": {"encoder": "efficientnet_lite0", "decoder_widths": [16, 16, 8, 8]}},
            {"generator": {"freeze_encoder_iters": 2}},
            {"critic": {"width": 8, "layers": 2}},
            {"color": {"hint_share": 0.5, "hint_weight": 10.0}},
            {"batch": 2, "crop": 64, "iters": 4, "pretrain_iters": 3, "n_critic": 1, "workers": 0, "threads": 1},
            {"save_every": 4, "val_every": 4, "val_images": 2},
            {"data": str(photos), "val": str(photos), "out": str(root / "run")},
        ],
    )
    trainer = Trainer(config)
    encoder_before = {k: v.clone() for k, v in trainer.generator.unet.encoder.state_dict().items()}
    trainer.fit()
    entry = export(root / "run" / "last.pt", root / "weights")
    return {"root": root, "photos": photos, "entry": entry, "trainer": trainer, "encoder_before": encoder_before}


def test_the_encoder_trains_after_its_frozen_steps_and_its_batch_norm_statistics_never_move(hinted_colorizer):
    trainer, before = hinted_colorizer["trainer"], hinted_colorizer["encoder_before"]
    after = trainer.generator.unet.encoder.state_dict()
    weights = [k for k in after if k.endswith("weight")]
    statistics = [k for k in after if k.endswith(("running_mean", "running_var"))]
    assert any(not torch.equal(after[k], before[k]) for k in weights), "the encoder never trained"
    assert all(torch.equal(after[k], before[k]) for k in statistics)
    groups = trainer.opt_g.param_groups
    assert [g["lr_scale"] for g in groups] == [1.0, 0.1]


def test_export_with_hints_matches_pytorch_and_the_manifest_describes_the_input(hinted_colorizer):
    entry = hinted_colorizer["entry"]
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    assert entry["inputs"]["hints"]["channels"] == "ab+mask"
    assert entry["size_multiple"] == 32


def test_an_automatic_export_of_a_hinted_model_has_no_hints_input_and_colours_and_offers_colours_as_with_no_hints(
    hinted_colorizer,
):
    from restore.pipeline import Restorer
    from training.export import export

    root = hinted_colorizer["root"]
    entry = export(root / "run" / "last.pt", root / "automatic", hints=False)
    assert "hints" not in entry["inputs"] and entry["distribution"]["output"] == "ab_logits"  # the palette's
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    automatic, hinted = Restorer(root / "automatic", device="cpu"), Restorer(root / "weights", device="cpu")
    assert automatic.manifest.model("colorize").hints is None and hinted.manifest.model("colorize").hints
    gray = np.repeat(data.camera()[::4, ::4, None], 3, axis=2)
    colour = [r.process(gray, restore=False, colorize="always").astype(int) for r in (automatic, hinted)]
    assert np.abs(colour[0] - colour[1]).max() <= 1
    candidates = [r.colour_candidates(gray, 30, 40) for r in (automatic, hinted)]
    assert [c.rgb for c in candidates[0]] == [c.rgb for c in candidates[1]]


def test_restorer_feeds_zero_hints_automatically_and_given_hints_move_the_colour(hinted_colorizer):
    from restore.pipeline import Restorer

    restorer = Restorer(hinted_colorizer["root"] / "weights", device="cpu")
    gray = np.repeat(data.camera()[::4, ::4, None], 3, axis=2)
    automatic = restorer.colorize_images([gray])[0]
    hints = np.zeros((*gray.shape[:2], 3), np.float32)
    hints[40:60, 40:60] = (60.0, 60.0, 1.0)  # a strong red-orange hint
    hinted = restorer.colorize_images([gray], hints=[hints])[0]
    assert automatic.shape == hinted.shape == gray.shape
    assert np.abs(hinted.astype(int) - automatic).max() > 0, "the hints input is not wired through"
    again = restorer.colorize_images([gray], hints=[np.zeros_like(hints)])[0]
    assert np.array_equal(again, automatic)  # all-zero hints are the automatic path


def test_colorize_eval_reports_semantic_agreement_and_labelled_top1(hinted_colorizer, tmp_path):
    from timm.data import ImageNetInfo

    photos = hinted_colorizer["photos"]
    import cv2

    chelsea = cv2.cvtColor(cv2.imread(str(photos / "chelsea.jpg")), cv2.COLOR_BGR2RGB)
    top1 = {c.name: c.judge(chelsea).top1 for c in judges()}
    labels = tmp_path / "labels.csv"  # label the cat with MobileNetV2's own class for it: which cat is moot
    labels.write_text(f"file,wnid\nchelsea.jpg,{ImageNetInfo().index_to_label_name(top1['mobilenet_v2'])}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.cli",
            "eval",
            "--task",
            "colorize",
            "--weights",
            str(hinted_colorizer["root"] / "weights" / "colorize.onnx"),
            "--data",
            str(photos),
            "--labels",
            str(labels),
            "--hint-points",
            "10",
            "--json",
            str(tmp_path / "eval.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    mean = json.loads((tmp_path / "eval.json").read_text())["mean"]
    for name in ("mobilenet_v2", "efficientnet_lite2"):
        assert 0.0 <= mean[f"{name}_model_agreement"] <= 1.0
        assert -1.0 <= mean[f"{name}_model_cosine"] <= 1.0
        assert f"{name}_gap_recovered" in mean
    assert mean["labelled_mobilenet_v2_truth_top1"] == 1.0
    assert mean["labelled_efficientnet_lite2_truth_top1"] == float(top1["efficientnet_lite2"] == top1["mobilenet_v2"])
    assert mean["labelled_images"] == 1.0
    assert np.isfinite(mean["hinted_psnr"]) and 0.0 <= mean["hinted_delta_e"] < 200.0


def test_the_distribution_output_decodes_to_the_ab_output(hinted_colorizer):
    import cv2

    from restore.engine import OnnxModel
    from restore.manifest import load_manifest

    spec = load_manifest(hinted_colorizer["root"] / "weights").model("colorize")
    model = OnnxModel(spec, "cpu")
    rng = np.random.default_rng(0)
    feeds = {
        "L": rng.random((1, 1, 64, 96), dtype=np.float32) * 100,
        "temperature": np.float32([0.38]),
        "hints": np.zeros((1, 3, 64, 96), np.float32),
    }
    logits = model.run(feeds, output=spec.distribution.output)
    assert logits.shape == (1, len(spec.distribution.bins), 32, 48)
    scaled = logits[0].transpose(1, 2, 0) / 0.38
    probabilities = np.exp(scaled - scaled.max(axis=2, keepdims=True))
    probabilities /= probabilities.sum(axis=2, keepdims=True)
    ab_small = probabilities @ spec.distribution.bins
    expected = cv2.resize(ab_small, (96, 64), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(model.run(feeds)[0].transpose(1, 2, 0), expected, atol=1e-3)


def test_simulated_hints_carry_the_true_colour_and_the_error_measures_distance_to_it():
    from restore.color import rgb_to_lab
    from training.evaluate import hint_delta_e, truth_hints

    teal = np.zeros((40, 60, 3), np.uint8)
    teal[:] = (30, 140, 150)
    hints = truth_hints(teal, 10, np.random.default_rng(0))
    assert 0 < hints[..., 2].sum() <= 10 * 25
    assert hint_delta_e(teal, hints) < 0.5
    gray = np.repeat(rgb_to_lab(teal)[..., :1] * 0 + 110, 3, axis=2).astype(np.uint8)
    chroma = float(np.hypot(*rgb_to_lab(teal)[0, 0, 1:]))
    assert hint_delta_e(gray, hints) == pytest.approx(chroma, abs=1.0)
