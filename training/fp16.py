"""fp16 variants of exported models, for ONNX Runtime on CUDA GPUs.

    revive-train fp16 --weights weights/ [--out DIR] [--tasks restore colorize] [--register]

Per task, ONNX Runtime's own converter (`onnxruntime.transformers.float16.convert_float_to_float16`) turns the
weights and activations to float16 with `keep_io_types`: the graph's inputs and outputs stay float32, so the
engine feeds and reads the variant exactly as the fp32 model. The decoding tail after the last convolution stays
float32 (restore's residual add and clamp, where fp16's 11-bit mantissa would cost the input's full precision;
colorize's temperature, softmax, annealed mean and upsampling), and so do Resize scales. The converter stores
every tensor between two such float32 nodes in float16 (a cast down and back up), and feeds them the graph's
inputs so too: those round trips are removed, so that the tail really computes in float32 (on the models exported
from the early checkpoints, in the CPU check below, the largest difference from fp32 falls from 0.015 to 0.0026
a*b* units for colorize and from 4.8e-4 to 7e-5 for restore). It also repeats a cast for each consumer of a
tensor and appends its casts at the end of the node list; the repeats are dropped and the nodes sorted again, so
that the ONNX checker accepts the model.

Writes OUT/<stem>.fp16.onnx (OUT: --weights unless given) and OUT/fp16.json (what was kept fp32, and each
variant's largest difference from fp32 on ONNX Runtime's CPU provider on a small random input: a check that the
conversion is sound, not a speed or quality figure: fp16 is slow on CPUs and the engine never runs it there).
Whether a variant ships is measured on a GPU: `python -m benchmarks.gpu_check --weights weights/` prints this
command with `--register` for the variants that it measures faster on CUDA at less than 0.1 dB PSNR loss.
`--register` lists them as `cuda-fp16` variants unconditionally (a model already measured); the engine then runs
them whenever a model really runs on CUDA.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnxruntime.transformers.float16 import convert_float_to_float16

from restore.engine import OnnxModel
from restore.manifest import CUDA_VARIANT, ModelSpec, load_manifest, sha256_file
from training.variants import (
    decoding_tail,
    name_nodes,
    parse_variant_args,
    register_variant,
    update_records,
    variant_parser,
)


def convert(source: Path, target: Path) -> dict[str, Any]:
    """Write the fp16 model of `source` to `target` (see the module docstring); returns what stayed fp32."""
    model = onnx.load(str(source))
    name_nodes(model)
    tail = decoding_tail(model)
    half = convert_float_to_float16(model, keep_io_types=True, node_block_list=tail)
    drop_repeated_nodes(half.graph)
    skip_fp16_round_trips(half.graph, tail)
    sort_nodes(half.graph)
    onnx.checker.check_model(half)
    onnx.save(half, str(target))
    return {"fp32_nodes": tail}


def drop_repeated_nodes(graph: onnx.GraphProto) -> None:
    """Keep one of identical nodes: the converter casts a float16 tensor back to float32 once per fp32 consumer,
    each cast with the same output name, which breaks single assignment when a tensor has two such consumers."""
    seen, kept = set(), []
    for node in graph.node:
        key = node.SerializeToString(deterministic=True)
        if key not in seen:
            seen.add(key)
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)


def skip_fp16_round_trips(graph: onnx.GraphProto, fp32_nodes: list[str]) -> None:
    """Pass float32 values straight between the `fp32_nodes`, and the graph's float32 inputs straight to them.
    The converter stores every tensor in float16, so the output of a node it keeps float32 goes through a cast
    to float16 and back before the next one: the softmax would see logits / temperature rounded to 11 bits, and
    restore's residual add the input photo rounded so. Each cast back becomes an Identity of the float32
    original, and the casts to float16 that nothing reads any more go."""
    kept = set(fp32_nodes)
    producer = {output: node.name for node in graph.node for output in node.output}
    inputs = {tensor.name for tensor in graph.input if tensor.type.tensor_type.elem_type == TensorProto.FLOAT}
    halved = {  # float16 copy -> the float32 original: a kept node's output, or a graph input
        node.output[0]: node.input[0]
        for node in graph.node
        if _cast_to(node) == TensorProto.FLOAT16 and (producer.get(node.input[0]) in kept or node.input[0] in inputs)
    }
    nodes = [
        helper.make_node("Identity", [halved[node.input[0]]], list(node.output), name=node.name)
        if _cast_to(node) == TensorProto.FLOAT and node.input[0] in halved
        else node
        for node in graph.node
    ]
    read = {name for node in nodes for name in node.input} | {output.name for output in graph.output}
    nodes = [node for node in nodes if not (node.output[0] in halved and node.output[0] not in read)]
    del graph.node[:]
    graph.node.extend(nodes)


def _cast_to(node: onnx.NodeProto) -> int | None:
    """The `to` type of a Cast node, None for other nodes."""
    if node.op_type != "Cast":
        return None
    return next(attribute.i for attribute in node.attribute if attribute.name == "to")


def sort_nodes(graph: onnx.GraphProto) -> None:
    """Order `graph`'s nodes topologically (stable: nodes keep their order where they may)."""
    known = {""} | {tensor.name for tensor in graph.input} | {tensor.name for tensor in graph.initializer}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [node for node in pending if known.issuperset(node.input)]
        if not ready:
            raise ValueError(f"graph {graph.name}: nodes with inputs nothing produces, or a cycle")
        for node in ready:
            ordered.append(node)
            known.update(node.output)
        pending = [node for node in pending if node not in ready]
    del graph.node[:]
    graph.node.extend(ordered)


def cpu_difference(spec: ModelSpec, variant: Path, size: int = 64) -> float:
    """Largest absolute difference between `spec`'s model and the `variant` file on the CPU provider, on a
    random size x size input in the model's input range (output units: RGB in [0, 1] or a*b*)."""
    fp32 = OnnxModel(dataclasses.replace(spec, variants=()), "cpu")
    fp16 = OnnxModel(dataclasses.replace(spec, path=variant, sha256=sha256_file(variant), variants=()), "cpu")
    rng = np.random.default_rng(0)
    low, high = spec.image_input.range or (0.0, 1.0)
    channels = len(spec.image_input.channels or "RGB")
    image = low + (high - low) * rng.random((size, size, channels), dtype=np.float32)
    extra = {} if spec.temperature is None else {spec.temperature.name: np.float32([spec.temperature.default])}
    extra.update(spec.context_feed(image))
    return float(np.abs(fp32.run_image(image, extra) - fp16.run_image(image, extra)).max())


def main(argv: list[str] | None = None) -> int:
    parser = variant_parser(__doc__.split("\n")[0], CUDA_VARIANT, "on CUDA", "benchmarks.gpu_check", "fp16")
    args = parse_variant_args(parser, argv)
    manifest = load_manifest(args.weights)
    record = {}
    for task in args.tasks:
        spec = manifest.model(task)
        spec.verify()
        target = args.out / f"{spec.path.stem}.fp16.onnx"
        settings = convert(spec.path, target)
        difference = cpu_difference(spec, target)
        record[task] = {"file": target.name, "source_sha256": spec.sha256, "cpu_max_abs_diff": difference, **settings}
        kept = len(settings["fp32_nodes"])
        print(f"{task}: {target} ({kept} tail nodes kept fp32; CPU max abs diff {difference:.3g})")
        if args.register:
            register_variant(args.weights, task, CUDA_VARIANT, target)
    update_records(args.out / "fp16.json", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
