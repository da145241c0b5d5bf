"""`revive video`: restore and colourize every frame of a video, keeping its timing and sound."""

from __future__ import annotations

import argparse
from pathlib import Path

from restore.commands.common import (
    UsageError,
    add_fps_option,
    add_model_options,
    add_process_options,
    add_sequence_options,
    positive_int,
    run_sequence_job,
)
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.sequence import Progress

OUTPUT_TYPES = (".mp4", ".m4v", ".mov", ".mkv")  # restore.video.CONTAINERS, without importing PyAV here

EPILOG = """\
examples:
  revive video reel.mp4 -o reel-revived.mp4              restore; colourize if black-and-white
  revive video reel.mp4 -o out.mp4 --colorize always --temperature 0.3
  revive video clip.mov -o clip.mkv --no-restore --temporal off
  revive video reel.mp4 -o reel-60fps.mp4 --fps 60      restore, colourize, then 60 frames a second
  revive video reel.mp4 -o out.mp4 --hints-dir hints/    your colours: hints/0.json for the first frame, ...

Every frame is kept with its timestamp (with --fps, in-between frames are added at exact times, none across
a scene cut, where the frame is repeated); the sound (and subtitles, where the container takes them) is copied
unchanged. The output is H.264 (yuv420p), which browsers play; an odd width or height is padded by one pixel.
A rotated phone video comes out upright. Killed or interrupted, the same command resumes from the last
finished chunk, kept in the work folder (default OUTPUT.work, removed when done).
Exit status: 0 written, 1 failed, 2 usage error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `video` to the `revive` subcommands."""
    parser = subparsers.add_parser(
        "video",
        help="restore and colourize a video, keeping its sound",
        description="Restore and colourize every frame of a video; timing and sound are kept.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, metavar="INPUT", help="a video file (anything FFmpeg reads)")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTPUT", help=f"{', '.join(OUTPUT_TYPES)} file"
    )
    add_process_options(parser, "auto: if the video is black-and-white or toned (default); always; never")
    add_sequence_options(parser)
    add_fps_option(parser, "frames per second (60, 59.94, 30000/1001) or a multiple of the input's (2x)")
    parser.add_argument(
        "--crf",
        type=int,
        choices=range(52),
        default=18,
        metavar="N",
        help="H.264 quality, 0-51: 18 looks lossless, 23 is smaller, 0 is lossless but browsers cannot play it "
        "(default: 18)",
    )
    parser.add_argument(
        "--chunk",
        type=positive_int,
        default=120,
        metavar="N",
        help="frames per resumable chunk: a restart redoes at most this many (default: 120)",
    )
    parser.add_argument(
        "--work-dir", type=Path, metavar="DIR", help="folder for finished chunks (default: OUTPUT.work)"
    )
    add_model_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Process the video; returns the exit status."""
    if args.output.suffix.lower() not in OUTPUT_TYPES:
        raise UsageError(f"the output must end in {', '.join(OUTPUT_TYPES)}, not {args.output.name!r}")

    def job(restorer: Restorer, progress: Progress) -> None:
        from restore.video import process_video  # PyAV loads here, not for `revive --help`

        process_video(
            args.input,
            args.output,
            restorer,
            ProcessOptions.from_args(args),
            temporal=args.temporal == "on",
            fps=args.fps,
            batch=args.batch,
            crf=args.crf,
            chunk=args.chunk,
            work_dir=args.work_dir,
            progress=progress,
            hints_dir=args.hints_dir,
        )

    return run_sequence_job(args, job)
