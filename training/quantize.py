"""Static int8 (QDQ) variants of exported models, for ONNX Runtime on the CPU.

    revive-train quantize --weights weights/ --calibration photos/ --out weights-int8/

Per task: `quant_pre_process` (shape inference and ORT's basic graph optimizations), then `quantize_static`
in QDQ format with per-channel int8 weights, the activations calibrated on `--samples` random training crops of
the photos in --calibration, made as training makes its inputs from the model's own training config (crop size
and scale; restore: degraded with the config's preset; colorize: L* of the gray degraded crop). The decoding
tail after the last convolution stays fp32: restore's residual add and clamp; colorize's temperature, softmax,
annealed mean and upsampling.

Writes OUT/<task>.int8.onnx for each task and OUT/quantize.json (settings and calibration). Whether a variant
ships is measured, not assumed: `python -m benchmarks.int8` applies the rule (at least 1.8x faster, at most
0.3 dB less PSNR); then `--register` lists the models as `cpu-int8` variants in the weights manifest, and the
engine runs them on the CPU.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from restore.manifest import CPU_VARIANT, read_manifest_json
from training.config import degradation_for, resolve
from training.data import degraded_copy, list_images, random_crop, read_rgb
from training.tasks import task_class
from training.variants import (
    decoding_tail,
    name_nodes,
    parse_variant_args,
    register_variant,
    update_records,
    variant_parser,
)

ACTIVATION_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
METHODS = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}


def calibration_feeds(
    entry: dict[str, Any], photos: list[Path], samples: int, seed: int = 0
) -> Iterator[dict[str, np.ndarray]]:
    """`samples` model feeds (batch of one) made from random crops of `photos` as training makes its inputs."""
    task = entry["task"]
    config = resolve(task, overrides=[entry.get("training", {}).get("config", {})])  # task defaults if absent
    rng = np.random.default_rng(seed)
    image_name = next(name for name, spec in entry["inputs"].items() if "layout" in spec)
    temperature = entry["inputs"].get("temperature")
    for _ in range(samples):
        photo = read_rgb(photos[rng.integers(len(photos))])
        crop = random_crop(photo, config.crop, tuple(config.crop_scale), rng)
        x = task_class(config).model_input(degraded_copy(crop, degradation_for(config), rng))
        feed = {image_name: x.numpy()[None]}
        if temperature is not None:
            feed["temperature"] = np.array([temperature["default"]], np.float32)
        if "hints" in entry["inputs"]:  # calibrated on the automatic path
            feed["hints"] = np.zeros((1, 3, *x.shape[1:]), np.float32)
        yield feed


class _Feeds(CalibrationDataReader):
    def __init__(self, feeds: Iterator[dict[str, np.ndarray]]):
        self._feeds = feeds

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize_model(
    source: Path,
    target: Path,
    feeds: Iterator[dict[str, np.ndarray]],
    *,
    activations: str = "uint8",
    method: str = "minmax",
    op_types: list[str] | None = None,
    keep_fp32: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Write the QDQ int8 model of `source` to `target`; returns the settings used. Nodes whose names start with
    one of `keep_fp32` stay fp32 (mixed precision), as the decoding tail does."""
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)  # ONNX shape inference suffices
        model = onnx.load(str(prepared))
        name_nodes(model)
        onnx.save(model, str(prepared))
        kept = [n.name for n in model.graph.node if keep_fp32 and n.name.startswith(keep_fp32)]
        excluded = list(dict.fromkeys(decoding_tail(model) + kept))
        quantize_static(
            str(prepared),
            str(target),
            _Feeds(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=ACTIVATION_TYPES[activations],
            weight_type=QuantType.QInt8,
            calibrate_method=METHODS[method],
            op_types_to_quantize=op_types,
            nodes_to_exclude=excluded,
        )
    return {"activations": activations, "weights": "int8 per channel", "method": method, "fp32_nodes": excluded}


def main(argv: list[str] | None = None) -> int:
    parser = variant_parser(__doc__.split("\n")[0], CPU_VARIANT, "on the CPU", "benchmarks.int8", "int8")
    parser.add_argument("--calibration", type=Path, required=True, help="folder of photos (training photos)")
    parser.add_argument("--samples", type=int, default=64, help="calibration crops per task")
    parser.add_argument("--activations", choices=sorted(ACTIVATION_TYPES), default="uint8")
    parser.add_argument("--method", choices=sorted(METHODS), default="minmax", help="activation range calibration")
    parser.add_argument("--conv-only", action="store_true", help="quantize convolutions only (else every op ORT can)")
    parser.add_argument(
        "--keep-fp32",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="leave the nodes whose names start with these in fp32, e.g. /generator/unet/stem /generator/unet/head",
    )
    args = parse_variant_args(parser, argv)
    manifest = read_manifest_json(args.weights)
    photos = list_images(args.calibration)
    record = {}
    for task in args.tasks:
        entry = manifest["models"][task]
        target = args.out / f"{Path(entry['file']).stem}.int8.onnx"
        settings = quantize_model(
            args.weights / entry["file"],
            target,
            calibration_feeds(entry, photos, args.samples),
            activations=args.activations,
            method=args.method,
            op_types=["Conv"] if args.conv_only else None,
            keep_fp32=tuple(args.keep_fp32),
        )
        record[task] = {
            "file": target.name,
            "source_sha256": entry["sha256"],
            "calibration": str(args.calibration),
            "samples": args.samples,
            **settings,
        }
        print(f"{task}: {target} ({len(settings['fp32_nodes'])} tail nodes kept fp32)")
        if args.register:
            register_variant(args.weights, task, CPU_VARIANT, target)
    update_records(args.out / "quantize.json", record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
