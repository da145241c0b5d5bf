"""`revive photo`: restore and colourize image files into PNGs."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from restore.commands.common import (
    PROG,
    UsageError,
    add_model_options,
    add_process_options,
    check_process_options,
    describe,
    positive_int,
    prepare_restorer,
    print_error,
)
from restore.errors import HintsError, ImageError
from restore.files import Job, plan_jobs
from restore.hints import load_hints
from restore.io_image import DEFAULT_MAX_PIXELS, load_image, save_png_atomic
from restore.options import ProcessOptions
from restore.pipeline import Restorer, colourizes

log = logging.getLogger(__name__)

EPILOG = """\
examples:
  revive photo scan.jpg -o out/                  restore; colourize if black-and-white
  revive photo album/ more.tif -o out/           a folder (recursively) and a file
  revive photo album/ -o out/ --colorize never   restore only, keep the colours as they are
  revive photo bw.png -o out/ --no-restore --colorize always --temperature 0.2
  revive photo bw.png -o out/ --hints h.png      choose the colours (see Hints below)
  revive photo album/ -o out/ --hints-dir h/     h/<name>.png or h/<name>.json for out/<name>.png

Each input becomes OUTDIR/<stem>.png; images found in a folder keep their sub-folder path. Inputs are
never overwritten. Transparency (alpha) is carried over to the PNG unchanged.
Hints: an image with transparency whose opaque pixels are the colours to use (any size of the photo's
shape; scaled to it), or a .json list of points: [{"x": 0.4, "y": 120, "color": "#3050c0", "radius": 8}],
where a number written 0.0 to 1.0 is a fraction of the width, height or longer side, other numbers pixels
(radius optional, default 0.005). A photo with hints is colourized under --colorize auto too.
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
    add_process_options(parser, "auto: only black-and-white or toned photos (default); always; never")
    hints = parser.add_argument_group("colour hints").add_mutually_exclusive_group()
    hints.add_argument(
        "--hints",
        type=Path,
        metavar="FILE",
        help="colours to use for the one INPUT photo: a hint image or .json points",
    )
    hints.add_argument(
        "--hints-dir",
        type=Path,
        metavar="DIR",
        help="hints per photo: DIR/<name>.png or DIR/<name>.json for OUTDIR/<name>.png (sub-folders too); "
        "photos without one are colourized automatically",
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
    check_process_options(args)
    check_hint_options(args)
    jobs, problems = plan_jobs(args.inputs, args.output)
    if args.hints_dir is not None:  # the hint images are no photos to restore
        jobs = [job for job in jobs if not job.source.resolve().is_relative_to(args.hints_dir.resolve())]
    for path, reason in problems:
        print_error(f"{path}: {reason}")
    if not jobs:
        return 1
    restorer = prepare_restorer(args)
    if restorer is None:
        return 1
    if not prepare_output_folder(args.output):
        return 1
    failed = len(problems)
    options = ProcessOptions.from_args(args)
    # Log lines (a note on a file, say) go above the progress bar, as the error lines do.
    with logging_redirect_tqdm([logging.root]), tqdm(total=len(jobs), unit="photo", disable=len(jobs) < 2) as progress:
        for job in jobs:
            try:
                done = process_photo(restorer, job, options, args.max_pixels, hints_file(job, args))
            except HintsError as exc:
                failed += 1
                print_error(str(exc), write=tqdm.write)
            except (ImageError, OSError, MemoryError) as exc:
                failed += 1
                print_error(describe(job.source, exc), write=tqdm.write)
            else:
                if len(jobs) == 1:  # a folder's progress shows in the bar; one photo says what it did
                    print(f"{PROG}: {job.output}: {done}", file=sys.stderr)
            progress.update()
    return 1 if failed else 0


def check_hint_options(args: argparse.Namespace) -> None:
    """UsageError for hint options that cannot apply: --hints with several inputs or a folder, a --hints-dir
    that is no folder, or hints with --colorize never."""
    if args.hints is not None and (len(args.inputs) != 1 or Path(args.inputs[0]).is_dir()):
        raise UsageError("--hints is for one input photo; for several, name hint files after them in --hints-dir")
    if args.hints_dir is not None and not args.hints_dir.is_dir():
        raise UsageError(f"--hints-dir {args.hints_dir}: not a folder")
    if (args.hints or args.hints_dir) and args.colorize == "never":
        raise UsageError("hints need colourizing; --colorize never would ignore them")


def hints_file(job: Job, args: argparse.Namespace) -> Path | None:
    """The hints for `job`: --hints, else its file in --hints-dir (named as its output, .png or .json), if any."""
    if args.hints_dir is None:
        return args.hints
    name = job.output.relative_to(args.output)
    found = [path for path in (args.hints_dir / name, args.hints_dir / name.with_suffix(".json")) if path.is_file()]
    if len(found) > 1:
        raise HintsError(found[0], f"{found[1].name} is there too: two hint files for {job.source}; keep one")
    return found[0] if found else None


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


def process_photo(
    restorer: Restorer, job: Job, options: ProcessOptions, max_pixels: int, hints: Path | None = None
) -> str:
    """Restore and colourize `job.source` into `job.output` (a PNG, written atomically), with the colour hints
    of the file `hints` (HintsError if it cannot be used). What it did, in a few words: "restored,
    colourized, 640x480 px, 1.2 s"."""
    start = time.perf_counter()
    image = load_image(job.source, max_pixels=max_pixels)
    if image.note:
        log.warning("%s: %s", job.source, image.note)
    height, width = image.rgb.shape[:2]
    hint_map = None if hints is None else load_hints(hints, height, width, max_pixels=max_pixels)
    coloured = colourizes(image.rgb, options.colorize, hint_map)  # decided once: the summary says what was done
    rgb = restorer.process(image.rgb, options, colorize="always" if coloured else "never", hints=hint_map)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(job.output, rgb, image.alpha)
    colour = "colourized" if coloured else "colours kept"
    restored = "restored" if options.restore else "not restored"
    return f"{restored}, {colour}, {width}x{height} px, {time.perf_counter() - start:.1f} s"
