"""`revive video --fps` and `revive frames --fps`: in-between frames, exact times, sound, cuts, resuming, errors."""

from __future__ import annotations

import hashlib
import random
import shutil

import av
import numpy as np
import pytest
from PIL import Image

from benchmarks.clips import (
    horizontal_motion,
    kill_midway,
    pan_frames,
    read_clip,
    revive,
    telecine,
    to_gray,
    write_clip,
)
from restore.cli import main
from training.metrics import psnr

FPS = 24
SAME = ("--colorize", "never", "--strength", 0, "--temporal", "off")  # the models change nothing


def revive_ok(*args: object) -> None:
    assert main([*map(str, args), "--device", "cpu"]) == 0


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pngs(folder) -> dict[str, str]:
    return {p.name: digest(p) for p in sorted(folder.iterdir()) if p.suffix == ".png"}


def test_2x_puts_the_dropped_frames_back_at_exact_times_with_the_sound_unchanged(weights_dir, tmp_path):
    frames = pan_frames(48, (128, 96), step=(3, 1))
    clip = write_clip(tmp_path / "reel.mp4", frames[::2], fps=FPS // 2)  # every other frame, at 12 fps
    out = tmp_path / "reel-24.mp4"
    revive_ok("video", clip, "-o", out, "--weights", weights_dir, "--fps", "2x", "--chunk", 5, *SAME)
    _, _, audio, _ = read_clip(clip)
    out_frames, out_times, out_audio, out_rate = read_clip(out)
    assert len(out_frames) == 48 and out_rate == FPS
    assert out_times == pytest.approx([k / FPS for k in range(48)], abs=1e-9)
    assert out_audio == audio and len(audio) > 40  # every AAC packet, byte for byte
    for k in range(1, 47, 2):  # the in-between frames against the frames that were dropped
        assert psnr(frames[k], out_frames[k]) > 30, k
        assert psnr(frames[k], out_frames[k]) > psnr(frames[k], out_frames[k - 1]) + 8, k


def test_a_fixed_rate_falls_on_multiples_of_its_frame_time(weights_dir, tmp_path):
    clip = write_clip(tmp_path / "reel.mp4", to_gray(pan_frames(24)), fps=FPS)
    out = tmp_path / "reel-60.mov"
    revive_ok("video", clip, "-o", out, "--weights", weights_dir, "--fps", "60", "--chunk", 7)
    out_frames, out_times, out_audio, out_rate = read_clip(out)
    assert len(out_frames) == 60 and out_rate == 60  # one second, as long as the input
    assert out_times == pytest.approx([k / 60 for k in range(60)], abs=1e-9)
    assert out_audio == read_clip(clip)[2]


def test_variable_frame_times_get_their_midpoints(weights_dir, tmp_path):
    pts = [0, 100, 150, 400, 450, 500, 900, 1000]  # in 1/2400 s
    clip = write_clip(tmp_path / "vfr.mp4", to_gray(pan_frames(len(pts))), fps=FPS, pts=pts)
    out = tmp_path / "out.mp4"
    revive_ok("video", clip, "-o", out, "--weights", weights_dir, "--fps", "2x")
    with av.open(str(clip)) as container:
        hold = 2400 / container.streams.video[0].average_rate  # the last frame lasts 1 / the average rate
    middles = [(a + b) / 2 for a, b in zip(pts, [*pts[1:], pts[-1] + hold], strict=True)]
    times, expected = read_clip(out)[1], [p / 2400 for p in sorted(pts + middles)]
    assert times[:-1] == pytest.approx(expected[:-1], abs=1e-9)
    assert times[-1] == pytest.approx(expected[-1], abs=1 / 4800)  # half the hold, in whole ticks


def test_a_scene_cut_repeats_the_frame_before_it(weights_dir, tmp_path):
    frames = pan_frames(6, (96, 64), "coffee") + pan_frames(6, (96, 64), "chelsea")
    clip = write_clip(tmp_path / "cut.mp4", frames, fps=FPS, audio=False)
    out = tmp_path / "out.mp4"
    revive_ok("video", clip, "-o", out, "--weights", weights_dir, "--fps", "2x", *SAME)
    out_frames = read_clip(out)[0]
    assert len(out_frames) == 24
    cut, before, after = (out_frames[k].astype(np.float32) for k in (11, 10, 12))  # between inputs 5 and 6
    assert np.abs(cut - before).mean() < 0.5 and np.abs(cut - after).mean() > 20
    assert psnr(out_frames[8], out_frames[9]) < 40  # within the shot: a new in-between frame


def test_a_killed_job_resumes_to_the_same_file(weights_dir, tmp_path):
    clip = write_clip(tmp_path / "reel.mp4", to_gray(pan_frames(40)), fps=FPS)
    args = ["--weights", weights_dir, "--device", "cpu", "--chunk", 8, "--fps", "60"]
    revive_ok("video", clip, "-o", tmp_path / "whole.mp4", *args)
    out, work = tmp_path / "resumed.mp4", tmp_path / "resumed.mp4.work"
    finished = random.Random().randint(1, 3)  # chunks done when the kill comes
    kill_midway(["video", clip, "-o", out, *args], lambda: len(list(work.glob("seg_*.bin"))), finished)
    assert not out.exists() and len(list(work.glob("seg_*.bin"))) >= finished
    revive_ok("video", clip, "-o", out, *args)
    assert digest(out) == digest(tmp_path / "whole.mp4")
    assert len(read_clip(out)[0]) == 100 and not work.exists()


def test_a_telecined_film_moves_evenly_at_60_fps_and_resumes_to_the_same_file(weights_dir, tmp_path):
    film = pan_frames(48, (128, 96), step=(5, 0))
    clip = write_clip(tmp_path / "reel.mp4", telecine(film), fps=30)  # 3:2 pulldown: 60 frames, 12 copies
    args = ["--weights", weights_dir, "--fps", "60", "--chunk", 7, *SAME]
    revive_ok("video", clip, "-o", tmp_path / "whole.mp4", *args)
    out_frames, out_times, out_audio, out_rate = read_clip(tmp_path / "whole.mp4")
    assert len(out_frames) == 120 and out_rate == 60
    assert out_times == pytest.approx([k / 60 for k in range(120)], abs=1e-9)
    assert out_audio == read_clip(clip)[2]
    motion = horizontal_motion(out_frames)[16:-16]  # the film's 5 px a frame at 24 of 60 frames a second, without stops
    assert min(motion) > 1.6 and max(motion) < 2.4, motion
    out, work = tmp_path / "resumed.mp4", tmp_path / "resumed.mp4.work"
    kill_midway(["video", clip, "-o", out, *args, "--device", "cpu"], lambda: len(list(work.glob("seg_*.bin"))), 3)
    revive_ok("video", clip, "-o", out, *args)
    assert digest(out) == digest(tmp_path / "whole.mp4")


@pytest.mark.parametrize(
    ("command", "fps", "message"),
    [
        ("video", "0", "argument --fps: the frame rate must be above 0 and at most 1000, not 0"),
        (
            "video",
            "abc",
            "argument --fps: expected frames per second (60, 59.94, 30000/1001) or a multiple (2x), not 'abc'",
        ),
        ("video", "1x", "argument --fps: a multiple of the frame rate must be from 2x to 16x, not 1x"),
        ("frames", "60", "a folder of frames has no frame rate: give --fps as a multiple, such as 2x, not 60"),
    ],
)
def test_bad_frame_rates_are_usage_errors(tmp_path, command, fps, message):
    result = revive(command, tmp_path / "in", "-o", tmp_path / "out.mp4", "--fps", fps)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"revive {command}: error: {message}"
    assert not list(tmp_path.iterdir())


def save_frames(folder, frames, name="frame_{}.png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        Image.fromarray(frame).save(folder / name.format(i))


def read_png(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_frames_get_numbered_in_between_frames_and_none_across_a_cut(weights_dir, tmp_path):
    shot = pan_frames(7, (96, 64), "chelsea")
    save_frames(tmp_path / "in", shot[::3] + pan_frames(6, (96, 64), "coffee"))  # frames 0, 3, 6, a cut
    out = tmp_path / "out"
    revive_ok("frames", tmp_path / "in", "-o", out, "--weights", weights_dir, "--fps", "3x", *SAME)
    names = [f"frame_{i}{suffix}.png" for i in range(1, 10) for suffix in ("", "_1", "_2")][:-2]
    assert sorted(pngs(out)) == sorted(names)
    for k, name in ((1, "frame_1_1.png"), (2, "frame_1_2.png")):  # between frames 0 and 3 of the shot
        assert psnr(shot[k], read_png(out / name)) > 30
        assert psnr(shot[k], read_png(out / name)) > psnr(shot[k], shot[3 * (k > 1)]) + 8
    for name in ("frame_3_1.png", "frame_3_2.png"):  # between frame 6 and the next shot's first
        assert np.array_equal(read_png(out / name), shot[6])


def test_frames_resume_after_a_kill_and_redo_the_frame_before_a_changed_one(weights_dir, tmp_path):
    source, whole, out = tmp_path / "in", tmp_path / "whole", tmp_path / "out"
    save_frames(source, to_gray(pan_frames(24, (96, 64), step=(3, 1))))
    options = ["--weights", weights_dir, "--device", "cpu", "--fps", "2x"]
    revive_ok("frames", source, "-o", whole, *options)
    assert len(pngs(whole)) == 47
    done = random.Random().randint(3, 14)  # frames written when the kill comes
    kill_midway(["frames", source, "-o", out, *options], lambda: len(list(out.glob("frame_*.png"))), done)
    assert done <= len(pngs(out)) < 47
    revive_ok("frames", source, "-o", out, *options)
    assert pngs(out) == pngs(whole)  # byte for byte
    changed = tmp_path / "changed"
    shutil.copytree(out, changed)
    Image.fromarray(read_png(source / "frame_20.png")[::-1].copy()).save(source / "frame_20.png")
    before = {p.name: p.stat().st_mtime_ns for p in changed.glob("*.png")}
    revive_ok("frames", source, "-o", changed, *options)
    redone = {p.name for p in changed.glob("*.png") if p.stat().st_mtime_ns != before[p.name]}
    expected = {f"frame_{i}.png" for i in range(19, 25)} | {f"frame_{i}_1.png" for i in range(18, 24)}
    assert redone == expected  # frame 19 and the frames after it, with the in-between frames before them


def test_in_between_names_that_clash_with_frames_are_an_error(weights_dir, tmp_path):
    save_frames(tmp_path / "in", pan_frames(3), name="shot_{}.png")
    Image.fromarray(pan_frames(1)[0]).save(tmp_path / "in" / "shot_1_1.png")
    options = ["--fps", "2x", "--weights", weights_dir, "--device", "cpu"]
    result = revive("frames", tmp_path / "in", "-o", tmp_path / "out", *options)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "its in-between frames would overwrite" in result.stderr and "shot_1_1.png" in result.stderr
