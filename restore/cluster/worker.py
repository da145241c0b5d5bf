"""The work of one Ray actor: a Restorer with its models loaded, and a method for each kind of task.

Ray is not imported here: restore.cluster.pool makes the actor class with ray.remote(Worker). Each method
returns (the worker's process id, its result), so that the driver sees when Ray restarted a worker.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from restore.cluster.film import FilmJob, encode_piece
from restore.cluster.frames import write_piece
from restore.cluster.pieces import Piece
from restore.commands.common import describe
from restore.commands.photo import process_photo
from restore.errors import ImageError, ReviveError
from restore.files import Job
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.sequence import SequenceOptions


@dataclass(frozen=True)
class WorkerSettings:
    """How each worker builds its Restorer (add_model_options) and which models it loads (prepare)."""

    weights: Path | None
    device: str
    tile: int
    tile_overlap: int
    cpus: int  # threads for ONNX Runtime and OpenCV: the CPUs Ray gives the worker
    restore: bool
    colorize: str
    temperature: float | None
    strength: float
    cwd: str  # the driver's folder, against which relative paths are resolved


@dataclass(frozen=True)
class WorkerInfo:
    """A started worker: where it runs, on which device, or why it could not start."""

    pid: int
    host: str
    device: str | None
    error: str | None


class Worker:
    """One Restorer for the life of the worker; tasks arrive one at a time."""

    def __init__(self, settings: WorkerSettings) -> None:
        with contextlib.suppress(OSError):  # not on this node: relative paths then fail, file by file
            os.chdir(settings.cwd)
        cv2.setNumThreads(settings.cpus)
        self.restorer = Restorer(
            settings.weights, device=settings.device, tile=settings.tile, tile_overlap=settings.tile_overlap
        )
        self.error: str | None = None
        try:
            with _cpu_count(settings.cpus):
                self.restorer.prepare(
                    restore=settings.restore,
                    colorize=settings.colorize,
                    temperature=settings.temperature,
                    strength=settings.strength,
                )
        except (ReviveError, ValueError) as exc:  # reported by ready(), as one line on the driver
            self.error = str(exc)

    def ready(self) -> WorkerInfo:
        """Where the worker runs and whether its models loaded."""
        return WorkerInfo(os.getpid(), socket.gethostname(), self.restorer.device_used, self.error)

    def photo(self, job: Job, options: ProcessOptions, max_pixels: int) -> tuple[int, str | None]:
        """`revive photo` for one file; the result is None or the `path: reason` of its failure."""
        try:
            process_photo(self.restorer, job, options, max_pixels)
        except (ImageError, OSError, MemoryError) as exc:
            return os.getpid(), describe(job.source, exc)
        return os.getpid(), None

    def film_piece(self, job: FilmJob, piece: Piece, pts: Sequence[int]) -> tuple[int, bytes]:
        """Encode one piece of a film (restore.cluster.film.encode_piece); the result is the stream headers."""
        return os.getpid(), encode_piece(self.restorer, job, piece, pts)

    def frames_piece(self, options: SequenceOptions, piece: Piece, first: int, jobs: Sequence[Job]) -> tuple[int, None]:
        """Write one piece of a frame folder (restore.cluster.frames.write_piece)."""
        write_piece(self.restorer, options, piece, first, jobs)
        return os.getpid(), None


@contextlib.contextmanager
def _cpu_count(count: int) -> Iterator[None]:
    """os.cpu_count() answers `count` in the block: restore.engine sizes ONNX Runtime's thread pool by it,
    and a worker must use the CPUs Ray gave it, not every core of its machine (where other workers run)."""
    real = os.cpu_count
    os.cpu_count = lambda: count
    try:
        yield
    finally:
        os.cpu_count = real
