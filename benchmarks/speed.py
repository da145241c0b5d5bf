"""Colorize or restore speed of two or more weights folders, as users run them (`Restorer.colorize_image` on a
gray photo, or `Restorer.restore_image` on a colour one with the global correction when the manifest has one;
CPU, the variant the CPU runs, e.g. cpu-int8, unless --fp32), measured in one process with the runs interleaved,
so that a busy machine slows every model alike and the ratio holds.

    python -m benchmarks.speed --weights A --weights B [--task colorize|restore] [--size 1024x768]
        [--render-size N] [--repeats 7]

Prints the median seconds per photo of each folder and each one's ratio to the first. Imports no torch.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

from benchmarks.common import base_parser, markdown_table, parse_size, report, sample_photo


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.set_defaults(repeats=7)
    parser.add_argument("--weights", action="append", required=True, help="weights folder (repeat to compare)")
    parser.add_argument("--task", choices=("colorize", "restore"), default="colorize")
    parser.add_argument("--size", default="1024x768", help="photo size HxW (default 1024x768)")
    parser.add_argument("--render-size", type=int, help="colorize render size (default: each manifest's)")
    parser.add_argument("--fp32", action="store_true", help="the models' own files, not the CPU variants")
    args = parser.parse_args()

    from restore.pipeline import Restorer

    height, width = parse_size(args.size)
    photo = sample_photo(height, width, gray=args.task == "colorize")
    restorers = []
    for folder in args.weights:
        restorer = Restorer(folder, device="cpu")
        if args.fp32:
            spec = restorer.manifest.models[args.task]
            restorer.manifest.models[args.task] = dataclasses.replace(spec, variants=())
        restorers.append(restorer)

    def run(restorer: Restorer) -> None:
        if args.task == "colorize":
            restorer.colorize_image(photo, render_size=args.render_size)
        else:
            restorer.restore_image(photo)

    for restorer in restorers:  # load and warm up every model before timing any
        for _ in range(args.warmup + 1):
            run(restorer)
    times: list[list[float]] = [[] for _ in restorers]
    for _ in range(args.repeats):
        for index, restorer in enumerate(restorers):
            start = time.perf_counter()
            run(restorer)
            times[index].append(time.perf_counter() - start)
    medians = [statistics.median(t) for t in times]
    rows = [
        [str(Path(folder)), restorer.model(args.task).path.name, median, median / medians[0]]
        for folder, restorer, median in zip(args.weights, restorers, medians, strict=True)
    ]
    table = markdown_table(["weights", "file run", "median s / photo", "ratio to first"], rows)
    results = {
        "task": args.task,
        "size": args.size,
        "render_size": args.render_size,
        "fp32": args.fp32,
        "times_s": times,
    }
    kind = "gray" if args.task == "colorize" else "colour"
    report(f"{args.task.capitalize()} speed, {args.size} {kind} photo, interleaved runs", table, results, args.json)


if __name__ == "__main__":
    main()
