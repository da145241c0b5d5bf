"""docs/make_grid.py: the before/after grid and the contact sheet comparing several weights folders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
from skimage import data

REPO = Path(__file__).resolve().parents[1]
CELL = 384


def _photos(folder: Path) -> Path:
    folder.mkdir()
    for name, rgb in (("astronaut", data.astronaut()), ("coffee", data.coffee())):
        cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    return folder


def _grid(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "grid.png"
    command = [sys.executable, "docs/make_grid.py", str(_photos(tmp_path / "photos")), "-o", str(out), *options]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300), out


def test_one_result_column_per_weights_folder(tmp_path, weights_dir):
    run, out = _grid(
        tmp_path, "--count", "2", "--weights", str(weights_dir), "--weights", str(weights_dir), "--colorize", "always"
    )
    assert run.returncode == 0, run.stderr
    grid = cv2.imread(str(out))
    # two photos side by side, each as input + two results
    assert grid.shape == (CELL, 2 * 3 * CELL, 3)
    left_input, left_first, left_second = (grid[:, i * CELL : (i + 1) * CELL] for i in range(3))
    assert (left_first == left_second).all()  # the same weights give the same picture
    assert left_first.std(axis=2).mean() > left_input.std(axis=2).mean()  # the results are in colour


def test_without_weights_option_a_single_result_column(tmp_path, weights_dir, monkeypatch):
    monkeypatch.setenv("REVIVE_WEIGHTS", str(weights_dir))
    run, out = _grid(tmp_path, "--count", "1", "--no-restore")
    assert run.returncode == 0, run.stderr
    assert cv2.imread(str(out)).shape == (CELL, 2 * CELL, 3)


def test_one_result_column_per_render_size(tmp_path, weights_dir):
    run, out = _grid(tmp_path, "--count", "1", "--colorize", "always", "--render-size", "32", "--render-size", "256")
    assert run.returncode == 0, run.stderr
    grid = cv2.imread(str(out))
    assert grid.shape == (CELL, 3 * CELL, 3)  # the input and one result per render size
    small, large = (grid[:, i * CELL : (i + 1) * CELL].astype(int) for i in (1, 2))
    assert abs(small - large).mean() > 0.5  # colour rendered at 32 px differs from colour at 256 px
