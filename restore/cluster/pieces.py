"""Split a frame sequence into pieces that workers process in parallel, and run one piece.

A piece is the frames [start, end) written by one worker. The temporal filter (restore.temporal) carries state
from frame to frame, so a piece feeds the filter from frame `warm` on and drops the outputs before `start`:
- at a scene cut the filter starts afresh, so a piece that begins at a cut needs only the frame before it
  (to see the cut) and its output is exactly that of one uninterrupted run;
- elsewhere it warms up on WARMUP frames; the filter forgets its start at 0.2 per frame (history 0.8), so
  after 16 frames what is left of the difference is 0.8^16, under 3%.
Without the filter (restore only, or --temporal off) frames are independent: warm == start.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from restore.pipeline import Restorer
from restore.sequence import Frame, SequenceOptions, run_sequence

WARMUP = 16


@dataclass(frozen=True)
class Piece:
    """Frames [start, end) to write; the temporal filter starts at frame `warm` (<= start)."""

    start: int
    end: int
    warm: int


def plan_pieces(count: int, length: int, cuts: Sequence[int] = (), *, stateful: bool = True) -> list[Piece]:
    """Pieces covering frames [0, count) of about `length` frames each. A piece ends at the scene cut (a frame
    index in sorted `cuts`) nearest to `length` frames when one lies between half and one and a half times
    that, else after `length` frames; a remainder under half a piece joins the last piece. `stateful`: the
    temporal filter runs, so pieces warm up (see the module docstring)."""
    bounds = [0]
    while count - bounds[-1] >= 3 * length // 2:
        start = bounds[-1]
        low = bisect.bisect_left(cuts, start + max(1, length // 2))
        high = bisect.bisect_right(cuts, min(start + 3 * length // 2, count - length // 2))
        near = cuts[low:high]
        bounds.append(min(near, key=lambda cut: abs(cut - start - length)) if near else start + length)
    bounds.append(count)
    pieces = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        warm = start
        if stateful and start:
            last_cut = cuts[bisect.bisect_right(cuts, start) - 1] if cuts and cuts[0] <= start else -1
            warm = max(0, start - WARMUP, last_cut - 1)
        pieces.append(Piece(start, end, warm))
    return pieces


def run_piece(
    restorer: Restorer,
    options: SequenceOptions,
    frames: Iterable[Frame],
    piece: Piece,
    write: Callable[[Frame, np.ndarray], None],
) -> None:
    """Run the models and the temporal filter over `frames` (in order, from restore.sequence.first_needed(
    piece.warm, options.batch) up to piece.end) and call `write(frame, rgb)` for frames start to end - 1."""

    def keep(frame: Frame, rgb: np.ndarray) -> None:
        if frame.index >= piece.start:
            write(frame, rgb)

    run_sequence(restorer, options, frames, keep, start=piece.warm)
