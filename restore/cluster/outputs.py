"""What a batch job keeps in its output folder: a record of its settings, to skip finished outputs on a rerun,
and the cleanup of temporary files that killed workers left."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from restore.files import Job
from restore.resume import read_record, write_record

RECORD_NAME = ".revive-batch.json"
# restore.atomic.atomic_path's temporary names: .NAME.<8 hex digits>.tmp, or .NAME.partial.tmp
_TEMPORARY = re.compile(r"\.(.+)\.(?:[0-9a-f]{8}|partial)\.tmp")


def start_record(folder: Path, record: dict[str, Any]) -> bool:
    """Store `record` as the job's in `folder`; True when it is the one stored there before (a rerun)."""
    same = read_record(folder / RECORD_NAME) == record
    write_record(folder / RECORD_NAME, record)
    return same


def is_newer(job: Job) -> bool:
    """Whether `job`'s output exists and was written after its source last changed."""
    try:
        return job.output.stat().st_mtime_ns >= job.source.stat().st_mtime_ns
    except OSError:
        return False


def remove_leftovers(jobs: Iterable[Job]) -> None:
    """Delete the temporary files of the jobs' outputs that a killed worker left (their outputs were
    written again, whole, by the retry)."""
    names: dict[str, set[str]] = defaultdict(set)
    for job in jobs:
        names[os.fspath(job.output.parent)].add(job.output.name)
    for folder, outputs in names.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match[1] in outputs:
                os.unlink(entry.path)
