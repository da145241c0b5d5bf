"""Repeated frames before a new frame rate: film transferred to video by pulldown, and the film's own timing.

Film shot at 24 frames/s reaches 29.97 frames/s video by showing every fourth frame twice (one decoded frame in
five copies the one before). Interpolating between a frame and its copy stops the motion for a frame's time:
at 60 frames/s, a judder six times a second. So before a fixed output rate the copies are taken out, as
Flowframes' de-duplication does, and the film's frames are spaced evenly again (inverse telecine): each takes
the time that a straight line fitted to the times of the WINDOW kept frames on each side of it gives. That
spaces cadences whose period divides 2 x WINDOW kept frames (3:2, 2:3:3:2) exactly; a lone copy (25 frames/s
video of 24 frames/s film repeats one in 25) has its gap spread over the WINDOW frames on each side. A frame
with no copy within WINDOW kept frames keeps its own time, so a video without pulldown (variable frame rates
included) is timed as before, and so are the first and last frames.

A copy is a frame that matches the frame before it (within REPEAT_PSNR overall, and no 16 px block of it
differs by more than BLOCK_LEVELS on average: a small subject moving in a still shot is not a copy) between
two frames that do not: a still shot, where every frame matches the one before, loses none. The last frame is
never a copy (nothing after it moves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

REPEAT_PSNR = 40.0  # dB: after compression, the film clip's copies are 40.3 dB or closer to the frame they copy
BLOCK_LEVELS = 10.0  # 8-bit levels: its copies' largest 16 px block differs by 7.7 at most
BLOCK = 16
WINDOW = 8  # kept frames on each side of a frame that its time is fitted to: two cycles of 3:2 pulldown
_REPEAT_MSE = 255.0**2 / 10 ** (REPEAT_PSNR / 10)


def matches(previous: np.ndarray, frame: np.ndarray) -> bool:
    """Whether `frame` could be a copy of `previous` (RGB): within REPEAT_PSNR over all pixels and channels,
    and no BLOCK x BLOCK block of their luma differing by more than BLOCK_LEVELS on average."""
    if previous.shape != frame.shape or cv2.norm(previous, frame, cv2.NORM_L2SQR) > _REPEAT_MSE * frame.size:
        return False
    difference = cv2.cvtColor(cv2.absdiff(previous, frame), cv2.COLOR_RGB2GRAY).astype(np.float32)
    height, width = difference.shape
    blocks = cv2.resize(difference, (max(1, width // BLOCK), max(1, height // BLOCK)), interpolation=cv2.INTER_AREA)
    return float(blocks.max()) <= BLOCK_LEVELS


@dataclass(frozen=True)
class Entry:
    """One input frame: its index and pts, whether it matches the frame before it, and whether it is a copy
    (it matches, and neither the frame before nor the frame after does)."""

    index: int
    pts: int
    matched: bool
    repeat: bool


class Cadence:
    """The input frames so far, which of them are copies, and the film times of the kept ones.

    Input frames come in order with consecutive indexes; kept frames are numbered from 0 ("ordinals"). A frame
    that matches the one before waits for the next frame before it is decided. `history` holds the entries
    before the first frame to come, for a resumed job (history() of the run that made those frames);
    `lookahead` is how many kept frames must follow one before its time is final (0: times are never moved).
    """

    def __init__(self, history: Sequence[Entry] = (), lookahead: int = WINDOW) -> None:
        self._entries = list(history)
        self._first = history[0].index if history else 0  # the index of _entries[0]
        self.kept = [entry for entry in history if not entry.repeat]
        self._lookahead = lookahead
        self._waiting: tuple[int, int] | None = None  # a matching frame (index, pts) waiting for the next one
        self._times: dict[int, int | Fraction] = {}
        self.ended = False

    def add(self, index: int, pts: int, matched: bool) -> list[Entry]:
        """Add the next frame (`matched`: it matches the frame before); the entries decided by it, in order."""
        decided = []
        if self._waiting is not None:
            before = bool(self._entries) and self._entries[-1].matched
            decided.append(self._append(Entry(*self._waiting, True, not before and not matched)))
            self._waiting = None
        if matched:
            self._waiting = index, pts
        else:
            decided.append(self._append(Entry(index, pts, False, False)))
        return decided

    def end(self) -> list[Entry]:
        """The stream ended: the last frame decided, if it waited (kept: nothing follows it)."""
        self.ended = True
        decided = [self._append(Entry(*self._waiting, True, False))] if self._waiting is not None else []
        self._waiting = None
        return decided

    def settled(self, ordinal: int) -> bool:
        """Whether kept frame `ordinal`'s time is final: `lookahead` kept frames follow it, or the stream ended."""
        return self.ended or ordinal + self._lookahead < len(self.kept)

    def time(self, ordinal: int) -> int | Fraction:
        """The film time (pts) of kept frame `ordinal` (once settled): its own pts, or, when a copy lies within
        WINDOW kept frames of it, where a straight line fitted to the pts of those kept frames puts it
        (weighted least squares, half weight at the window's two ends, so that a whole window spans whole
        cycles), kept between the midpoints to its neighbours so that times never go backwards. The first
        and last frames keep their own. (A resumed job asks only for frames after its history's first WINDOW
        kept frames, whose windows it holds.)"""
        if ordinal not in self._times:
            self._times = {k: t for k, t in self._times.items() if k >= ordinal - 1}  # asked in order
            self._times[ordinal] = self._fit(ordinal)
        return self._times[ordinal]

    def repeats_after(self, ordinal: int) -> list[Entry]:
        """The copies between kept frame `ordinal` and the next kept frame."""
        end = self.kept[ordinal + 1].index if ordinal + 1 < len(self.kept) else self._first + len(self._entries)
        return [entry for entry in self._between(self.kept[ordinal].index, end) if entry.repeat]

    def history(self, before: int) -> list[Entry]:
        """The entries before input frame `before` that a job resumed there needs: from the WINDOW + 1'th kept
        frame before it on (or from the first frame)."""
        earlier = self._entries[: before - self._first]
        count = 0
        for position in range(len(earlier) - 1, -1, -1):
            count += not earlier[position].repeat
            if count == WINDOW + 1:
                return earlier[position:]
        return earlier

    def _fit(self, ordinal: int) -> int | Fraction:
        kept = self.kept
        low, high = max(0, ordinal - WINDOW), min(len(kept) - 1, ordinal + WINDOW)
        copies_near = any(entry.repeat for entry in self._between(kept[low].index, kept[high].index))
        if ordinal in (0, len(kept) - 1) or not copies_near:
            return kept[ordinal].pts
        weights = {j: Fraction(1, 2) if j in (low, high) else Fraction(1) for j in range(low, high + 1)}
        total = sum(weights.values())
        place = sum(w * j for j, w in weights.items()) / total
        mean = sum(w * kept[j].pts for j, w in weights.items()) / total
        slope = sum(w * (j - place) * kept[j].pts for j, w in weights.items()) / sum(
            w * (j - place) ** 2 for j, w in weights.items()
        )
        own = kept[ordinal].pts
        fit = mean + slope * (ordinal - place)
        return min(max(fit, Fraction(kept[ordinal - 1].pts + own, 2)), Fraction(own + kept[ordinal + 1].pts, 2))

    def _append(self, entry: Entry) -> Entry:
        if not self._entries:
            self._first = entry.index
        self._entries.append(entry)
        if not entry.repeat:
            self.kept.append(entry)
        return entry

    def _between(self, low: int, high: int) -> list[Entry]:
        """The entries with low < index < high."""
        return self._entries[low + 1 - self._first : high - self._first]
