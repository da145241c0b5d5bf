"""The `revive` command line: a parser assembled from the subcommands listed in COMMANDS."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from restore import __version__
from restore.commands import batch, frames, photo, serve, video
from restore.commands.common import PROG, UsageError

AddParser = Callable[[argparse._SubParsersAction], argparse.ArgumentParser]

# One entry per subcommand, in --help order; see restore/commands/__init__.py for the contract.
COMMANDS: list[AddParser] = [
    photo.add_parser,
    video.add_parser,
    frames.add_parser,
    serve.add_parser,
    batch.add_parser,
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Revive restores and colourizes old photos with ONNX models.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_parser in COMMANDS:
        subparser = add_parser(subparsers)
        subparser.set_defaults(command_parser=subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `revive`; returns the exit status (0 ok, 1 failures, 2 usage error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(format=f"{PROG}: %(message)s")
    logging.getLogger("restore").setLevel(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    try:
        return args.run(args)
    except UsageError as exc:
        args.command_parser.error(str(exc))  # exits with status 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
