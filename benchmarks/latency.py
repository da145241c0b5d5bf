"""Photo latency: ONNX Runtime (CPU provider, untiled and tiled) against PyTorch eager fp32 on the same weights.

    python -m benchmarks.latency --weights weights/ [--sizes 512x512 1024x1024 2048x1536] [--repeats 3]

Per task and size: median seconds, GFLOP per image (torch's FlopCounterMode, 2 per multiply-add, convolutions
and matrix products), achieved GFLOP/s and its share of this machine's fp32 matmul peak (torch 2048x2048,
measured in the same run; numpy's for reference), and peak RSS. Then end-to-end `Restorer.process` times.
Every figure comes from its own subprocess; torch threads = cores, like ONNX Runtime's.

Modes: restore "untiled" (tile=0) and "tiled" (the Restorer's default 512 px tiles); colorize "untiled" (the
model on the whole image's L*) and "pipeline" (`Restorer.colorize_image`: the model at the manifest's render
size, a*b* upsampled and merged; no GFLOP figures). GFLOP/s is the untiled image's GFLOP over the time, so
tiled rows count the tiles' overlap as overhead.
"""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import Result, base_parser, isolated, markdown_table, parse_size, report, sample_photo, timed

SIZES = ("512x512", "1024x1024", "2048x1536")
MODES = {"restore": ("untiled", "tiled"), "colorize": ("untiled", "pipeline")}
MATMUL_N = 2048
E2E_TARGET_S = 0.3  # a 256x256 photo through Restorer.process


def matmul_rate(library: str, n: int, repeats: int, warmup: int) -> Result:
    """GFLOP/s of an fp32 n x n matrix product with torch (threads = cores) or numpy."""
    if library == "torch":
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        a, b = torch.rand(n, n), torch.rand(n, n)
    else:
        rng = np.random.default_rng(0)
        a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)

    def product() -> Any:
        return a @ b

    timing = timed(product, repeats, warmup)
    return {**timing, "gflops": 2 * n**3 / timing["median_s"] / 1e9}


def ort_latency(weights: str, task: str, height: int, width: int, mode: str, repeats: int, warmup: int) -> Result:
    """Seconds per image through restore's Restorer / OnnxModel on the CPU (see the module docstring), and the
    model file that ran (the manifest's cpu-int8 variant when it lists one)."""
    from restore.color import rgb_to_lab
    from restore.pipeline import Restorer

    restorer = Restorer(weights, device="cpu", **({"tile": 0} if mode == "untiled" else {}))
    rgb = sample_photo(height, width, gray=task == "colorize")
    if task == "restore":

        def run() -> Any:
            return restorer.restore_image(rgb)
    elif mode == "pipeline":

        def run() -> Any:
            return restorer.colorize_image(rgb)
    else:
        model = restorer.model("colorize")
        spec = model.spec.temperature
        feed = {} if spec is None else {spec.name: np.array([spec.default], np.float32)}
        lightness = rgb_to_lab(rgb)[..., :1]

        def run() -> Any:
            return model.run_image(lightness, feed)

    return {**timed(run, repeats, warmup), "file": restorer.model(task).path.name}


def torch_generator(weights: str, task: str) -> Any:
    """The export graph (generator + clamp or colour decoding) of `task` rebuilt in PyTorch from the ONNX file's
    initializers and the manifest's training config, in eval mode."""
    from restore.manifest import read_manifest_json
    from training.checkpoint import load_generator_weights
    from training.colorbins import ab_bin_centers
    from training.config import from_dict
    from training.tasks import make_task

    entry = read_manifest_json(weights)["models"][task]
    config = from_dict(entry["training"]["config"])
    bins = task == "colorize" and config.color.head == "bins"  # any weights: the decoding's come from the file
    graph_task = make_task(config, np.ones(len(ab_bin_centers()), np.float32) if bins else None)
    generator = graph_task.build_generator()
    load_generator_weights(generator, Path(weights) / entry["file"])
    return graph_task.export_graph(generator.eval())[0].eval()


def torch_latency(
    weights: str, task: str, height: int, width: int, repeats: int, warmup: int, bf16: bool = False
) -> Result:
    """Seconds per image of PyTorch eager (fp32, or bf16 autocast) under inference_mode, and GFLOP per image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from restore.color import rgb_to_lab

    torch.set_num_threads(os.cpu_count() or 1)
    graph = torch_generator(weights, task)
    rgb = sample_photo(height, width, gray=task == "colorize")
    if task == "restore":
        inputs = [torch.from_numpy(rgb.transpose(2, 0, 1)[None].astype(np.float32) / 255)]
    else:
        temperature = json.loads((Path(weights) / "manifest.json").read_text())["models"][task]["inputs"]
        default = temperature.get("temperature", {}).get("default", 1.0)
        lightness = rgb_to_lab(rgb)[..., 0]
        inputs = [torch.from_numpy(lightness[None, None].copy()), torch.tensor([default], dtype=torch.float32)]
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    with torch.inference_mode():
        counter = FlopCounterMode(display=False)
        with counter:
            graph(*inputs)

        def run() -> Any:
            with precision:
                return graph(*inputs)

        timing = timed(run, repeats, warmup)
    return {**timing, "gflop": counter.get_total_flops() / 1e9}


def e2e_latency(weights: str, height: int, width: int, gray: bool, colorize: str, repeats: int, warmup: int) -> Result:
    """Seconds of `Restorer.process(rgb, colorize=...)` (restore, then colour when asked) after warm-up."""
    from restore.pipeline import Restorer

    restorer = Restorer(weights, device="cpu")
    restorer.prepare(colorize=colorize)
    rgb = sample_photo(height, width, gray=gray)
    return timed(lambda: restorer.process(rgb, colorize=colorize), repeats, warmup)


def model_rows(weights: str, tasks: list[str], sizes: list[str], runs: Result, bf16: bool, peak: float) -> list[Result]:
    """Per task and size: torch eager (fp32, and bf16 if asked) and ONNX Runtime in each mode, one process each."""
    rows = []
    for task in tasks:
        for size in sizes:
            height, width = parse_size(size)
            shape = {"weights": weights, "task": task, "height": height, "width": width, **runs}
            reference = isolated("benchmarks.latency:torch_latency", **shape)
            measured = [("torch eager fp32", "untiled", reference)]
            if bf16:
                measured.append(
                    ("torch eager bf16", "untiled", isolated("benchmarks.latency:torch_latency", **shape, bf16=True))
                )
            for mode in MODES[task]:
                result = isolated("benchmarks.latency:ort_latency", **shape, mode=mode)
                if result["torch_loaded"]:
                    raise RuntimeError("torch was imported in an ONNX Runtime measurement")
                measured.append((f"onnxruntime cpu ({result['file']})", mode, result))
            for runtime, mode, result in measured:
                gflop = None if mode == "pipeline" else reference["gflop"]  # the pipeline renders smaller
                rate = None if gflop is None else gflop / result["median_s"]
                # an int8 model does the same work in integer ops: its rate is no share of the fp32 peak
                fp32 = ".int8." not in result.get("file", "")
                percent = None if rate is None or not fp32 else 100 * rate / peak
                rows.append(
                    {
                        "task": task,
                        "size": size,
                        "runtime": runtime,
                        "mode": mode,
                        "gflop": gflop,
                        "gflops": rate,
                        "percent_of_peak": percent,
                        **result,
                    }
                )
    return rows


def e2e_rows(weights: str, runs: Result) -> list[Result]:
    """`Restorer.process` end to end on a small colour photo, a small gray one and a 1-megapixel gray one."""
    rows = []
    for label, size, gray, colorize in (
        ("colour photo, auto (restore only)", "256x256", False, "auto"),
        ("gray photo, auto (restore + colorize)", "256x256", True, "auto"),
        ("1 MP gray photo, restore + colorize", "1024x1024", True, "always"),
    ):
        height, width = parse_size(size)
        shape = {"weights": weights, "height": height, "width": width, "gray": gray, "colorize": colorize}
        rows.append({"photo": label, "size": size, **isolated("benchmarks.latency:e2e_latency", **shape, **runs)})
    return rows


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True, help="folder with manifest.json and the ONNX models")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="WxH")
    parser.add_argument("--tasks", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--torch-bf16", action="store_true", help="also time torch with bf16 autocast")
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the end-to-end Restorer.process rows")
    args = parser.parse_args()
    weights = str(Path(args.weights).resolve())
    runs = {"repeats": args.repeats, "warmup": args.warmup}
    peaks = {
        lib: isolated("benchmarks.latency:matmul_rate", library=lib, n=MATMUL_N, **runs) for lib in ("torch", "numpy")
    }
    rows = model_rows(weights, args.tasks, args.sizes, runs, args.torch_bf16, peaks["torch"]["gflops"])
    e2e = [] if args.skip_e2e else e2e_rows(weights, runs)

    tables = [
        markdown_table(
            ["matmul 2048x2048 fp32", "median s", "GFLOP/s"],
            [[lib, r["median_s"], r["gflops"]] for lib, r in peaks.items()],
        ),
        markdown_table(
            ["task", "size", "runtime", "mode", "median s", "GFLOP", "GFLOP/s", "% of fp32 peak", "peak RSS MB"],
            [
                [
                    r["task"],
                    r["size"],
                    r["runtime"],
                    r["mode"],
                    r["median_s"],
                    r["gflop"],
                    r["gflops"],
                    r["percent_of_peak"],
                    r["peak_rss_mb"],
                ]
                for r in rows
            ],
        ),
    ]
    if e2e:
        verdict = {True: "yes", False: "no"}
        tables.append(
            markdown_table(
                ["Restorer.process", "size", "median s", f"under {E2E_TARGET_S} s (256x256)"],
                [
                    [
                        r["photo"],
                        r["size"],
                        r["median_s"],
                        verdict[r["median_s"] < E2E_TARGET_S] if r["size"] == "256x256" else None,
                    ]
                    for r in e2e
                ],
            )
        )
    report("Latency", "\n\n".join(tables), {"matmul": peaks, "latency": rows, "end_to_end": e2e}, args.json)


if __name__ == "__main__":
    main()
