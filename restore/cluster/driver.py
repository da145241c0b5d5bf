"""The driver of `revive batch`: plan the work as `revive photo`, `revive frames` and `revive video` do, hand it
to the worker pool, report each failure in one line, a progress bar and a summary.

Each function returns the exit status (0 all written, 1 something failed) and raises ReviveError or OSError for
a failure of the whole job, which restore.commands.batch reports in one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

from restore.cluster.connect import connected, worker_shape
from restore.cluster.outputs import is_newer, remove_leftovers, start_record
from restore.cluster.pieces import WARMUP, Piece, plan_pieces
from restore.cluster.pool import WorkerPool
from restore.cluster.worker import WorkerSettings
from restore.commands.common import PROG, describe, prepare_restorer, print_error
from restore.commands.photo import prepare_output_folder
from restore.errors import ImageError, ReviveError
from restore.files import plan_jobs
from restore.io_image import load_image
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.resume import file_identity, job_settings, locked
from restore.sequence import SAMPLE_FRAMES, SequenceOptions, auto_batch, decide_colorize, first_needed, sample_indices


def run_photos(args: argparse.Namespace) -> int:
    """Photos: each input becomes a PNG named as by `revive photo`; finished ones are skipped on a rerun."""
    jobs, problems = plan_jobs(args.inputs, args.output)
    for path, reason in problems:
        print_error(f"{path}: {reason}")
    if not jobs:
        return 1
    restorer = _driver_restorer(args)
    if restorer is None or not prepare_output_folder(args.output):
        return 1
    options = ProcessOptions.from_args(args)
    failed = len(problems)
    with locked(args.output):
        rerun = start_record(args.output, {"settings": _settings(restorer, args, mode="photos", **asdict(options))})
        todo = [job for job in jobs if not (rerun and is_newer(job))]
        with _Progress("photo", len(jobs), len(jobs) - len(todo)) as progress:
            if todo:
                with _pool(args, len(todo)) as pool:
                    progress.start(pool)
                    for position, result in pool.map("photo", [(job, options, args.max_pixels) for job in todo]):
                        if isinstance(result, BaseException):
                            result = describe(todo[position].source, result)
                        failed += result is not None
                        progress.done(1, result)
        remove_leftovers(todo)
    return 1 if failed else 0


def run_frames(args: argparse.Namespace) -> int:
    """A frame folder, as `revive frames` reads and names it, in pieces; finished pieces are skipped on a rerun."""
    source, output = Path(args.inputs[0]), args.output
    if output.resolve() == source.resolve():
        raise ImageError(output, "write the frames to another folder than the input frames")
    jobs, problems = plan_jobs([source], output)
    if problems:
        raise ImageError(*problems[0])
    restorer = _driver_restorer(args)
    if restorer is None or not prepare_output_folder(output):
        return 1
    colorize = decide_colorize(args.colorize, (load_image(jobs[i].source).rgb for i in sample_indices(len(jobs))))
    batch = args.batch or auto_batch(*load_image(jobs[0].source).rgb.shape[:2])
    sequence = _sequence_options(args, colorize, batch)
    pieces = plan_pieces(len(jobs), args.chunk, stateful=sequence.stabilized)
    with locked(output):
        record = {
            "settings": _settings(restorer, args, mode="frames", **sequence.record(), chunk=args.chunk),
            "inputs": [[job.source.relative_to(source).as_posix(), *file_identity(job.source)] for job in jobs],
        }
        rerun = start_record(output, record)
        todo = [piece for piece in pieces if not (rerun and jobs[piece.end - 1].output.is_file())]
        tasks = [(sequence, piece, first, jobs[first : piece.end]) for piece, first in _firsts(todo, batch)]
        _run_pieces(args, "frames_piece", todo, tasks, len(jobs))
        remove_leftovers(jobs)
    return 0


def run_film(args: argparse.Namespace) -> int:
    """A film, in pieces encoded in parallel and joined with its sound, as `revive video` writes it."""
    import av

    from restore.cluster.film import FilmJob, WorkFolder, join, piece_path, scan_film
    from restore.errors import VideoError
    from restore.video import CONTAINERS
    from restore.video_io import Encoding, new_encoder, probe, sample_frames

    source, output = Path(args.inputs[0]), args.output
    if output.exists() and output.samefile(source):
        raise VideoError(source, f"refusing to write {output}: that is the input file")
    info = probe(source)
    restorer = _driver_restorer(args)
    if restorer is None:
        return 1
    batch = args.batch or auto_batch(info.height, info.width)
    colorize = decide_colorize(args.colorize, sample_frames(source, info, SAMPLE_FRAMES))
    sequence = _sequence_options(args, colorize, batch)
    encoding = Encoding(info.width + info.width % 2, info.height + info.height % 2, info.time_base, info.rate, args.crf)
    settings = _settings(restorer, args, mode="film", **sequence.record(), crf=args.crf, chunk=args.chunk)
    record = {"settings": {**settings, "av": av.__version__}, "input": [str(source.resolve()), *file_identity(source)]}
    work = WorkFolder(args.work_dir or output.with_name(output.name + ".work"))
    work.folder.mkdir(parents=True, exist_ok=True)
    with locked(work.folder):
        plan = work.resume(record)
        if plan is None:
            try:
                plan = scan_film(source, info, find_cuts=sequence.stabilized)
            except BaseException:
                work.remove()  # nothing worth resuming: a bad input, or nothing done yet
                raise
            work.save_plan(plan)
        pieces = plan_pieces(len(plan.pts), args.chunk, plan.cuts, stateful=sequence.stabilized)
        job = FilmJob(source, info, encoding, sequence, work.folder, plan.seekable)
        todo = [piece for piece in pieces if not work.finished(piece)]
        tasks = [(job, piece, plan.pts[first : piece.end]) for piece, first in _firsts(todo, batch)]
        headers = bytes(new_encoder(encoding).extradata or b"")
        mismatched = [piece for piece, result in _run_pieces(args, "film_piece", todo, tasks, len(plan.pts))
                      if result != headers]  # fmt: skip
        for piece in mismatched:
            piece_path(work.folder, piece).unlink()
        if mismatched:
            raise ReviveError(
                f"{len(mismatched)} pieces have other H.264 stream headers than this machine's libx264 makes: "
                "install the same PyAV on every node"
            )
        join(job, pieces, output, CONTAINERS[output.suffix.lower()], headers)
        work.remove()
    return 0


def _driver_restorer(args: argparse.Namespace) -> Restorer | None:
    """The options and weights checked as `revive photo` checks them, with the models on this machine's CPU
    (the workers load their own); None after reporting a problem."""
    return prepare_restorer(argparse.Namespace(**{**vars(args), "device": "cpu"}))


def _sequence_options(args: argparse.Namespace, colorize: str, batch: int) -> SequenceOptions:
    """The command's options for every frame of a sequence, with `colorize` decided for all of them."""
    return SequenceOptions.build(ProcessOptions.from_args(args), colorize, temporal=args.temporal == "on", batch=batch)


def _settings(restorer: Restorer, args: argparse.Namespace, **settings: Any) -> dict[str, Any]:
    """What decides the outputs, for the job's record (restore.resume.job_settings)."""
    tiling = {"tile": args.tile, "tile_overlap": args.tile_overlap}
    return job_settings(restorer, **{**tiling, "warmup": WARMUP, **settings})


def _firsts(pieces: Sequence[Piece], batch: int) -> list[tuple[Piece, int]]:
    """Each piece with the first frame it reads (restore.sequence.first_needed)."""
    return [(piece, first_needed(piece.warm, batch)) for piece in pieces]


def _run_pieces(
    args: argparse.Namespace, method: str, pieces: Sequence[Piece], tasks: Sequence[tuple[Any, ...]], frames: int
) -> list[tuple[Piece, Any]]:
    """Run the pieces' tasks under a progress bar counted in frames; ReviveError (or the piece's error) at the
    first piece that fails, the finished ones kept for a rerun. Returns (piece, result) for each."""
    done = frames - sum(piece.end - piece.start for piece in pieces)
    results = []
    with _Progress("frame", frames, done) as progress:
        if tasks:
            with _pool(args, len(tasks)) as pool:
                progress.start(pool)
                for position, result in pool.map(method, tasks):
                    piece = pieces[position]
                    if isinstance(result, ImageError):  # it names its file
                        raise result
                    if isinstance(result, BaseException):
                        raise ReviveError(describe(f"frames {piece.start}-{piece.end - 1}", result))
                    results.append((piece, result))
                    progress.done(piece.end - piece.start)
    return results


@contextmanager
def _pool(args: argparse.Namespace, tasks: int) -> Iterator[WorkerPool]:
    """Workers for `tasks` tasks on the cluster that --ray names, sized by --workers, --cpus-per-worker and
    --gpus-per-worker."""
    with connected(args.ray) as ray:
        shape = worker_shape(ray, workers=args.workers, cpus=args.cpus_per_worker, gpus=args.gpus_per_worker,
                             device=args.device, tasks=tasks)  # fmt: skip
        settings = WorkerSettings(
            weights=args.weights,
            device=shape.device,
            tile=args.tile,
            tile_overlap=args.tile_overlap,
            cpus=shape.cpus,
            restore=args.restore,
            colorize=args.colorize,
            temperature=args.temperature,
            strength=args.strength,
            cwd=os.getcwd(),
        )
        with WorkerPool(ray, shape, settings) as pool:
            yield pool


class _Progress:
    """A progress bar (on terminals) with the rate, error lines above it, and a summary line at the end."""

    def __init__(self, unit: str, total: int, skipped: int) -> None:
        self.unit, self.total, self.skipped = unit, total, skipped
        self.written = self.failed = 0
        self.pool: WorkerPool | None = None  # set by start()
        self._bar = tqdm(total=total, initial=skipped, unit=unit, dynamic_ncols=True, disable=None)
        self._start = time.perf_counter()

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._bar.close()
        if exc_type is None:
            self.summary()

    def start(self, pool: WorkerPool) -> None:
        """The workers are starting: the rate counts from now."""
        self.pool, self._start = pool, time.perf_counter()

    def done(self, count: int, error: str | None = None) -> None:
        """`count` more finished; `error`: the one line saying why they failed."""
        if error is None:
            self.written += count
        else:
            self.failed += count
            print_error(error, write=tqdm.write)
        self._bar.update(count)

    def summary(self) -> None:
        """One line on stderr: written, failed, skipped, the rate and the workers."""
        seconds = time.perf_counter() - self._start
        parts = [f"{self.written} {self.unit}{'s' * (self.written != 1)} written"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} done before")
        if self.pool is not None:
            workers = ", ".join(sorted({f"{info.device} on {info.host}" for info in self.pool.info}))
            rate = f"{self.written / seconds:.3g} {self.unit}s/s" if seconds > 0 else ""
            count = len(self.pool.info)
            parts.append(f"{rate} in {seconds:.1f} s on {count} worker{'s' * (count != 1)} ({workers})")
            if restarts := self.pool.restarts:
                parts.append(f"{restarts} worker restart{'s' * (restarts != 1)}")
        print(f"{PROG}: " + "; ".join(parts), file=sys.stderr)
