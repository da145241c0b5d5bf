"""`python -m training.fp16`: fp16 variants for CUDA that ONNX Runtime's CPU provider runs close to fp32, and their
`cuda-fp16` registration."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skimage import data

from restore.engine import OnnxModel
from restore.manifest import load_manifest, sha256_file
from training import fp16
from training.cli import main as revive_train


@pytest.fixture(scope="module")
def fp16_weights(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny weights with both fp16 variants made and registered by `revive-train fp16`."""
    weights = shutil.copytree(weights_dir, tmp_path_factory.mktemp("fp16") / "weights")
    assert revive_train(["fp16", "--weights", str(weights), "--register"]) == 0
    return weights


def test_the_variants_are_registered_for_cuda_and_never_run_on_the_cpu(fp16_weights: Path):
    record = json.loads((fp16_weights / "fp16.json").read_text())
    manifest = json.loads((fp16_weights / "manifest.json").read_text())
    for task in ("restore", "colorize"):
        file = fp16_weights / f"{task}.fp16.onnx"
        assert record[task]["file"] == file.name
        assert manifest["models"][task]["variants"] == {"cuda-fp16": {"file": file.name, "sha256": sha256_file(file)}}
        spec = load_manifest(fp16_weights).model(task)
        assert spec.for_device("cuda").path == file and spec.for_device("cpu") is spec
        assert OnnxModel(spec, "cpu").path == spec.path


def test_weights_are_fp16_and_inputs_outputs_and_the_tail_stay_fp32(fp16_weights: Path):
    model = onnx.load(str(fp16_weights / "restore.fp16.onnx"))
    onnx.checker.check_model(model)
    graph = model.graph
    assert [tensor.type.tensor_type.elem_type for tensor in [*graph.input, *graph.output]] == [TensorProto.FLOAT] * 2
    weights = {tensor.name: tensor.data_type for tensor in graph.initializer}
    assert {weights[name] for name in ("c1_w", "c2_w", "c3_w")} == {TensorProto.FLOAT16}
    record = json.loads((fp16_weights / "fp16.json").read_text())
    assert [name.split("_")[0] for name in record["restore"]["fp32_nodes"]] == ["Add", "Clip"]
    # The photo goes to the convolutions as float16 and to the residual add as it is, the last convolution's output
    # to the add as float32; the add, the clip and the output then stay float32 (Identity nodes, no more casts).
    casts = [(node.input[0], node.attribute[0].i) for node in graph.node if node.op_type == "Cast"]
    assert casts == [("image", TensorProto.FLOAT16), ("delta", TensorProto.FLOAT)]


@pytest.mark.parametrize("task", ["restore", "colorize"])
def test_fp16_models_run_on_the_cpu_close_to_fp32(fp16_weights: Path, task: str):
    spec = load_manifest(fp16_weights).model(task)
    half = spec.for_device("cuda")
    fp32, fp16_model = OnnxModel(dataclasses.replace(spec, variants=()), "cpu"), OnnxModel(half, "cpu")
    rgb = cv2.resize(data.astronaut(), (96, 64), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if task == "restore":
        image, extra, tolerance = rgb, {}, 2e-3  # about half a uint8 step
    else:
        image, extra, tolerance = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[..., :1], {"temperature": np.float32([0.3])}, 0.1
    expected, actual = fp32.run_image(image, extra), fp16_model.run_image(image, extra)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    assert np.abs(actual - expected).max() < tolerance
    record = json.loads((fp16_weights / "fp16.json").read_text())
    assert record[task]["cpu_max_abs_diff"] < tolerance


def test_a_tensor_read_by_two_fp32_nodes_stays_fp32_between_them(tmp_path: Path):
    """conv -> relu -> (sigmoid, mul): the converter would round relu's output to fp16 twice, with one name."""
    weight = numpy_helper.from_array(np.full((2, 1, 3, 3), 0.1, np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Sigmoid", ["r"], ["s"]),
        helper.make_node("Mul", ["r", "s"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tail",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "tail.onnx"))
    assert fp16.convert(tmp_path / "tail.onnx", tmp_path / "tail.fp16.onnx") == {
        "fp32_nodes": ["Relu_1", "Sigmoid_2", "Mul_3"]
    }
    half = onnx.load(str(tmp_path / "tail.fp16.onnx"))
    casts = [node for node in half.graph.node if node.op_type == "Cast"]
    assert [(node.input[0], node.attribute[0].i) for node in casts] == [
        ("x", TensorProto.FLOAT16),  # the input, for the fp16 convolution
        ("c", TensorProto.FLOAT),  # its output, for the fp32 tail: nothing else
    ]


def test_converting_one_task_keeps_the_others_record(fp16_weights: Path, tmp_path: Path):
    weights = shutil.copytree(fp16_weights, tmp_path / "weights")
    before = json.loads((weights / "fp16.json").read_text())
    assert fp16.main(["--weights", str(weights), "--tasks", "colorize"]) == 0
    after = json.loads((weights / "fp16.json").read_text())
    assert after["restore"] == before["restore"] and after["colorize"]["file"] == "colorize.fp16.onnx"
