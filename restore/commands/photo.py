"""`revive photo`: restore and colourize image files into PNGs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from restore.commands.common import (
    UsageError,
    add_model_options,
    describe,
    make_restorer,
    positive_float,
    positive_int,
    print_error,
)
from restore.errors import ImageError, ReviveError
from restore.files import Job, plan_jobs
from restore.io_image import DEFAULT_MAX_PIXELS, load_image, save_png_atomic
from restore.pipeline import COLORIZE_MODES, Restorer

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  revive photo scan.jpg -o out/                  restore; colourize if black-and-white
  revive photo album/ more.tif -o out/           a folder (recursively) and a file
  revive photo album/ -o out/ --colorize never   restore only, keep the colours as they are
  revive photo bw.png -o out/ --no-restore --colorize always --temperature 0.2

Each input becomes OUTDIR/<stem>.png; images found in a folder keep their sub-folder path. Inputs are
never overwritten. Transparency (alpha) is carried over to the PNG unchanged.
Exit status: 0 all written, 1 some inputs failed, 2 usage error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `photo` to the `revive` subcommands."""
    parser = subparsers.add_parser(
        "photo",
        help="restore and colourize photos",
        description="Restore old photos (scratches, noise, fading) and colourize black-and-white ones.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, or folders to search recursively")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR", help="folder for the PNGs")
    parser.add_argument(
        "--colorize",
        choices=COLORIZE_MODES,
        default="auto",
        help="auto: only black-and-white or toned photos (default); always; never",
    )
    parser.add_argument("--no-restore", dest="restore", action="store_false", help="skip the restore model")
    parser.add_argument(
        "--render-size",
        type=positive_int,
        metavar="N",
        help="longest side the colorize model sees; colour is upsampled from it (default: from the manifest)",
    )
    parser.add_argument(
        "--temperature",
        type=positive_float,
        metavar="T",
        help="lower is more vivid, 1.0 is the safest and dullest (default: from the manifest)",
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"refuse images with more pixels than this (default: {DEFAULT_MAX_PIXELS:_})",
    )
    add_model_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Process every input; report failures one line each and carry on. Returns the exit status."""
    if not args.restore and args.colorize == "never":
        raise UsageError("--no-restore with --colorize never leaves nothing to do")
    jobs, problems = plan_jobs(args.inputs, args.output)
    for path, reason in problems:
        print_error(f"{path}: {reason}")
    if not jobs:
        return 1
    restorer = make_restorer(args)
    try:
        restorer.prepare(restore=args.restore, colorize=args.colorize, temperature=args.temperature)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ReviveError as exc:
        print_error(str(exc))
        return 1
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print_error(describe(args.output, exc))
        return 1
    log.info("device: %s (%s)", restorer.device_used, ", ".join(restorer.providers))
    failed = len(problems)
    with tqdm(total=len(jobs), unit="photo", disable=len(jobs) < 2) as progress:
        for job in jobs:
            try:
                _process(restorer, job, args)
            except (ImageError, OSError, MemoryError) as exc:
                failed += 1
                print_error(describe(job.source, exc), write=tqdm.write)
            progress.update()
    return 1 if failed else 0


def _process(restorer: Restorer, job: Job, args: argparse.Namespace) -> None:
    image = load_image(job.source, max_pixels=args.max_pixels)
    rgb = restorer.process(
        image.rgb,
        restore=args.restore,
        colorize=args.colorize,
        render_size=args.render_size,
        temperature=args.temperature,
    )
    job.output.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(job.output, rgb, image.alpha)
