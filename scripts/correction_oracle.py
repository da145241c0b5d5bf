"""How much a global colour correction could add behind the restore model: the per-photo best affine colour
transform (least squares against the clean photo, which no real correction knows) and what it gains.

    python scripts/correction_oracle.py PHOTOS_DIR [--weights weights/] [--limit 40] [--preset eval]

Each photo is degraded with the preset (one seed per file name, as revive-train eval does), restored as the CPU
runs it, and fitted by a 3 x 4 affine transform rgb -> clean; printed: mean PSNR of the input, the restored photo,
and the restored photo after its best transform. Use training photos (a holdout), not val.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from restore import Restorer
from training.data import list_images
from training.evaluate import restore_pair
from training.metrics import psnr


def best_affine(image: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """`image` through the least-squares affine colour transform onto `clean` (uint8 in and out)."""
    x = image.reshape(-1, 3).astype(np.float64) / 255
    design = np.hstack([x, np.ones((len(x), 1))])
    matrix, *_ = np.linalg.lstsq(design, clean.reshape(-1, 3).astype(np.float64) / 255, rcond=None)
    return (np.clip(design @ matrix, 0, 1).reshape(image.shape) * 255).round().astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--preset", default="eval")
    args = parser.parse_args(argv)
    restorer = Restorer(args.weights, device="cpu")
    rows = []
    for path in list_images(args.photos)[: args.limit]:
        clean, degraded = restore_pair(path, args.preset)
        restored = restorer.process(degraded, restore=True, colorize="never")
        rows.append((psnr(clean, degraded), psnr(clean, restored), psnr(clean, best_affine(restored, clean))))
    inp, out, best = np.mean(rows, axis=0)
    worse = sum(r[1] < r[0] for r in rows), sum(r[2] < r[0] for r in rows)
    print(f"{len(rows)} photos, preset {args.preset}: input {inp:.2f} dB, restored {out:.2f} dB "
          f"({worse[0]} worse than input), restored + best affine {best:.2f} dB ({worse[1]} worse)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
