"""New frame rates for videos: the `--fps` value, where the output frames fall in time, and the retimer.

`--fps 2x` (any whole multiple) puts k - 1 in-between frames evenly between each two input frames, variable
frame rates included. `--fps 60` (or 59.94, 30000/1001) puts output frames at exact multiples of 1/60 s from
the first frame's time. Either way the frames between input frames i and i + 1 are made by
restore.interpolate from those two (and their neighbours); the last input frame is held for one frame
duration of the input (1 / its average rate), so the output lasts as long as the input. Times are exact: the
output time base is one in which the input's timestamps and the output's frame step are both whole numbers.
For a fixed rate, frames that copy the one before (film transferred to video by pulldown) are taken out first
and the film's frames spaced evenly again (restore.pulldown); a multiple keeps every input frame's time.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from restore.interpolate import InterpolationSettings, Interpolator, Pair
from restore.pulldown import WINDOW, Cadence, Entry, matches

MAX_FACTOR = 16
MAX_RATE = 1000
_DEFAULT_RATE = Fraction(25)  # as restore.video_io assumes for a video that states no rate
_MAX_TIME_SCALE = 2**31 - 1  # MP4 stores the time base's denominator in 32 bits


@dataclass(frozen=True)
class FrameRate:
    """An output frame rate: `factor` times the input's (2x), or a fixed `rate` in frames per second."""

    factor: int | None = None
    rate: Fraction | None = None

    @classmethod
    def parse(cls, text: str) -> FrameRate:
        """'2x' (a whole multiple from 2 to 16) or a rate: '60', '59.94', '30000/1001'. ValueError if neither."""
        text = text.strip().lower()
        if match := re.fullmatch(r"(\d+)x", text):
            factor = int(match[1])
            if not 2 <= factor <= MAX_FACTOR:
                raise ValueError(f"a multiple of the frame rate must be from 2x to {MAX_FACTOR}x, not {text}")
            return cls(factor=factor)
        try:
            rate = Fraction(text)
        except (ValueError, ZeroDivisionError):
            message = f"expected frames per second (60, 59.94, 30000/1001) or a multiple (2x), not {text!r}"
            raise ValueError(message) from None
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"the frame rate must be above 0 and at most {MAX_RATE}, not {text}")
        return cls(rate=rate)

    def __str__(self) -> str:
        return f"{self.factor}x" if self.factor else str(self.rate)


class Timeline:
    """Output timestamps of a retimed video: its time base and rate, and the frames in each input interval.

    `time_base`, `rate` and `start` are the input's time base, average rate (None if unknown) and the
    timestamp of its first frame.
    """

    def __init__(self, fps: FrameRate, time_base: Fraction, rate: Fraction | None, start: int) -> None:
        self._fps = fps
        self._input_time_base = time_base
        input_rate = rate or _DEFAULT_RATE
        if fps.factor:
            self.time_base = time_base / fps.factor
            self.rate: Fraction | None = rate * fps.factor if rate else None
        else:
            assert fps.rate is not None
            self.time_base = _common_time_base(time_base, 1 / fps.rate)
            self.rate = fps.rate
        self._step = self._ticks(1 / fps.rate) if fps.rate else 0  # output frame step, for a fixed rate
        self._start = self._to_output(start)
        self._hold = max(1, self._ticks(1 / input_rate))  # the last frame's duration

    @property
    def fixed_rate(self) -> bool:
        """Whether output frames fall at multiples of a fixed frame time (not a multiple of the input's)."""
        return self._fps.rate is not None

    def span(self, pts: int | Fraction, next_pts: int | Fraction | None) -> list[tuple[int, float]]:
        """(output pts, fraction of the way to the next input frame) for the output frames from input pts
        `pts` up to `next_pts` (not included; None after the last frame: for one input frame duration).
        A fraction of 0 is the input frame itself. Times may fall between ticks (restore.pulldown's film times)."""
        begin = self._to_output(pts)
        end = self._to_output(next_pts) if next_pts is not None else begin + self._hold
        if self._fps.factor:
            factor = self._fps.factor
            return [(math.floor(begin + Fraction(end - begin) * k / factor), k / factor) for k in range(factor)]
        first = max(0, math.ceil(Fraction(begin - self._start) / self._step))  # the first output frame from `begin`
        times = range(self._start + first * self._step, math.ceil(end), self._step)
        return [(time, float(Fraction(time - begin) / (end - begin))) for time in times]

    def _to_output(self, pts: int | Fraction) -> int | Fraction:
        """`pts` in output ticks: whole for an input frame's own pts, exact for a film time between them."""
        ticks = pts * self._input_time_base / self.time_base
        return round(ticks) if isinstance(pts, int) else ticks

    def _ticks(self, seconds: Fraction) -> int:
        return round(seconds / self.time_base)


@dataclass(frozen=True)
class Unit:
    """What a retimed video shows from input frame `index` until the next one: `frames` as (pts, RGB); `rgb`
    is the input frame's own output, which a resumed job starts from, and `kept` the output of the frame it
    shows (itself, or for a copy, the frame it copies: see restore.pulldown), which a resumed job
    interpolates from. A copy's unit has no frames: its time belongs to the frame it copies."""

    index: int
    rgb: np.ndarray
    frames: list[tuple[int, np.ndarray]]
    kept: np.ndarray


class Retimer:
    """Turns the outputs of a video's frames (with their input pts, in order) into the frames of the new rate.

    push() returns the units that became complete, finish() the rest, one per input frame in order. For a
    fixed output rate, copies are taken out and the kept frames retimed (restore.pulldown), so a unit comes
    out once WINDOW more kept frames are known; `take_out_copies=False` keeps every frame and its time, as a
    multiple does (benchmarks.pulldown compares the two). A job resumed at frame `first` passes the output
    written for frame first - 1 as `seed`, and what history() and the last unit's `kept` were for it.
    """

    def __init__(
        self,
        timeline: Timeline,
        first: int = 0,
        seed: np.ndarray | None = None,
        settings: InterpolationSettings | None = None,
        history: Sequence[Entry] = (),
        kept: np.ndarray | None = None,
        take_out_copies: bool = True,
    ) -> None:
        self._timeline = timeline
        self._first = first
        self._take_out_copies = take_out_copies and timeline.fixed_rate
        self._cadence = Cadence(history, lookahead=WINDOW if self._take_out_copies else 0)
        if seed is not None and not self._cadence.kept:
            raise ValueError("a resumed retimer needs the history of the frames before it")
        self._given = len(self._cadence.kept) - 1 if seed is not None else 0  # kept frames the interpolator has
        self._interpolator = Interpolator(settings, first=self._given)
        self._last_kept = kept if kept is not None else seed
        if self._last_kept is not None:
            self._interpolator.push(self._last_kept)
            self._given += 1
        self._previous = seed  # the output of the frame before the next one
        self._outputs: dict[int, np.ndarray] = {}  # of frames not yet decided, and of copies until their unit
        self._waiting: deque[np.ndarray] = deque()  # kept frames not yet given to the interpolator
        self.copies = 0  # frames taken out as copies

    def push(self, index: int, pts: int, rgb: np.ndarray) -> list[Unit]:
        """Add the output of input frame `index`; the units completed by it."""
        matched = self._take_out_copies and self._previous is not None and matches(self._previous, rgb)
        self._previous = rgb
        self._outputs[index] = rgb
        return self._decided(self._cadence.add(index, pts, matched))

    def finish(self) -> list[Unit]:
        """The remaining units, the last frame's included, after the last push()."""
        units = self._decided(self._cadence.end()) + self._units(self._interpolator.finish())
        last = len(self._cadence.kept) - 1
        if self._last_kept is not None and last >= 0 and self._cadence.kept[last].index >= self._first:
            rgb, span = self._last_kept, self._timeline.span(self._cadence.time(last), None)
            units.append(Unit(self._cadence.kept[last].index, rgb, [(pts, rgb) for pts, _ in span], rgb))
        return units

    def history(self, before: int) -> list[Entry]:
        """What a job resumed at input frame `before` passes as `history` (restore.pulldown.Cadence.history)."""
        return self._cadence.history(before)

    def _decided(self, entries: list[Entry]) -> list[Unit]:
        """Take the frames just decided: a copy's output waits for its unit, a kept frame for the interpolator."""
        for entry in entries:
            if entry.repeat:
                self.copies += 1
            else:
                self._last_kept = self._outputs.pop(entry.index)
                self._waiting.append(self._last_kept)
        units: list[Unit] = []
        while self._waiting and self._cadence.settled(self._given - 1):  # the pair it completes is timed
            units += self._units(self._interpolator.push(self._waiting.popleft()))
            self._given += 1
        return units

    def _units(self, pair: Pair | None) -> list[Unit]:
        """The unit of `pair`'s first frame and of the copies after it, less those an earlier run made."""
        if pair is None:
            return []
        entry = self._cadence.kept[pair.index]
        units = []
        if entry.index >= self._first:
            span = self._timeline.span(self._cadence.time(pair.index), self._cadence.time(pair.index + 1))
            between = iter(pair.at([fraction for _, fraction in span if fraction > 0]))
            frames = [(pts, next(between) if fraction > 0 else pair.first) for pts, fraction in span]
            units.append(Unit(entry.index, pair.first, frames, pair.first))
        for copy in self._cadence.repeats_after(pair.index):
            if copy.index >= self._first:
                units.append(Unit(copy.index, self._outputs.pop(copy.index), [], pair.first))
        return units


def _common_time_base(first: Fraction, second: Fraction) -> Fraction:
    """The largest time base in which both durations are whole numbers of ticks, if MP4 can store it; else
    one in which `second` (the output frame step) is, and ticks are no longer than `first`."""
    exact = Fraction(
        math.gcd(first.numerator * second.denominator, second.numerator * first.denominator),
        first.denominator * second.denominator,
    )
    if exact.denominator <= _MAX_TIME_SCALE:
        return exact
    return second / math.ceil(second / first)
