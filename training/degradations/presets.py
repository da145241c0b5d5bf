"""The named mixes: restore training, evaluation, the Bringing-Old-Photos recipe, colorizer training."""

from __future__ import annotations

import dataclasses

from training.degradations.schema import (
    Blur,
    Cracks,
    Crease,
    DegradationConfig,
    Dust,
    Exposure,
    Fade,
    Grain,
    Halftone,
    Jpeg,
    Noise,
    Resize,
    Scratches,
    Silvering,
    Stage,
    Tint,
    Vignette,
)


def _train() -> DegradationConfig:
    """Restore training: Real-ESRGAN's two orders (ranges cut for same-size restoration) and photo defects."""
    return DegradationConfig(
        stage1=Stage(
            blur=Blur(p=0.8, sigma=(0.2, 2.5)),
            resize=Resize(p=0.7, scale=(0.3, 1.0)),
            noise=Noise(p=0.8, sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5)),
            jpeg=Jpeg(p=0.7, quality=(30, 95)),
        ),
        vignette=Vignette(p=0.25),
        exposure=Exposure(p=0.3),
        grain=Grain(p=0.4),
        halftone=Halftone(p=0.05),
        fade=Fade(p=0.4),
        tint=Tint(p=0.3, strength=(0.2, 0.6)),
        crease=Crease(p=0.15),
        scratches=Scratches(p=0.5),
        dust=Dust(p=0.5),
        stage2=Stage(
            blur=Blur(p=0.5, kinds={"iso": 0.6, "aniso": 0.4}, kernel_size=(7, 11), sigma=(0.2, 1.2)),
            resize=Resize(p=0.5, scale=(0.5, 1.0)),
            noise=Noise(p=0.6, sigma=(1.0, 15.0), poisson_scale=(0.05, 1.5)),
            jpeg=Jpeg(p=0.8, quality=(30, 95)),
        ),
        stage2_p=0.8,
        grayscale_p=0.2,
    )


def _train2() -> DegradationConfig:
    """``train`` with 15% sound photos and half as many global tone changes (fade, tint, exposure, vignette).

    Measured on the model trained with ``train`` (model card): it changes the tone of photos that were not
    damaged, and makes 45 of 110 val photos worse than their degraded input.
    """
    base = _train()
    return dataclasses.replace(
        base,
        clean_p=0.15,
        vignette=dataclasses.replace(base.vignette, p=0.1),
        exposure=dataclasses.replace(base.exposure, p=0.15),
        fade=dataclasses.replace(base.fade, p=0.2),
        tint=dataclasses.replace(base.tint, p=0.1),
    )


def _train3() -> DegradationConfig:
    """``train2`` with what old prints also have (#19): selenium as well as sepia toning, silver mirroring, and
    more sound photos (25%), so that a restorer learns when not to act."""
    base = _train2()
    return dataclasses.replace(
        base,
        clean_p=0.25,
        tint=dataclasses.replace(base.tint, p=0.2, selenium_p=0.4),
        silvering=Silvering(p=0.1),
    )


def _train4() -> DegradationConfig:
    """``train3`` with networks of cracks (#19): the shipped restorer leaves the cracks of scratched prints."""
    return dataclasses.replace(_train3(), cracks=Cracks(p=0.3))


def _eval() -> DegradationConfig:
    """Fixed evaluation mix, a notch milder than ``train``. Pinned: changing it breaks comparing runs."""
    return DegradationConfig(
        stage1=Stage(
            blur=Blur(p=0.7, sigma=(0.3, 1.8)),
            resize=Resize(p=0.5, scale=(0.4, 1.0)),
            noise=Noise(p=0.7, sigma=(2.0, 20.0), poisson_scale=(0.1, 2.0)),
            jpeg=Jpeg(p=0.7, quality=(40, 90)),
        ),
        vignette=Vignette(p=0.2),
        exposure=Exposure(p=0.2),
        grain=Grain(p=0.3),
        fade=Fade(p=0.3),
        tint=Tint(p=0.2),
        crease=Crease(p=0.1),
        scratches=Scratches(p=0.5),
        dust=Dust(p=0.5),
        stage2=Stage(
            blur=Blur(p=0.3, kinds={"iso": 1.0}, kernel_size=(7, 9), sigma=(0.2, 1.0)),
            noise=Noise(p=0.5, sigma=(1.0, 10.0), poisson_scale=(0.05, 1.0)),
            jpeg=Jpeg(p=0.8, quality=(50, 95)),
        ),
        stage2_p=0.6,
        grayscale_p=0.2,
    )


def _bopbtl() -> DegradationConfig:
    """Bringing-Old-Photos-Back-to-Life (Wan et al. 2020), ``online_add_degradation_v2`` + scratch holes.

    Follows ``Global/data/online_dataset_for_old_photos.py``: blur, noise, low resolution and JPEG in
    random order, each with p = 0.7: cv2 Gaussian blur, k in {3, 5, 7}, sigma U(1, 5); one of Gaussian or
    speckle noise (sigma U(5, 50) / 255, per channel) or salt-and-pepper (amount U(0, 0.01), salt share
    U(0.3, 0.8)); bicubic down to U(w/2, w) x U(h/2, h), nearest or bilinear back up; JPEG quality 40-100;
    10% grayscale; then, with p = 0.5, an irregular white scratch mask pasted on at full opacity.

    Differences: their masks come from a dataset of real scratches, ours are synthetic random-walk strokes;
    resizing and JPEG are OpenCV's, not PIL's (no antialiasing on the bicubic downscale); their grayscale
    step grays the target too (see ``DegradationConfig``).
    """
    return DegradationConfig(
        stage1=Stage(
            blur=Blur(p=0.7, kinds={"iso": 1.0}, kernel_size=(3, 7), sigma=(1.0, 5.0)),
            resize=Resize(
                p=0.7,
                scale=(0.5, 1.0),
                per_axis=True,
                down=("bicubic",),
                up=("nearest", "bilinear"),
            ),
            noise=Noise(
                p=0.7,
                kinds={"gaussian": 1.0, "speckle": 1.0, "salt_pepper": 1.0},
                sigma=(5.0, 50.0),
                gray_p=0.0,
                amount=(0.0, 0.01),
                salt_ratio=(0.3, 0.8),
            ),
            jpeg=Jpeg(p=0.7, quality=(40, 100)),
            shuffle=True,
        ),
        scratches=Scratches(
            p=0.5,
            count=(3, 10),
            length=(0.1, 0.8),
            width=(1.0, 4.0),
            opacity=(1.0, 1.0),
            bright_p=1.0,
            bend=1.0,
            blur=(0.0, 0.0),
        ),
        grayscale_p=0.1,
    )


def _tone() -> DegradationConfig:
    """The tone effects alone: fading, yellowing and toning, uneven exposure, vignetting, silvering, gray copies,
    20% sound photos. What a restorer that leaves tone alone (``keep_tone``) hands the global tone correction
    (training.global_fit), which learns to undo it."""
    return DegradationConfig(
        clean_p=0.2,
        vignette=Vignette(p=0.2),
        exposure=Exposure(p=0.2),
        fade=Fade(p=0.35),
        tint=Tint(p=0.3, selenium_p=0.4),
        silvering=Silvering(p=0.1),
        grayscale_p=0.2,
    )


def _colorize() -> DegradationConfig:
    """Colorizer training: mild scan damage on a gray photo (the colorizer sees only L* of gray old scans).

    Always gray, so the L* it trains on is the L* of a gray RGB image, as at inference.
    """
    return DegradationConfig(
        stage1=Stage(
            blur=Blur(p=0.3, kinds={"iso": 0.7, "aniso": 0.3}, kernel_size=(5, 9), sigma=(0.2, 1.0)),
            resize=Resize(p=0.2, scale=(0.5, 1.0)),
            noise=Noise(p=0.3, sigma=(1.0, 10.0), poisson_scale=(0.05, 1.0)),
            jpeg=Jpeg(p=0.5, quality=(50, 95)),
        ),
        exposure=Exposure(p=0.1, strength=(0.05, 0.2)),
        grain=Grain(p=0.3, amount=(0.01, 0.04)),
        fade=Fade(p=0.3, contrast=(0.75, 0.95), black=(0.0, 0.1)),
        scratches=Scratches(p=0.15, count=(1, 3)),
        dust=Dust(p=0.2, density=(50.0, 300.0)),
        grayscale_p=1.0,
    )


PRESETS: dict[str, DegradationConfig] = {
    "train": _train(),
    "train2": _train2(),
    "train3": _train3(),
    "train4": _train4(),
    "tone": _tone(),
    "eval": _eval(),
    "bopbtl": _bopbtl(),
    "colorize": _colorize(),
}
