"""`revive serve` (and `python app.py`): the web UI in the browser."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import tempfile
from pathlib import Path

from restore.commands.common import (
    UsageError,
    add_model_options,
    make_restorer,
    positive_float,
    positive_int,
    print_error,
)
from restore.engine import DEVICES
from restore.errors import ReviveError

EPILOG = """\
examples:
  revive serve                            http://127.0.0.1:7860, this machine only
  revive serve --host 0.0.0.0 --port 80   reachable from the network (mind who can reach it)
  python app.py --weights my_weights/     the same as `revive serve`

Every option can also be set by an environment variable, for Docker: the ones named above, and
REVIVE_SHARE (1/true/yes/on), REVIVE_DEVICE and REVIVE_WEIGHTS. A flag wins over its variable.
"""


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be 1-65535, not {text}")
    return value


# (flag, environment variable, default, type, metavar, help). The defaults are strings on purpose:
# argparse parses a string default with `type` like a command-line value, so a bad variable is a usage error.
SERVER_OPTIONS = [
    ("--host", "REVIVE_HOST", "127.0.0.1", str, "ADDR", "address to listen on; 0.0.0.0 for every interface"),
    ("--port", "REVIVE_PORT", "7860", port_number, "N", "TCP port"),
    ("--max-file-size", "REVIVE_MAX_FILE_SIZE", "200", positive_float, "MB", "largest upload accepted"),
    ("--max-pixels", "REVIVE_MAX_PIXELS", "40000000", positive_int, "N", "refuse photos with more pixels"),
    ("--concurrency", "REVIVE_CONCURRENCY", "1", positive_int, "N", "jobs running the models at once"),
    ("--queue-size", "REVIVE_QUEUE_SIZE", "20", positive_int, "N", "jobs that may wait; more get 'queue full'"),
]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `serve` to the `revive` subcommands."""
    parser = subparsers.add_parser(
        "serve",
        help="start the web UI (photos, batches and videos in the browser)",
        description="Start the Revive web UI: restore photos, batches of photos and videos in the browser.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, variable, default, kind, metavar, text in SERVER_OPTIONS:
        parser.add_argument(
            flag,
            type=kind,
            default=os.environ.get(variable, default),
            metavar=metavar,
            help=f"{text} (default: %(default)s; ${variable})",
        )
    parser.add_argument(
        "--share",
        action="store_true",
        default=os.environ.get("REVIVE_SHARE", "").lower() in ("1", "true", "yes", "on"),
        help="also publish the app through a public *.gradio.live link (off by default)",
    )
    add_model_options(parser)
    parser.set_defaults(run=run, device=os.environ.get("REVIVE_DEVICE", "auto"))
    return parser


def run(args: argparse.Namespace) -> int:
    """Load the models, then serve until interrupted. Returns the exit status."""
    if args.device not in DEVICES:
        raise UsageError(f"REVIVE_DEVICE must be one of {', '.join(DEVICES)}, not {args.device!r}")
    # Nothing may reach the network: gradio checks for updates and sends analytics unless told not to
    # (ONNX Runtime's telemetry is switched off where the engine imports it).
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    restorer = make_restorer(args)
    try:
        restorer.prepare(restore=True, colorize="auto")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except ReviveError as exc:
        print_error(str(exc))
        return 1
    print(f"revive: models on {restorer.device_used} ({', '.join(restorer.providers)})", flush=True)
    # `docker stop` sends SIGTERM: stop like Ctrl+C, so that gradio closes and the work folder goes.
    signal.signal(signal.SIGTERM, _interrupt)
    work_dir = Path(tempfile.mkdtemp(prefix="revive-web-"))
    # Gradio keeps uploads and the copies of results it serves here, so they go when the app stops.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(work_dir / "gradio"))
    try:
        from restore import web  # gradio loads here, not for `revive --help`

        settings = web.WebSettings(
            work_dir=work_dir,
            host=args.host,
            port=args.port,
            share=args.share,
            max_file_size_mb=args.max_file_size,
            max_pixels=args.max_pixels,
            concurrency=args.concurrency,
            queue_size=args.queue_size,
        )
        web.launch(web.build_app(restorer, settings), settings)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM handler: raise KeyboardInterrupt, which gradio's launch() handles by closing the server."""
    raise KeyboardInterrupt
