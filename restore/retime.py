"""New frame rates for videos: the `--fps` value, where the output frames fall in time, and the retimer.

`--fps 2x` (any whole multiple) puts k - 1 in-between frames evenly between each two input frames, variable
frame rates included. `--fps 60` (or 59.94, 30000/1001) puts output frames at exact multiples of 1/60 s from
the first frame's time. Either way the frames between input frames i and i + 1 are made by
restore.interpolate from those two (and their neighbours); the last input frame is held for one frame
duration of the input (1 / its average rate), so the output lasts as long as the input. Times are exact: the
output time base is one in which the input's timestamps and the output's frame step are both whole numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from restore.interpolate import InterpolationSettings, Interpolator, Pair

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

    def span(self, pts: int, next_pts: int | None) -> list[tuple[int, float]]:
        """(output pts, fraction of the way to the next input frame) for the output frames from input pts
        `pts` up to `next_pts` (not included; None after the last frame: for one input frame duration).
        A fraction of 0 is the input frame itself."""
        begin = self._to_output(pts)
        end = self._to_output(next_pts) if next_pts is not None else begin + self._hold
        if self._fps.factor:
            factor = self._fps.factor
            return [(begin + (end - begin) * k // factor, k / factor) for k in range(factor)]
        first = max(0, -(-(begin - self._start) // self._step))  # the first output frame at or after `begin`
        times = range(self._start + first * self._step, end, self._step)
        return [(time, (time - begin) / (end - begin)) for time in times]

    def _to_output(self, pts: int) -> int:
        return self._ticks(pts * self._input_time_base)

    def _ticks(self, seconds: Fraction) -> int:
        return round(seconds / self.time_base)


@dataclass(frozen=True)
class Unit:
    """What a retimed video shows from input frame `index` until the next one: `frames` as (pts, RGB); `rgb`
    is the input frame's own output, which a resumed job starts from."""

    index: int
    rgb: np.ndarray
    frames: list[tuple[int, np.ndarray]]


class Retimer:
    """Turns the outputs of a video's frames (with their input pts, in order) into the frames of the new rate.

    push() returns the units that became complete (each needs the two frames after its own); finish() the
    rest. A job resumed at frame `first` passes the output written for frame first - 1 as `seed`.
    """

    def __init__(
        self,
        timeline: Timeline,
        first: int = 0,
        seed: np.ndarray | None = None,
        settings: InterpolationSettings | None = None,
    ) -> None:
        self._timeline = timeline
        self._first = first
        self._interpolator = Interpolator(settings, first=first if seed is None else first - 1)
        if seed is not None:
            self._interpolator.push(seed)
        self._pts: dict[int, int] = {}
        self._last: tuple[int, np.ndarray] | None = None

    def push(self, index: int, pts: int, rgb: np.ndarray) -> list[Unit]:
        """Add the output of input frame `index`; the units completed by it."""
        self._pts[index] = pts
        self._last = index, rgb
        return self._units(self._interpolator.push(rgb))

    def finish(self) -> list[Unit]:
        """The remaining units, the last frame's included, after the last push()."""
        units = self._units(self._interpolator.finish())
        if self._last is not None:
            index, rgb = self._last
            units.append(Unit(index, rgb, [(pts, rgb) for pts, _ in self._timeline.span(self._pts[index], None)]))
        return units

    def _units(self, pair: Pair | None) -> list[Unit]:
        """The unit of `pair`'s first frame, unless there is no pair or an earlier run made it."""
        if pair is None or pair.index < self._first:
            return []
        span = self._timeline.span(self._pts.pop(pair.index), self._pts[pair.index + 1])
        between = iter(pair.at([fraction for _, fraction in span if fraction > 0]))
        frames = [(pts, next(between) if fraction > 0 else pair.first) for pts, fraction in span]
        return [Unit(pair.index, pair.first, frames)]


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
