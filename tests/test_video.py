"""`revive video`: frames, timing and sound kept; odd sizes, rotation, VFR; resuming; flicker; errors."""

from __future__ import annotations

import hashlib
import random

import av
import numpy as np
import pytest

from benchmarks.clips import (
    age,
    clip_without_video,
    kill_midway,
    pan_frames,
    read_clip,
    revive,
    through_codec,
    to_gray,
    truncated_clip,
    write_clip,
)
from restore.cli import main
from restore.color import chroma_level
from restore.temporal import ChromaStabilizer, TemporalSettings, flicker, gray, scene_change

FPS = 24


def revive_video(clip, out, weights_dir, *args: object) -> int:
    return main(["video", str(clip), "-o", str(out), "--weights", str(weights_dir), "--device", "cpu", *map(str, args)])


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder) -> list[str]:
    """Temporary files and work folders that a finished or failed job must not leave."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".work")))


def test_frames_timing_and_sound_are_kept(weights_dir, tmp_path):
    clip = write_clip(tmp_path / "reel.mp4", to_gray(pan_frames(48)), fps=FPS)
    before = digest(clip)
    out = tmp_path / "out" / "reel.mp4"
    assert revive_video(clip, out, weights_dir, "--chunk", 16) == 0
    frames, times, audio, rate = read_clip(clip)
    out_frames, out_times, out_audio, out_rate = read_clip(out)
    assert len(out_frames) == 48 and out_times == times and out_rate == rate == FPS
    assert out_audio == audio and len(audio) > 40  # every AAC packet, byte for byte
    assert out_frames[0].shape == (64, 96, 3)
    assert chroma_level(out_frames[20]) > chroma_level(frames[20]) + 2  # black-and-white: colourized
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert digest(clip) == before and leftovers(out.parent) == [] and leftovers(tmp_path) == []


def test_pyav_19_without_metadata_errors_still_reads_videos(weights_dir, tmp_path, monkeypatch):
    """PyAV 19 (Python 3.12+) dropped av.open's `metadata_errors`; found on the GPU machine, which has it."""
    real_open = av.open

    def open_like_pyav_19(file, *args, **kwargs):
        if "metadata_errors" in kwargs:
            raise TypeError("open() got an unexpected keyword argument 'metadata_errors'")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", open_like_pyav_19)
    clip = write_clip(tmp_path / "reel.mp4", to_gray(pan_frames(8)), fps=FPS)
    out = tmp_path / "out.mp4"
    assert revive_video(clip, out, weights_dir) == 0
    assert len(read_clip(out)[0]) == 8


@pytest.mark.parametrize(
    ("size", "rotation", "audio", "shape"),
    [((95, 63), None, False, (64, 96, 3)), ((96, 64), 90, True, (96, 64, 3))],
    ids=["odd-size-no-audio", "rotated"],
)
def test_odd_sizes_are_padded_and_rotated_videos_come_out_upright(weights_dir, tmp_path, size, rotation, audio, shape):
    frames = pan_frames(12, size)
    for frame in frames:
        frame[:12, :12] = [255, 0, 0]  # a marker in the stored top-left corner
    clip = write_clip(tmp_path / "in.mp4", frames, fps=FPS, rotation=rotation, audio=audio)
    out = tmp_path / "out.mp4"
    assert revive_video(clip, out, weights_dir, "--colorize", "never") == 0
    out_frames, out_times, out_audio, _ = read_clip(out)
    assert len(out_frames) == 12 and out_frames[0].shape == shape
    assert out_times == read_clip(clip)[1] and bool(out_audio) == audio
    with av.open(str(out)) as container:
        assert next(container.decode(video=0)).rotation == 0  # upright pixels, no display matrix
    corner = out_frames[5][-12:, :12] if rotation == 90 else out_frames[5][:12, :12]
    assert corner[..., 0].mean() > 150 and corner[..., 1].mean() < 100  # counter-clockwise: now bottom-left


def test_variable_frame_rate_keeps_each_timestamp(weights_dir, tmp_path):
    pts = [0, 100, 150, 400, 450, 500, 900, 1000, 1010, 1200]  # in 1/2400 s
    clip = write_clip(tmp_path / "vfr.mkv", to_gray(pan_frames(len(pts))), fps=FPS, pts=pts)
    out = tmp_path / "vfr.mkv.mp4"
    assert revive_video(clip, out, weights_dir) == 0
    assert read_clip(out)[1] == pytest.approx([p / 2400 for p in pts], abs=1e-3)


def test_a_killed_job_resumes_to_the_same_file(weights_dir, tmp_path):
    clip = write_clip(tmp_path / "reel.mp4", to_gray(pan_frames(48)), fps=FPS)
    args = ["--weights", weights_dir, "--device", "cpu", "--chunk", 8]
    assert revive_video(clip, tmp_path / "whole.mp4", weights_dir, "--chunk", 8) == 0
    out = tmp_path / "resumed.mp4"
    work = tmp_path / "resumed.mp4.work"
    finished = random.Random().randint(1, 4)  # chunks done when the kill comes
    kill_midway(["video", clip, "-o", out, *args], lambda: len(list(work.glob("seg_*.bin"))), finished)
    assert not out.exists() and len(list(work.glob("seg_*.bin"))) >= finished
    assert revive_video(clip, out, weights_dir, "--chunk", 8, "-v") == 0
    assert digest(out) == digest(tmp_path / "whole.mp4")
    assert leftovers(tmp_path) == []


def test_the_codec_round_trip_keeps_the_frames_and_adds_the_flicker_a_player_shows():
    steady = pan_frames(12, (128, 96), step=(3, 1))  # the true colours, moving: no flicker of their own
    decoded = through_codec(steady)
    assert len(decoded) == len(steady) and decoded[0].shape == steady[0].shape
    assert np.mean([np.abs(d.astype(float) - s).mean() for d, s in zip(decoded, steady, strict=True)]) < 6
    # 4:2:0 chroma and quantization that changes with the motion: the floor benchmarks/flicker.py subtracts
    assert flicker(decoded, steady) > flicker(steady, steady) + 0.3


def test_temporal_filter_reduces_flicker_in_the_video(weights_dir, tmp_path):
    clean = to_gray(pan_frames(40, (128, 96)))
    clip = write_clip(tmp_path / "old.mp4", age(clean), fps=FPS, audio=False)  # grain + exposure flicker
    scores = {}
    for temporal in ("off", "on"):
        out = tmp_path / f"{temporal}.mp4"
        assert revive_video(clip, out, weights_dir, "--temporal", temporal, "--colorize", "always") == 0
        scores[temporal] = flicker(read_clip(out)[0], clean)
    # Less than in tests/test_frames.py: 4:2:0 chroma subsampling of the moving edges adds its own flicker.
    assert scores["on"] < 0.75 * scores["off"], scores


def test_scene_cuts_are_found_and_reset_the_filter():
    frames = pan_frames(10, (96, 64), "coffee") + pan_frames(10, (96, 64), "chelsea")  # similar brightness
    for clip in (frames, age(to_gray(frames), exposure=0.1)):  # exposure flicker and grain are no cut
        changes = [scene_change(gray(a), gray(b)) for a, b in zip(clip, clip[1:], strict=False)]
        assert max(changes[:9] + changes[10:]) < TemporalSettings.cut_threshold < changes[9] < 1
    stabilizer = ChromaStabilizer()
    outputs = [stabilizer(frame, frame) for frame in frames]
    assert stabilizer.cuts == 1
    assert np.array_equal(outputs[10], frames[10])  # a new shot starts from its own colour


def truncated(faststart: bool):
    return lambda path: truncated_clip(path, pan_frames(12), fps=FPS, faststart=faststart)


@pytest.mark.parametrize(
    ("make_input", "output", "message"),
    [
        (clip_without_video, "out.mp4", "no video stream (it has audio)"),
        (truncated(False), "out.mp4", "cannot read it (Invalid data found when processing input)"),
        (truncated(True), "out.mp4", "truncated or damaged: "),
        (lambda path: path.write_bytes(b"not a video") and path, "out.mp4", "it may be truncated or not a video"),
        (lambda path: write_clip(path, pan_frames(4), fps=FPS), "a-file/out.mp4", "Not a directory"),
    ],
    ids=["no-video-stream", "truncated-index", "truncated-data", "not-a-video", "unwritable-output-folder"],
)
def test_errors_are_one_line_and_leave_nothing(weights_dir, tmp_path, make_input, output, message):
    clip = make_input(tmp_path / "in.mp4")
    (tmp_path / "a-file").write_text("a file where a folder should be")
    result = revive("video", clip, "-o", tmp_path / output, "--weights", weights_dir, "--device", "cpu")
    assert result.returncode == 1
    assert result.stderr.startswith("revive: error: ") and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "in.mp4"]
