"""GPU check: CUDA against the CPU, fp16 against fp32, photo latency and video frames per second, in one command.

    pip install -e . && python -m benchmarks.gpu_check --weights weights/ --json gpu.json
    python -m benchmarks.gpu_check --weights TINY --allow-cpu --sizes 64x48 --video-size 64x48 --video-frames 4

WEIGHTS must hold both models (restore and colorize) and their manifest. Needs a CUDA GPU, onnxruntime-gpu (the
Linux x86-64 dependency of `pip install -e .`; on a machine without network access whose Python already has the
dependencies, `pip install --no-deps --no-build-isolation -e .`) and the CUDA 13 and cuDNN 9 libraries that it is
built against, with a driver for CUDA 13: system-wide (the Dockerfile's nvidia/cuda:13.0.1-cudnn-runtime base
image) or as pip wheels, `pip install "onnxruntime-gpu[cuda,cudnn]" nvidia-cublas` (torch's CUDA 13 wheels bring
the same ones). The engine calls `onnxruntime.preload_dlls()` before its first CUDA session, which loads the
pip-installed ones from site-packages/nvidia/{cu13,cudnn}/lib, so no LD_LIBRARY_PATH is needed. The fp16 models:
the manifest's `cuda-fp16` variants, else WEIGHTS/<stem>.fp16.onnx, else made here with `training.fp16` (needs the
`onnx` package; without it only fp32 is measured).

Steps, each in fresh processes one after the other (ONNX Runtime only, never torch); on an H100, steps 1, 2 and 4 took
40 s with `--photos 2 --repeats 2` (step 3 not yet timed there):
1. accuracy, per model on the scikit-image sample photos (`--photos`): the raw outputs on CUDA, fp32 and fp16,
   against the CPU provider's fp32 (max abs difference, PSNR over the output range); and the PSNR against ground
   truth of `Restorer` on the CPU (fp32), CUDA fp32 and CUDA fp16: restore on the photos degraded here (blur,
   noise, scratches, JPEG; a fixed seed per photo), colorize from their gray version against the colour photo.
2. photo latency (`--sizes`, default 512x512 and 1920x1080): `Restorer.restore_image` (1024 px tiles, as
   `revive photo` runs), `colorize_image` (at the manifest's render size) and `process(colorize="always")` on
   a gray photo; CUDA fp32, CUDA fp16, and the CPU running what the engine runs there (its cpu-int8 variant if
   listed). On CUDA fp32 also `OnnxModel.run` through the IO binding against plain `session.run`, on a batch of
   4 restore tiles of the first size.
3. video: a black-and-white 1920x1080 pan (`--video-size`), `--video-frames` frames at 24 fps with sound,
   through `restore.video.process_video` (decode, models, temporal filter, H.264, sound copy) and through the
   models alone, batch 1 and 4 (`--batch`), CUDA fp32 and fp16; the median of `--video-repeats` runs. Skipped,
   with a note, where PyAV is not installed.
4. verdict per model: its fp16 variant ships when it is at least 1.1x faster than fp32 on CUDA (the task's
   latency at the largest size) and loses under 0.1 dB PSNR against ground truth. It only measures: for the
   models that pass it prints the command that lists them as `cuda-fp16` variants in WEIGHTS/manifest.json
   (`revive-train fp16 --weights WEIGHTS --tasks ... --register`); the engine then runs them on CUDA.

Prints Markdown tables headed by the GPU's name (nvidia-smi, else ONNX Runtime's device list) and with `--json
PATH` writes every figure. Without CUDA it says why and what it would have measured, and exits with status 2;
`--allow-cpu` then runs every step with the CPU provider in the place of CUDA (to test this script, at small
sizes: its figures are no GPU figures, and nothing ships from them).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
import statistics
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    SAMPLE_PHOTOS,
    Result,
    isolated,
    markdown_table,
    parse_size,
    pinned_weights,
    report,
    sample_photo,
    timed,
)
from restore.errors import DeviceError, WeightsError
from restore.manifest import CUDA_VARIANT, load_manifest
from restore.tiling import DEFAULT_TILE

TASKS = ("restore", "colorize")
SIZES = ("512x512", "1920x1080")
MIN_SPEEDUP = 1.1
MAX_PSNR_LOSS_DB = 0.1
OUTPUT_PEAK = {"restore": 1.0, "colorize": 255.0}  # the output's range: RGB in [0, 1], a*b* in [-128, 127]
EXIT_NO_GPU = 2


def probe(weights: str) -> Result:
    """Whether the restore model starts on CUDA here (and why not), ONNX Runtime's version and its GPU devices."""
    import dataclasses

    import onnxruntime as ort

    from restore.engine import OnnxModel

    spec = dataclasses.replace(load_manifest(weights).model("restore"), variants=())
    try:
        OnnxModel(spec, "cuda")
    except DeviceError as exc:
        cuda, reason = False, re.sub(r"^--device cuda: |;? (or )?use --device [\w ]+$", "", str(exc))
    else:
        cuda, reason = True, None
    devices = getattr(ort, "get_ep_devices", list)()
    gpus = [
        " ".join(filter(None, [dict(device.device.metadata).get("Description"), f"({device.ep_name})"]))
        for device in devices
        if device.device.type == ort.OrtHardwareDeviceType.GPU
    ]
    return {"cuda": cuda, "reason": reason, "onnxruntime": ort.__version__, "ort_gpus": gpus}


def accuracy(folders: dict[str, str], device: str, photos: int) -> Result:
    """Step 1 of the module docstring. `folders`: precision -> pinned weights folder ("fp32", maybe "fp16")."""

    from restore.color import as_gray, rgb_to_lightness, shrink
    from restore.options import DEFAULT_RENDER_SIZE
    from restore.pipeline import Restorer
    from training.metrics import psnr

    reference = Restorer(folders["fp32"], device="cpu")
    candidates = {name: Restorer(folder, device=device) for name, folder in folders.items()}
    restorers = {"cpu fp32": reference, **{f"{device} {name}": r for name, r in candidates.items()}}
    images = [(name, _photo(name)) for name in SAMPLE_PHOTOS[:photos]]
    result: Result = {"photos": [name for name, _ in images], "models": {}, "quality": {}}
    for task in TASKS:
        spec = reference.model(task).spec
        extra = spec.temperature_feed()
        raw: dict[str, list[dict[str, Any]]] = {name: [] for name in candidates}
        quality: dict[str, list[float]] = {name: [] for name in restorers}
        for index, (_, rgb) in enumerate(images):
            if task == "restore":
                damaged = degrade(rgb, seed=index)
                model_input = damaged.astype(np.float32) / 255
                for name, restorer in restorers.items():
                    quality[name].append(psnr(rgb, restorer.restore_image(damaged)))
            else:
                gray = as_gray(rgb)
                model_input = shrink(rgb_to_lightness(gray), spec.render_size or DEFAULT_RENDER_SIZE)[..., None]
                for name, restorer in restorers.items():
                    quality[name].append(psnr(rgb, restorer.colorize_image(gray)))
            feed = {**extra, **spec.context_feed(model_input)}
            expected = reference.model(task).run_image(model_input, feed)
            for name, restorer in candidates.items():
                actual = restorer.model(task).run_image(model_input, feed)
                raw[name].append(_difference(expected, actual, OUTPUT_PEAK[task]))
        result["models"][task] = {
            name: {
                "file": candidates[name].model(task).path.name,
                "device": candidates[name].device_used,
                "max_abs_diff": max(row["max_abs_diff"] for row in rows),
                "min_psnr_db": _lowest(row["psnr_db"] for row in rows),
            }
            for name, rows in raw.items()
        }
        result["quality"][task] = {name: statistics.mean(values) for name, values in quality.items()}
    return result


def latency(weights: str, device: str, sizes: list[str], repeats: int, warmup: int, binding: bool = False) -> Result:
    """Step 2 of the module docstring for one weights folder on one device."""
    from restore.engine import run_bound
    from restore.pipeline import Restorer

    restorer = Restorer(weights, device=device)
    restorer.prepare(colorize="always")
    rows = []
    for size in sizes:
        height, width = parse_size(size)
        colour, gray = sample_photo(height, width), sample_photo(height, width, gray=True)
        runs = {
            "restore": partial(restorer.restore_image, colour),
            "colorize": partial(restorer.colorize_image, gray),
            "restore+colorize": partial(restorer.process, gray, colorize="always"),
        }
        rows += [{"size": size, "mode": mode, **timed(run, repeats, warmup)} for mode, run in runs.items()]
    result: Result = {
        "device": restorer.device_used,
        "providers": restorer.providers,
        "files": {task: restorer.model(task).path.name for task in TASKS},
        "rows": rows,
    }
    if binding:
        model = restorer.model("restore")
        height, width = parse_size(sizes[0])
        rng = np.random.default_rng(0)
        feeds = {model.spec.image_input.name: rng.random((4, 3, height, width), dtype=np.float32)}
        photo = rng.random((height, width, 3), dtype=np.float32)
        feeds.update({name: np.repeat(array, 4, axis=0) for name, array in model.spec.context_feed(photo).items()})
        outputs = [model.spec.output.name]
        result["binding"] = {
            "shape": [4, 3, height, width],
            "session_run": timed(partial(model.session.run, outputs, feeds), repeats, warmup),
            "io_binding": timed(partial(run_bound, model.session, feeds, outputs, model.device), repeats, warmup),
        }
    return result


def degrade(rgb: np.ndarray, seed: int) -> np.ndarray:
    """An old-photo stand-in made with OpenCV alone (this check runs where the training extras may be missing):
    blur (sigma 1), Gaussian noise (sigma 8), 6 thin light or dark scratches and JPEG at quality 60."""
    import cv2

    rng = np.random.default_rng(seed)
    height, width = rgb.shape[:2]
    image = cv2.GaussianBlur(rgb, (0, 0), 1.0).astype(np.float32) + rng.normal(0, 8, rgb.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(6):
        start = (int(rng.integers(width)), int(rng.integers(height)))
        end = (int(rng.integers(width)), int(rng.integers(height)))
        shade = int(rng.choice([20, 235]))
        cv2.line(image, start, end, (shade, shade, shade), 1, cv2.LINE_AA)
    _, jpeg = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 60])
    return np.ascontiguousarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[..., ::-1])


def _photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    return np.ascontiguousarray(np.dstack([image] * 3) if image.ndim == 2 else image[..., :3])


def _difference(expected: np.ndarray, actual: np.ndarray, peak: float) -> dict[str, Any]:
    """Max abs difference, and PSNR in dB over `peak` (None: identical)."""
    mse = float(np.mean((expected.astype(np.float64) - actual) ** 2))
    return {
        "max_abs_diff": float(np.abs(expected - actual).max()),
        "psnr_db": None if mse == 0 else 10 * math.log10(peak**2 / mse),
    }


def _lowest(values: Any) -> float | None:
    finite = [value for value in values if value is not None]
    return min(finite) if finite else None


def gpu_name(probed: Result) -> str:
    """The GPU's name from nvidia-smi, else from ONNX Runtime's device list."""
    try:
        names = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        names = []
    names = [name.strip() for name in names if name.strip()]
    if names:
        return ", ".join(names)
    return ", ".join(probed["ort_gpus"]) or "no GPU found"


def fp16_models(weights: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """task -> (fp16 model, where it came from): the manifest's cuda-fp16 variant, else WEIGHTS/<stem>.fp16.onnx,
    else one converted into `folder` now (none without the onnx package)."""
    found = {}
    for task in TASKS:
        spec = load_manifest(weights).model(task)
        variant = spec.for_device("cuda")
        beside = spec.path.with_name(f"{spec.path.stem}.fp16.onnx")
        if variant is not spec:
            found[task] = (variant.path, f"the manifest's {CUDA_VARIANT} variant")
        elif beside.is_file():
            found[task] = (beside, "beside the model")
        else:
            try:
                from training.fp16 import convert
            except ImportError as exc:
                print(f"gpu_check: no fp16 {task} model and none made ({exc}); fp32 only", file=sys.stderr)
                continue
            target = folder / beside.name
            convert(spec.path, target)
            found[task] = (target, "made now by training.fp16")
    return found


def verdicts(fp16: dict[str, Any], accuracy_result: Result, latencies: dict[str, Result], device: str) -> Result:
    """Per task with an fp16 model: speedup on CUDA at the largest size, PSNR loss, and whether it ships."""
    largest = max(latencies["fp32"]["rows"], key=lambda row: math.prod(parse_size(row["size"])))["size"]

    def seconds(precision: str, task: str) -> float:
        rows = latencies[precision]["rows"]
        return next(row["median_s"] for row in rows if row["size"] == largest and row["mode"] == task)

    result = {}
    for task in fp16:
        quality = accuracy_result["quality"][task]
        speedup = seconds("fp32", task) / seconds("fp16", task)
        loss = quality[f"{device} fp32"] - quality[f"{device} fp16"]
        passes = speedup >= MIN_SPEEDUP and loss < MAX_PSNR_LOSS_DB
        result[task] = {"size": largest, "speedup": speedup, "psnr_loss_db": loss, "ships": passes and device == "cuda"}
    return result


def ship_commands(weights: Path, verdict: Result) -> list[str]:
    """The commands that list the fp16 models that ship as cuda-fp16 variants (this benchmark only measures)."""
    tasks = [task for task, result in verdict.items() if result["ships"]]
    return [f"revive-train fp16 --weights {weights} --tasks {' '.join(tasks)} --register"] if tasks else []


def tables(results: Result) -> str:
    """The Markdown tables of the results."""
    device = results["device"]
    acc = results["accuracy"]
    out = [
        markdown_table(
            [f"model vs cpu fp32 ({len(acc['photos'])} photos)", "file", "max abs diff", "min PSNR dB"],
            [
                [f"{task}, {name}", row["file"], row["max_abs_diff"], row["min_psnr_db"] or "identical"]
                for task, rows in acc["models"].items()
                for name, row in rows.items()
            ],
        ),
        markdown_table(
            ["PSNR dB vs ground truth", *acc["quality"]["restore"]],
            [[task, *values.values()] for task, values in acc["quality"].items()],
        ),
    ]
    runs = results["latency"]
    labels = {"cpu": "cpu", **{name: f"{runs[name]['device']} {name}" for name in runs if name != "cpu"}}
    out.append(
        markdown_table(
            ["photo latency, median s", "size", *labels.values()],
            [
                [row["mode"], row["size"], *(runs[name]["rows"][i]["median_s"] for name in labels)]
                for i, row in enumerate(runs["cpu"]["rows"])
            ],
        )
    )
    binding = runs["fp32"].get("binding")
    if binding:
        shape = "x".join(map(str, binding["shape"]))
        out.append(
            markdown_table(
                [f"restore model, batch {shape}, {runs['fp32']['device']} fp32", "median s"],
                [
                    ["session.run", binding["session_run"]["median_s"]],
                    ["IO binding", binding["io_binding"]["median_s"]],
                ],
            )
        )
    if not results["video"]:
        out.append(f"video: {results['video_clip']}")
    else:
        out.append(
            markdown_table(
                ["video " + results["video_clip"], "batch", "model-only fps", "pipeline fps", "pipeline / model"],
                [
                    [
                        f"{row['device']} {row['precision']}",
                        row["batch"],
                        row["fps"]["model"],
                        row["fps"]["pipeline"],
                        row["fps"]["pipeline"] / row["fps"]["model"],
                    ]
                    for row in results["video"]
                ],
            )
        )
    if results["verdict"]:
        rule = f"fp16 ships: >= {MIN_SPEEDUP}x and < {MAX_PSNR_LOSS_DB} dB loss on {device}"
        out.append(
            markdown_table(
                [rule, "size", "speedup", "PSNR loss dB", "ships"],
                [
                    [
                        task,
                        v["size"],
                        v["speedup"],
                        v["psnr_loss_db"],
                        "yes" if v["ships"] else "no",
                    ]
                    for task, v in results["verdict"].items()
                ],
            )
        )
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="folder with manifest.json and the fp32 models")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write all results as JSON here")
    parser.add_argument("--allow-cpu", action="store_true", help="without CUDA, run on the CPU (to test the script)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="WxH", help="photo sizes for latency")
    parser.add_argument("--photos", type=int, default=len(SAMPLE_PHOTOS), help="sample photos for accuracy")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per latency figure (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--video-size", default="1920x1080", metavar="WxH")
    parser.add_argument("--video-frames", type=int, default=60)
    parser.add_argument("--video-repeats", type=int, default=1, help="timed passes over the clip (one untimed first)")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4], help="video frames per model run")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE, help="restore tile size for the video, as --tile")
    args = parser.parse_args(argv)
    weights = args.weights.resolve()
    try:
        for task in TASKS:
            load_manifest(weights).model(task).verify()
    except WeightsError as exc:
        print(f"gpu_check: error: {exc}", file=sys.stderr)
        return 1
    probed = isolated("benchmarks.gpu_check:probe", weights=str(weights))
    if not probed["cuda"] and not args.allow_cpu:
        print(
            f"gpu_check: no GPU to measure: {probed['reason']}\n"
            f"On a machine with CUDA it would measure, for {weights}: CUDA fp32 and fp16 outputs against the CPU's "
            f"(max abs difference, PSNR) and against ground truth on {args.photos} sample photos; photo latency "
            f"at {', '.join(args.sizes)} (restore, colorize, restore + colorize) on CUDA fp32, CUDA fp16 and the "
            f"CPU; video frames per second on a {args.video_size} clip of {args.video_frames} frames, batch "
            f"{' and '.join(map(str, args.batch))}; and whether each fp16 model ships (at least {MIN_SPEEDUP}x "
            f"faster, under {MAX_PSNR_LOSS_DB} dB PSNR loss). --allow-cpu runs it all on the CPU instead.",
            file=sys.stderr,
        )
        return EXIT_NO_GPU
    device = "cuda" if probed["cuda"] else "cpu"
    gpu = gpu_name(probed) if probed["cuda"] else f"no GPU, the CPU in its place ({probed['reason']})"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fp16 = fp16_models(weights, folder)
        folders = {"fp32": pinned_weights(weights, {}, folder / "fp32")}
        if fp16:
            files = {task: path for task, (path, _) in fp16.items()}
            folders["fp16"] = pinned_weights(weights, files, folder / "fp16")
        names = {name: str(path) for name, path in folders.items()}
        acc = isolated("benchmarks.gpu_check:accuracy", folders=names, device=device, photos=args.photos)
        runs = {"repeats": args.repeats, "warmup": args.warmup, "sizes": args.sizes}
        latencies = {"cpu": isolated("benchmarks.gpu_check:latency", weights=str(weights), device="cpu", **runs)}
        for name, path in names.items():
            latencies[name] = isolated(
                "benchmarks.gpu_check:latency", weights=path, device=device, binding=name == "fp32", **runs
            )
        if importlib.util.find_spec("av") is None:  # a GPU machine with the inference stack but not PyAV
            video, clip = [], "skipped: PyAV (`av`) is not installed"
        else:
            video = video_rows(names, device, args, folder)
            clip = f"{args.video_size}, {args.video_frames} frames, tile {args.tile}"
        verdict = verdicts(fp16, acc, latencies, device) if "fp16" in latencies else {}
    results = {
        "gpu": gpu,
        "device": device,
        "probe": probed,
        "fp16_models": {task: {"file": path.name, "from": source} for task, (path, source) in fp16.items()},
        "accuracy": acc,
        "latency": latencies,
        "video_clip": clip,
        "video": video,
        "rule": {"min_speedup": MIN_SPEEDUP, "max_psnr_loss_db": MAX_PSNR_LOSS_DB},
        "verdict": verdict,
        "ship_commands": ship_commands(weights, verdict),
    }
    report(f"GPU check: {gpu}", tables(results), results, args.json)
    for command in results["ship_commands"]:
        print(f"\ngpu_check: to ship the fp16 models that passed: {command}", file=sys.stderr)
    return 0


def video_rows(folders: dict[str, str], device: str, args: argparse.Namespace, tmp: Path) -> list[Result]:
    """Step 3 of the module docstring: one process per precision and batch size."""
    from benchmarks.video_fps import make_clip

    clip = make_clip(None, args.video_frames, args.video_size, tmp)
    rows = []
    for precision, folder in folders.items():
        for batch in args.batch:
            result = isolated(
                "benchmarks.video_fps:measure",
                weights=folder,
                clip=str(clip),
                batch=batch,
                device=device,
                colorize="always",
                repeats=args.video_repeats,
                warmup=1,
                tile=args.tile,
            )
            rows.append({"precision": precision, "batch": batch, **result})
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
