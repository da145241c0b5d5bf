"""Resumable jobs: a JSON record of what a job was started with, and a lock so that one process runs it.

A job (a frame folder, a video) writes its record before any output. A rerun with the same record continues
where the last run stopped; a different record (other settings, models or inputs) starts over.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from restore import __version__
from restore.atomic import atomic_path
from restore.errors import ReviveError
from restore.manifest import sha256_file
from restore.pipeline import Restorer

try:
    import fcntl
except ImportError:  # Windows: no lock; do not run two jobs on one output there
    fcntl = None  # type: ignore[assignment]


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at `path`, or None if there is none or it cannot be read."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write `record` atomically."""
    with atomic_path(path, stable=True) as tmp:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")


def file_identity(path: Path) -> list[int]:
    """[size, mtime in ns]: changes when the file is replaced or edited."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def job_settings(restorer: Restorer, **settings: Any) -> dict[str, Any]:
    """`settings` plus what else decides the output: the models (the manifest's digest) and the version."""
    return {**settings, "manifest_sha256": sha256_file(restorer.manifest.path), "revive": __version__}


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` for the block; ReviveError if another process holds it.

    The operating system drops the lock when the process ends, however it ends (even by SIGKILL).
    """
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ReviveError(f"{folder}: another revive process is working on this job") from None
        yield
    finally:
        os.close(fd)
