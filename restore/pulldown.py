"""Repeated frames before a new frame rate: film transferred to video by pulldown, and the film's own timing.

Film shot at 24 frames/s reaches 29.97 frames/s video by repeating every fourth frame (one decoded frame in five
copies the one before; 25 frames/s video repeats one in 25). Interpolating between a frame and its copy stops
the motion for a frame's time: at 60 frames/s, a judder six times a second. So before a fixed output rate the
copies are taken out, as Flowframes' de-duplication does, and the film's frames are spaced evenly again
(inverse telecine): each takes the time that a straight line fitted to the times of the WINDOW kept frames on
each side of it gives, which undoes any regular cadence (3:2, 2:3:3:2, 24 to 25 frames/s) to within a
millisecond. A frame with no copy within that
window keeps its own time, so a video without pulldown (variable frame rates included) is timed as before.

A copy is a frame within REPEAT_PSNR of the frame kept before it, unless the frame before it is a copy itself:
a still shot keeps every other frame, at even times, and loses no motion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

REPEAT_PSNR = 40.0  # dB: as benchmarks.interpolation tells the film clip's 71 copies from its 289 frames
WINDOW = 8  # kept frames on each side whose times are averaged: two cycles of 3:2 pulldown
_REPEAT_MSE = 255.0**2 / 10 ** (REPEAT_PSNR / 10)


def is_repeat(kept: np.ndarray, frame: np.ndarray) -> bool:
    """Whether `frame` is within REPEAT_PSNR (over all pixels and channels) of `kept`, the same size."""
    if kept.shape != frame.shape:
        return False
    return cv2.norm(kept, frame, cv2.NORM_L2SQR) <= _REPEAT_MSE * frame.size


@dataclass(frozen=True)
class Entry:
    """One input frame: its index and pts, and whether it repeats the frame before it."""

    index: int
    pts: int
    repeat: bool


class Cadence:
    """The input frames so far, which of them repeat, and the film times of the kept ones (module docstring).

    Input frames come in order with consecutive indexes; kept frames are numbered from 0 ("ordinals").
    `history` holds the entries before the first frame to come, for a resumed job (history() of the run that
    made those frames).
    """

    def __init__(self, history: Sequence[Entry] = ()) -> None:
        self._entries = list(history)
        self._first = history[0].index if history else 0  # the index of _entries[0]
        self.kept = [entry for entry in history if not entry.repeat]
        self.ended = False

    def add(self, entry: Entry) -> None:
        if not self._entries:
            self._first = entry.index
        self._entries.append(entry)
        if not entry.repeat:
            self.kept.append(entry)

    @property
    def after_repeat(self) -> bool:
        """Whether the last frame added is a copy (the next one is then never taken for one)."""
        return bool(self._entries) and self._entries[-1].repeat

    def settled(self, ordinal: int) -> bool:
        """Whether kept frame `ordinal`'s time is final: WINDOW kept frames follow it, or the stream ended."""
        return self.ended or ordinal + WINDOW < len(self.kept)

    def time(self, ordinal: int) -> int | Fraction:
        """The film time (pts) of kept frame `ordinal`: its own pts, or, when a copy lies within WINDOW kept
        frames of it, where a straight line fitted to the pts of those kept frames puts it (weighted least
        squares, half weight at the window's two ends: a whole window then spans 2 x WINDOW frames, whole
        cycles of any cadence whose period divides that); kept between the midpoints to its neighbours, and
        the first and last frames at their own times, so times never go backwards or past the stream's ends.
        (A resumed job asks only for frames after its history's first WINDOW kept frames, whose windows it
        holds.)"""
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
        fit = mean + slope * (ordinal - place)
        own = kept[ordinal].pts
        return min(max(fit, Fraction(kept[ordinal - 1].pts + own, 2)), Fraction(own + kept[ordinal + 1].pts, 2))

    def repeats_after(self, ordinal: int) -> list[Entry]:
        """The copies between kept frame `ordinal` and the next kept frame (or the last frame added)."""
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

    def _between(self, low: int, high: int) -> list[Entry]:
        """The entries with low < index < high."""
        return self._entries[low + 1 - self._first : high - self._first]
