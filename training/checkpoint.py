"""Checkpoints: atomic saves, safe loads (`weights_only=True`), and generator weights from a run or a shipped model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from restore.atomic import atomic_path


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint without executing pickled code."""
    return torch.load(path, map_location=device, weights_only=True)


def ema_generator_state(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The EMA generator's weights from a training checkpoint (AveragedModel keys without 'module.')."""
    return {k.removeprefix("module."): v for k, v in checkpoint["ema"].items() if k.startswith("module.")}


def load_generator_weights(generator: nn.Module, source: Path) -> None:
    """Initialize `generator` from a training checkpoint (.pt, EMA weights) or an exported model (.onnx).

    Exported models keep the parameter names as ONNX initializers, so shipped weights can be fine-tuned.
    """
    if source.suffix == ".onnx":
        import onnx
        from onnx import numpy_helper

        initializers = onnx.load(str(source)).graph.initializer
        weights = {
            i.name.removeprefix("generator."): torch.from_numpy(numpy_helper.to_array(i).copy())
            for i in initializers
            if i.name.startswith("generator.")
        }
        _load_partial(generator, weights, source)
        return
    generator.load_state_dict(ema_generator_state(load(source)))


def _load_partial(generator: nn.Module, weights: dict[str, torch.Tensor], source: Path) -> None:
    """Load `weights` into `generator`, which may have parts that a model without them starts at their initial
    values (`optional_on_init`: RestoreNet's context starts as no modulation, its damage head untrained); batch
    norm's step counters, which do not reach an inference graph, keep their own values."""
    optional = getattr(generator, "optional_on_init", ())
    own = [name for name in generator.state_dict() if not name.endswith("num_batches_tracked")]
    missing = [name for name in own if name not in weights and not name.startswith(optional)]
    if missing:
        raise ValueError(f"{source} does not match this generator: {len(missing)} tensors missing, e.g. {missing[0]}")
    generator.load_state_dict({name: weights[name] for name in own if name in weights}, strict=False)


def load_init_weights(generator: nn.Module, critic: nn.Module, source: Path) -> None:
    """`fit --init-from`: the generator as load_generator_weights() does (with the parts a generator may lack, as
    from an exported model), and the critic too when `source` is a training checkpoint that has one (a full or a
    carried slim one), so that a continued adversarial phase does not start against an untrained critic. The
    checkpoint is read once."""
    if source.suffix == ".onnx":
        load_generator_weights(generator, source)
        return
    state = load(source)
    _load_partial(generator, ema_generator_state(state), source)
    if state.get("critic"):
        critic.load_state_dict(state["critic"])
