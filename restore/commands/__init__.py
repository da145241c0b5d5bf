"""Subcommands of `revive`, one module each.

A command module defines `add_parser(subparsers) -> argparse.ArgumentParser`, which adds its subparser
and sets `run=<function(args) -> exit code>` as a default; restore.cli lists it in COMMANDS. Keep
module-level imports light (import gradio, av and the like inside `run`), since `revive --help` builds
every parser. Shared options and error reporting live in restore.commands.common.
"""
