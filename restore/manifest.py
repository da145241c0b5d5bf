"""weights/manifest.json (the contract in docs/manifest.md) as dataclasses, with sha256 checks."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from restore.errors import WeightsError

MANIFEST_NAME = "manifest.json"
SUPPORTED_FORMAT = 1
# The variants the engine runs in place of a model's file, by the device the model runs on; any other variant
# is informational.
DEVICE_VARIANTS = {"cpu": "cpu-int8", "cuda": "cuda-fp16"}
CPU_VARIANT, CUDA_VARIANT = DEVICE_VARIANTS["cpu"], DEVICE_VARIANTS["cuda"]
HINT_CHANNELS = "ab+mask"  # the colour-hints input: a*, b* in Lab units where the mask (third channel) is 1
# What the engine feeds and expects per task: (input channels, input range, output channels, output layout).
# "correct" is restore's global colour correction: the restored photo at a fixed size in, the (N, 3, 4) matrix
# [A | b] of its colour transform rgb -> rgb + A rgb + b out.
_TASK_CONTRACT = {
    "restore": ("RGB", (0.0, 1.0), "RGB", "NCHW"),
    "colorize": ("L", (0.0, 100.0), "ab", "NCHW"),
    "correct": ("RGB", (0.0, 1.0), "affine", "N34"),
}


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output; `name` is the ONNX tensor name."""

    name: str
    layout: str | None = None
    channels: str | None = None
    range: tuple[float, float] | None = None
    shape: tuple[int, ...] | None = None
    default: float | None = None


@dataclass(frozen=True)
class ColourDistribution:
    """A colorizer's second output: logits over the a*b* bins `bins` (Q x 2, Lab units) at 1/`stride` of the
    L input's size; softmax over the bin axis gives the colour distribution at each point."""

    output: str
    stride: int
    bins: np.ndarray


@dataclass(frozen=True)
class DamageMap:
    """A restorer's second output: the probability (N, 1, H, W) that the print is damaged at each pixel; the
    engine inpaints where it reaches `threshold` when asked (ProcessOptions.scratches)."""

    output: str
    threshold: float


@dataclass(frozen=True)
class Variant:
    """A file of the same graph that the engine runs in place of the model's own on one device."""

    name: str  # a value of DEVICE_VARIANTS
    path: Path
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the manifest's `models`; `path` is resolved against the manifest's folder."""

    task: str
    path: Path
    sha256: str
    image_input: TensorSpec
    output: TensorSpec
    temperature: TensorSpec | None = None
    hints: TensorSpec | None = None  # colorize: a*, b*, mask at the L input's size (zeros: automatic)
    context: TensorSpec | None = None  # restore: the whole photo at `shape`, the same for all its tiles
    distribution: ColourDistribution | None = None
    damage: DamageMap | None = None  # restore: where the print is damaged, to inpaint
    size_multiple: int = 1
    receptive_field: int = 0
    render_size: int | None = None
    variants: tuple[Variant, ...] = ()  # the manifest's DEVICE_VARIANTS entries

    def for_device(self, device: str) -> ModelSpec:
        """The model to run on `device` ("cpu" or "cuda"): this spec with the file of its DEVICE_VARIANTS[device]
        variant when the manifest lists one (each ships only when measured faster at a negligible loss; see
        docs/manifest.md), else this spec itself."""
        for variant in self.variants:
            if variant.name == DEVICE_VARIANTS[device]:
                return replace(self, path=variant.path, sha256=variant.sha256, variants=())
        return self

    def temperature_feed(self, value: float | None = None) -> dict[str, np.ndarray]:
        """The colorize model's temperature input ({} for a model without one): `value`, else its default;
        ValueError outside the model's range."""
        if self.temperature is None:
            return {}
        value = self.temperature.default if value is None else value
        if self.temperature.range is not None:
            low, high = self.temperature.range
            if not low <= value <= high:
                raise ValueError(f"temperature {value} is outside the colorize model's range [{low}, {high}]")
        return {self.temperature.name: np.array([value], dtype=np.float32)}

    def context_feed(self, photo: np.ndarray) -> dict[str, np.ndarray]:
        """The restore model's context input for the whole HxWx3 `photo` (uint8, or float in [0, 1]): its
        thumbnail, batch of one ({} for a model without context). The same for every tile of the photo."""
        if self.context is None:
            return {}
        from restore.context import photo_thumbnail

        return {self.context.name: photo_thumbnail(photo, self.context.shape)[None]}

    def verify(self) -> None:
        """Raise WeightsError unless the model file exists and matches the manifest's sha256."""
        if not self.path.is_file():
            raise WeightsError(f"{self.path}: model file for '{self.task}' is missing")
        try:
            actual = sha256_file(self.path)
        except OSError as exc:
            raise WeightsError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        if actual != self.sha256:
            raise WeightsError(
                f"{self.path}: sha256 is {actual[:16]}..., the manifest says {self.sha256[:16]}...; "
                "the file is corrupt or was replaced without re-exporting the manifest"
            )


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest: `models` maps each task the engine runs to its ModelSpec."""

    path: Path
    models: dict[str, ModelSpec]

    def model(self, task: str) -> ModelSpec:
        """The entry for `task`, or WeightsError naming what the manifest has instead."""
        try:
            return self.models[task]
        except KeyError:
            have = ", ".join(sorted(self.models)) or "none"
            raise WeightsError(f"{self.path}: no '{task}' model (it has: {have})") from None


def load_manifest(weights_dir: str | os.PathLike[str]) -> Manifest:
    """Read `weights_dir`/manifest.json; raise WeightsError if it is missing or malformed.

    Entries for tasks other than restore and colorize are skipped, like the informational keys.
    """
    path = Path(weights_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(
            f"{path}: not found; put the exported models there, or point --weights / REVIVE_WEIGHTS "
            "at a folder that has them"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != SUPPORTED_FORMAT:
        raise WeightsError(f"{path}: unsupported manifest format; this Revive reads format {SUPPORTED_FORMAT}")
    entries = data.get("models")
    if not isinstance(entries, dict):
        raise WeightsError(f"{path}: 'models' must be an object")
    models = {}
    for key, entry in entries.items():
        if key not in _TASK_CONTRACT:
            continue  # a task this engine does not run (yet): not its business to validate
        try:
            models[key] = _parse_model(key, entry, path.parent)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{path}: model '{key}': {_describe(exc)}") from None
    return Manifest(path=path, models=models)


def read_manifest_json(weights_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """`weights_dir`/manifest.json as plain JSON, for the tools that write it (an empty manifest if there is none
    yet); the engine reads it with load_manifest."""
    path = Path(weights_dir) / MANIFEST_NAME
    if not path.exists():
        return {"format": SUPPORTED_FORMAT, "models": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest_json(weights_dir: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Write `weights_dir`/manifest.json atomically: a reader sees the old manifest or the whole new one."""
    from restore.atomic import write_json_atomic

    write_json_atomic(manifest, Path(weights_dir) / MANIFEST_NAME)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_model(key: str, entry: dict[str, Any], folder: Path) -> ModelSpec:
    task = entry.get("task", key)
    if task != key:
        raise ValueError(f"its task is '{task}'; entries are keyed by task")
    inputs = {name: _parse_tensor(name, spec) for name, spec in entry["inputs"].items()}
    outputs = [_parse_tensor(name, spec) for name, spec in entry["outputs"].items()]
    hints = inputs.pop("hints", None)
    if hints is not None and (task != "colorize" or hints.channels != HINT_CHANNELS or hints.layout != "NCHW"):
        raise ValueError(f"input 'hints' must be a colorize model's NCHW {HINT_CHANNELS} map")
    context = inputs.pop("context", None)
    if context is not None and (
        task != "restore" or context.channels != "RGB" or context.layout != "NCHW" or len(context.shape or ()) != 2
    ):
        raise ValueError("input 'context' must be a restore model's NCHW RGB photo with its shape: [height, width]")
    images = [spec for spec in inputs.values() if spec.layout is not None]
    if len(images) != 1 or len(outputs) != 1:
        raise ValueError("needs exactly one image input (one with a layout) and one output")
    image, output = images[0], outputs[0]
    if task not in _TASK_CONTRACT:
        raise ValueError(f"unknown task '{task}' (known: {', '.join(_TASK_CONTRACT)})")
    in_channels, in_range, out_channels, out_layout = _TASK_CONTRACT[task]
    for spec, layout in ((image, "NCHW"), (output, out_layout)):
        if spec.layout != layout:
            raise ValueError(f"tensor '{spec.name}' has layout {spec.layout}; '{task}' needs {layout}")
    if image.channels != in_channels or output.channels != out_channels:
        raise ValueError(f"'{task}' must map {in_channels} to {out_channels}")
    if task == "correct" and (image.shape is None or len(image.shape) != 2):
        raise ValueError(f"input '{image.name}' of 'correct' needs its shape: [height, width]")
    if image.range is not None and image.range != in_range:
        raise ValueError(f"input '{image.name}' range must be {list(in_range)}")
    temperature = inputs.get("temperature")
    if temperature is not None and temperature.default is None:
        raise ValueError("input 'temperature' needs a default")
    size_multiple = int(entry.get("size_multiple", 1))
    if size_multiple < 1:
        raise ValueError("size_multiple must be >= 1")
    render_size = entry.get("render_size")
    distribution = entry.get("distribution")
    if distribution is not None:
        bins = np.asarray(distribution["bins"], np.float32)
        if bins.ndim != 2 or bins.shape[1] != 2:
            raise ValueError("distribution bins must be a list of [a, b] pairs")
        distribution = ColourDistribution(str(distribution["output"]), int(distribution["stride"]), bins)
    damage = entry.get("damage")
    if damage is not None:
        if task != "restore" or not 0.0 < float(damage["threshold"]) <= 1.0:
            raise ValueError("damage must be a restore model's {output, threshold in (0, 1]}")
        damage = DamageMap(str(damage["output"]), float(damage["threshold"]))
    return ModelSpec(
        task=task,
        path=folder / entry["file"],
        sha256=str(entry["sha256"]).lower(),
        image_input=image,
        output=output,
        temperature=temperature,
        hints=hints,
        context=context,
        distribution=distribution,
        damage=damage,
        size_multiple=size_multiple,
        receptive_field=int(entry.get("receptive_field", 0)),
        render_size=None if render_size is None else int(render_size),
        variants=tuple(
            Variant(name, folder / variant["file"], str(variant["sha256"]).lower())
            for name, variant in entry.get("variants", {}).items()
            if name in DEVICE_VARIANTS.values()
        ),
    )


def _parse_tensor(name: str, spec: dict[str, Any]) -> TensorSpec:
    value_range = spec.get("range")
    shape = spec.get("shape")
    default = spec.get("default")
    return TensorSpec(
        name=name,
        layout=spec.get("layout"),
        channels=spec.get("channels"),
        range=None if value_range is None else (float(value_range[0]), float(value_range[1])),
        shape=None if shape is None else tuple(int(n) for n in shape),
        default=None if default is None else float(default),
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    return str(exc)
