"""Example photos for the web UI, made at startup by damaging the clean pictures in restore/assets/.

The assets come from scikit-image's sample data (see restore/assets/README.md for their licences); the
damage is drawn here with numpy and OpenCV, from a fixed seed, so every start shows the same examples.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from restore.io_image import save_png_atomic

ASSETS = Path(__file__).resolve().parent / "assets"


def write_examples(folder: Path) -> list[tuple[Path, str]]:
    """Write the damaged example photos as PNGs into `folder`; return (path, label) pairs.

    Missing assets are skipped, so a stripped-down install simply shows fewer examples.
    """
    folder.mkdir(parents=True, exist_ok=True)
    makers = [
        ("astronaut.png", "scratched-bw-astronaut.png", "Scratched black-and-white print", _scratched_print),
        ("coffee.png", "faded-colour-coffee.png", "Faded, grainy colour photo", _faded_colour),
    ]
    examples = []
    for asset, name, label, damage in makers:
        source = cv2.imread(str(ASSETS / asset), cv2.IMREAD_COLOR)
        if source is None:
            continue
        rng = np.random.default_rng(len(examples))
        save_png_atomic(folder / name, damage(cv2.cvtColor(source, cv2.COLOR_BGR2RGB), rng))
        examples.append((folder / name, label))
    return examples


def _scratched_print(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gray, low contrast, grainy, with bright scratches and dark dust."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gray = 40 + gray * 0.7 + rng.normal(0, 9, gray.shape)
    height, width = gray.shape
    for _ in range(7):  # film-like scratches: long, nearly vertical, wandering a little
        top, length = rng.uniform(-0.2, 0.6) * height, rng.uniform(0.3, 1.0) * height
        ys = top + np.linspace(0, length, 24)
        xs = rng.uniform(0, width) + np.cumsum(rng.normal(0, 1.5, ys.size))
        curve = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(gray, [curve], False, float(rng.uniform(215, 250)), int(rng.integers(1, 3)), cv2.LINE_AA)
    for _ in range(40):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.circle(gray, centre, int(rng.integers(1, 3)), float(rng.uniform(10, 50)), -1, cv2.LINE_AA)
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def _faded_colour(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Washed out towards a warm cast, with colour noise."""
    faded = rgb.astype(np.float32) * 0.6 + np.array([90, 70, 40], np.float32)
    faded += rng.normal(0, 8, faded.shape)
    return np.clip(faded, 0, 255).astype(np.uint8)
