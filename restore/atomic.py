"""Atomic file writes: readers see the old file or the complete new one, never a partial write."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, stable: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; when the block succeeds, flush it to disk and rename it over
    `path`. On any error (or interruption) the temporary file is removed and `path` is left untouched; an
    OSError about the temporary file (a full disk, say) is raised as one about `path`.

    stable=True names it `.NAME.partial.tmp` instead of a random name, so that a rerun overwrites what a
    killed run left behind (for big files; only one writer per path then)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{'partial' if stable else secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is None or os.fspath(exc.filename) != os.fspath(tmp):
            raise
        # The same error, naming the file that was asked for rather than the temporary one. A new exception
        # (its class follows errno, e.g. FileNotFoundError): some, like PyAV's, keep their filename read-only.
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(data: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write `data` as indented UTF-8 JSON to `path`, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
