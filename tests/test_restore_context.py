"""Restore with whole-photo context (training.context, #19): a context model fine-tuned from a plain restorer starts
as that restorer, its export takes the photo's thumbnail, and every tile of a photo sees the same thumbnail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from skimage import data

torch = pytest.importorskip("torch")

from helpers_training import tiny_restore_config as _config  # noqa: E402
from helpers_training import write_sample_photos  # noqa: E402

from restore.errors import WeightsError  # noqa: E402
from restore.manifest import load_manifest  # noqa: E402
from restore.pipeline import Restorer  # noqa: E402
from training import checkpoint  # noqa: E402
from training.export import export  # noqa: E402
from training.tasks import make_task  # noqa: E402
from training.trainer import Trainer  # noqa: E402

CONTEXT = {"generator": {"context": "efficientnet_lite0"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tiny plain restorer, and a context restorer trained a few steps from it (a large learning rate, so that
    its modulation moves off zero), each exported."""
    root = tmp_path_factory.mktemp("context")
    photos = write_sample_photos(root / "photos")
    Trainer(_config(photos, root / "plain-run")).fit()
    export(root / "plain-run" / "last.pt", root / "plain")
    init = {"init_from": str(root / "plain" / "restore.onnx"), "pretrain_lr": 1e-2}
    Trainer(_config(photos, root / "context-run", CONTEXT, init)).fit()
    export(root / "context-run" / "last.pt", root / "context")
    return {"root": root, "photos": photos, "plain": root / "plain", "context": root / "context"}


def _session(folder: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(folder / "restore.onnx"), providers=["CPUExecutionProvider"])


def test_a_context_restorer_starts_as_the_restorer_it_is_fine_tuned_from(runs):
    generator = make_task(_config(runs["photos"], runs["root"] / "unused", CONTEXT)).build_generator().eval()
    checkpoint.load_generator_weights(generator, runs["plain"] / "restore.onnx")
    rng = np.random.default_rng(0)
    image = rng.random((1, 3, 48, 64), dtype=np.float32)
    thumbnail = torch.from_numpy(rng.random((1, 3, 128, 128), dtype=np.float32))
    with torch.no_grad():
        ours = generator(torch.from_numpy(image), thumbnail).clamp(0, 1).numpy()
    plain = _session(runs["plain"]).run(None, {"image": image})[0]
    np.testing.assert_allclose(ours, plain, atol=1e-5)


def test_the_export_takes_the_photos_thumbnail_and_matches_pytorch(runs):
    entry = json.loads((runs["context"] / "manifest.json").read_text())["models"]["restore"]
    assert entry["inputs"]["context"] == {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0], "shape": [128, 128]}
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    assert load_manifest(runs["context"]).model("restore").context.shape == (128, 128)
    assert load_manifest(runs["plain"]).model("restore").context is None


def test_the_thumbnail_steers_the_output_and_every_tile_sees_the_whole_photos(runs):
    session = _session(runs["context"])
    rng = np.random.default_rng(1)
    image = rng.random((1, 3, 48, 64), dtype=np.float32)
    dark, bright = (np.full((1, 3, 128, 128), level, np.float32) for level in (0.1, 0.9))
    changed = (
        session.run(None, {"image": image, "context": dark})[0]
        - session.run(None, {"image": image, "context": bright})[0]
    )
    assert np.abs(changed).mean() > 1e-3  # the modulation is in use

    restorer = Restorer(runs["context"], device="cpu")
    photo = data.astronaut()[::2, ::2]  # 256 x 256
    whole = restorer.restore_image(photo, tile=0)
    tiled = restorer.restore_image(photo, tile=96)
    assert np.abs(tiled.astype(int) - whole).max() <= 1  # only float summation order differs
    alone = restorer.restore_image(np.ascontiguousarray(photo[:96, :96]), tile=0)
    assert np.abs(alone.astype(int) - whole[:96, :96]).mean() > 0.1  # a crop is another photo: its own thumbnail


def test_a_context_input_without_its_shape_is_refused(runs, tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(runs["context"], folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["models"]["restore"]["inputs"]["context"]["shape"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="input 'context' must be a restore model's NCHW RGB photo with its shape"):
        load_manifest(folder)
