"""Training-test material made in code: scikit-image's sample photos as a folder, and a tiny restore recipe."""

from __future__ import annotations

from pathlib import Path

import cv2
from skimage import data

SAMPLE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
# a restorer small enough to train and export in seconds
TINY_RESTORE = [
    {"generator": {"width": 8, "depth": 2}},
    {"critic": {"width": 8, "layers": 2}},
    {"batch": 2, "crop": 32, "iters": 3, "pretrain_iters": 3, "workers": 0, "threads": 1},
    {"save_every": 3, "val_every": 3, "val_images": 2},
]


def write_sample_photos(folder: Path, names: tuple[str, ...] = SAMPLE_PHOTOS, suffix: str = ".jpg") -> Path:
    """scikit-image's sample photos `names`, written into `folder` (made if missing) as `suffix` files: the kind of
    folder users train on."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        cv2.imwrite(str(folder / f"{name}{suffix}"), cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR))
    return folder


def tiny_restore_config(photos: Path, out: Path, *extra: dict):
    """The TINY_RESTORE recipe on `photos` (training and validation), writing its run to `out`, then `extra`."""
    from training.config import resolve

    return resolve(
        "restore", overrides=[*TINY_RESTORE, {"data": str(photos), "val": str(photos), "out": str(out)}, *extra]
    )
