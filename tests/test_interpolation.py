"""Motion-compensated in-between frames (restore.interpolate) and output timing (restore.retime)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from benchmarks.clips import object_frames, pan_frames
from restore.interpolate import InterpolationSettings, Interpolator, Pair
from restore.retime import FrameRate, Retimer, Timeline
from training.metrics import psnr


def pairs(frames, settings=None, first=0) -> list[Pair]:
    interpolator = Interpolator(settings, first=first)
    found = [interpolator.push(frame) for frame in frames] + [interpolator.finish()]
    return [pair for pair in found if pair is not None]


def disc(index, size, step, radius, start=(8, 8)) -> np.ndarray:
    """Where object_frames' disc is in frame `index`."""
    width, height = size
    ys, xs = np.mgrid[:height, :width]
    x, y = start[0] + step[0] * index, start[1] + step[1] * index
    return (xs - x - radius + 0.5) ** 2 + (ys - y - radius + 0.5) ** 2 < radius**2


def error(image, truth, mask=None) -> float:
    difference = np.abs(image.astype(np.float32) - truth).mean(axis=-1)
    return float(difference.mean() if mask is None else difference[mask].mean())


def test_in_between_frames_follow_the_motion():
    frames = pan_frames(9, (128, 96), step=(3, 1))
    kept = frames[::2]  # interpolate the dropped frames back
    for pair in pairs(kept):
        truth, (middle,) = frames[2 * pair.index + 1], pair.at([0.5])
        assert psnr(truth, middle) > 36, pair.index
        assert psnr(truth, middle) > psnr(truth, (pair.first / 2 + pair.second / 2).astype(np.uint8)) + 15
    frames = pan_frames(7, (128, 96), step=(3, 0))
    thirds = pairs(frames[::3])[0].at([1 / 3, 2 / 3])  # between frames 0 and 3
    assert [psnr(truth, frame) > 32 for truth, frame in zip(frames[1:3], thirds, strict=True)] == [True, True]


def test_accelerating_motion_is_followed_with_the_frames_around_the_pair():
    frames = pan_frames(7, (160, 120), "coffee", step=(0, 0), acceleration=(2, 0))  # x = i^2
    kept = frames[::2]
    quadratic = pairs(kept)[1].at([0.5])[0]  # frames 2 and 4, with 0 and 6 around them
    linear = pairs(kept[1:3])[0].at([0.5])[0]  # frames 2 and 4 alone
    assert psnr(frames[3], quadratic) > psnr(frames[3], linear) + 8


def test_background_seen_in_one_frame_only_is_taken_from_that_frame():
    size, step, radius = (192, 128), (6, 2), 24
    frames = object_frames(9, size, step=step, radius=radius)
    plain = InterpolationSettings(disagreement=float("inf"))  # the two warped frames always averaged
    errors: dict[str, list[float]] = {"aware": [], "plain": []}
    for name, settings in (("aware", None), ("plain", plain)):
        for pair in pairs(frames[::2], settings)[1:]:
            i = 2 * pair.index
            # background that the disc uncovers by time 0.5 or covers after it: seen in only one frame
            one_sided = (disc(i, size, step, radius) | disc(i + 2, size, step, radius)) & ~disc(
                i + 1, size, step, radius
            )
            errors[name].append(error(pair.at([0.5])[0], frames[i + 1], one_sided))
    assert np.mean(errors["aware"]) < 0.95 * np.mean(errors["plain"]), errors


def test_picture_entering_the_frame_is_taken_from_the_frame_that_shows_it():
    step = (6, 3)  # the window moves right and down: new picture enters at the right and bottom edges
    frames = pan_frames(9, (160, 120), step=step)
    entering = np.zeros(frames[0].shape[:2], bool)
    entering[:, -step[0] :] = entering[-step[1] :, :] = True  # half of what enters between two kept frames
    plain = InterpolationSettings(disagreement=float("inf"))
    errors = {
        name: [error(pair.at([0.5])[0], frames[2 * pair.index + 1], entering) for pair in pairs(frames[::2], settings)]
        for name, settings in (("aware", None), ("plain", plain))
    }
    assert np.mean(errors["aware"]) < 0.8 * np.mean(errors["plain"]), errors


def test_a_still_frame_edge_stays_still_while_the_picture_pans_behind_it():
    frames = pan_frames(9, (160, 120), step=(8, 2))
    gate = np.zeros(frames[0].shape[:2], bool)  # a film's dark gate: 10 px round the picture, not moving
    gate[:10], gate[-10:], gate[:, :10], gate[:, -10:] = True, True, True, True
    for frame in frames:
        frame[gate] = 12
    inside = (slice(12, -12), slice(12, -12))
    for pair in pairs(frames[::2]):
        truth, (middle,) = frames[2 * pair.index + 1], pair.at([0.5])
        # the gate is not dragged along with the picture (without the zero-motion candidate: 3.4 to 7.5 levels)
        assert error(middle, truth, gate) < 2.0, pair.index
        average = (pair.first / 2 + pair.second / 2).astype(np.uint8)
        assert psnr(truth[inside], middle[inside]) > psnr(truth[inside], average[inside]) + 6  # the picture moves


def test_no_interpolation_across_a_scene_cut():
    frames = pan_frames(4, (96, 64), "coffee") + pan_frames(4, (96, 64), "chelsea")
    found = pairs(frames)
    assert [pair.index for pair in found] == list(range(7))
    assert [pair.cut for pair in found] == [False, False, False, True, False, False, False]
    assert all(np.array_equal(frame, frames[3]) for frame in found[3].at([0.25, 0.5, 0.75]))
    assert not np.array_equal(found[2].at([0.5])[0], frames[2])


def test_a_resumed_interpolator_gives_the_same_frames():
    frames = object_frames(8, (96, 64))
    whole = {pair.index: pair.at([0.3, 0.6]) for pair in pairs(frames)}
    resumed = {pair.index: pair.at([0.3, 0.6]) for pair in pairs(frames[3:], first=3)}
    assert sorted(resumed) == [3, 4, 5, 6]
    for index in (4, 5, 6):  # pair 3 lacks frame 2, which the whole run used for its motion
        assert all(np.array_equal(a, b) for a, b in zip(whole[index], resumed[index], strict=True))


@pytest.mark.parametrize(
    ("text", "factor", "rate"),
    [
        ("2x", 2, None),
        ("16X", 16, None),
        ("60", None, 60),
        ("59.94", None, Fraction(2997, 50)),
        ("30000/1001", None, Fraction(30000, 1001)),
    ],
)
def test_frame_rates_are_parsed(text, factor, rate):
    fps = FrameRate.parse(text)
    assert (fps.factor, fps.rate) == (factor, rate)
    assert FrameRate.parse(str(fps)) == fps


@pytest.mark.parametrize("text", ["0", "-24", "abc", "1x", "17x", "0x", "1/0", "inf", "", "2.5x", "1001"])
def test_bad_frame_rates_are_refused(text):
    with pytest.raises(ValueError, match="frame rate|frames per second"):
        FrameRate.parse(text)


def test_multiples_put_frames_evenly_between_variable_times():
    timeline = Timeline(FrameRate(factor=2), Fraction(1, 2400), Fraction(24), start=0)
    assert timeline.time_base == Fraction(1, 4800) and timeline.rate == 48
    assert timeline.span(100, 150) == [(200, 0.0), (250, 0.5)]
    assert timeline.span(150, 400) == [(300, 0.0), (550, 0.5)]
    assert timeline.span(400, None) == [(800, 0.0), (900, 0.5)]  # the last frame: held 1/24 s


def test_fixed_rates_fall_on_exact_times_from_the_first_frame():
    # 29 fps in 1/14848 s (the film clip's time base), from 0.5 s on, to 60 fps: ticks of 1/222720 s
    timeline = Timeline(FrameRate(rate=Fraction(60)), Fraction(1, 14848), Fraction(29), start=7424)
    assert timeline.time_base == Fraction(1, 222720) and timeline.rate == 60
    times = [pts for k in range(3) for pts, _ in timeline.span(7424 + 512 * k, 7424 + 512 * (k + 1))]
    assert [Fraction(pts) * timeline.time_base for pts in times] == [Fraction(1, 2) + Fraction(k, 60) for k in range(7)]
    assert [round(f, 3) for _, f in timeline.span(7424, 7936)] == [0, 0.483, 0.967]
    assert len(timeline.span(7424 + 512 * 9, None)) == 2  # 1/29 s of the last frame: 2 frames at 60 fps


def test_the_retimer_makes_each_frame_s_unit_once_and_resumes_alike():
    frames = object_frames(6, (96, 64))
    timeline = Timeline(FrameRate(factor=3), Fraction(1, 24), Fraction(24), start=0)

    def units(first, seed=None, history=()):
        retimer = Retimer(timeline, first, seed, history=history)
        made = [unit for i in range(first, 6) for unit in retimer.push(i, i, frames[i])] + retimer.finish()
        return retimer, {unit.index: unit for unit in made}

    retimer, whole = units(0)
    assert sorted(whole) == list(range(6))
    assert [pts for i in range(6) for pts, _ in whole[i].frames] == list(range(18))
    assert all(np.array_equal(whole[i].frames[0][1], frames[i]) for i in range(6))
    _, resumed = units(3, seed=frames[2], history=retimer.history(3))
    assert sorted(resumed) == [3, 4, 5]
    for i in (3, 4, 5):
        assert all(np.array_equal(a[1], b[1]) for a, b in zip(whole[i].frames, resumed[i].frames, strict=True))
