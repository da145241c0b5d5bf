"""`revive` end to end in a subprocess, output naming, failures, and what `import restore` pulls in."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from restore import __version__
from restore.cli import main
from restore.files import natural_key, plan_jobs

ROOT = Path(__file__).resolve().parents[1]


def revive(*args: object, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "restore.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def album(tmp_path) -> Path:
    """Photos in a folder with a sub-folder, a gray RGBA scan, a hidden file and a non-image."""
    folder = tmp_path / "album"
    (folder / "1950s").mkdir(parents=True)
    Image.fromarray(data.astronaut()[::4, ::4]).save(folder / "astronaut.jpg")
    Image.fromarray(data.coffee()[::4, ::4]).save(folder / "1950s" / "coffee.png")
    gray = data.camera()[::4, ::4]
    Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 200)])).save(folder / "1950s" / "scan.png")
    (folder / "notes.txt").write_text("not a photo")
    (folder / "._astronaut.jpg").write_bytes(b"macOS metadata")
    return folder


def test_photo_end_to_end_on_files_and_folders(album, weights_dir, tmp_path):
    loose = tmp_path / "chelsea.webp"
    Image.fromarray(data.chelsea()[::4, ::4]).save(loose)
    before = _digests(album)
    out = tmp_path / "out"
    result = revive("photo", album, loose, "-o", out, "--weights", weights_dir, "--tile", "64", "-v")
    assert result.returncode == 0, result.stderr
    assert sorted(_digests(out)) == ["1950s/coffee.png", "1950s/scan.png", "astronaut.png", "chelsea.png"]
    assert _digests(album) == before  # inputs untouched
    scan = Image.open(out / "1950s" / "scan.png")
    assert scan.mode == "RGBA" and scan.size == (128, 128)
    assert (np.asarray(scan)[..., 3] == 200).all()  # alpha carried over
    assert Image.open(out / "astronaut.png").size == (128, 128)
    assert re.search(r"^revive: device: (cpu|cuda) \(\w+ExecutionProvider", result.stderr, re.MULTILINE)
    assert "Traceback" not in result.stderr


def test_a_bad_file_fails_alone(album, weights_dir, tmp_path):
    bad = album / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "out"
    result = revive("photo", album, "-o", out, "--weights", weights_dir, "--colorize", "never")
    assert result.returncode == 1
    assert (out / "astronaut.png").is_file() and (out / "1950s" / "scan.png").is_file()
    assert not (out / "broken.png").exists()
    errors = [line for line in result.stderr.splitlines() if line.startswith("revive: error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"revive: error: {bad}: cannot decode (") and errors[0].endswith("corrupt")
    assert "Traceback" not in result.stderr
    assert not list(out.rglob("*.tmp"))


def test_inputs_are_never_overwritten(weights_dir, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(data.astronaut()[::8, ::8]).save(photo)
    before = photo.read_bytes()
    result = revive("photo", photo, "-o", tmp_path, "--weights", weights_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == f"revive: error: {photo}: refusing to write {photo}: that is an input file"
    assert photo.read_bytes() == before


def test_missing_inputs_and_weights_are_one_line_errors(weights_dir, tmp_path):
    result = revive("photo", tmp_path / "nope.jpg", "-o", tmp_path / "out", "--weights", weights_dir)
    assert result.returncode == 1
    assert result.stderr.strip() == f"revive: error: {tmp_path / 'nope.jpg'}: No such file or directory"
    Image.fromarray(data.astronaut()[::8, ::8]).save(tmp_path / "a.png")
    result = revive("photo", tmp_path / "a.png", "-o", tmp_path / "out", "--weights", tmp_path / "empty")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("revive: error: ") and "manifest.json: not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _cuda_starts(weights_dir: Path) -> bool:
    from restore.pipeline import Restorer

    restorer = Restorer(weights_dir, device="auto")
    restorer.prepare(colorize="never")
    return restorer.device_used == "cuda"


def test_device_auto_without_cuda_falls_back_in_one_line(weights_dir, tmp_path):
    photo = tmp_path / "a.png"
    Image.fromarray(data.camera()[::8, ::8]).save(photo)
    result = revive("photo", photo, "-o", tmp_path / "out", "--weights", weights_dir, "--device", "auto", "-v")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "a.png").is_file()
    fallbacks = [line for line in result.stderr.splitlines() if "CUDA could not start" in line]
    if "revive: device: cpu" in result.stderr:  # both models, one line: the second goes straight to the CPU
        assert len(fallbacks) == 1, result.stderr
        assert re.fullmatch(r"revive: CUDA could not start \(.+\); running on CPU", fallbacks[0])
    else:
        assert not fallbacks
    assert result.stdout == ""  # no ONNX Runtime banners
    assert all(line.startswith("revive: ") for line in result.stderr.splitlines()), result.stderr


def test_device_auto_on_a_machine_without_an_nvidia_driver_says_nothing_of_cuda(weights_dir, tmp_path):
    from restore.engine import nvidia_driver_present

    if nvidia_driver_present():
        pytest.skip("this machine has an NVIDIA driver: a CUDA failure here is worth its warning")
    photo = tmp_path / "a.png"
    Image.fromarray(data.camera()[::8, ::8]).save(photo)
    result = revive("photo", photo, "-o", tmp_path / "out", "--weights", weights_dir, "--device", "auto")
    assert result.returncode == 0, result.stderr
    assert "CUDA" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_device_cuda_without_cuda_is_a_one_line_error(weights_dir, tmp_path):
    if _cuda_starts(weights_dir):
        pytest.skip("CUDA works on this machine")
    photo = tmp_path / "a.png"
    Image.fromarray(data.camera()[::8, ::8]).save(photo)
    result = revive("photo", photo, "-o", tmp_path / "out", "--weights", weights_dir, "--device", "cuda")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.fullmatch(r"revive: error: --device cuda: .+; use --device auto or cpu", result.stderr.strip())
    assert not (tmp_path / "out" / "a.png").exists()


def test_version_and_help():
    assert revive("--version").stdout.strip() == f"revive {__version__}"
    top = revive("--help")
    assert top.returncode == 0 and "photo" in top.stdout
    photo = revive("photo", "--help")
    assert photo.returncode == 0
    assert "examples:" in photo.stdout and "--colorize {auto,always,never}" in photo.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["photo", "x.jpg"], "the following arguments are required: -o/--output"),
        (["photo", "x.jpg", "-o", "out", "--colorize", "sometimes"], "invalid choice: 'sometimes'"),
        (["photo", "x.jpg", "-o", "out", "--tile", "-1"], "must be >= 0"),
        (["photo", "x.jpg", "-o", "out", "--no-restore", "--colorize", "never"], "leaves nothing to do"),
        (["photo", "x.jpg", "-o", "out", "--strength", "1.5"], "must be from 0 to 1"),
    ],
)
def test_usage_errors_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_out_of_range_temperature_is_a_usage_error(weights_dir, tmp_path, capsys):
    Image.fromarray(data.astronaut()[::8, ::8]).save(tmp_path / "a.png")
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "photo",
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / "out"),
                "--weights",
                str(weights_dir),
                "--temperature",
                "7",
            ]
        )
    assert caught.value.code == 2 and "outside the colorize model's range" in capsys.readouterr().err


def test_strength_zero_leaves_a_colour_photo_as_it_was(weights_dir, tmp_path):
    photo = data.astronaut()[::8, ::8]
    Image.fromarray(photo).save(tmp_path / "a.png")
    args = ["photo", str(tmp_path / "a.png"), "--weights", str(weights_dir), "--colorize", "never"]
    assert main([*args, "-o", str(tmp_path / "zero"), "--strength", "0"]) == 0
    assert main([*args, "-o", str(tmp_path / "full")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "zero" / "a.png")), photo)
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "full" / "a.png")), photo)


def test_import_restore_is_light():
    code = "import sys, restore; print(sorted({m.split('.')[0] for m in sys.modules}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(eval(result.stdout))
    assert not loaded & {"torch", "gradio", "av", "onnxruntime", "onnx", "training"}


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_output_names_follow_the_documented_rule(tmp_path):
    a = _touch(tmp_path / "a" / "x.jpg")
    b = _touch(tmp_path / "b" / "x.jpg")
    same_stem = [_touch(tmp_path / "c" / "y.jpg"), _touch(tmp_path / "c" / "y.tif")]
    _touch(tmp_path / "c" / ".hidden.jpg")
    _touch(tmp_path / "c" / "out" / "old.png")  # the output folder inside an input folder is skipped
    out = tmp_path / "c" / "out"
    jobs, problems = plan_jobs([a, b, tmp_path / "c", a], out)
    assert problems == []
    assert [(j.source, j.output.relative_to(out).as_posix()) for j in jobs] == [
        (a, "a/x.png"),
        (b, "b/x.png"),
        (same_stem[0], "y.jpg.png"),
        (same_stem[1], "y.tif.png"),
    ]


def test_folders_are_sorted_naturally_and_empty_ones_reported(tmp_path):
    for name in ("img10.png", "img2.png", "IMG1.png"):
        _touch(tmp_path / "f" / name)
    (tmp_path / "empty").mkdir()
    jobs, problems = plan_jobs([tmp_path / "f", tmp_path / "empty"], tmp_path / "out")
    assert [j.source.name for j in jobs] == ["IMG1.png", "img2.png", "img10.png"]
    assert problems == [(str(tmp_path / "empty"), "no images found in this folder")]
    assert natural_key("b2") < natural_key("b10") < natural_key("c1")
