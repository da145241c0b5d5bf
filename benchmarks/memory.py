"""Peak memory of the photo pipeline on large photos, stage by stage, as `revive photo` runs it.

    python -m benchmarks.memory --weights weights/ [--sizes 3840x2160 7680x4320] [--tile 1024] [--toned]

Each size runs in a fresh subprocess: a PNG on disk -> restore.io_image.load_image -> restore (tiled) ->
colorize (always) -> save_png_atomic. Per stage: seconds, the peak resident memory during that stage
(VmHWM, reset before each stage) and the resident memory after it. Target: 4K under 1.5 GB; 8K works.
`--toned` makes the photo a sepia print, whose restore also keeps its hues (restore.color.keep_print_hues), as
`revive photo --colorize never` runs it (a photo colourized next skips that): the larger of the two.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.common import (
    Result,
    base_parser,
    isolated,
    markdown_table,
    parse_size,
    peak_rss_mb,
    report,
    reset_peak_rss,
    rss_mb,
    sample_photo,
)
from restore.tiling import DEFAULT_TILE

SIZES = ("3840x2160", "7680x4320")
TARGET_MB = {"3840x2160": 1500.0}
SEPIA = np.array([1.0, 0.85, 0.65], np.float32)  # --toned: the gray photo times this


def pipeline_memory(weights: str, source: str, output: str, tile: int) -> Result:
    """Run one PNG through the pipeline in stages; per stage seconds, peak and final RSS (MB)."""
    from restore.io_image import load_image, save_png_atomic
    from restore.pipeline import Restorer

    stages: list[Result] = [
        {"stage": "python + imports", "seconds": None, "peak_mb": peak_rss_mb(), "rss_mb": rss_mb()}
    ]

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        reset_peak_rss()
        start = time.perf_counter()
        value = fn()
        stages.append(
            {"stage": name, "seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb(), "rss_mb": rss_mb()}
        )
        return value

    restorer = Restorer(weights, device="cpu", tile=tile)
    stage("load models", lambda: restorer.prepare(colorize="always"))
    image = stage("decode PNG", lambda: load_image(source))
    restored = stage("restore (tiled)", lambda: restorer.restore_image(image.rgb))
    coloured = stage("colorize", lambda: restorer.colorize_image(restored))
    stage("save PNG", lambda: save_png_atomic(output, coloured, image.alpha))
    return {"stages": stages, "peak_rss_mb": max(s["peak_mb"] for s in stages)}


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.set_defaults(repeats=1)
    parser.add_argument("--weights", required=True, help="folder with manifest.json and the ONNX models")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="WxH")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE, help="restore tile size, as `revive photo --tile`")
    parser.add_argument("--toned", action="store_true", help="a sepia print instead of a colour photo")
    args = parser.parse_args()
    weights = str(Path(args.weights).resolve())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            height, width = parse_size(size)
            source = Path(tmp) / f"photo_{size}.png"
            photo = sample_photo(height, width)
            if args.toned:
                photo = (cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None] * SEPIA).astype(np.uint8)
            cv2.imwrite(str(source), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
            for _ in range(args.repeats):
                result = isolated(
                    "benchmarks.memory:pipeline_memory",
                    weights=weights,
                    source=str(source),
                    output=str(Path(tmp) / "out.png"),
                    tile=args.tile,
                )
                results.append({"size": size, "toned": args.toned, **result})
    rows = []
    for result in results:
        target = TARGET_MB.get(result["size"])
        verdict = None if target is None else f"{'yes' if result['peak_rss_mb'] < target else 'no'} (< {target:.0f})"
        rows += [[result["size"], s["stage"], s["seconds"], s["peak_mb"], s["rss_mb"], None] for s in result["stages"]]
        rows.append([result["size"], "**whole run**", None, result["peak_rss_mb"], None, verdict])
    photo_header = "photo (toned)" if args.toned else "photo"
    table = markdown_table([photo_header, "stage", "seconds", "peak RSS MB", "RSS after MB", "under target MB"], rows)
    report("Peak memory, PNG -> restore (tiled) -> colorize -> PNG", table, {"memory": results}, args.json)


if __name__ == "__main__":
    main()
