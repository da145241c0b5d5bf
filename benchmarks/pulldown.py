"""Pulldown before a new frame rate: does a film transferred to video keep moving between its repeated frames?

    python -m benchmarks.pulldown VIDEO [--fps 60] [--frames N] [--json PATH]

Runs restore.retime.Retimer over the video's decoded frames (no restoring: the retimer alone) to --fps twice:
taking out the frames that repeat the one before (restore.pulldown, what `revive video --fps 60` does) and
keeping every frame (as before it). Reported: the repeats found, the output frames, and the stops: output
frames that barely differ from the one before (PSNR above 38 dB) around each repeat that lies in a moving shot
(the input's steps on both sides of it under 33 dB PSNR), over the output frames from the input frame before
the repeat to two after it; with the median step PSNR there (an even motion keeps the steps alike).
"""

from __future__ import annotations

import statistics
from fractions import Fraction
from itertools import islice, pairwise
from pathlib import Path

import numpy as np

from benchmarks.common import Result, base_parser, markdown_table, report
from restore.pulldown import REPEAT_PSNR
from restore.retime import FrameRate, Retimer, Timeline
from restore.video_io import VideoInfo, probe, read_frames
from training.metrics import psnr

STILL_STEP_PSNR = 38.0  # dB: an output step this close is a stop
MOVING_STEP_PSNR = 33.0  # dB: input steps below this on both sides of a repeat put it in a moving shot


def decode(path: Path, limit: int | None) -> tuple[list[tuple[int, np.ndarray]], VideoInfo]:
    """(pts, RGB) of the first `limit` frames, as `revive video` reads them, and the video's facts."""
    info = probe(path)
    return [(frame.data, frame.rgb) for frame in islice(read_frames(path, info), limit)], info


def retime(frames, timeline: Timeline, take_out_copies: bool) -> tuple[list[tuple[int, np.ndarray]], int]:
    """The output frames (pts, RGB) and the number of copies taken out."""
    retimer = Retimer(timeline, take_out_copies=take_out_copies)
    units = [unit for index, (pts, rgb) in enumerate(frames) for unit in retimer.push(index, pts, rgb)]
    return [frame for unit in units + retimer.finish() for frame in unit.frames], retimer.copies


def stops(frames, output, timeline: Timeline, time_base: Fraction) -> tuple[int, float, int]:
    """Stops and the median step PSNR around the repeats in moving shots, and how many such repeats."""
    steps = [psnr(a, b) for (_, a), (_, b) in pairwise(frames)]
    moving = [
        i
        for i in range(1, len(steps) - 1)
        if steps[i] > REPEAT_PSNR and max(steps[i - 1], steps[i + 1]) < MOVING_STEP_PSNR
    ]
    times = np.array([float(pts * timeline.time_base) for pts, _ in output])
    found, near = 0, []
    for i in moving:  # frame i + 1 repeats frame i
        begin, end = float(frames[i - 1][0] * time_base), float(frames[i + 2][0] * time_base)
        chosen = np.flatnonzero((times >= begin) & (times <= end))
        values = [psnr(output[a][1], output[a + 1][1]) for a in chosen[:-1]]
        found += sum(value > STILL_STEP_PSNR for value in values)
        near += values
    return found, statistics.median(near) if near else float("nan"), len(moving)


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--fps", default="60", help="output frame rate (fixed)")
    parser.add_argument("--frames", type=int, help="use at most this many frames (default: all)")
    args = parser.parse_args()
    frames, info = decode(args.video, args.frames)
    timeline = Timeline(FrameRate.parse(args.fps), info.time_base, info.rate, info.start_pts)
    results: Result = {"video": args.video.name, "frames": len(frames), "fps": args.fps}
    rows = []
    for name, take_out in (("repeats taken out (revive)", True), ("every frame kept (before)", False)):
        output, copies = retime(frames, timeline, take_out)
        found, median, moving = stops(frames, output, timeline, info.time_base)
        results[name] = {"copies": copies, "output": len(output), "stops": found, "median_step_psnr": median}
        rows.append([name, copies, len(output), moving, found, f"{median:.2f}"])
    headers = ["retimer", "repeats taken out", "output frames", "repeats in moving shots", "stops near them"]
    headers.append("median step PSNR there (dB)")
    title = f"Pulldown: {args.video.name} ({len(frames)} frames) to {args.fps} frames/s"
    report(title, markdown_table(headers, rows), results, args.json)


if __name__ == "__main__":
    main()
