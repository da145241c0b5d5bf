"""Colour hints for film (restore.hint_track): keyframe hints follow the motion until a scene cut, through
`revive frames --hints-dir` and `revive video --hints-dir`, resumed runs included."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from test_frames import revive_frames
from test_hints import ab_of, mean_ab
from test_video import revive_video

from benchmarks.clips import kill_midway, object_frames, pan_frames, read_clip, to_gray, write_clip
from restore.errors import HintsError
from restore.hint_track import HintTracker, keyframe_files
from restore.sequence import Frame

BLUE = (32, 64, 255)
DISC = {"start": (8, 8), "step": (3, 1), "radius": 32, "size": (192, 128)}  # object_frames' moving disc


def disc_centre(index: int) -> tuple[int, int]:
    """(x, y) of the moving disc's centre in frame `index`."""
    (x0, y0), (vx, vy), radius = DISC["start"], DISC["step"], DISC["radius"]  # type: ignore[misc]
    return x0 + vx * index + radius, y0 + vy * index + radius


def disc_hint(folder, index: int, colour: str = "#2040ff") -> None:
    """A hint on the disc of frame `index`, as folder/<index>.json."""
    x, y = disc_centre(index)
    folder.mkdir(exist_ok=True)
    (folder / f"{index}.json").write_text(json.dumps([{"x": x, "y": y, "color": colour, "radius": 6}]))


def disc_distance_to_blue(rgb: np.ndarray, index: int) -> float:
    x, y = disc_centre(index)
    return float(np.linalg.norm(mean_ab(rgb, slice(y - 5, y + 6), slice(x - 5, x + 6)) - ab_of(BLUE)))


def test_keyframe_hints_follow_the_motion_and_end_at_a_cut(tmp_path):
    frames = to_gray(object_frames(12, **DISC)) + to_gray(
        pan_frames(3, DISC["size"], photo="coffee")
    )  # a cut at frame 12
    disc_hint(tmp_path / "hints", 2)
    tracker = HintTracker(keyframe_files(tmp_path / "hints"))
    maps = [tracker(Frame(i, frame)) for i, frame in enumerate(frames)]
    assert maps[0] is None and maps[1] is None
    for index in (2, 6, 11):  # the hint stays on the disc as it moves
        ys, xs = np.nonzero(maps[index][..., 2])
        x, y = disc_centre(index)
        assert abs(xs.mean() - x) <= 2 and abs(ys.mean() - y) <= 2, (index, xs.mean(), ys.mean(), x, y)
        np.testing.assert_allclose(maps[index][ys, xs, :2].mean(axis=0), ab_of(BLUE), atol=1.0)
    assert all(hint is None for hint in maps[12:])
    assert tracker.replay_from(9) == 2 and tracker.replay_from(1) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [("scene.json", "name a hint file by its frame number"), ("7.txt", "name a hint file by its frame number")],
)
def test_hint_files_not_named_by_frame_number_are_refused(tmp_path, name, message):
    (tmp_path / name).write_text("[]")
    with pytest.raises(HintsError, match=message):
        keyframe_files(tmp_path)
    (tmp_path / name).unlink()
    (tmp_path / "3.json").write_text("[]")
    (tmp_path / "003.png").write_bytes(b"")
    with pytest.raises(HintsError, match="frame 3 already has"):
        keyframe_files(tmp_path)


def test_frames_with_a_keyframe_hint_colour_the_object_along_the_shot(tmp_path, weights_dir, capsys):
    frames = to_gray(object_frames(12, **DISC))
    (tmp_path / "in").mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp_path / "in" / f"f{i:02d}.png")
    disc_hint(tmp_path / "hints", 0)
    assert revive_frames(tmp_path / "in", tmp_path / "auto", weights_dir, "--colorize", "always") == 0
    assert revive_frames(tmp_path / "in", tmp_path / "hinted", weights_dir, "--hints-dir", tmp_path / "hints") == 0
    for index in (0, 5, 11):
        auto, hinted = (np.asarray(Image.open(tmp_path / d / f"f{index:02d}.png")) for d in ("auto", "hinted"))
        assert disc_distance_to_blue(hinted, index) < disc_distance_to_blue(auto, index) / 2, index
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        revive_frames(tmp_path / "in", tmp_path / "never", weights_dir, "--hints-dir", tmp_path / "hints",
                      "--colorize", "never")  # fmt: skip
    assert usage.value.code == 2 and "--hints-dir needs colourizing" in capsys.readouterr().err
    whole = {p.name: p.read_bytes() for p in (tmp_path / "hinted").glob("*.png")}
    for index in range(7, 12):  # a job stopped after frame 6 resumes there, replaying the hint from frame 0
        (tmp_path / "hinted" / f"f{index:02d}.png").unlink()
    assert revive_frames(tmp_path / "in", tmp_path / "hinted", weights_dir, "--hints-dir", tmp_path / "hints") == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "hinted").glob("*.png")} == whole


@pytest.mark.parametrize(
    ("name", "hints_dir", "message"),
    [
        ("first.json", "hints", "first.json: name a hint file by its frame number"),
        ("².json", "hints", "name a hint file by its frame number"),
        ("12.json", "hints", "12.json: there is no frame 12: the frames are numbered 0 to 11"),
        ("0.json", "in", "the hints folder holds the frames"),
        ("0.json", ".", "the hints folder holds the frames"),
    ],
)
def test_bad_film_hints_are_one_line_errors(tmp_path, weights_dir, capsys, name, hints_dir, message):
    (tmp_path / "in").mkdir()
    for i, frame in enumerate(to_gray(object_frames(12, **DISC))):
        Image.fromarray(frame).save(tmp_path / "in" / f"f{i:02d}.png")
    (tmp_path / hints_dir).mkdir(exist_ok=True)
    (tmp_path / hints_dir / name).write_text(json.dumps([{"x": 0.5, "y": 0.5, "color": "#2040ff"}]))
    code = revive_frames(tmp_path / "in", tmp_path / "out", weights_dir, "--hints-dir", tmp_path / hints_dir)
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err, err
    assert not list((tmp_path / "out").glob("*.png")) if (tmp_path / "out").exists() else True


def test_a_hinted_video_keeps_its_sound_and_a_killed_run_resumes_to_the_same_frames(tmp_path, weights_dir):
    clip = write_clip(tmp_path / "reel.mp4", to_gray(object_frames(40, **DISC)), fps=24)
    disc_hint(tmp_path / "hints", 3)
    common = ["--hints-dir", tmp_path / "hints", "--chunk", 8, "--batch", 4]
    whole = tmp_path / "whole.mp4"
    assert revive_video(clip, whole, weights_dir, *common) == 0
    frames, times, audio, _ = read_clip(clip)
    out_frames, out_times, out_audio, _ = read_clip(whole)
    assert out_times == times and out_audio == audio
    assert disc_distance_to_blue(out_frames[20], 20) < disc_distance_to_blue(out_frames[1], 1) / 2  # 1: unhinted
    resumed = tmp_path / "resumed.mp4"
    work = tmp_path / "resumed.mp4.work"
    args = ["video", clip, "-o", resumed, "--weights", weights_dir, "--device", "cpu", *common]
    kill_midway(args, lambda: len(list(work.glob("seg_*.bin"))), 2)  # frames 0-15 done; the hint is on frame 3
    assert not resumed.exists() and 2 <= len(list(work.glob("seg_*.bin"))) < 5  # so frames from 16-32 on are redone
    assert revive_video(clip, resumed, weights_dir, *common) == 0
    assert resumed.read_bytes() == whole.read_bytes()
