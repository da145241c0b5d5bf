"""What the model variants (int8 for the CPU, fp16 for CUDA) share: the graph tail kept fp32, and registration.

No torch here: `benchmarks.gpu_check` registers fp16 variants on GPU machines that only have the inference stack
and onnx.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import onnx

from restore.atomic import write_json_atomic
from restore.manifest import read_manifest_json, sha256_file, write_manifest_json

TASKS = ("restore", "colorize")


def variant_parser(description: str, variant: str, runs_on: str, gate: str, kind: str) -> argparse.ArgumentParser:
    """The options that the variant makers share: --weights, --out (default: --weights), --tasks and --register
    (the `variant` variants, which the engine runs `runs_on`, once `gate` says they ship); see parse_variant_args."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--weights", type=Path, required=True, help="folder with manifest.json and the fp32 models")
    parser.add_argument("--out", type=Path, help=f"folder for the {kind} models (default: --weights)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument(
        "--register",
        action="store_true",
        help=f"list the models in --weights/manifest.json as the '{variant}' variants, which the engine then runs "
        f"{runs_on} (only after {gate} says they ship; --out must be inside --weights)",
    )
    return parser


def parse_variant_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """parser.parse_args with `out` set (--weights unless given) and made; --register needs it inside --weights."""
    args = parser.parse_args(argv)
    args.out = args.out or args.weights
    if args.register and not args.out.resolve().is_relative_to(args.weights.resolve()):
        parser.error("--register needs --out inside --weights (manifest paths are relative to its folder)")
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def name_nodes(model: onnx.ModelProto) -> None:
    """Give every unnamed node a unique name, `<op type>_<index>`: the converters' exclusions go by node name."""
    for i, node in enumerate(model.graph.node):
        node.name = node.name or f"{node.op_type}_{i}"


def decoding_tail(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes fed, directly or not, by the last convolution: the part that stays fp32."""
    nodes = model.graph.node
    last_conv = max(i for i, node in enumerate(nodes) if node.op_type == "Conv")
    tainted = set(nodes[last_conv].output)
    tail = []
    for node in nodes[last_conv + 1 :]:  # ONNX graphs are topologically sorted
        if tainted.intersection(node.input):
            tainted.update(node.output)
            tail.append(node.name)
    return tail


def register_variant(weights: Path, task: str, name: str, file: Path) -> None:
    """List `file` (inside `weights`) as the `name` variant of the `task` model in weights/manifest.json, with
    its sha256; the manifest is rewritten atomically. ValueError if `file` is outside `weights` (the manifest's
    paths are relative to its folder)."""
    if not file.resolve().is_relative_to(weights.resolve()):
        raise ValueError(f"{file}: a variant must be inside the weights folder {weights}")
    manifest = read_manifest_json(weights)
    relative = file.resolve().relative_to(weights.resolve()).as_posix()
    manifest["models"][task].setdefault("variants", {})[name] = {"file": relative, "sha256": sha256_file(file)}
    write_manifest_json(weights, manifest)


def adopt_variant(weights: Path, task: str, name: str, file: Path) -> Path:
    """register_variant for a `file` anywhere: one outside `weights` is first copied beside the `task` model
    (its manifest paths are relative to that folder). Returns the registered file's path."""
    if not file.resolve().is_relative_to(weights.resolve()):
        target = weights / Path(read_manifest_json(weights)["models"][task]["file"]).parent / file.name
        shutil.copyfile(file, target)
        file = target
    register_variant(weights, task, name, file)
    return file


def update_records(path: Path, records: dict[str, dict]) -> None:
    """Write the per-task `records` into the JSON file at `path` (e.g. quantize.json), atomically, keeping the
    records of tasks not remade this time."""
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    write_json_atomic({**existing, **records}, path)
