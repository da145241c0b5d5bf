"""`revive photo`: restore and colourize image files into PNGs."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from restore.commands.common import (
    add_model_options,
    add_process_options,
    check_process_options,
    describe,
    positive_int,
    prepare_restorer,
    print_error,
)
from restore.errors import ImageError
from restore.files import Job, plan_jobs
from restore.io_image import DEFAULT_MAX_PIXELS, load_image, save_png_atomic
from restore.pipeline import Restorer

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


class PhotoOptions(Protocol):
    """What process_photo does to each photo: add_process_options' arguments and --max-pixels."""

    restore: bool
    colorize: str
    render_size: int | None
    temperature: float | None
    strength: float
    max_pixels: int


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
    add_process_options(parser, "auto: only black-and-white or toned photos (default); always; never")
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
    check_process_options(args)
    jobs, problems = plan_jobs(args.inputs, args.output)
    for path, reason in problems:
        print_error(f"{path}: {reason}")
    if not jobs:
        return 1
    restorer = prepare_restorer(args)
    if restorer is None or not prepare_output_folder(args.output):
        return 1
    failed = len(problems)
    with tqdm(total=len(jobs), unit="photo", disable=len(jobs) < 2) as progress:
        for job in jobs:
            try:
                process_photo(restorer, job, args)
            except (ImageError, OSError, MemoryError) as exc:
                failed += 1
                print_error(describe(job.source, exc), write=tqdm.write)
            progress.update()
    return 1 if failed else 0


def prepare_output_folder(folder: Path) -> bool:
    """Create `folder` and check that files can be written in it; False after reporting why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print_error(describe(folder, exc))
        return False
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:  # an unwritable folder fails once here, rather than once for every photo
        print_error(f"{folder}: cannot write here ({exc.strerror or exc})")
        return False
    return True


def process_photo(restorer: Restorer, job: Job, args: PhotoOptions) -> None:
    """Restore and colourize `job.source` into `job.output` (a PNG, written atomically)."""
    image = load_image(job.source, max_pixels=args.max_pixels)
    rgb = restorer.process(
        image.rgb,
        restore=args.restore,
        colorize=args.colorize,
        render_size=args.render_size,
        temperature=args.temperature,
        strength=args.strength,
    )
    job.output.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(job.output, rgb, image.alpha)
