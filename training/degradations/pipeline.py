"""The whole pipeline on one photo: stage 1, the defects, stage 2, gray; seeded per file name."""

from __future__ import annotations

import zlib

import cv2
import numpy as np

from restore.color import to_uint8
from training.degradations.chain import stage
from training.degradations.defects import DEFECTS
from training.degradations.sampling import happens
from training.degradations.schema import DegradationConfig

# The defects that change the tone and colour of the whole print rather than damage it here and there
TONE_EFFECTS = frozenset({"vignette", "exposure", "fade", "tint", "silvering"})


def degrade(image: np.ndarray, config: DegradationConfig, rng: np.random.Generator) -> np.ndarray:
    """Degraded copy of an (h, w, 3) uint8 RGB image: same size, RGB uint8; same ``rng`` state, same bytes."""
    return _degrade(image, config, rng, toned=False)[0]


def degrade_pair(
    image: np.ndarray, config: DegradationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, toned): ``degrade``'s bytes, and ``image`` given only the tone effects (``TONE_EFFECTS``) of
    the degraded copy, each with the same parameters: the target of a restorer that leaves tone alone."""
    degraded, toned = _degrade(image, config, rng, toned=True)
    return degraded, toned if toned is not None else image.copy()


def _degrade(
    image: np.ndarray, config: DegradationConfig, rng: np.random.Generator, toned: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    if happens(rng, config.clean_p):  # draws nothing when clean_p is 0: other presets keep their bytes
        return image.copy(), None
    img = image.astype(np.float32) / 255.0
    target = img.copy() if toned else None
    img = stage(img, config.stage1, rng)
    for name, effect in DEFECTS:
        effect_cfg = getattr(config, name)
        if happens(rng, effect_cfg.p):
            if target is not None and name in TONE_EFFECTS:  # a twin generator: the same draws for the target
                twin = np.random.Generator(type(rng.bit_generator)())
                twin.bit_generator.state = rng.bit_generator.state
                target = np.clip(effect(target, effect_cfg, twin), 0.0, 1.0)
            img = np.clip(effect(img, effect_cfg, rng), 0.0, 1.0)
    if happens(rng, config.stage2_p):
        img = stage(img, config.stage2, rng)
    out = to_uint8(img)
    if happens(rng, config.grayscale_p):
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    return out, None if target is None else to_uint8(target)


def seed_for(name: str) -> int:
    """Stable per-image seed: CRC-32 of the file name (e.g. ``"photo_001.jpg"``), equal in every process."""
    return zlib.crc32(name.encode("utf-8"))
