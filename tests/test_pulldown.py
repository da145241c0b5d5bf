"""Film transferred to video by pulldown: copies taken out before a fixed frame rate, the film's frames retimed
evenly (restore.pulldown, restore.retime.Retimer)."""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import cv2
import numpy as np
import pytest

from benchmarks.clips import horizontal_motion, pan_frames, telecine
from restore.pulldown import WINDOW, Cadence, matches
from restore.retime import FrameRate, Retimer, Timeline
from training.metrics import psnr


def retimed_units(frames, rate=60, first=0, whole=None):
    """The units of frames (pts = index, 1/30 s) retimed to `rate`, from frame `first` (resumed with what the
    `whole` run's retimer and units left there)."""
    timeline = Timeline(FrameRate(rate=Fraction(rate)), Fraction(1, 30), Fraction(30), start=0)
    if first:
        retimer_whole, units_whole = whole
        state = {"history": retimer_whole.history(first), "kept": units_whole[first - 1].kept}
        retimer = Retimer(timeline, first, units_whole[first - 1].rgb, **state)
    else:
        retimer = Retimer(timeline)
    units = [unit for index in range(first, len(frames)) for unit in retimer.push(index, index, frames[index])]
    return retimer, {unit.index: unit for unit in units + retimer.finish()}


def test_3_2_pulldown_gets_even_film_times_and_a_video_without_copies_keeps_its_own():
    cadence, index = Cadence(), 0
    for k in range(40):
        cadence.add(index, 1001 * index, False)
        index += 1
        if k % 4 == 3 and k < 39:
            cadence.add(index, 1001 * index, True)  # decided a copy once the next frame does not match
            index += 1
    cadence.end()
    assert sum(entry.repeat for entry in cadence.history(index)) == 2 and len(cadence.kept) == 40
    times = [cadence.time(k) for k in range(40)]
    assert times[0] == 0 and times[-1] == cadence.kept[-1].pts  # the ends stay where they are
    assert all(b - a == Fraction(5 * 1001, 4) for a, b in pairwise(times[WINDOW:-WINDOW]))
    assert all(b > a for a, b in pairwise(times))
    history = cadence.history(index)  # from the WINDOW + 1'th kept frame from the end
    assert sum(not entry.repeat for entry in history) == WINDOW + 1 and not history[0].repeat

    variable = Cadence()
    for index, pts in enumerate([0, 100, 150, 400, 450, 500, 900, 1000]):
        variable.add(index, pts, False)
    variable.end()
    assert [variable.time(k) for k in range(8)] == [0, 100, 150, 400, 450, 500, 900, 1000]


def test_a_copy_is_a_lone_match_and_a_small_subject_moving_is_no_match():
    background = cv2.resize(pan_frames(1, (96, 64))[0], (640, 480))
    frames = []
    for x in [100, 106, 112, 112, 118, 124]:  # a faint square moves 6 px a frame; the fourth frame copies the third
        frame = background.copy()
        frame[200:220, x : x + 20] = np.clip(frame[200:220, x : x + 20].astype(int) + 50, 0, 255)
        frames.append(frame)
    assert psnr(frames[0], frames[1]) > 40  # the whole frame barely changes, but one block does
    assert [matches(a, b) for a, b in pairwise(frames)] == [False, False, True, False, False]
    timeline = Timeline(FrameRate(rate=Fraction(60)), Fraction(1, 30), Fraction(30), start=0)
    retimer = Retimer(timeline)
    units = [unit for index, frame in enumerate(frames) for unit in retimer.push(index, index, frame)]
    units += retimer.finish()
    assert retimer.copies == 1 and not units[3].frames and sum(len(unit.frames) for unit in units) == 12


def test_a_telecined_pan_keeps_moving_evenly_at_60_fps():
    film = pan_frames(36, (128, 96), step=(5, 0))
    _, units = retimed_units(telecine(film))
    assert len(units) == 45 and sum(not unit.frames for unit in units.values()) == 8  # copies show nothing
    assert units[44].frames  # the last frame is never taken out: nothing after it moves
    output = [rgb for index in sorted(units) for _, rgb in units[index].frames]
    assert len(output) == 90  # 1.5 s, as long as the input
    motion = horizontal_motion(output)[2 * WINDOW : -2 * WINDOW]  # the film's 5 px a frame, 24 of 60 frames/s
    assert min(motion) > 1.75 and max(motion) < 2.25, motion  # not 2.5 px and a stop every fifth frame


def test_a_still_shot_keeps_every_frame():
    still = [pan_frames(1, (96, 64))[0]] * 12
    retimer, units = retimed_units(still)
    assert retimer.copies == 0 and [len(units[index].frames) for index in range(12)] == [2] * 12
    assert all(np.array_equal(rgb, still[0]) for unit in units.values() for _, rgb in unit.frames)


@pytest.mark.parametrize("first", [1, 4, 5, 6, 17, 29, 43, 44])
def test_a_retimer_resumed_anywhere_makes_the_same_frames(first):
    frames = telecine(pan_frames(36, (96, 64), step=(3, 1)))
    whole = retimed_units(frames)
    _, resumed = retimed_units(frames, first=first, whole=whole)
    assert sorted(resumed) == list(range(first, len(frames)))
    for index, unit in resumed.items():
        expected = whole[1][index].frames
        assert [pts for pts, _ in unit.frames] == [pts for pts, _ in expected], index
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(unit.frames, expected, strict=True)), index


def test_multiples_of_the_rate_keep_every_frame():
    frames = telecine(pan_frames(8, (96, 64)))
    timeline = Timeline(FrameRate(factor=2), Fraction(1, 30), Fraction(30), start=0)
    retimer = Retimer(timeline)
    units = [unit for index, frame in enumerate(frames) for unit in retimer.push(index, index, frame)]
    units += retimer.finish()
    assert [len(unit.frames) for unit in units] == [2] * len(frames)
