"""How much a global colour correction could add behind the restore model: the per-photo best affine colour
transform (least squares against the clean photo, which no real correction knows) and what it gains.

    python scripts/correction_oracle.py PHOTOS_DIR [--weights weights/] [--limit 40] [--preset eval] [--toned]

Each photo is degraded with the preset (one seed per file name, as revive-train eval does), restored as the CPU
runs it, and fitted by a 3 x 4 affine transform rgb -> clean; printed: mean PSNR of the input, the restored photo,
and the restored photo after its best transform. `--toned` fits the degradation's tone-only copy instead of the
restored photo (what a perfect restorer that leaves tone alone gives, and so what a global tone correction
behind it has to undo; no model runs), over the photos whose tone the preset changed. Use training photos (a
holdout), not val.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from restore import Restorer
from restore.color import as_gray
from training.data import list_images, read_rgb, restore_target
from training.degradations import PRESETS, degrade_sample, seed_for
from training.evaluate import restore_pair
from training.metrics import psnr


def best_affine(image: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """`image` through the least-squares affine colour transform onto `clean` (uint8 in and out)."""
    x = image.reshape(-1, 3).astype(np.float64) / 255
    design = np.hstack([x, np.ones((len(x), 1))])
    matrix, *_ = np.linalg.lstsq(design, clean.reshape(-1, 3).astype(np.float64) / 255, rcond=None)
    return (np.clip(design @ matrix, 0, 1).reshape(image.shape) * 255).round().astype(np.uint8)


def toned_pair(path: Path, preset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(target, degraded, tone-only copy) of restore_pair's degradation, the copy gray when the degraded one is."""
    clean = read_rgb(path)
    sample = degrade_sample(clean, PRESETS[preset], np.random.default_rng(seed_for(path.name)))
    target = restore_target(clean, sample.image)
    return target, sample.image, as_gray(sample.toned) if target is not clean else sample.toned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--preset", default="eval")
    parser.add_argument("--toned", action="store_true", help="fit the tone-only copy, not the restored photo")
    args = parser.parse_args(argv)
    if args.toned:
        rows = []
        for path in list_images(args.photos)[: args.limit]:
            clean, degraded, toned = toned_pair(path, args.preset)
            if not np.array_equal(toned, clean):
                rows.append((psnr(clean, degraded), psnr(clean, toned), psnr(clean, best_affine(toned, clean))))
        inp, out, best = np.mean(rows, axis=0)
        print(f"{len(rows)} photos whose tone preset {args.preset} changed: input {inp:.2f} dB, tone-only copy "
              f"{out:.2f} dB, tone-only copy + best affine {best:.2f} dB")  # fmt: skip
        return 0
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
