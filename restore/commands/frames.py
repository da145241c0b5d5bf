"""`revive frames`: restore and colourize a folder of frames into PNGs, resumably."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from restore.commands.common import add_model_options, add_process_options, add_sequence_options, run_sequence_job
from restore.frames import process_frames
from restore.pipeline import Restorer
from restore.sequence import Progress

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  revive frames scans/ -o restored/                   frame0001.tif -> restored/frame0001.png ...
  revive frames scans/ -o restored/ --colorize always --temporal off

Frames are the folder's PNG, JPEG, TIFF, BMP and WebP files in natural order (frame2 before frame10). Each
becomes OUTDIR/<stem>.png, written atomically. Stopped at any point, the same command skips the finished
frames and gives the same result as an uninterrupted run; other settings or changed frames start over
from the first frame they affect.
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
    add_model_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Process the frames; returns the exit status."""

    def job(restorer: Restorer, progress: Progress) -> None:
        temporal = args.temporal == "on"
        done = process_frames(
            args.input, args.output, restorer, args, temporal=temporal, batch=args.batch, progress=progress
        )
        if done:
            log.info("%d frames were done by an earlier run", done)

    return run_sequence_job(args, job)
