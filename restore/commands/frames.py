"""`revive frames`: restore and colourize a folder of frames into PNGs, resumably."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from restore.commands.common import (
    UsageError,
    add_fps_option,
    add_model_options,
    add_process_options,
    add_sequence_options,
    run_sequence_job,
)
from restore.frames import process_frames
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.sequence import Progress

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  revive frames scans/ -o restored/                   frame0001.tif -> restored/frame0001.png ...
  revive frames scans/ -o restored/ --colorize always --temporal off
  revive frames scans/ -o smooth/ --fps 3x            frame0001.png, frame0001_1.png, frame0001_2.png ...

Frames are the folder's PNG, JPEG, TIFF, BMP and WebP files in natural order (frame2 before frame10). Each
becomes OUTDIR/<stem>.png, written atomically. Stopped at any point, the same command skips the finished
frames and gives the same result as an uninterrupted run; other settings or changed frames start over
from the first frame they affect. With --fps Kx, K - 1 in-between frames made along the motion follow each
frame but the last, named <stem>_1.png ... (copies of the frame before across a scene cut).
Exit status: 0 all written, 1 failed, 2 usage error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `frames` to the `revive` subcommands."""
    parser = subparsers.add_parser(
        "frames",
        help="restore and colourize a folder of film frames",
        description="Restore and colourize a folder of film frames (an image sequence) into PNGs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="IN_DIR", help="folder of frames")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="folder for the PNGs")
    add_process_options(parser, "auto: if the frames are black-and-white or toned (default); always; never")
    add_sequence_options(parser)
    add_fps_option(parser, "a multiple, such as 2x (frames have no timestamps)")
    add_model_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Process the frames; returns the exit status."""
    if args.fps is not None and args.fps.factor is None:
        raise UsageError(f"a folder of frames has no frame rate: give --fps as a multiple, such as 2x, not {args.fps}")
    factor = args.fps.factor if args.fps else 1

    def job(restorer: Restorer, progress: Progress) -> None:
        temporal = args.temporal == "on"
        done = process_frames(
            args.input,
            args.output,
            restorer,
            ProcessOptions.from_args(args),
            temporal=temporal,
            factor=factor,
            batch=args.batch,
            progress=progress,
            hints_dir=args.hints_dir,
        )
        if done:
            log.info("%d frames were done by an earlier run", done)

    return run_sequence_job(args, job)
