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
from training.config import from_dict
from training.tasks import Task, make_task, task_for_run

PARITY_SIZES = ((1, 37, 53), (2, 64, 96))
PARITY_TOLERANCE = 1e-3


def load_generator(
    checkpoint_path: Path, prior_correction: float | None = None
) -> tuple[nn.Module, Task, dict[str, Any]]:
    """The EMA generator of a training checkpoint, in eval mode, with its task (holding the config as trained).

    A colorizer's decoding needs the run's colour prior (its rebalancing weights): the run's color_prior.npy
    (or the config's `color.prior`), else computed again from the config's data folder. `prior_correction`
    replaces the config's share of the rebalancing that the decoding undoes.
    """
    state = checkpoint.load(checkpoint_path)
    config = from_dict(state["config"])
    task = task_for_run(config, checkpoint_path.parent)
    decoding = config
    if prior_correction is not None:
        decoding = replace(config, color=replace(config.color, prior_correction=prior_correction))
    weights = None if task.class_weights is None else task.class_weights.numpy()
    generator = make_task(decoding, weights).build_generator()
    generator.load_state_dict(checkpoint.ema_generator_state(state))
    return generator.eval(), task, state


def receptive_field(generator: nn.Module, task: Task, size: int = 256) -> int:
    """Width of the input window holding 99% of the gradient of the output centre pixel, the identity path of a
    residual model left out (the tiler's guide for how much context a tile needs)."""
    inputs = [torch.from_numpy(a) for a in task.example_inputs((1, size, size))]
    inputs[0].requires_grad_(True)
    output = task.centre_response(generator, inputs)
    output[0, :, size // 2, size // 2].sum().backward()
    energy = inputs[0].grad.abs().sum(dim=(0, 1))
    total = energy.sum()
    for radius in range(1, size // 2):
        window = energy[size // 2 - radius : size // 2 + radius + 1, size // 2 - radius : size // 2 + radius + 1]
        if window.sum() >= 0.99 * total:
            return 2 * radius + 1
    return size


def complexity(generator: nn.Module, task: Task) -> dict[str, float]:
    """Parameters and GFLOPs per megapixel of input (2 x multiply-accumulates, counted on a 512 x 512 input)."""
    from torch.utils.flop_counter import FlopCounterMode

    graph, _, _ = task.export_graph(generator)
    inputs = [torch.from_numpy(a) for a in task.example_inputs((1, 512, 512), hints=task.graph_takes_hints(generator))]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        graph(*inputs)
    return {
        "parameters": sum(p.numel() for p in generator.parameters()),
        "gflops_per_megapixel": round(counter.get_total_flops() / 1e9 / (512 * 512 / 1e6), 1),
    }


def export_onnx(generator: nn.Module, task: Task, path: Path) -> None:
    """Legacy (TorchScript) exporter, opset 17, dynamic batch/height/width. Constant folding is left to ONNX
    Runtime's graph optimizer at load time so that every parameter keeps its name (fine-tuning reads them back)."""
    graph, input_names, output_names = task.export_graph(generator)
    images = [name for name in input_names if name != "temperature"]
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in images + output_names}
    if "ab_logits" in dynamic:  # at the colour head's stride: other sizes than the image's
        dynamic["ab_logits"] = {0: "batch", 2: "logits_height", 3: "logits_width"}
    if "context" in dynamic:  # the whole photo's thumbnail, at a fixed size
        dynamic["context"] = {0: "batch"}
    arrays = task.example_inputs((1, 64, 64), hints=task.graph_takes_hints(generator))
    example = tuple(torch.from_numpy(a) for a in arrays)
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


def check_parity(generator: nn.Module, task: Task, path: Path, temperature: float) -> float:
    """Max absolute difference between ONNX Runtime (CPU) and PyTorch fp32 on random inputs of odd sizes."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    graph, input_names, _ = task.export_graph(generator)
    worst = 0.0
    multiple = generator.unet.size_multiple
    for n, h, w in PARITY_SIZES:  # at sizes the engine feeds: padded to the size multiple
        shape = (n, -(-h // multiple) * multiple, -(-w // multiple) * multiple)
        arrays = task.example_inputs(shape, temperature, seed=sum(shape), hints=task.graph_takes_hints(generator))
        with torch.no_grad():
            expected = graph(*[torch.from_numpy(a) for a in arrays])
            expected = expected if isinstance(expected, tuple) else (expected,)
        feed = dict(zip(input_names, arrays, strict=True))
        # a regression-head colorizer has no temperature: the exporter drops the unused input
        actual = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})
        for ours, theirs in zip(actual, expected, strict=True):  # every output (the damage map too)
            worst = max(worst, float(np.abs(ours - theirs.numpy()).max()))
    return worst


def manifest_entry(
    task: Task, file: str, digest: str, generator: nn.Module, training: dict[str, Any], temperature: float
) -> dict[str, Any]:
    from training.config import to_dict

    io = task.manifest_io(generator, temperature)
    if task.tiled:
        io["receptive_field"] = receptive_field(generator, task)
    return {
        "file": file,
        "sha256": digest,
        "task": task.name,
        **io,
        "size_multiple": generator.unet.size_multiple,
        "training": {**training, "config": to_dict(task.config)},
        "metrics": {},
    }


def export(
    checkpoint_path: Path,
    out_dir: Path,
    name: str | None = None,
    command: str = "",
    temperature: float | None = None,
    prior_correction: float | None = None,
    hints: bool = True,
) -> dict[str, Any]:
    """Export, verify parity (< 1e-3) and update out_dir/manifest.json; returns the manifest entry.

    Colorize decoding, built into the graph: `temperature` is the default of its temperature input and
    `prior_correction` the share of class rebalancing undone (defaults: the training config's, which is
    recorded unchanged). `hints` False exports a hinted colorizer's automatic graph only (no hints input: hints
    then act only through restore.hint_spread, after the model).
    """
    generator, task, state = load_generator(checkpoint_path, prior_correction)
    task.export_hints = hints
    config = task.config
    temperature = config.color.temperature if temperature is None else temperature
    prior_correction = config.color.prior_correction if prior_correction is None else prior_correction
    out_dir.mkdir(parents=True, exist_ok=True)
    file = f"{name or task.name}.onnx"
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
        **({"decoding_prior_correction": prior_correction} if task.class_weights is not None else {}),
        **complexity(generator, task),
    }
    entry = manifest_entry(task, file, sha256_file(out_dir / file), generator, training, temperature)
    manifest = read_manifest_json(out_dir)
    previous = manifest["models"].get(task.name, {})
    if "damage" not in entry:
        previous.pop("damage", None)  # a restorer without a damage head replaces one with it
    entry["metrics"] = previous.get("metrics", {}) if previous.get("sha256") == entry["sha256"] else {}
    if previous.get("sha256") != entry["sha256"]:
        previous.pop("variants", None)  # made from the old model (e.g. its cpu-int8): re-make them
    manifest["models"][task.name] = {**previous, **entry}
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
        "training": {
            "parity_max_abs_error": error,
            "parameters": sum(parameter.numel() for parameter in model.parameters()),
            **summary,
        },
    }
    manifest = read_manifest_json(out_dir)
    manifest["models"]["correct"] = entry
    write_manifest_json(out_dir, manifest)
    return entry
