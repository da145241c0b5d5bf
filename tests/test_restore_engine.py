"""The manifest (docs/manifest.md), sha256 checks, device choice and padding to the size multiple."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest

from benchmarks.tiny_models import SIZE_MULTIPLE, build_restore_model
from restore.engine import CPU_PROVIDER, OnnxModel, pad_to_multiple, run_bound
from restore.errors import DeviceError, WeightsError
from restore.manifest import load_manifest, sha256_file


@pytest.fixture
def own_weights(weights_dir, tmp_path):
    """A private copy of the weights that a test may damage."""
    return shutil.copytree(weights_dir, tmp_path / "weights")


def _edit_manifest(folder, edit) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def test_manifest_is_parsed_and_paths_resolve_against_its_folder(weights_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manifest = load_manifest(weights_dir)
    restore, colorize = manifest.model("restore"), manifest.model("colorize")
    assert restore.path == weights_dir / "restore.onnx" and restore.path.is_file()
    assert (restore.image_input.name, restore.output.name) == ("image", "restored")
    assert restore.size_multiple == SIZE_MULTIPLE and restore.receptive_field == 12
    assert colorize.image_input.name == "L" and colorize.output.name == "ab"
    assert colorize.temperature.default == pytest.approx(0.38)
    assert colorize.temperature.range == (0.05, 1.0) and colorize.render_size == 64


def test_extra_keys_and_unknown_tasks_are_ignored(own_weights):
    def add_extras(manifest):
        manifest["exported_by"] = "someone"
        manifest["models"]["restore"]["variants"] = {"fp16": "restore_fp16.onnx"}
        manifest["models"]["restore"]["inputs"]["image"]["note"] = "anything"
        manifest["models"]["video"] = {"file": "future.onnx", "inputs": {"frames": {"layout": "NTCHW"}}}

    _edit_manifest(own_weights, add_extras)
    assert set(load_manifest(own_weights).models) == {"restore", "colorize"}


def test_a_modified_model_file_is_refused_before_loading(own_weights):
    with open(own_weights / "restore.onnx", "ab") as fh:
        fh.write(b"\0")
    spec = load_manifest(own_weights).model("restore")
    with pytest.raises(WeightsError, match=r"restore\.onnx: sha256 is .* the manifest says"):
        OnnxModel(spec, "cpu")


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_a_model_onnxruntime_cannot_load_is_a_weights_error(own_weights, device):
    (own_weights / "restore.onnx").write_bytes(b"not a protobuf")
    _edit_manifest(
        own_weights, lambda m: m["models"]["restore"].update(sha256=sha256_file(own_weights / "restore.onnx"))
    )
    with pytest.raises(WeightsError, match=r"restore\.onnx: onnxruntime cannot load this model \(.*\)"):
        OnnxModel(load_manifest(own_weights).model("restore"), device)


def test_missing_manifest_model_and_file_are_clear_errors(own_weights, tmp_path):
    with pytest.raises(WeightsError, match="manifest.json: not found"):
        load_manifest(tmp_path / "nowhere")
    with pytest.raises(WeightsError, match=r"no 'upscale' model \(it has: colorize, restore\)"):
        load_manifest(own_weights).model("upscale")
    (own_weights / "colorize.onnx").unlink()
    with pytest.raises(WeightsError, match="model file for 'colorize' is missing"):
        load_manifest(own_weights).model("colorize").verify()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format=2), "unsupported manifest format"),
        (lambda m: m["models"]["restore"].pop("sha256"), "missing key 'sha256'"),
        (
            lambda m: m["models"]["restore"]["inputs"]["image"].update(layout="NHWC"),
            "has layout NHWC; 'restore' needs NCHW",
        ),
        (lambda m: m["models"]["restore"]["inputs"]["image"].update(range=[0, 255]), r"range must be \[0.0, 1.0\]"),
        (lambda m: m["models"]["colorize"]["inputs"]["temperature"].pop("default"), "needs a default"),
    ],
)
def test_malformed_manifests_are_refused(own_weights, edit, message):
    _edit_manifest(own_weights, edit)
    with pytest.raises(WeightsError, match=message):
        load_manifest(own_weights)


def test_cpu_and_auto_report_the_provider_that_runs(weights_dir):
    spec = load_manifest(weights_dir).model("restore")
    assert OnnxModel(spec, "cpu").providers == [CPU_PROVIDER]
    auto = OnnxModel(spec, "auto")
    assert auto.device in ("cpu", "cuda") and auto.providers == auto.session.get_providers()


def _add_variant(folder, name, file, *, seed, sha256=None) -> None:
    """A different tiny restore model (weights from `seed`) as the manifest's `name` variant of `restore`."""
    build_restore_model(folder / file, seed=seed)
    digest = sha256 or sha256_file(folder / file)
    variants = {name: {"file": file, "sha256": digest}, "fp16": "informational"}
    _edit_manifest(folder, lambda manifest: manifest["models"]["restore"].setdefault("variants", {}).update(variants))


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_each_device_runs_its_own_variant_when_the_manifest_has_one(own_weights, device):
    spec = load_manifest(own_weights).model("restore")
    assert spec.for_device("cpu") is spec and spec.for_device("cuda") is spec  # no variants: the model itself
    _add_variant(own_weights, "cpu-int8", "restore.int8.onnx", seed=1)
    _add_variant(own_weights, "cuda-fp16", "restore.fp16.onnx", seed=2)
    spec = load_manifest(own_weights).model("restore")
    cpu, cuda = spec.for_device("cpu"), spec.for_device("cuda")
    assert cpu.path == own_weights / "restore.int8.onnx" and cpu.image_input == spec.image_input
    assert cuda.path == own_weights / "restore.fp16.onnx" and cuda.variants == ()
    image = np.random.default_rng(0).random((32, 48, 3), dtype=np.float32)
    expected = OnnxModel(cpu, "cpu").run_image(image)
    assert not np.allclose(OnnxModel(replace(spec, variants=()), "cpu").run_image(image), expected)
    model = OnnxModel(spec, device)
    assert model.path == (cuda.path if model.device == "cuda" else cpu.path)
    if model.device == "cpu":  # the cuda-fp16 variant never runs on the CPU, even after trying CUDA
        np.testing.assert_array_equal(model.run_image(image), expected)


def test_without_a_cpu_variant_the_cpu_runs_the_model_itself(own_weights):
    _add_variant(own_weights, "cuda-fp16", "restore.fp16.onnx", seed=2)
    spec = load_manifest(own_weights).model("restore")
    model = OnnxModel(spec, "auto")
    if model.device == "cpu":
        assert model.path == spec.path


@pytest.mark.parametrize(("name", "device"), [("cpu-int8", "cpu"), ("cuda-fp16", "auto")])
def test_a_modified_variant_is_refused(own_weights, name, device):
    import onnxruntime

    _add_variant(own_weights, name, "restore.variant.onnx", seed=1, sha256="0" * 64)
    spec = load_manifest(own_weights).model("restore")
    if name == "cuda-fp16" and "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert OnnxModel(spec, device).path == spec.path  # a build without CUDA never looks at it
        return
    with pytest.raises(WeightsError, match=r"restore\.variant\.onnx: sha256 is"):
        OnnxModel(spec, device)


@pytest.mark.parametrize("task", ["restore", "colorize"])
def test_io_binding_gives_what_session_run_gives(weights_dir, task):
    model = OnnxModel(load_manifest(weights_dir).model(task), "cpu")
    rng = np.random.default_rng(3)
    if task == "restore":
        feeds = {"image": rng.random((4, 3, 32, 48), dtype=np.float32)}
    else:
        feeds = {"L": rng.random((2, 1, 24, 40), dtype=np.float32) * 100, "temperature": np.float32([0.3])}
    expected = model.session.run(["restored" if task == "restore" else "ab"], feeds)
    bound = run_bound(model.session, feeds, [model.spec.output.name], "cpu")
    assert len(bound) == 1 and bound[0].dtype == np.float32
    np.testing.assert_array_equal(bound[0], expected[0])
    strided = {name: np.asfortranarray(array) for name, array in feeds.items()}  # made contiguous first
    np.testing.assert_array_equal(run_bound(model.session, strided, [model.spec.output.name], "cpu")[0], expected[0])


def test_on_cuda_run_goes_through_the_io_binding(weights_dir, monkeypatch):
    import restore.engine

    calls = []

    def spy(session, feeds, outputs, device):
        calls.append(device)
        return run_bound(session, feeds, outputs, "cpu")  # this session is on the CPU

    monkeypatch.setattr(restore.engine, "run_bound", spy)
    model = OnnxModel(load_manifest(weights_dir).model("colorize"), "cpu")
    image = np.random.default_rng(4).random((3, 24, 40, 1), dtype=np.float32) * 100
    extra = {"temperature": np.float32([0.5])}
    expected = model.run_batch(image, extra)
    assert calls == []  # the CPU runs plain session.run
    model.device = "cuda"
    np.testing.assert_array_equal(model.run_batch(image, extra), expected)
    assert calls == ["cuda"]


def test_cuda_that_cannot_start_is_a_clear_error(weights_dir):
    spec = load_manifest(weights_dir).model("restore")
    if OnnxModel(spec, "auto").device == "cuda":
        pytest.skip("CUDA works on this machine")
    with pytest.raises(DeviceError, match="--device cuda"):
        OnnxModel(spec, "cuda")


@pytest.mark.parametrize(("height", "width"), [(37, 53), (8, 8), (1, 17), (16, 9)])
def test_pad_to_multiple_and_back(height, width):
    image = np.random.default_rng(1).random((height, width, 3), np.float32)
    padded = pad_to_multiple(image, 8)
    assert padded.shape == (-(-height // 8) * 8, -(-width // 8) * 8, 3)
    np.testing.assert_array_equal(padded[:height, :width], image)


def test_padding_mirrors_the_edge():
    image = np.arange(37 * 53, dtype=np.float32).reshape(37, 53, 1)
    padded = pad_to_multiple(image, 8)
    assert padded.shape == (40, 56, 1)  # a 1-channel axis survives OpenCV
    np.testing.assert_array_equal(padded[37, :53], image[35])  # BORDER_REFLECT_101: no edge repeat
    np.testing.assert_array_equal(padded[:37, 55], image[:, 49])


def test_images_smaller_than_the_pad_repeat_the_edge():
    image = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    padded = pad_to_multiple(image, 8)
    assert padded.shape == (8, 8, 1)
    np.testing.assert_array_equal(padded[7, :3, 0], image[1, :, 0])
    np.testing.assert_array_equal(padded[0, 7], image[0, 2])


def test_run_image_pads_odd_sizes_and_crops_back(weights_dir):
    model = OnnxModel(load_manifest(weights_dir).model("restore"), "cpu")
    image = np.random.default_rng(2).random((37, 53, 3), np.float32)
    out = model.run_image(image)
    assert out.shape == (37, 53, 3) and out.dtype == np.float32
    padded = cv2.copyMakeBorder(image, 0, 3, 0, 3, cv2.BORDER_REFLECT_101)
    by_hand = model.run({"image": padded.transpose(2, 0, 1)[None]})[0].transpose(1, 2, 0)[:37, :53]
    np.testing.assert_allclose(out, by_hand, atol=1e-6)
    with pytest.raises(Exception, match="(?i)shape|dimension"):  # the model needs even sizes
        model.run({"image": image.transpose(2, 0, 1)[None]})
