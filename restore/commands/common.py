"""Options and error reporting shared by the `revive` subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from restore.engine import DEVICES
from restore.errors import ImageError
from restore.pipeline import WEIGHTS_ENV, Restorer

PROG = "revive"


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
        default=512,
        metavar="N",
        help="restore in tiles of at most N px a side to bound memory; 0 = whole image (default: 512)",
    )
    group.add_argument(
        "--tile-overlap",
        type=non_negative_int,
        default=32,
        metavar="N",
        help="cross-fade width between tiles, on top of the model's receptive field (default: 32)",
    )
    group.add_argument("-v", "--verbose", action="store_true", help="report the device and models used")


def make_restorer(args: argparse.Namespace) -> Restorer:
    """A Restorer configured from add_model_options' arguments."""
    return Restorer(weights_dir=args.weights, device=args.device, tile=args.tile, tile_overlap=args.tile_overlap)


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


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value
