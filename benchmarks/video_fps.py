"""Video throughput: the `revive video` pipeline's frames per second beside the models' alone, on the same frames.

    python -m benchmarks.video_fps [VIDEO] --weights weights/ [--frames 24] [--size 432x320] [--batch 1 4]

The clip is VIDEO's first --frames frames (re-encoded, sound left out) or, without VIDEO, a black-and-white pan
over a scikit-image photo at --size, with sound. "model only" runs Restorer.process_batch over the decoded frames
held in memory (restore + colorize, --batch frames per run); "pipeline" runs restore.video.process_video on the
clip (decode, models, temporal filter, H.264 encode, sound copy) with the same Restorer, models loaded. Runs
alternate, medians are reported; each batch size is measured in its own process. The pipeline should reach at
least 85% of the model-only rate: decoding, filtering and encoding overlap with the models.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result, base_parser, isolated, markdown_table, parse_size, report
from restore.tiling import DEFAULT_TILE

TARGET_RATIO = 0.85


def measure(
    weights: str, clip: str, batch: int, device: str, colorize: str, repeats: int, warmup: int, tile: int = DEFAULT_TILE
) -> Result:
    """Model-only and pipeline frames per second on `clip` (see the module docstring); `tile` as `--tile`."""
    from benchmarks.clips import read_clip
    from restore.options import ProcessOptions
    from restore.pipeline import Restorer
    from restore.video import process_video

    restorer = Restorer(weights, device=device, tile=tile)
    restorer.prepare(colorize=colorize)
    frames = read_clip(Path(clip))[0]
    options = ProcessOptions(colorize=colorize)

    def model_only() -> None:
        for start in range(0, len(frames), batch):
            restorer.process_batch(frames[start : start + batch], colorize="always" if colorize != "never" else "never")

    def pipeline() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            process_video(clip, Path(tmp) / "out.mp4", restorer, options, batch=batch)

    for _ in range(warmup):
        model_only()
        pipeline()
    times: dict[str, list[float]] = {"model": [], "pipeline": []}
    for _ in range(repeats):
        for name, run in (("model", model_only), ("pipeline", pipeline)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    fps = {name: len(frames) / statistics.median(values) for name, values in times.items()}
    files = {task: restorer.model(task).path.name for task in ("restore", "colorize")[: 1 + (colorize != "never")]}
    return {"frames": len(frames), "device": restorer.device_used, "files": files, "fps": fps, "times_s": times}


def make_clip(video: Path | None, frames: int, size: str, folder: Path) -> Path:
    """The clip to measure on (see the module docstring)."""
    from benchmarks.clips import pan_frames, read_clip, to_gray, write_clip

    if video is None:
        height, width = parse_size(size)
        return write_clip(folder / "pan.mp4", to_gray(pan_frames(frames, (width, height))), fps=24)
    decoded, _, _, rate = read_clip(video)
    return write_clip(folder / "clip.mp4", decoded[:frames], fps=round(rate or 24), audio=False)


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("video", nargs="?", type=Path, help="a video to take the frames from (default: a pan)")
    parser.add_argument("--weights", required=True, help="folder with manifest.json and the ONNX models")
    parser.add_argument("--frames", type=int, default=24, help="frames in the clip (default: 24)")
    parser.add_argument("--size", default="432x320", metavar="WxH", help="size of the generated pan")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4], help="batch sizes to compare")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--colorize", default="always", choices=("always", "never"))
    args = parser.parse_args()
    rows, results = [], []
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(args.video, args.frames, args.size, Path(tmp))
        for batch in args.batch:
            result = isolated(
                "benchmarks.video_fps:measure",
                weights=str(Path(args.weights).resolve()),
                clip=str(clip),
                batch=batch,
                device=args.device,
                colorize=args.colorize,
                repeats=args.repeats,
                warmup=args.warmup,
            )
            fps = result["fps"]
            ratio = fps["pipeline"] / fps["model"]
            rows.append([batch, result["device"], result["frames"], fps["model"], fps["pipeline"], ratio])
            results.append({"batch": batch, **result})
    table = markdown_table(["batch", "device", "frames", "model-only fps", "pipeline fps", "pipeline / model"], rows)
    report(
        f"Video throughput (target: pipeline >= {TARGET_RATIO:.0%} of model-only)", table, {"runs": results}, args.json
    )


if __name__ == "__main__":
    main()
