"""Frame folders: restore and colourize a folder of frames into PNGs with the same names, resumably.

The frames are the folder's images in natural order (`frame2` before `frame10`), named as `revive photo`
names its outputs (restore.files). The output folder keeps a record of the job (`.revive-frames.json`: the
settings, the models and each input's size and time). A rerun with the same settings skips the frames whose
PNG exists, up to the first missing one or the first input that changed since, and carries on from there;
the result is the same as that of an uninterrupted run (see restore.sequence).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from restore.errors import ImageError
from restore.files import Job, plan_jobs
from restore.io_image import load_image, save_png_atomic
from restore.pipeline import Restorer
from restore.resume import file_identity, job_settings, locked, read_record, write_record
from restore.sequence import (
    Frame,
    ModelOptions,
    Progress,
    SequenceOptions,
    auto_batch,
    decide_colorize,
    first_needed,
    run_sequence,
    sample_indices,
)

RECORD_NAME = ".revive-frames.json"


def process_frames(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    restorer: Restorer,
    options: ModelOptions,
    *,
    temporal: bool = True,
    batch: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Process the frames in folder `source` into PNGs in folder `output`; returns how many were already done.

    `batch`: frames per model run (None: see sequence.auto_batch). `progress(done, total)` is called after
    each frame. Raises ImageError for an unreadable frame or a
    folder with no frames, OSError when the output cannot be written.
    """
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise ImageError(output, "write the frames to another folder than the input frames")
    jobs, problems = plan_jobs([source], output)
    if problems:
        raise ImageError(*problems[0])
    samples = (load_image(jobs[i].source).rgb for i in sample_indices(len(jobs)))
    colorize = decide_colorize(options.colorize, samples)
    batch = batch or auto_batch(*load_image(jobs[0].source).rgb.shape[:2])
    sequence = SequenceOptions.build(options, colorize, temporal=temporal, batch=batch)
    output.mkdir(parents=True, exist_ok=True)
    with locked(output):
        record = {
            "settings": job_settings(restorer, **asdict(sequence)),
            "inputs": [[job.source.relative_to(source).as_posix(), *file_identity(job.source)] for job in jobs],
        }
        start = _resume_point(read_record(output / RECORD_NAME), record, jobs)
        write_record(output / RECORD_NAME, record)
        seed = load_image(jobs[start - 1].output).rgb if start else None
        done = start

        def write(frame: Frame, rgb: Any) -> None:
            nonlocal done
            save_png_atomic(jobs[frame.index].output, rgb, frame.data, stable=True)
            done += 1
            if progress is not None:
                progress(done, len(jobs))

        frames = _read(jobs, first_needed(start, batch))
        run_sequence(restorer, sequence, frames, write, start=start, seed_output=seed)
    return start


def _resume_point(old: dict[str, Any] | None, new: dict[str, Any], jobs: list[Job]) -> int:
    """The first frame to process: 0 unless the settings match, else the first frame whose output is
    missing or whose input changed."""
    if old is None or old.get("settings") != new["settings"]:
        return 0
    previous = old.get("inputs", [])
    for index, (identity, job) in enumerate(zip(new["inputs"], jobs, strict=True)):
        if index >= len(previous) or previous[index] != identity or not job.output.is_file():
            return index
    return len(jobs)


def _read(jobs: list[Job], first: int) -> Iterator[Frame]:
    for index in range(first, len(jobs)):
        image = load_image(jobs[index].source)
        yield Frame(index, image.rgb, image.alpha)
