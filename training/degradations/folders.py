"""Degrade a whole folder of photos into PNGs, the same way every time (evaluation sets)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from restore.atomic import atomic_path
from restore.io_image import load_image
from training.degradations.pipeline import degrade, seed_for
from training.degradations.presets import PRESETS

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def degrade_folder(preset: str, in_dir: Path, out_dir: Path, seed: int = 0) -> int:
    """Write a degraded PNG (same stem) of every image in ``in_dir`` to ``out_dir``; returns how many.

    Image ``name`` uses the generator ``seed_for(name) ^ seed``, so a folder degrades the same way every time.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if out_dir.resolve() == in_dir.resolve():
        raise ValueError("out_dir must differ from in_dir (outputs would overwrite PNG inputs)")
    paths = sorted(p for p in in_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    stems = [p.stem for p in paths]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise ValueError(f"several inputs share a stem, outputs would collide: {', '.join(clashes)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        rng = np.random.default_rng(seed_for(path.name) ^ seed)
        rgb = degrade(load_image(path, max_pixels=None).rgb, PRESETS[preset], rng)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {path}")
        with atomic_path(out_dir / f"{path.stem}.png") as tmp:
            tmp.write_bytes(png.tobytes())
    return len(paths)
