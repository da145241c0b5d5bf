"""`revive batch`: photos, a frame folder or a film on a Ray cluster (restore.cluster)."""

from __future__ import annotations

import argparse
from pathlib import Path

from restore.commands.common import (
    UsageError,
    add_model_options,
    add_process_options,
    add_sequence_options,
    check_process_options,
    describe,
    positive_float,
    positive_int,
    print_error,
)
from restore.commands.video import OUTPUT_TYPES
from restore.errors import ReviveError
from restore.io_image import DEFAULT_MAX_PIXELS

EPILOG = """\
examples:
  revive batch archive/ -o out/                       photos, as revive photo names them, on Ray workers
  revive batch archive/ -o out/ --ray 10.0.0.5:6379   on a running cluster (see docs/cluster.md)
  revive batch reel.mp4 -o reel-revived.mp4           a film in pieces, joined with its sound
  revive batch --frames scans/ -o restored/           a frame folder, as revive frames, in pieces

Outputs are those of revive photo, revive frames and revive video. Every worker must see the inputs, OUTDIR
(or the film's work folder) and --weights at the same paths: a shared filesystem. Run again, the same command
skips what is finished. Needs Ray: pip install -e '.[cluster]'.
Exit status: 0 all written, 1 something failed, 2 usage error.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `batch` to the `revive` subcommands."""
    parser = subparsers.add_parser(
        "batch",
        help="restore photos, frame folders or a film on a Ray cluster",
        description="Restore and colourize photos, a frame folder or a film with workers on a Ray cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="image files and folders; or one film; or one frame folder"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR",
        help=f"folder for the PNGs; for a film, the {', '.join(OUTPUT_TYPES)} file",
    )  # fmt: skip
    parser.add_argument(
        "--frames", action="store_true", help="INPUT is a folder of film frames, processed as revive frames does"
    )
    add_process_options(
        parser, "auto: black-and-white or toned ones, decided once for a film or frame folder (default); always; never"
    )
    parser.add_argument(
        "--max-pixels",
        type=positive_int,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help=f"photos: refuse images with more pixels than this (default: {DEFAULT_MAX_PIXELS:_})",
    )
    add_sequence_options(parser)
    parser.add_argument(
        "--crf", type=int, choices=range(52), default=18, metavar="N", help="films: H.264 quality (default: 18)"
    )
    parser.add_argument(
        "--chunk",
        type=positive_int,
        default=120,
        metavar="N",
        help="films and frame folders: frames per piece given to a worker; a film's pieces end at a scene cut "
        "near that length where there is one (default: 120)",
    )
    parser.add_argument(
        "--work-dir", type=Path, metavar="DIR", help="films: folder for finished pieces (default: OUTPUT.work)"
    )
    cluster = parser.add_argument_group("cluster options (Ray: pip install -e '.[cluster]')")
    cluster.add_argument(
        "--ray",
        type=_ray_address,
        default="auto",
        metavar="auto|local|ADDRESS",
        help="auto: the running cluster (RAY_ADDRESS, or `ray start` on this machine), else a new one here; "
        "local: a new one here; ADDRESS: the head node's HOST:PORT (default: auto)",
    )
    cluster.add_argument(
        "--workers", type=positive_int, metavar="N", help="workers to start (default: as many as the cluster holds)"
    )
    cluster.add_argument(
        "--gpus-per-worker",
        type=_non_negative_float,
        metavar="F",
        help="GPUs each worker takes, 0.5 to share one between two (default: 1 if the cluster has GPUs, else 0)",
    )
    cluster.add_argument(
        "--cpus-per-worker",
        type=positive_int,
        default=1,
        metavar="N",
        help="CPUs each worker takes, and its ONNX Runtime threads (default: 1)",
    )
    add_model_options(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Process the inputs on the cluster; returns the exit status."""
    check_process_options(args)
    film = args.output.suffix.lower() in OUTPUT_TYPES
    if (film or args.frames) and len(args.inputs) != 1:
        raise UsageError(f"{'a film' if film else '--frames'} takes one INPUT, not {len(args.inputs)}")
    if film and args.frames:
        raise UsageError(f"--frames writes PNGs into a folder, not into {args.output.name!r}")
    from restore.cluster import driver  # Ray, PyAV and the models load here, not for `revive --help`

    job = driver.run_film if film else driver.run_frames if args.frames else driver.run_photos
    try:
        return job(args)
    except ReviveError as exc:
        print_error(str(exc))
    except (OSError, MemoryError) as exc:
        print_error(describe(getattr(exc, "filename", None) or args.output, exc))
    return 1


def _ray_address(text: str) -> str:
    """argparse type: auto, local, or a head node's HOST:PORT (ray://HOST:PORT for Ray Client)."""
    host, _, port = text.removeprefix("ray://").rpartition(":")
    if text not in ("auto", "local") and not (host and port.isdigit()):
        raise argparse.ArgumentTypeError(f"auto, local or HOST:PORT, not {text!r}")
    return text


def _non_negative_float(text: str) -> float:
    """argparse type: 0, or a number > 0."""
    return 0.0 if float(text) == 0 else positive_float(text)
