"""Frame folders: restore and colourize a folder of frames into PNGs with the same names, resumably.

The frames are the folder's images in natural order (`frame2` before `frame10`), named as `revive photo`
names its outputs (restore.files). The output folder keeps a record of the job (`.revive-frames.json`: the
settings, the models and each input's size and time). A rerun with the same settings skips the frames whose
PNG exists, up to the first missing one or the first input that changed since, and carries on from there;
the result is the same as that of an uninterrupted run (see restore.sequence).

With `factor` k > 1, k - 1 in-between frames (restore.interpolate) follow each frame but the last, named
after the frame before them: frame_0007.png, frame_0007_1.png, frame_0008.png for 2x. The in-between frames
before a frame are written just before it (which needs the frame after it), so a frame's PNG also means
that the frames before it are complete; a changed frame makes its predecessor be redone too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from restore.errors import HintsError, ImageError
from restore.files import Job, plan_jobs
from restore.hint_track import describe, film_hints
from restore.interpolate import Interpolator, Pair
from restore.io_image import load_image, save_png_atomic
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.resume import file_identity, job_settings, locked, read_record, write_record
from restore.sequence import (
    Frame,
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
    options: ProcessOptions,
    *,
    temporal: bool = True,
    factor: int = 1,
    batch: int | None = None,
    progress: Progress | None = None,
    hints_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Process the frames in folder `source` into PNGs in folder `output`; returns how many were already done.

    `factor`: frames out per frame in (in-between frames, see the module docstring). `batch`: frames per model
    run (None: see sequence.auto_batch). `progress(done, total)` is called after each frame. `hints_dir`: colour
    hints for keyframes, named by frame number from 0 in natural order, carried through their shots
    (restore.hint_track; the frames are then colourized). Raises HintsError for a bad hints folder, ImageError
    for an unreadable frame, a folder with no frames or in-between names that clash with outputs,
    OSError when the output cannot be written.
    """
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve():
        raise ImageError(output, "write the frames to another folder than the input frames")
    jobs, problems = plan_jobs([source], output)
    if problems:
        raise ImageError(*problems[0])
    if hints_dir is not None:  # hint images kept beside the frames are no frames
        hints_folder = Path(hints_dir).resolve()
        if source.resolve().is_relative_to(hints_folder):
            raise HintsError(hints_dir, "the hints folder holds the frames; keep the hints in a folder of their own")
        jobs = [job for job in jobs if not job.source.resolve().is_relative_to(hints_folder)]
        if not jobs:
            raise ImageError(source, "no frames besides the hints folder")
    frame_size = load_image(jobs[0].source).rgb.shape[:2]
    tracker = film_hints(hints_dir, options.colorize, *frame_size, len(jobs))
    between = _in_between_paths(jobs, factor)
    samples = (load_image(jobs[i].source).rgb for i in sample_indices(len(jobs)))
    colorize = "always" if tracker else decide_colorize(options.colorize, samples)
    batch = batch or auto_batch(*frame_size)
    sequence = SequenceOptions.build(options, colorize, temporal=temporal, batch=batch)
    output.mkdir(parents=True, exist_ok=True)
    with locked(output):
        record = {
            "settings": job_settings(
                restorer,
                **sequence.record(),
                **({"factor": factor} if factor > 1 else {}),
                **({"hints": describe(tracker.keyframes)} if tracker else {}),
            ),
            "inputs": [[job.source.relative_to(source).as_posix(), *file_identity(job.source)] for job in jobs],
        }
        start = _resume_point(read_record(output / RECORD_NAME), record, jobs, redo_before_changed=factor > 1)
        write_record(output / RECORD_NAME, record)
        seed = load_image(jobs[start - 1].output).rgb if start else None
        done = start

        def save(index: int, rgb: Any, alpha: Any) -> None:
            nonlocal done
            save_png_atomic(jobs[index].output, rgb, alpha, stable=True)
            done += 1
            if progress is not None:
                progress(done, len(jobs))

        first = first_needed(start, batch)
        frames = _read(jobs, tracker.replay_from(first) if tracker else first)
        if factor == 1:

            def write(frame: Frame, rgb: Any) -> None:
                save(frame.index, rgb, frame.data)

            run_sequence(restorer, sequence, frames, write, start=start, seed_output=seed, hints=tracker)
        else:
            writer = _InBetweenWriter(jobs, between, factor, start, save)
            run_sequence(restorer, sequence, frames, writer.write, start=start, seed_output=seed, hints=tracker)
            writer.finish()
    return start


class _InBetweenWriter:
    """Writes each frame's PNG once the in-between frames before it are written (see the module docstring).

    `save(index, rgb, alpha)` writes frame `index`'s own PNG; frames before `start` are done already.
    """

    def __init__(
        self,
        jobs: list[Job],
        paths: list[list[Path]],
        factor: int,
        start: int,
        save: Callable[[int, Any, Any], None],
    ) -> None:
        self._paths, self._start, self._save = paths, start, save
        self._fractions = [k / factor for k in range(1, factor)]
        self._alphas: dict[int, Any] = {}
        first = max(0, start - 2)  # the motion before frame `start` comes from the two frames before it
        self._interpolator = Interpolator(first=first)
        for index in range(first, start):
            self._interpolator.push(load_image(jobs[index].output).rgb)

    def write(self, frame: Frame, rgb: Any) -> None:
        """Take the output for `frame`; write what it completes."""
        self._alphas[frame.index] = frame.data
        if frame.index == 0:
            self._save(0, rgb, frame.data)  # nothing comes before it
        self._write_pair(self._interpolator.push(rgb))

    def finish(self) -> None:
        """Write the last frame (after the last write())."""
        self._write_pair(self._interpolator.finish())

    def _write_pair(self, pair: Pair | None) -> None:
        """The in-between frames of `pair` (with the first frame's alpha), then its second frame."""
        if pair is None or pair.index + 1 < self._start:
            return
        alpha = self._alphas.pop(pair.index, None)
        for path, rgb in zip(self._paths[pair.index], pair.at(self._fractions), strict=True):
            save_png_atomic(path, rgb, alpha, stable=True)
        self._save(pair.index + 1, pair.second, self._alphas[pair.index + 1])


def _resume_point(old: dict[str, Any] | None, new: dict[str, Any], jobs: list[Job], redo_before_changed: bool) -> int:
    """The first frame to process: 0 unless the settings match, else the first frame whose output is
    missing or whose input changed (or the one before that, if `redo_before_changed`)."""
    if old is None or old.get("settings") != new["settings"]:
        return 0
    previous = old.get("inputs", [])
    for index, (identity, job) in enumerate(zip(new["inputs"], jobs, strict=True)):
        if index >= len(previous) or previous[index] != identity:
            return max(0, index - 1) if redo_before_changed else index
        if not job.output.is_file():
            return index
    return len(jobs)


def _in_between_paths(jobs: list[Job], factor: int) -> list[list[Path]]:
    """For each frame, the PNGs of the factor - 1 in-between frames after it (none after the last); ImageError
    if one would overwrite a frame's output."""
    width = len(str(factor - 1))
    outputs = {job.output: job for job in jobs}
    paths = []
    for job in jobs[:-1]:
        names = [job.output.with_name(f"{job.output.stem}_{k:0{width}d}.png") for k in range(1, factor)]
        for path in names:
            if path in outputs:
                reason = f"its in-between frames would overwrite {path}, the output of {outputs[path].source}"
                raise ImageError(job.source, reason)
        paths.append(names)
    return [*paths, []]


def _read(jobs: list[Job], first: int) -> Iterator[Frame]:
    for index in range(first, len(jobs)):
        image = load_image(jobs[index].source)
        yield Frame(index, image.rgb, image.alpha)
