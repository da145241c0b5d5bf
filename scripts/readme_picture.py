"""Make the README's before/after picture from the web UI's example photos and the shipped weights.

    python scripts/readme_picture.py [--weights weights/] [--out docs/images/before-after.jpg]

The examples are scikit-image sample pictures damaged in code (restore/web_examples.py; licences in
restore/assets/README.md), so the repository may show them. Each row: the damaged photo, then Revive's result.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from restore import Restorer, load_image
from restore.web_examples import write_examples

ROW_HEIGHT = 320
GAP = 6


def side_by_side(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The two RGB images scaled to ROW_HEIGHT, with a white gap between them."""
    scaled = [cv2.resize(image, (round(image.shape[1] * ROW_HEIGHT / image.shape[0]), ROW_HEIGHT),
                         interpolation=cv2.INTER_AREA) for image in (before, after)]  # fmt: skip
    gap = np.full((ROW_HEIGHT, GAP, 3), 255, np.uint8)
    return np.hstack([scaled[0], gap, scaled[1]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="model folder (default: the shipped weights)")
    parser.add_argument("--out", type=Path, default=Path("docs/images/before-after.jpg"))
    args = parser.parse_args(argv)
    restorer = Restorer(weights_dir=args.weights, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for path, _label in write_examples(Path(folder)):
            damaged = load_image(path).rgb
            rows.append(side_by_side(damaged, restorer.process(damaged)))
    width = max(row.shape[1] for row in rows)
    padded = [np.pad(row, ((0, GAP), (0, width - row.shape[1]), (0, 0)), constant_values=255) for row in rows]
    picture = np.vstack(padded)[:-GAP]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{args.out}: {picture.shape[1]}x{picture.shape[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
