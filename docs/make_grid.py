"""Before/after grid of photos run through Revive, for the model card and for looking at results.

    python docs/make_grid.py ../shared/data/old-photos -o docs/old_photos_grid.png --count 8

Several ``--weights`` folders give one result column each (a contact sheet comparing models), e.g.
``--weights runs/a/weights --weights runs/b/weights --colorize always --no-restore``. Several ``--render-size``
values give one column each per weights folder.

The grid holds the input photos, so keep it out of git when they are not yours to publish (the default output
name is in .gitignore).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from restore.files import natural_key
from restore.io_image import IMAGE_EXTENSIONS, load_image, save_png_atomic
from restore.pipeline import Restorer

CELL = 384  # longest side of each picture in the grid


def fit(rgb: np.ndarray, size: int = CELL) -> np.ndarray:
    """Resize to `size` on the longest side and centre on a white square."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    canvas = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/old_photos_grid.png"))
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument(
        "--weights", type=Path, action="append", help="weights folder (repeat to compare; default: the shipped)"
    )
    parser.add_argument("--no-restore", dest="restore", action="store_false", help="colourize only")
    parser.add_argument("--colorize", default="auto", choices=("auto", "always", "never"))
    parser.add_argument("--temperature", type=float, default=None, help="colour temperature (default: the model's)")
    parser.add_argument(
        "--render-size", type=int, action="append", help="colour render size (repeat to compare; default: the model's)"
    )
    args = parser.parse_args()

    paths = sorted(
        (p for p in args.folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS), key=lambda p: natural_key(p.name)
    )
    step = max(1, len(paths) // args.count)
    restorers = [Restorer(weights, device="auto") for weights in args.weights or [None]]
    rows = []
    for path in paths[::step][: args.count]:
        photo = load_image(path).rgb
        results = [
            restorer.process(
                photo, restore=args.restore, colorize=args.colorize, temperature=args.temperature, render_size=size
            )
            for restorer in restorers
            for size in args.render_size or [None]
        ]
        rows.append(np.concatenate([fit(photo)] + [fit(result) for result in results], axis=1))
        print(f"{path.name}: {photo.shape[1]}x{photo.shape[0]}")
    half = (len(rows) + 1) // 2
    columns = [np.concatenate(rows[:half], axis=0), np.concatenate(rows[half:], axis=0)] if len(rows) > 1 else rows
    if len(columns) == 2 and columns[1].shape[0] < columns[0].shape[0]:
        pad = np.full((columns[0].shape[0] - columns[1].shape[0], columns[1].shape[1], 3), 255, np.uint8)
        columns[1] = np.concatenate([columns[1], pad], axis=0)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_png_atomic(args.output, np.concatenate(columns, axis=1))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
