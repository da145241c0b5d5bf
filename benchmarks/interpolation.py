"""Frame interpolation: drop every other frame, make it again, and compare with the frame that was dropped.

    python -m benchmarks.interpolation [SOURCE ...] [--frames N] [--size 432x320] [--repeats 3] [--json PATH]

SOURCE: videos (their first --frames frames) or folders of frames (natural order). Generated clips are always
added (benchmarks/clips.py, at --size): a pan across a photo, a zoom into one and a disc moving over a still
photo. A source with repeated frames (a film transferred to video by repeating every fourth or fifth frame:
a frame within 40 dB PSNR of the one before) is also scored with the repeats removed, on the film's own frames;
the dropped frame is otherwise often a copy of one of its neighbours, which favours frame repetition.

Methods, all given the same kept frames: "repeat" (the frame before), "blend" (the average of the two),
"minterpolate" (FFmpeg's filter with mi_mode=mci and its defaults, scene-change detection included, through
PyAV's filter graph) and "revive" (restore.interpolate, as `revive video --fps 2x` runs it). Reported per clip:
mean PSNR (RGB, capped at 100 dB for identical frames) and SSIM against the dropped frames, and how many dB
Revive gains over minterpolate and over repetition (targets on real footage: >= 1 dB and >= 3 dB). Speed:
Revive's in-between frames per second at --size (flows included, one in-between frame per pair, median of
--repeats runs over the generated pan), beside minterpolate's output frames per second on the same frames.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from benchmarks.common import Result, base_parser, markdown_table, parse_size, report
from restore.files import natural_key
from restore.interpolate import Interpolator
from restore.io_image import IMAGE_EXTENSIONS, load_image
from training.metrics import ssim

REPEAT_PSNR = 40.0  # dB: a frame this close to the one before is a repeat
PSNR_CAP = 100.0
TARGETS = {"minterpolate": 1.0, "repeat": 3.0}  # dB Revive should gain on real footage
Method = Callable[[list[np.ndarray]], list[np.ndarray]]  # kept frames -> the frame between each two


def repeat(kept: list[np.ndarray]) -> list[np.ndarray]:
    return kept[:-1]


def blend(kept: list[np.ndarray]) -> list[np.ndarray]:
    return [((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8) for a, b in zip(kept, kept[1:], strict=False)]


def minterpolate(kept: list[np.ndarray]) -> list[np.ndarray]:
    """FFmpeg's minterpolate at twice the rate; the last frame is fed twice so that the filter, which looks
    one frame ahead, also makes the last in-between frame."""
    height, width = kept[0].shape[:2]
    graph = av.filter.Graph()
    chain = [
        graph.add_buffer(width=width, height=height, format="rgb24", time_base=Fraction(1, 10)),
        graph.add("minterpolate", "fps=20:mi_mode=mci"),
        graph.add("format", "pix_fmts=rgb24"),
        graph.add("buffersink"),
    ]
    for source, sink in zip(chain, chain[1:], strict=False):
        source.link_to(sink)
    graph.configure()
    made: dict[int, np.ndarray] = {}

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            made[frame.pts] = frame.to_ndarray(format="rgb24")

    for pts, rgb in enumerate([*kept, kept[-1]]):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = pts, Fraction(1, 10)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    return [made[2 * k + 1] for k in range(len(kept) - 1)]


def revive(kept: list[np.ndarray]) -> list[np.ndarray]:
    interpolator = Interpolator()
    pairs = [interpolator.push(frame) for frame in kept] + [interpolator.finish()]
    return [pair.at([0.5])[0] for pair in pairs if pair is not None]


METHODS: dict[str, Method] = {"repeat": repeat, "blend": blend, "minterpolate": minterpolate, "revive": revive}


def psnr(reference: np.ndarray, image: np.ndarray) -> float:
    mse = float(np.mean((reference.astype(np.float64) - image) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * np.log10(255**2 / mse))


def score(frames: list[np.ndarray]) -> Result:
    """Mean PSNR and SSIM of each method's in-between frames against the dropped frames."""
    kept, dropped = frames[::2], frames[1::2][: (len(frames) - 1) // 2]
    result: Result = {"compared": len(dropped)}
    for name, method in METHODS.items():
        made = method(kept)
        result[name] = {
            "psnr": statistics.fmean(psnr(truth, image) for truth, image in zip(dropped, made, strict=True)),
            "ssim": statistics.fmean(ssim(truth, image) for truth, image in zip(dropped, made, strict=True)),
        }
    return result


def speed(frames: list[np.ndarray], repeats: int, warmup: int) -> Result:
    """Frames per second and CPU ms per frame (all threads) of Revive's in-between frames (one per pair, flows
    included) and of minterpolate's output frames, on `frames`; medians of `repeats` runs."""
    rates: Result = {}
    for name, method, made in (("revive", revive, len(frames) - 1), ("minterpolate", minterpolate, 2 * len(frames))):
        for _ in range(warmup):
            method(frames)
        wall, cpu = [], []
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            method(frames)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        rates[name] = {"fps": made / statistics.median(wall), "cpu_ms": 1000 * statistics.median(cpu) / made}
    return rates


def load(source: Path, limit: int | None) -> list[np.ndarray]:
    """The first `limit` frames of a video, or of a folder's images in natural order, as RGB."""
    if source.is_dir():
        paths = sorted(
            (p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: natural_key(p.name)
        )
        return [load_image(path).rgb for path in paths[:limit]]
    with av.open(str(source)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(frames) == limit:
                break
        return frames


def without_repeats(frames: list[np.ndarray]) -> list[np.ndarray]:
    """`frames` less each frame within REPEAT_PSNR of the one kept before it."""
    unique = frames[:1]
    for frame in frames[1:]:
        if psnr(unique[-1], frame) <= REPEAT_PSNR:
            unique.append(frame)
    return unique


def generated(count: int, size: tuple[int, int]) -> dict[str, list[np.ndarray]]:
    """The generated clips at `size` (width, height)."""
    from benchmarks.clips import object_frames, pan_frames, zoom_frames

    width, height = size
    radius = min(width, height) // 6
    return {
        "pan (generated)": pan_frames(count, size, "astronaut", step=(6, 3)),
        "zoom (generated)": zoom_frames(count, size, "astronaut", rate=0.01),
        "moving object (generated)": object_frames(
            count, size, step=(width // 70, height // 160), radius=radius, start=(width // 10, height // 5)
        ),
    }


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="*", type=Path, metavar="SOURCE", help="videos or folders of frames")
    parser.add_argument("--frames", type=int, help="use at most this many frames of each source (default: all)")
    parser.add_argument("--size", default="432x320", help="size of the generated clips, WIDTHxHEIGHT")
    parser.add_argument("--generated-frames", type=int, default=25, help="frames per generated clip")
    args = parser.parse_args()
    height, width = parse_size(args.size)
    clips: dict[str, tuple[list[np.ndarray], bool]] = {}  # name -> (frames, real footage)
    for source in args.sources:
        frames = load(source, args.frames)
        clips[source.name] = frames, True
        unique = without_repeats(frames)
        if len(unique) < len(frames):
            clips[f"{source.name} ({len(frames) - len(unique)} repeated frames removed)"] = unique, True
    for name, frames in generated(args.generated_frames, (width, height)).items():
        clips[name] = frames, False
    results: Result = {"clips": {}}
    rows = []
    for name, (frames, real) in clips.items():
        print(f"  {name}: {len(frames)} frames", file=sys.stderr, flush=True)
        result = results["clips"][name] = {**score(frames), "real": real}
        gains = [result["revive"]["psnr"] - result[other]["psnr"] for other in TARGETS]
        met = all(gain >= TARGETS[other] for gain, other in zip(gains, TARGETS, strict=True)) if real else None
        result["targets_met"] = met
        rows.append(
            [name, result["compared"]]
            + [f"{result[m]['psnr']:.2f} / {result[m]['ssim']:.3f}" for m in METHODS]
            + [f"{gain:+.2f}" for gain in gains]
            + ["-" if met is None else "yes" if met else "no"]
        )
    pan = generated(args.generated_frames, (width, height))["pan (generated)"]
    load_before = os.getloadavg()[0]
    results["speed"] = {"size": f"{width}x{height}", **speed(pan, args.repeats, args.warmup)}
    results["load_average"] = [load_before, os.getloadavg()[0]]  # 1-minute averages, before and after
    headers = ["clip", "frames", *(f"{m} PSNR / SSIM" for m in METHODS), "vs minterpolate", "vs repeat", "targets"]
    table = markdown_table(headers, rows)
    revive_speed, ffmpeg_speed = results["speed"]["revive"], results["speed"]["minterpolate"]
    table += (
        f"\n\nSpeed at {width}x{height}: Revive {revive_speed['fps']:.1f} in-between frames/s (target >= 10), "
        f"{revive_speed['cpu_ms']:.0f} ms of CPU each; minterpolate {ffmpeg_speed['fps']:.1f} output frames/s, "
        f"{ffmpeg_speed['cpu_ms']:.0f} ms of CPU each. Load average (1 min) before and after the timing: "
        f"{results['load_average'][0]:.1f}, {results['load_average'][1]:.1f} on {os.cpu_count()} cores."
    )
    report("Frame interpolation: every other frame dropped and made again", table, results, args.json)


if __name__ == "__main__":
    main()
