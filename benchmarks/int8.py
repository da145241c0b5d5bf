"""int8 against fp32 on this CPU: speed and quality of the static QDQ models made by `training.quantize`.

    revive-train quantize --weights weights/ --calibration TRAIN_PHOTOS --out weights-int8/
    python -m benchmarks.int8 --weights weights/ --int8 weights-int8/ [--data VAL_PHOTOS] [--limit 16]

Speed: the model alone through restore's OnnxModel (the engine's session options, CPU provider) on one restore
tile (512x512) and on the colorize render size (512x384); fp32 and int8 alternate in fresh subprocesses for
`--rounds` rounds. Quality: `revive-train eval`'s measurements (training.evaluate) with each model: restore PSNR
on --data photos degraded with the `eval` preset, colorize PSNR against the colour photo. Ship rule: at least
1.8x faster with at most 0.3 dB lower PSNR.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import (
    Result,
    base_parser,
    isolated,
    markdown_table,
    pinned_weights,
    report,
    timed,
    write_sample_photos,
)

SHAPES = {"restore": (512, 512), "colorize": (384, 512)}  # (height, width): a tile; the render size
MIN_SPEEDUP = 1.8
MAX_PSNR_LOSS_DB = 0.3


def model_speed(weights: str, task: str, model: str, height: int, width: int, repeats: int, warmup: int) -> Result:
    """Seconds per run of the `task` model file `model` (fp32 or int8) at height x width, as the engine runs it."""
    from restore.engine import OnnxModel
    from restore.manifest import load_manifest, sha256_file

    spec = load_manifest(weights).model(task)
    spec = dataclasses.replace(spec, path=Path(model), sha256=sha256_file(Path(model)), variants=())
    onnx_model = OnnxModel(spec, "cpu")
    rng = np.random.default_rng(0)
    if task == "restore":
        image = rng.random((height, width, 3), dtype=np.float32)
        feed = spec.context_feed(image)
    else:
        image, feed = rng.random((height, width, 1), dtype=np.float32) * 100, spec.temperature_feed()
    return timed(lambda: onnx_model.run_image(image, feed), repeats, warmup)


def model_quality(weights: str, task: str, model: str, data: str, limit: int) -> Result:
    """Mean PSNR (dB) of `model` for `task` with training.evaluate's protocol on the photos in `data`."""
    from restore.pipeline import Restorer
    from training.data import list_images
    from training.evaluate import evaluate_colorize, evaluate_restore, summarize

    with tempfile.TemporaryDirectory() as folder:
        restorer = Restorer(pinned_weights(weights, {task: model}, Path(folder)), device="cpu")
        images = list_images(Path(data))[:limit]
        if task == "restore":
            rows = evaluate_restore(restorer, images, "eval")
        else:
            rows = evaluate_colorize(restorer, images, None)
    return {"psnr": summarize(rows)["model_psnr"], "images": len(rows)}


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.set_defaults(repeats=5)
    parser.add_argument("--weights", required=True, help="folder with manifest.json and the fp32 models")
    parser.add_argument("--int8", required=True, help="folder written by `revive-train quantize`")
    parser.add_argument("--data", type=Path, help="photos for the quality check (default: scikit-image samples)")
    parser.add_argument("--limit", type=int, default=16, help="at most this many photos for the quality check")
    parser.add_argument("--rounds", type=int, default=2, help="fp32/int8 alternations for the speed figures")
    parser.add_argument("--tasks", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = parser.parse_args()
    weights = Path(args.weights).resolve()
    manifest = json.loads((weights / "manifest.json").read_text())
    quantized = json.loads((Path(args.int8) / "quantize.json").read_text())
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data.resolve() if args.data else write_sample_photos(Path(tmp) / "photos")
        for task in args.tasks:
            files = {
                "fp32": weights / manifest["models"][task]["file"],
                "int8": Path(args.int8).resolve() / quantized[task]["file"],
            }
            height, width = SHAPES[task]
            times: dict[str, list[float]] = {name: [] for name in files}
            for _ in range(args.rounds):
                for name, file in files.items():
                    result = isolated(
                        "benchmarks.int8:model_speed",
                        weights=str(weights),
                        task=task,
                        model=str(file),
                        height=height,
                        width=width,
                        repeats=args.repeats,
                        warmup=args.warmup,
                    )
                    times[name].append(result["median_s"])
            quality = {
                name: isolated(
                    "benchmarks.int8:model_quality",
                    weights=str(weights),
                    task=task,
                    model=str(file),
                    data=str(data),
                    limit=args.limit,
                )
                for name, file in files.items()
            }
            seconds = {name: statistics.median(values) for name, values in times.items()}
            speedup = seconds["fp32"] / seconds["int8"]
            loss = quality["fp32"]["psnr"] - quality["int8"]["psnr"]
            results.append(
                {
                    "task": task,
                    "shape": f"{width}x{height}",
                    "seconds": seconds,
                    "rounds": times,
                    "psnr": {name: q["psnr"] for name, q in quality.items()},
                    "images": quality["fp32"]["images"],
                    "speedup": speedup,
                    "psnr_loss_db": loss,
                    "settings": quantized[task],
                    "ships": speedup >= MIN_SPEEDUP and loss <= MAX_PSNR_LOSS_DB,
                }
            )
    table = markdown_table(
        [
            "task",
            "input",
            "fp32 s",
            "int8 s",
            "speed-up",
            "fp32 PSNR",
            "int8 PSNR",
            "PSNR loss dB",
            "photos",
            f"ships (>= {MIN_SPEEDUP}x, <= {MAX_PSNR_LOSS_DB} dB)",
        ],
        [
            [
                r["task"],
                r["shape"],
                r["seconds"]["fp32"],
                r["seconds"]["int8"],
                r["speedup"],
                r["psnr"]["fp32"],
                r["psnr"]["int8"],
                r["psnr_loss_db"],
                r["images"],
                "yes" if r["ships"] else "no",
            ]
            for r in results
        ],
    )
    report("int8 (static QDQ) against fp32, ONNX Runtime CPU", table, {"int8": results}, args.json)


if __name__ == "__main__":
    main()
