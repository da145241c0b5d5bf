"""`revive frames`: names, order, alpha; resuming after a kill gives the same files; batching; errors."""

from __future__ import annotations

import hashlib
import random
import shutil

import numpy as np
import pytest
from PIL import Image

from benchmarks.clips import age, kill_midway, pan_frames, revive, to_gray
from restore.cli import main
from restore.frames import RECORD_NAME
from restore.temporal import flicker

COUNT = 40


def revive_frames(source, out, weights_dir, *args: object) -> int:
    return main(
        ["frames", str(source), "-o", str(out), "--weights", str(weights_dir), "--device", "cpu", *map(str, args)]
    )


def pngs(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.suffix == ".png"}


@pytest.fixture(scope="module")
def film(tmp_path_factory, weights_dir):
    """A black-and-white shot with grain and exposure flicker as frame_1.png ... frame_40.png (natural order
    differs from text order), its clean frames, and the output of one uninterrupted run."""
    root = tmp_path_factory.mktemp("film")
    clean = to_gray(pan_frames(COUNT))
    (root / "in").mkdir()
    for i, frame in enumerate(age(clean), start=1):
        Image.fromarray(frame).save(root / "in" / f"frame_{i}.png")
    assert revive_frames(root / "in", root / "whole", weights_dir) == 0
    return root, clean


def test_outputs_are_named_after_inputs_and_a_rerun_skips_them(film, weights_dir, tmp_path):
    root, _ = film
    assert sorted(pngs(root / "whole")) == sorted(f"frame_{i}.png" for i in range(1, COUNT + 1))
    assert (root / "whole" / RECORD_NAME).is_file()
    before = {p.name: p.stat().st_mtime_ns for p in (root / "whole").iterdir()}
    assert revive_frames(root / "in", root / "whole", weights_dir) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (root / "whole").iterdir() if p.name != RECORD_NAME} == {
        name: mtime for name, mtime in before.items() if name != RECORD_NAME
    }
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    frames = pan_frames(3)
    Image.fromarray(frames[0]).save(mixed / "s2.jpg")
    Image.fromarray(frames[1]).save(mixed / "s10.tif")
    Image.fromarray(np.dstack([frames[2], np.full(frames[2].shape[:2], 90, np.uint8)])).save(mixed / "s1.png")
    assert revive_frames(mixed, tmp_path / "out", weights_dir, "--colorize", "never") == 0
    assert sorted(pngs(tmp_path / "out")) == ["s1.png", "s10.png", "s2.png"]
    alpha = np.asarray(Image.open(tmp_path / "out" / "s1.png"))[..., 3]
    assert (alpha == 90).all()  # transparency carried over


def test_a_killed_job_resumes_to_identical_files(film, weights_dir, tmp_path):
    root, _ = film
    out = tmp_path / "out"
    done = random.Random().randint(3, COUNT - 10)  # frames written when the kill comes
    args = ["frames", root / "in", "-o", out, "--weights", weights_dir, "--device", "cpu"]
    kill_midway(args, lambda: len(list(out.glob("frame_*.png"))) if out.is_dir() else 0, done)
    assert done <= len(pngs(out)) < COUNT
    assert revive_frames(root / "in", out, weights_dir) == 0
    assert pngs(out) == pngs(root / "whole")  # byte for byte
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_batches_give_the_same_frames(film, weights_dir, tmp_path):
    root, _ = film
    assert revive_frames(root / "in", tmp_path / "out", weights_dir, "--batch", 3) == 0
    assert pngs(tmp_path / "out") == pngs(root / "whole")


def test_changed_frames_and_settings_are_redone(film, weights_dir, tmp_path):
    root, _ = film
    source, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(root / "in", source)
    shutil.copytree(root / "whole", out)
    Image.fromarray(np.asarray(Image.open(source / "frame_31.png"))[::-1].copy()).save(source / "frame_31.png")
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    assert revive_frames(source, out, weights_dir) == 0
    redone = {p.name for p in out.glob("*.png") if p.stat().st_mtime_ns != before[p.name]}
    assert redone == {f"frame_{i}.png" for i in range(31, COUNT + 1)}  # from the changed frame on
    assert revive_frames(source, out, weights_dir, "--temporal", "off") == 0
    assert all(p.stat().st_mtime_ns != before[p.name] for p in out.glob("*.png"))  # other settings: all


def test_strength_zero_gives_back_the_frames(film, weights_dir, tmp_path):
    root, _ = film
    args = ("--colorize", "never", "--temporal", "off", "--strength", 0)
    assert revive_frames(root / "in", tmp_path / "out", weights_dir, *args) == 0
    for path in sorted((root / "in").glob("*.png")):
        original = np.asarray(Image.open(path).convert("RGB"))
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / path.name).convert("RGB")), original)


def test_temporal_filter_reduces_flicker(film, weights_dir, tmp_path):
    root, clean = film
    assert revive_frames(root / "in", tmp_path / "off", weights_dir, "--temporal", "off") == 0
    scores = {}
    for name in ("off", "whole"):
        folder = tmp_path / name if name == "off" else root / name
        frames = [np.asarray(Image.open(folder / f"frame_{i}.png")) for i in range(1, COUNT + 1)]
        scores[name] = flicker(frames, clean)
    assert scores["whole"] < 0.6 * scores["off"], scores


@pytest.mark.parametrize("problem", ["empty", "corrupt-frame", "same-folder"])
def test_errors_are_one_line(weights_dir, tmp_path, problem):
    source = tmp_path / "in"
    source.mkdir()
    if problem != "empty":
        for i, frame in enumerate(pan_frames(6)):
            Image.fromarray(frame).save(source / f"f{i}.jpg")
    if problem == "corrupt-frame":
        (source / "f3.jpg").write_bytes(b"\xff\xd8 broken")
    out = source if problem == "same-folder" else tmp_path / "out"
    options = ["--colorize", "never", "--batch", 1, "--weights", weights_dir, "--device", "cpu"]
    result = revive("frames", source, "-o", out, *options)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("revive: error: ") and len(result.stderr.strip().splitlines()) == 1
    if problem == "empty":
        assert result.stderr.strip() == f"revive: error: {source}: no images found in this folder"
    elif problem == "same-folder":
        assert "another folder" in result.stderr and sorted(pngs(source)) == []
    else:
        assert f"{source / 'f3.jpg'}: not an image" in result.stderr
        assert sorted(pngs(out)) == ["f0.png", "f1.png", "f2.png"]  # done before it: kept
