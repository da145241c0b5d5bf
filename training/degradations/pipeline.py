"""The whole pipeline on one photo: stage 1, the defects, stage 2, gray; seeded per file name."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from restore.color import as_gray, to_uint8
from training.degradations.chain import stage
from training.degradations.defects import DEFECTS
from training.degradations.sampling import happens
from training.degradations.schema import DegradationConfig

# The defects that change the tone and colour of the whole print rather than damage it here and there
TONE_EFFECTS = frozenset({"vignette", "exposure", "fade", "tint", "silvering"})
# The damage done here and there, which a restorer must find and paint over (its defect map)
DAMAGE = frozenset({"crease", "cracks", "scratches", "dust"})
DAMAGE_LEVEL = 0.1  # a pixel is fully damaged where the damage moved a channel by this much (0-1 units) or more


@dataclass(frozen=True)
class Degraded:
    """A degraded copy of a photo with what training learns from besides the photo itself."""

    image: np.ndarray  # (h, w, 3) uint8 RGB: the degraded copy
    toned: np.ndarray | None  # (h, w, 3) uint8 RGB: the clean photo given only the copy's tone effects
    # (TONE_EFFECTS), when asked for
    damage: np.ndarray  # (h, w) float32 in [0, 1]: where the damage (DAMAGE) changed the print, and how much


def degrade(image: np.ndarray, config: DegradationConfig, rng: np.random.Generator) -> np.ndarray:
    """Degraded copy of an (h, w, 3) uint8 RGB image: same size, RGB uint8; same ``rng`` state, same bytes."""
    return degrade_sample(image, config, rng, toned=False).image


def degrade_sample(
    image: np.ndarray, config: DegradationConfig, rng: np.random.Generator, toned: bool = True
) -> Degraded:
    """``degrade``'s bytes (the same draws from ``rng``), with (``toned``) the tone-only target of a restorer that
    leaves tone alone and the damage map of the print (the largest change a DAMAGE effect made to a pixel, in units of
    DAMAGE_LEVEL, clipped to 1; stage 2 then blurs and compresses the damage, not the map)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    damage = np.zeros(image.shape[:2], np.float32)
    if happens(rng, config.clean_p):  # draws nothing when clean_p is 0: other presets keep their bytes
        return Degraded(image.copy(), image.copy() if toned else None, damage)
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
            before = img
            img = np.clip(effect(img, effect_cfg, rng), 0.0, 1.0)
            if name in DAMAGE:
                change = np.abs(img - before).max(axis=2) / DAMAGE_LEVEL
                damage = np.maximum(damage, np.minimum(change, 1.0))
    if happens(rng, config.stage2_p):
        img = stage(img, config.stage2, rng)
    out = to_uint8(img)
    if happens(rng, config.grayscale_p):
        out = as_gray(out)
    return Degraded(out, None if target is None else to_uint8(target), damage)


def seed_for(name: str) -> int:
    """Stable per-image seed: CRC-32 of the file name (e.g. ``"photo_001.jpg"``), equal in every process."""
    return zlib.crc32(name.encode("utf-8"))
