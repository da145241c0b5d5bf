"""Options and error reporting shared by the `revive` subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from restore.engine import DEVICES
from restore.errors import ImageError, ReviveError
from restore.options import COLORIZE_MODES, ProcessOptions
from restore.pipeline import WEIGHTS_ENV, Restorer
from restore.retime import FrameRate
from restore.sequence import Progress
from restore.tiling import DEFAULT_TILE

PROG = "revive"
log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad combination of options; reported like an argparse error (exit status 2)."""


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--device, --weights, --tile, --tile-overlap and -v."""
    group = parser.add_argument_group("model options")
    group.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where models run; auto tries CUDA, then CPU (default: auto)",
    )
    group.add_argument(
        "--weights",
        type=Path,
        metavar="DIR",
        help=f"folder with manifest.json and the models (default: ${WEIGHTS_ENV}, else the repo's weights/)",
    )
    group.add_argument(
        "--tile",
        type=non_negative_int,
        default=DEFAULT_TILE,
        metavar="N",
        help=f"restore in tiles of at most N px a side to bound memory; 0 = whole image (default: {DEFAULT_TILE})",
    )
    group.add_argument(
        "--tile-overlap",
        type=non_negative_int,
        default=32,
        metavar="N",
        help="cross-fade width between tiles, on top of the model's receptive field (default: 32)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="report the device and models used")


def add_process_options(parser: argparse.ArgumentParser, colorize_help: str) -> None:
    """--colorize, --no-restore, --strength, --scratches, --render-size and --temperature: what to do to each
    image."""
    parser.add_argument("--colorize", choices=COLORIZE_MODES, default="auto", help=colorize_help)
    parser.add_argument("--no-restore", dest="restore", action="store_false", help="skip the restore model")
    parser.add_argument(
        "--strength",
        type=unit_float,
        default=1.0,
        metavar="S",
        help="share of the restore model's change to keep, 0 to 1: lower it for photos that need little "
        "(default: 1, all of it)",
    )
    parser.add_argument(
        "--scratches",
        action="store_true",
        help="also fill the cracks, tears and scratches the restore model finds (thick cracks on scratched "
        "prints; it may take thin bright lines such as rails for scratches, so it is off by default)",
    )
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


def add_sequence_options(parser: argparse.ArgumentParser) -> None:
    """--temporal, --batch and --hints-dir, for frame sequences (videos, frame folders)."""
    parser.add_argument(
        "--temporal",
        choices=("on", "off"),
        default="on",
        help="carry colour along the motion between frames, against flicker (default: on)",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        metavar="N",
        help="frames per model run (default: 4 for frames of up to 0.1 megapixels, where it is faster, else 1)",
    )
    parser.add_argument(
        "--hints-dir",
        type=Path,
        metavar="DIR",
        help="colour hints for chosen frames, named by frame number from 0 (DIR/120.json, DIR/0120.png), "
        "carried along the motion to the frames after them until a scene cut; the frames are then colourized",
    )


def add_fps_option(parser: argparse.ArgumentParser, values: str) -> None:
    """--fps: a new frame rate, made with motion-compensated in-between frames; `values` says which."""
    parser.add_argument(
        "--fps",
        type=frame_rate,
        metavar="RATE",
        help=f"a new frame rate, with in-between frames made along the motion: {values} (default: keep "
        "every frame as it is)",
    )


def check_process_options(args: argparse.Namespace) -> None:
    """UsageError when add_process_options' arguments leave nothing to do or do not go together."""
    if args.scratches and not args.restore:
        raise UsageError("--scratches fills what the restore model finds: drop --no-restore or --scratches")
    options = ProcessOptions.from_args(args)
    try:
        options.check_work()
    except ValueError:
        raise UsageError("--no-restore with --colorize never leaves nothing to do") from None


def make_restorer(args: argparse.Namespace) -> Restorer:
    """A Restorer configured from add_model_options' arguments."""
    return Restorer(weights_dir=args.weights, device=args.device, tile=args.tile, tile_overlap=args.tile_overlap)


def prepare_restorer(args: argparse.Namespace) -> Restorer | None:
    """make_restorer() with the models that add_process_options' arguments need loaded and the options
    checked (UsageError); None after reporting missing weights or an unusable device."""
    restorer = make_restorer(args)
    try:
        restorer.prepare(ProcessOptions.from_args(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ReviveError as exc:
        print_error(str(exc))
        return None
    log.info("device: %s (%s)", restorer.device_used, ", ".join(restorer.providers))
    return restorer


def run_sequence_job(args: argparse.Namespace, job: Callable[[Restorer, Progress], object]) -> int:
    """The body of `revive video` and `revive frames`: check the options, load the models, then run
    `job(restorer, progress)` under a progress bar. A failure is one line; returns the exit status."""
    check_process_options(args)
    if args.hints_dir is not None and args.colorize == "never":
        raise UsageError("--hints-dir needs colourizing; --colorize never would ignore the hints")
    restorer = prepare_restorer(args)
    if restorer is None:
        return 1
    try:
        with _progress_bar("frame") as progress:
            job(restorer, progress)
    except ReviveError as exc:
        print_error(str(exc))
        return 1
    except (OSError, MemoryError) as exc:
        print_error(describe(getattr(exc, "filename", None) or args.output, exc))
        return 1
    return 0


@contextmanager
def _progress_bar(unit: str) -> Iterator[Progress]:
    """A tqdm bar (done, rate, time left) driven by `progress(done, total)` calls, on terminals only. The
    first call sets the start, so that what an earlier run did does not count towards the rate."""
    bar: tqdm | None = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, initial=done, unit=unit, dynamic_ncols=True, disable=None)
        else:
            bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()


def print_error(message: str, write: Callable[..., object] | None = None) -> None:
    """Print `revive: error: message` as one line on stderr (or through `write`, e.g. tqdm.write)."""
    line = f"{PROG}: error: {' '.join(message.split())}"
    if write is None:
        print(line, file=sys.stderr)
    else:
        write(line, file=sys.stderr)


def describe(path: object, exc: BaseException) -> str:
    """`path: reason` for an expected per-file failure."""
    if isinstance(exc, ImageError):
        return f"{path}: {exc.reason}"
    if isinstance(exc, MemoryError):
        return f"{path}: not enough memory for this image"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        if exc.filename is not None and str(exc.filename) != str(path):
            reason = f"{reason}: {exc.filename}"
        return f"{path}: {reason}"
    return f"{path}: {exc}"


def positive_int(text: str) -> int:
    """argparse type: an integer > 0."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def unit_float(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {text}")
    return value


def frame_rate(text: str) -> FrameRate:
    """argparse type: an --fps value, such as 60, 59.94 or 2x (restore.retime.FrameRate.parse)."""
    try:
        return FrameRate.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value
