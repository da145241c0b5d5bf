"""`python -m training.quantize`: static QDQ int8 models that load in the engine and stay close to fp32."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from skimage import data

pytest.importorskip("torch")  # training.data builds torch tensors

from helpers_training import write_sample_photos  # noqa: E402

from restore.engine import OnnxModel  # noqa: E402
from restore.manifest import load_manifest, sha256_file  # noqa: E402
from training import quantize  # noqa: E402
from training.cli import main as revive_train  # noqa: E402


@pytest.fixture(scope="module")
def int8_dir(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    photos = write_sample_photos(tmp_path_factory.mktemp("calibration"), ("astronaut", "coffee"), ".png")
    out = tmp_path_factory.mktemp("int8")
    argv = ["--weights", str(weights_dir), "--calibration", str(photos), "--out", str(out), "--samples", "4"]
    assert quantize.main(argv) == 0
    return out


def test_restore_keeps_its_residual_add_and_clip_in_fp32(int8_dir: Path):
    record = json.loads((int8_dir / "quantize.json").read_text())
    assert [name.split("_")[0] for name in record["restore"]["fp32_nodes"]] == ["Add", "Clip"]
    ops = [node.op_type for node in onnx.load(str(int8_dir / "restore.int8.onnx")).graph.node]
    assert ops[-2:] == ["Add", "Clip"] and "QuantizeLinear" in ops


@pytest.mark.parametrize("task", ["restore", "colorize"])
def test_int8_models_run_in_the_engine_close_to_fp32(weights_dir: Path, int8_dir: Path, task: str):
    spec = load_manifest(weights_dir).model(task)
    path = int8_dir / f"{task}.int8.onnx"
    int8 = OnnxModel(dataclasses.replace(spec, path=path, sha256=sha256_file(path)), "cpu")
    fp32 = OnnxModel(spec, "cpu")
    rgb = cv2.resize(data.astronaut(), (96, 64)).astype(np.float32) / 255
    if task == "restore":
        image, extra, scale = rgb, {}, 1.0
    else:
        image, extra, scale = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., :1], {"temperature": np.float32([0.38])}, 100.0
    expected, actual = fp32.run_image(image, extra), int8.run_image(image, extra)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).mean() < 0.02 * scale


def test_revive_train_quantize_register_lists_the_int8_models_as_cpu_variants(weights_dir: Path, tmp_path: Path):
    weights = shutil.copytree(weights_dir, tmp_path / "weights")
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "coffee.png"), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))
    argv = ["--weights", str(weights), "--calibration", str(photos), "--out", str(weights / "int8")]
    assert revive_train(["quantize", *argv, "--samples", "2", "--tasks", "restore", "--register"]) == 0
    spec = load_manifest(weights).model("restore")
    assert spec.for_device("cpu").path == weights / "int8" / "restore.int8.onnx"
    assert OnnxModel(spec, "cpu").run_image(np.zeros((16, 16, 3), np.float32)).shape == (16, 16, 3)


def test_quantizing_one_task_keeps_the_others_record(weights_dir: Path, int8_dir: Path, tmp_path: Path):
    out = shutil.copytree(int8_dir, tmp_path / "int8")
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "coffee.png"), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))
    argv = ["--weights", str(weights_dir), "--calibration", str(photos), "--out", str(out), "--samples", "2"]
    assert quantize.main([*argv, "--tasks", "colorize"]) == 0
    record = json.loads((out / "quantize.json").read_text())
    assert record["restore"] == json.loads((int8_dir / "quantize.json").read_text())["restore"]
    assert record["colorize"]["calibration"] == str(photos) and record["colorize"]["samples"] == 2
