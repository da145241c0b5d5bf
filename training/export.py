"""Export the EMA generator of a run to ONNX, check it against PyTorch, and record it in weights/manifest.json.

The exported graph takes and returns natural units (see docs/manifest.md): RGB in [0, 1] for `restore`; L* in,
a*b* out for `colorize`, with the annealed-mean decoding and its temperature inside the graph, so the inference side
only pads, runs and merges.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from restore.atomic import atomic_path
from restore.manifest import read_manifest_json, sha256_file, write_manifest_json
from training import checkpoint
from training.config import TrainConfig, from_dict
from training.tasks import AB_SCALE, ColorizeNet, RestoreNet, Task

PARITY_SIZES = ((1, 37, 53), (2, 64, 96))
PARITY_TOLERANCE = 1e-3


class RestoreGraph(nn.Module):
    def __init__(self, generator: RestoreNet):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.generator(image).clamp(0.0, 1.0)


class ColorizeGraph(nn.Module):
    def __init__(self, generator: ColorizeNet):
        super().__init__()
        self.generator = generator

    def forward(self, lightness: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
        return self.generator.predict(lightness, temperature)


class HintedColorizeGraph(ColorizeGraph):
    """Takes hints in natural units, (N, 3, H, W) = a*, b*, mask (1 where hinted), at the L input's size, and also
    returns the colour head's logits over the ab bins at stride 2 (the distribution a colour picker shows)."""

    def forward(
        self, lightness: torch.Tensor, temperature: torch.Tensor, hints: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask = hints[:, 2:3]
        scaled = torch.cat([hints[:, :2] * mask / AB_SCALE, mask], dim=1)
        logits = self.generator.logits(self.generator(lightness, scaled))
        ab = self.generator.decode(logits, temperature, lightness.shape[-2:], shifted=True)
        return ab, logits


def load_generator(
    checkpoint_path: Path, prior_correction: float | None = None
) -> tuple[nn.Module, TrainConfig, dict[str, Any]]:
    """The EMA generator of a training checkpoint, in eval mode, with its config (as trained).

    A colorizer's decoding needs the run's colour prior (its rebalancing weights): the run's color_prior.npy
    (or the config's `color.prior`), else computed again from the config's data folder. `prior_correction`
    replaces the config's share of the rebalancing that the decoding undoes.
    """
    from training.trainer import class_weights

    state = checkpoint.load(checkpoint_path)
    config = from_dict(state["config"])
    weights = class_weights(config, checkpoint_path.parent)
    decoding = config
    if prior_correction is not None:
        decoding = replace(config, color=replace(config.color, prior_correction=prior_correction))
    generator = Task(decoding, weights).build_generator()
    generator.load_state_dict(checkpoint.ema_generator_state(state))
    return generator.eval(), config, state


def takes_hints(generator: nn.Module) -> bool:
    return getattr(generator, "takes_hints", False)


def graph_for(generator: nn.Module, task: str) -> tuple[nn.Module, list[str], list[str]]:
    """The export wrapper in eval mode (the exporter restores a wrapper's mode afterwards, and a wrapper left in
    training mode would put batch norm back on batch statistics), with its input and output names."""
    if task == "restore":
        return RestoreGraph(generator).eval(), ["image"], ["restored"]
    if takes_hints(generator):
        return HintedColorizeGraph(generator).eval(), ["L", "temperature", "hints"], ["ab", "ab_logits"]
    return ColorizeGraph(generator).eval(), ["L", "temperature"], ["ab"]


def example_inputs(
    task: str, shape: tuple[int, int, int], temperature: float, seed: int = 0, hints: bool = False
) -> list[np.ndarray]:
    """Random inputs for the task's graph; with `hints`, a few hinted patches of random colour."""
    rng = np.random.default_rng(seed)
    n, h, w = shape
    if task == "restore":
        return [rng.random((n, 3, h, w), dtype=np.float32)]
    inputs = [(rng.random((n, 1, h, w), dtype=np.float32) * 100.0), np.array([temperature], np.float32)]
    if hints:
        hint_map = np.zeros((n, 3, h, w), np.float32)
        for i in range(n):
            for _ in range(4):
                y, x, size = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 6)
                hint_map[i, :2, y : y + size, x : x + size] = rng.uniform(-60, 60, (2, 1, 1))
                hint_map[i, 2, y : y + size, x : x + size] = 1.0
        inputs.append(hint_map)
    return inputs


def receptive_field(generator: nn.Module, task: str, size: int = 256) -> int:
    """Width of the input window holding 99% of the gradient of the output centre pixel, the identity path of a
    residual model left out (the tiler's guide for how much context a tile needs)."""
    inputs = [torch.from_numpy(a) for a in example_inputs(task, (1, size, size), 0.38)]
    inputs[0].requires_grad_(True)
    if task == "restore":
        output = generator.unet(inputs[0]) - inputs[0] if generator.unet.residual else generator.unet(inputs[0])
    else:
        output = generator.predict(*inputs)
    output[0, :, size // 2, size // 2].sum().backward()
    energy = inputs[0].grad.abs().sum(dim=(0, 1))
    total = energy.sum()
    for radius in range(1, size // 2):
        window = energy[size // 2 - radius : size // 2 + radius + 1, size // 2 - radius : size // 2 + radius + 1]
        if window.sum() >= 0.99 * total:
            return 2 * radius + 1
    return size


def complexity(generator: nn.Module, task: str) -> dict[str, float]:
    """Parameters and GFLOPs per megapixel of input (2 x multiply-accumulates, counted on a 512 x 512 input)."""
    from torch.utils.flop_counter import FlopCounterMode

    graph, _, _ = graph_for(generator, task)
    inputs = [torch.from_numpy(a) for a in example_inputs(task, (1, 512, 512), 0.38, hints=takes_hints(generator))]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        graph(*inputs)
    return {
        "parameters": sum(p.numel() for p in generator.parameters()),
        "gflops_per_megapixel": round(counter.get_total_flops() / 1e9 / (512 * 512 / 1e6), 1),
    }


def export_onnx(generator: nn.Module, task: str, path: Path) -> None:
    """Legacy (TorchScript) exporter, opset 17, dynamic batch/height/width. Constant folding is left to ONNX
    Runtime's graph optimizer at load time so that every parameter keeps its name (fine-tuning reads them back)."""
    graph, input_names, output_names = graph_for(generator, task)
    images = [name for name in input_names if name != "temperature"]
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in images + output_names}
    if "ab_logits" in dynamic:  # at stride 2: other sizes than the image's
        dynamic["ab_logits"] = {0: "batch", 2: "height_2", 3: "width_2"}
    example = tuple(torch.from_numpy(a) for a in example_inputs(task, (1, 64, 64), 0.38, hints=takes_hints(generator)))
    torch.onnx.export(
        graph,
        example,
        str(path),
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic,
        opset_version=17,
        dynamo=False,
        do_constant_folding=False,
    )


def check_parity(generator: nn.Module, task: str, path: Path, temperature: float) -> float:
    """Max absolute difference between ONNX Runtime (CPU) and PyTorch fp32 on random inputs of odd sizes."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    graph, input_names, _ = graph_for(generator, task)
    worst = 0.0
    multiple = generator.unet.size_multiple
    for n, h, w in PARITY_SIZES:  # at sizes the engine feeds: padded to the size multiple
        shape = (n, -(-h // multiple) * multiple, -(-w // multiple) * multiple)
        arrays = example_inputs(task, shape, temperature, seed=sum(shape), hints=takes_hints(generator))
        with torch.no_grad():
            expected = graph(*[torch.from_numpy(a) for a in arrays])
            expected = (expected[0] if isinstance(expected, tuple) else expected).numpy()
        feed = dict(zip(input_names, arrays, strict=True))
        # a regression-head colorizer has no temperature: the exporter drops the unused input
        actual = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]
        worst = max(worst, float(np.abs(actual - expected).max()))
    return worst


def manifest_entry(
    task: str,
    file: str,
    digest: str,
    config: TrainConfig,
    generator: nn.Module,
    training: dict[str, Any],
    temperature: float,
) -> dict[str, Any]:
    from training.config import to_dict

    multiple = generator.unet.size_multiple
    if task == "restore":
        io = {
            "inputs": {"image": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}},
            "outputs": {"restored": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}},
            "receptive_field": receptive_field(generator, task),
        }
    else:
        inputs = {"L": {"layout": "NCHW", "channels": "L", "range": [0.0, 100.0]}}
        if config.color.head == "bins":
            inputs["temperature"] = {"shape": [1], "default": temperature, "range": [0.05, 1.0]}
        outputs = {"ab": {"layout": "NCHW", "channels": "ab", "range": [-128.0, 127.0]}}
        distribution = {}
        if takes_hints(generator):
            inputs["hints"] = {"layout": "NCHW", "channels": "ab+mask", "size": "L"}
            centers = generator.centers.tolist()
            distribution = {"distribution": {"output": "ab_logits", "stride": 2, "bins": centers}}
        io = {
            "inputs": inputs,
            "outputs": outputs,
            "render_size": 512,
            **distribution,
        }
    return {
        "file": file,
        "sha256": digest,
        "task": task,
        **io,
        "size_multiple": multiple,
        "training": {**training, "config": to_dict(config)},
        "metrics": {},
    }


def export(
    checkpoint_path: Path,
    out_dir: Path,
    name: str | None = None,
    command: str = "",
    temperature: float | None = None,
    prior_correction: float | None = None,
) -> dict[str, Any]:
    """Export, verify parity (< 1e-3) and update out_dir/manifest.json; returns the manifest entry.

    Colorize decoding, built into the graph: `temperature` is the default of its temperature input and
    `prior_correction` the share of class rebalancing undone (defaults: the training config's, which is
    recorded unchanged).
    """
    generator, config, state = load_generator(checkpoint_path, prior_correction)
    task = config.task
    temperature = config.color.temperature if temperature is None else temperature
    prior_correction = config.color.prior_correction if prior_correction is None else prior_correction
    out_dir.mkdir(parents=True, exist_ok=True)
    file = f"{name or task}.onnx"
    with atomic_path(out_dir / file) as tmp:
        export_onnx(generator, task, tmp)
        error = check_parity(generator, task, tmp, temperature)
        if error >= PARITY_TOLERANCE:
            raise RuntimeError(f"ONNX Runtime differs from PyTorch by {error:.2e} (limit {PARITY_TOLERANCE:.0e})")
    training = {
        "command": command,
        "iterations": state["step"],
        "wall_time_h": round(state.get("wall_seconds", 0.0) / 3600, 2),
        "hardware": state.get("hardware", ""),
        "parity_max_abs_error": error,
        **({"decoding_prior_correction": prior_correction} if task == "colorize" else {}),
        **complexity(generator, task),
    }
    entry = manifest_entry(task, file, sha256_file(out_dir / file), config, generator, training, temperature)
    manifest = read_manifest_json(out_dir)
    previous = manifest["models"].get(task, {})
    entry["metrics"] = previous.get("metrics", {}) if previous.get("sha256") == entry["sha256"] else {}
    if previous.get("sha256") != entry["sha256"]:
        previous.pop("variants", None)  # made from the old model (e.g. its cpu-int8): re-make them
    manifest["models"][task] = {**previous, **entry}
    write_manifest_json(out_dir, manifest)
    return entry


def export_correction(
    model: nn.Module, out_dir: Path, summary: dict[str, Any], file: str = "restore_global.onnx"
) -> dict[str, Any]:
    """Export a training.global_correction.GlobalCorrection to `out_dir`/`file` (SIZE x SIZE RGB in, the (N, 3, 4)
    colour transform out; dynamic batch), check ONNX Runtime against PyTorch (< PARITY_TOLERANCE), and record it
    as the manifest's "correct" model (restore.pipeline applies it after restoring)."""
    import onnxruntime as ort

    from training.global_correction import SIZE

    model = model.eval()
    example = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / file) as tmp:
        torch.onnx.export(
            model, (example,), str(tmp), input_names=["image"], output_names=["correction"],
            dynamic_axes={"image": {0: "batch"}, "correction": {0: "batch"}}, opset_version=17, dynamo=False,
        )  # fmt: skip
        with torch.no_grad():
            expected = model(example).numpy()
        got = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(None, {"image": example.numpy()})
        error = float(np.abs(got[0] - expected).max())
        if error >= PARITY_TOLERANCE:
            raise RuntimeError(f"ONNX Runtime differs from PyTorch by {error:.2e} (limit {PARITY_TOLERANCE:.0e})")
    entry = {
        "file": file,
        "sha256": sha256_file(out_dir / file),
        "task": "correct",
        "inputs": {"image": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0], "shape": [SIZE, SIZE]}},
        "outputs": {"correction": {"layout": "N34", "channels": "affine"}},
        "training": {"parity_max_abs_error": error, **summary},
    }
    manifest = read_manifest_json(out_dir)
    manifest["models"]["correct"] = entry
    write_manifest_json(out_dir, manifest)
    return entry
