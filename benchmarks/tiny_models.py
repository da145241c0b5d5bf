"""Tiny real ONNX models built with onnx.helper (no torch), plus a matching weights/manifest.json.

restore:  a one-level U-Net: conv3x3 -> 2x2 average pool -> conv3x3 -> nearest 2x upsample, plus a skip,
          -> conv3x3, added to the input as a small residual and clipped to [0, 1]. The pooling makes odd
          sizes fail without padding, and the tiler must align tiles to it. Receptive field: 11 px.
colorize: ab = conv3x3(L / 100 - 0.5) * (0.38 / temperature) + bias, so temperature visibly changes the
          result (lower = more vivid, like the real annealed-mean models).
hinted colorize (hints=True): the same, with a `hints` input (a*, b*, mask) whose colours replace ab within
          HINT_REACH px of each hinted pixel, and a second output `ab_logits`: Gaussian logits over the HINT_BINS
          a*b* grid around ab, averaged over 2x2 cells (the manifest's `distribution`, stride 2).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # old enough for any onnxruntime that supports opset 17
RESTORE_RECEPTIVE_FIELD = 12  # 11 px, rounded up to even
SIZE_MULTIPLE = 8
TEMPERATURE_DEFAULT = 0.38
HINT_REACH = 4  # px around a hinted pixel that take its colour
HINT_BINS = np.array([(a, b) for a in range(-110, 111, 10) for b in range(-110, 111, 10)], np.float32)
LOGIT_SIGMA = 8.0  # spread of the distribution around ab, in a*b* units


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array, dtype=np.float32), name)


def _conv(name: str, x: str, out: str, cin: int, cout: int, rng: np.random.Generator, scale: float):
    weight = rng.normal(0.0, scale, (cout, cin, 3, 3))
    bias = rng.normal(0.0, 0.01, (cout,))
    node = helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [out], pads=[1, 1, 1, 1])
    return node, [_init(f"{name}_w", weight), _init(f"{name}_b", bias)]


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def build_restore_model(path: Path, seed: int = 0) -> None:
    """Write the tiny U-Net restore model: input `image` [N,3,H,W], output `restored` [N,3,H,W].

    (ONNX tensor names are unique, so input and output cannot both be called `image`.)
    """
    rng = np.random.default_rng(seed)
    c1, w1 = _conv("c1", "image", "f1", 3, 8, rng, 0.3)
    c2, w2 = _conv("c2", "p1", "f2", 8, 8, rng, 0.2)
    c3, w3 = _conv("c3", "skip", "delta", 8, 3, rng, 0.05)
    nodes = [
        c1,
        helper.make_node("Relu", ["f1"], ["r1"]),
        helper.make_node("AveragePool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        c2,
        helper.make_node("Relu", ["f2"], ["r2"]),
        helper.make_node("Resize", ["r2", "", "up_scales"], ["up"], mode="nearest"),
        helper.make_node("Add", ["up", "r1"], ["skip"]),
        c3,
        helper.make_node("Add", ["image", "delta"], ["sum"]),
        helper.make_node("Clip", ["sum", "zero", "one"], ["restored"]),
    ]
    extra = [_init("up_scales", [1, 1, 2, 2]), _init("zero", 0.0), _init("one", 1.0)]
    graph = helper.make_graph(
        nodes,
        "tiny_restore",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("restored", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        initializer=w1 + w2 + w3 + extra,
    )
    _save(graph, path)


def build_colorize_model(path: Path, with_temperature: bool = True) -> None:
    """Write the tiny colorize model: `L` [N,1,H,W] (+ `temperature` [1]) to `ab` [N,2,H,W]."""
    weight = np.zeros((2, 1, 3, 3))
    weight[0, 0] = [[0, 10, 0], [10, 40, 10], [0, 10, 0]]  # a follows lightness, with a little blur
    weight[1, 0, 1, 1] = -60.0  # b against it
    nodes = [
        helper.make_node("Div", ["L", "hundred"], ["l01"]),
        helper.make_node("Sub", ["l01", "half"], ["lc"]),
        helper.make_node("Conv", ["lc", "cw", "cb"], ["raw"], pads=[1, 1, 1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("L", TensorProto.FLOAT, ["N", 1, "H", "W"])]
    inits = [_init("hundred", 100.0), _init("half", 0.5), _init("cw", weight), _init("cb", [5.0, 20.0])]
    if with_temperature:
        inputs.append(helper.make_tensor_value_info("temperature", TensorProto.FLOAT, [1]))
        inits.append(_init("t_ref", [TEMPERATURE_DEFAULT]))
        nodes += [
            helper.make_node("Div", ["t_ref", "temperature"], ["gain"]),
            helper.make_node("Mul", ["raw", "gain"], ["ab"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["raw"], ["ab"]))
    graph = helper.make_graph(
        nodes,
        "tiny_colorize",
        inputs,
        [helper.make_tensor_value_info("ab", TensorProto.FLOAT, ["N", 2, "H", "W"])],
        initializer=inits,
    )
    _save(graph, path)


def build_hinted_colorize_model(path: Path) -> None:
    """Write the hinted tiny colorize model: `L` [N,1,H,W], `temperature` [1], `hints` [N,3,H,W] to `ab`
    [N,2,H,W] and `ab_logits` [N,Q,H/2,W/2] (see the module docstring)."""
    build_colorize_model(path)
    model = onnx.load(str(path))
    graph = model.graph
    graph.node[-1].output[0] = "auto"  # the automatic ab, to mix with the hints
    window = {"kernel_shape": [2 * HINT_REACH + 1] * 2, "pads": [HINT_REACH] * 4, "count_include_pad": 1}
    scale = 2 * LOGIT_SIGMA**2  # logits -|ab - bin|^2 / scale, less the |ab|^2 that softmax ignores
    weight = (2 * HINT_BINS / scale).reshape(len(HINT_BINS), 2, 1, 1)
    bias = -(HINT_BINS**2).sum(axis=1) / scale
    graph.node.extend(
        [
            helper.make_node("Split", ["hints", "hint_split"], ["hint_ab", "mask"], axis=1),
            helper.make_node("Mul", ["hint_ab", "mask"], ["masked_ab"]),
            helper.make_node("AveragePool", ["mask"], ["spread"], **window),
            helper.make_node("AveragePool", ["masked_ab"], ["ab_sum"], **window),
            helper.make_node("Max", ["spread", "tiny"], ["safe_spread"]),
            helper.make_node("Div", ["ab_sum", "safe_spread"], ["local"]),
            helper.make_node("Mul", ["spread", "reach_gain"], ["raw_weight"]),
            helper.make_node("Clip", ["raw_weight", "zero", "one"], ["weight"]),
            helper.make_node("Sub", ["local", "auto"], ["change"]),
            helper.make_node("Mul", ["change", "weight"], ["weighted_change"]),
            helper.make_node("Add", ["auto", "weighted_change"], ["ab"]),
            helper.make_node("AveragePool", ["ab"], ["ab_cells"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Conv", ["ab_cells", "bin_w", "bin_b"], ["ab_logits"]),
        ]
    )
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([2, 1], np.int64), "hint_split"),
            _init("tiny", 1e-6),
            _init("reach_gain", 16.0),
            _init("zero", 0.0),
            _init("one", 1.0),
            _init("bin_w", weight),
            _init("bin_b", bias),
        ]
    )
    graph.input.append(helper.make_tensor_value_info("hints", TensorProto.FLOAT, ["N", 3, "H", "W"]))
    graph.output.append(helper.make_tensor_value_info("ab_logits", TensorProto.FLOAT, ["N", len(HINT_BINS), "h", "w"]))
    _save(graph, path)


CORRECT_SIZE = 32  # the tiny colour-correction model's input side


def build_correct_model(path: Path) -> None:
    """A "correct" model: grey-world white balance. From the photo at CORRECT_SIZE x CORRECT_SIZE, the (N, 3, 4)
    transform [0 | mean - channel means] that moves each channel's mean to the mean of all three."""
    nodes = [
        helper.make_node("ReduceMean", ["image"], ["means4"], axes=[2, 3], keepdims=0),  # (N, 3)
        helper.make_node("Unsqueeze", ["means4", "last"], ["means"]),  # (N, 3, 1)
        helper.make_node("ReduceMean", ["means"], ["gray"], axes=[1], keepdims=1),  # (N, 1, 1)
        helper.make_node("Sub", ["gray", "means"], ["offset"]),
        helper.make_node("Mul", ["means", "zeros"], ["matrix"]),  # (N, 3, 3) of zeros
        helper.make_node("Concat", ["matrix", "offset"], ["correction"], axis=2),
    ]
    graph = helper.make_graph(
        nodes,
        "grey_world",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, CORRECT_SIZE, CORRECT_SIZE])],
        [helper.make_tensor_value_info("correction", TensorProto.FLOAT, ["N", 3, 4])],
        [
            numpy_helper.from_array(np.array([2], np.int64), "last"),
            _init("zeros", np.zeros((1, 1, 3))),
        ],
    )
    _save(graph, path)


def write_weights(
    folder: Path,
    *,
    restore: bool = True,
    colorize: bool = True,
    temperature: bool = True,
    hints: bool = False,
    correct: bool = False,
) -> Path:
    """Build the requested models into `folder` with a manifest.json (correct sha256s); return `folder`.
    hints: the hinted colorize model (which has a temperature input); correct: the grey-world "correct" model."""
    folder.mkdir(parents=True, exist_ok=True)
    models = {}
    if restore:
        build_restore_model(folder / "restore.onnx")
        models["restore"] = {
            "file": "restore.onnx",
            "sha256": _sha256(folder / "restore.onnx"),
            "task": "restore",
            "inputs": {"image": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}},
            "outputs": {"restored": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}},
            "size_multiple": SIZE_MULTIPLE,
            "receptive_field": RESTORE_RECEPTIVE_FIELD,
            "training": {"command": "benchmarks/tiny_models.py", "config": {}, "iterations": 0},
            "metrics": {},
        }
    if colorize:
        if hints:
            build_hinted_colorize_model(folder / "colorize.onnx")
        else:
            build_colorize_model(folder / "colorize.onnx", with_temperature=temperature)
        inputs = {"L": {"layout": "NCHW", "channels": "L", "range": [0.0, 100.0]}}
        if temperature or hints:
            inputs["temperature"] = {"shape": [1], "default": TEMPERATURE_DEFAULT, "range": [0.05, 1.0]}
        distribution = {}
        if hints:
            inputs["hints"] = {"layout": "NCHW", "channels": "ab+mask", "size": "L"}
            distribution = {"distribution": {"output": "ab_logits", "stride": 2, "bins": HINT_BINS.tolist()}}
        models["colorize"] = {
            "file": "colorize.onnx",
            "sha256": _sha256(folder / "colorize.onnx"),
            "task": "colorize",
            "inputs": inputs,
            "outputs": {"ab": {"layout": "NCHW", "channels": "ab", "range": [-128.0, 127.0]}},
            "size_multiple": SIZE_MULTIPLE,
            "render_size": 64,
            **distribution,
            "training": {},
            "metrics": {},
        }
    if correct:
        build_correct_model(folder / "restore_global.onnx")
        models["correct"] = {
            "file": "restore_global.onnx",
            "sha256": _sha256(folder / "restore_global.onnx"),
            "task": "correct",
            "inputs": {
                "image": {
                    "layout": "NCHW",
                    "channels": "RGB",
                    "range": [0.0, 1.0],
                    "shape": [CORRECT_SIZE, CORRECT_SIZE],
                }
            },
            "outputs": {"correction": {"layout": "N34", "channels": "affine"}},
        }
    manifest = {"format": 1, "models": models}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
