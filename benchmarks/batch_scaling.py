"""`revive batch` scaling: photos per second with 1 and 2 Ray workers on this machine, and the scaling efficiency.

    python -m benchmarks.batch_scaling [--weights weights/] [--photos 12] [--size 512x384] [--workers 1 2]

Each worker count is measured in its own process, on its own local Ray cluster (one CPU per worker, so one ONNX
Runtime thread each): the photos (the scikit-image samples at --size, every other one black-and-white, so that
half are also colourized) go through the worker pool exactly as `revive batch` sends them, into a fresh output
folder each run. The first run is untimed (the workers start and load their models), then the median of
--repeats runs is reported. Scaling efficiency is rate(N) / (N x rate(1)): 1.0 is perfect. The CPU seconds the
workers used per photo tell the cost of the work itself from the cores it got: equal for 1 and 2 workers, the
pool adds no work, and an efficiency under 1 means the cores were not free. The load average is printed with
the figures: on a shared machine other processes take cores from the workers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.common import (
    ROOT,
    SAMPLE_PHOTOS,
    Result,
    base_parser,
    isolated,
    markdown_table,
    parse_size,
    report,
    sample_photo,
    timed,
)


def measure(weights: str, photos: int, height: int, width: int, workers: int, repeats: int, warmup: int) -> Result:
    """Photos per second through `workers` workers (see the module docstring)."""
    import ray
    from PIL import Image

    from restore.cluster.connect import LOCAL_OBJECT_STORE, Shape
    from restore.cluster.pool import WorkerPool
    from restore.cluster.worker import WorkerSettings
    from restore.files import plan_jobs
    from restore.io_image import DEFAULT_MAX_PIXELS
    from restore.options import ProcessOptions
    from restore.tiling import DEFAULT_TILE

    ray.init(num_cpus=workers, object_store_memory=LOCAL_OBJECT_STORE, include_dashboard=False, log_to_driver=False)
    settings = WorkerSettings(Path(weights), "cpu", DEFAULT_TILE, 32, 1, True, "auto", None, 1.0, os.getcwd())
    options = ProcessOptions(tile=DEFAULT_TILE)
    with tempfile.TemporaryDirectory() as tmp:
        album = Path(tmp, "album")
        album.mkdir()
        for index in range(photos):
            rgb = sample_photo(height, width, gray=index % 2 == 1, name=SAMPLE_PHOTOS[index % len(SAMPLE_PHOTOS)])
            Image.fromarray(rgb).save(album / f"photo{index}.png")
        runs = iter(range(repeats + warmup))
        with WorkerPool(ray, Shape(workers, 1, 0.0, "cpu"), settings) as pool:

            def run() -> None:
                jobs, _ = plan_jobs([album], Path(tmp, f"out{next(runs)}"))
                for _, error in pool.map("photo", [(job, options, DEFAULT_MAX_PIXELS) for job in jobs]):
                    if error is not None:
                        raise RuntimeError(error)

            for _ in range(warmup):
                run()
            pids = [info.pid for info in pool.info]
            cpu = _cpu_seconds(pids)
            timing = timed(run, repeats, warmup=0)
            cpu = _cpu_seconds(pids) - cpu
    ray.shutdown()
    per_photo = cpu / (repeats * photos)
    return {**timing, "photos_per_s": photos / timing["median_s"], "workers": len(pids), "cpu_s_per_photo": per_photo}


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by the processes `pids` (all their threads)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime and stime, fields 14 and 15 of the line
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = base_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=str(ROOT / "weights"), help="weights folder (default: the repo's)")
    parser.add_argument("--photos", type=int, default=12, help="photos per run (default: 12)")
    parser.add_argument("--size", default="512x384", help="photo size, WIDTHxHEIGHT (default: 512x384)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default: 1 2)")
    args = parser.parse_args()
    height, width = parse_size(args.size)
    load_before = os.getloadavg()[0]
    results = {
        workers: isolated(
            "benchmarks.batch_scaling:measure",
            weights=args.weights,
            photos=args.photos,
            height=height,
            width=width,
            workers=workers,
            repeats=args.repeats,
            warmup=args.warmup,
        )
        for workers in args.workers
    }
    load_after = os.getloadavg()[0]
    base = results[args.workers[0]]["photos_per_s"] / args.workers[0]
    rows = [
        [workers, result["workers"], result["median_s"], result["photos_per_s"],
         result["photos_per_s"] / (workers * base), result["cpu_s_per_photo"]]
        for workers, result in results.items()
    ]  # fmt: skip
    headers = ["workers", "started", f"median s, {args.photos} photos", "photos/s", "scaling efficiency",
               "worker CPU s per photo"]  # fmt: skip
    table = markdown_table(headers, rows)
    table += f"\n\n{args.size} photos, half colourized; 1-minute load average {load_before:.2f} before, "
    table += f"{load_after:.2f} after, on {os.cpu_count()} cores"
    settings = {key: value for key, value in vars(args).items() if key != "json"}
    report("revive batch scaling (local Ray cluster)", table, {"results": results, "args": settings}, args.json)


if __name__ == "__main__":
    main()
