"""Frame folders in pieces: the frames of one folder, as `revive frames` reads and names them, written by
workers piece by piece (restore.cluster.pieces), each frame's PNG atomically."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from restore.cluster.pieces import Piece, run_piece
from restore.files import Job
from restore.io_image import load_image, save_png_atomic
from restore.pipeline import Restorer
from restore.sequence import Frame, SequenceOptions


def write_piece(restorer: Restorer, options: SequenceOptions, piece: Piece, first: int, jobs: Sequence[Job]) -> None:
    """Process `piece` of a frame folder; `jobs` are the frames first to piece.end - 1 (see run_piece)."""

    def write(frame: Frame, rgb: np.ndarray) -> None:
        save_png_atomic(jobs[frame.index - first].output, rgb, frame.data)

    run_piece(restorer, options, _read(jobs, first), piece, write)


def _read(jobs: Sequence[Job], first: int) -> Iterator[Frame]:
    for offset, job in enumerate(jobs):
        image = load_image(job.source)
        yield Frame(first + offset, image.rgb, image.alpha)
