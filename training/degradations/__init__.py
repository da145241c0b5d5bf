"""Synthetic old-photo degradations: turn a clean photo into the degraded input of a training pair.

One seeded pipeline, configured by nested dataclasses, runs in this order:

1. ``stage1``: the first-order chain of Real-ESRGAN (Wang et al. 2021, "Training Real-World Blind
   Super-Resolution with Pure Synthetic Data"): blur -> resize down and back up -> noise -> JPEG.
2. Old-photo defects, in the order they happen to a print: vignette, uneven exposure, film grain, halftone
   screen (capture and printing); fading, yellowing or sepia (ageing); crease, cracks, scratches, dust
   (damage).
3. ``stage2``: the second-order chain with its own, milder ranges, applied with probability ``stage2_p``.
4. Conversion to gray with probability ``grayscale_p``.

Real-ESRGAN runs its two stages back to back. Here the print defects sit between them: stage 1 stands for the
original camera and print, stage 2 for the scan and the digital copies, so scratches and dust are softened and
compressed like on real scans.

Units: sizes that describe the whole photo (scratch length, exposure field, vignette, crease waviness) are
relative to the image, so a 160 px crop and a full photo look alike in kind; widths, kernel sizes, grain,
speck and halftone sizes are in pixels, because training crops keep the resolution of the photo they come
from.
Noise sigmas are in 0-255 units like in the papers; the effects work on float32 RGB in [0, 1].

Every effect is off by default (``p = 0``): ``DegradationConfig()`` returns the input unchanged, and the
``PRESETS`` switch on a mix. All randomness comes from the ``np.random.Generator`` given to ``degrade``;
albumentations is called through its functional API with parameters drawn from that generator, so the same
seed gives the same bytes in every process.

Modules: ``schema`` (the options), ``sampling`` (random draws), ``chain`` (stages 1 and 2), ``defects`` (the
print's defects), ``pipeline`` (``degrade``; ``degrade_sample`` adds the tone-only target and the damage map),
``presets`` (the named mixes), ``folders`` (a folder at a time).
"""

from training.degradations.folders import degrade_folder
from training.degradations.pipeline import DAMAGE, TONE_EFFECTS, Degraded, degrade, degrade_sample, seed_for
from training.degradations.presets import PRESETS
from training.degradations.schema import DegradationConfig, config_from_dict, config_to_dict

__all__ = [
    "DAMAGE",
    "PRESETS",
    "TONE_EFFECTS",
    "DegradationConfig",
    "Degraded",
    "config_from_dict",
    "config_to_dict",
    "degrade",
    "degrade_sample",
    "degrade_folder",
    "seed_for",
]
