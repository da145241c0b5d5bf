"""Synthetic old-photo degradations: turn a clean photo into the degraded input of a training pair.

One seeded pipeline, configured by nested dataclasses, runs in this order:

1. ``stage1``: the first-order chain of Real-ESRGAN (Wang et al. 2021, "Training Real-World Blind
   Super-Resolution with Pure Synthetic Data"): blur -> resize down and back up -> noise -> JPEG.
2. Old-photo defects, in the order they happen to a print: vignette, uneven exposure, film grain, halftone
   screen (capture and printing); fading, yellowing or sepia (ageing); crease, scratches, dust (damage).
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
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from restore.atomic import atomic_path
from restore.color import to_uint8

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would query PyPI on import
from albumentations.augmentations.blur import functional as fblur  # noqa: E402
from albumentations.augmentations.geometric import functional as fgeometric  # noqa: E402
from albumentations.augmentations.pixel import functional as fpixel  # noqa: E402

Range = tuple[float, float]
IntRange = tuple[int, int]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "area": cv2.INTER_AREA,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
}


class _Checked:
    """Validates a config dataclass on construction (also after ``dataclasses.replace``)."""

    KINDS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            where = f"{type(self).__name__}.{f.name}"
            if f.name == "p" or f.name.endswith("_p"):
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{where} must be a probability in [0, 1], got {value}")
            elif f.name == "kinds":
                weights = list(value.values())
                if set(value) - set(self.KINDS) or min(weights, default=-1) < 0 or not sum(weights):
                    raise ValueError(f"{where} must map some of {self.KINDS} to weights >= 0, got {value}")
            elif f.name in ("down", "up"):
                if not value or set(value) - set(INTERPOLATIONS):
                    raise ValueError(f"{where} must be a non-empty list from {sorted(INTERPOLATIONS)}")
            elif isinstance(value, tuple) and not (len(value) == 2 and 0 <= value[0] <= value[1]):
                raise ValueError(f"{where} must be a range (low, high) with 0 <= low <= high, got {value}")


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Blur(_Checked):
    """Blur kernel: isotropic / anisotropic Gaussian (Real-ESRGAN), camera motion, defocus disk."""

    KINDS: ClassVar[tuple[str, ...]] = ("iso", "aniso", "motion", "defocus")
    p: float = 0.0
    kinds: dict[str, float] = field(
        default_factory=lambda: {"iso": 0.5, "aniso": 0.3, "motion": 0.1, "defocus": 0.1},
    )
    kernel_size: IntRange = (7, 15)  # px, odd sizes in this range (iso, aniso)
    sigma: Range = (0.2, 2.0)  # px; aniso draws one sigma per axis
    motion_length: IntRange = (3, 9)  # px, odd
    defocus_radius: IntRange = (1, 3)  # px


@dataclass(frozen=True)
class Resize(_Checked):
    """Resize by a random factor, then back to the input size."""

    p: float = 0.0
    scale: Range = (0.3, 1.0)
    per_axis: bool = False  # independent factors for width and height
    down: tuple[str, ...] = ("area", "bilinear", "bicubic")
    up: tuple[str, ...] = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class Noise(_Checked):
    """Gaussian and Poisson noise (Real-ESRGAN); speckle and salt-and-pepper (Bringing-Old-Photos)."""

    KINDS: ClassVar[tuple[str, ...]] = ("gaussian", "poisson", "speckle", "salt_pepper")
    p: float = 0.0
    kinds: dict[str, float] = field(default_factory=lambda: {"gaussian": 0.5, "poisson": 0.5})
    sigma: Range = (1.0, 30.0)  # 0-255 units (gaussian, speckle)
    poisson_scale: Range = (0.05, 3.0)
    gray_p: float = 0.4  # same noise on all channels
    amount: Range = (0.0, 0.01)  # salt_pepper: fraction of values hit
    salt_ratio: Range = (0.3, 0.8)  # salt_pepper: share of the hits that turn white


@dataclass(frozen=True)
class Jpeg(_Checked):
    """JPEG compression round trip."""

    p: float = 0.0
    quality: IntRange = (30, 95)


@dataclass(frozen=True)
class Stage(_Checked):
    """One order of the Real-ESRGAN chain: blur -> resize -> noise -> JPEG (random order if ``shuffle``)."""

    blur: Blur = field(default_factory=Blur)
    resize: Resize = field(default_factory=Resize)
    noise: Noise = field(default_factory=Noise)
    jpeg: Jpeg = field(default_factory=Jpeg)
    shuffle: bool = False


@dataclass(frozen=True)
class Vignette(_Checked):
    """Darkening towards the corners (lens falloff), centre jittered by up to 10% of the frame."""

    p: float = 0.0
    strength: Range = (0.2, 0.5)  # light lost at the corners


@dataclass(frozen=True)
class Exposure(_Checked):
    """Uneven exposure: a smooth random gain field (bicubic upsampling of a coarse Gaussian grid)."""

    p: float = 0.0
    strength: Range = (0.1, 0.4)  # standard deviation of the gain, in stops
    grid: IntRange = (2, 4)  # grid nodes along the longer side


@dataclass(frozen=True)
class Grain(_Checked):
    """Film grain: blurred Gaussian noise, strongest in the mid-tones."""

    p: float = 0.0
    amount: Range = (0.015, 0.05)  # standard deviation at mid-gray, in [0, 1] units
    size: Range = (0.3, 0.8)  # px, blur sigma of the grain
    mono_p: float = 0.8  # grain shared by all channels (black-and-white film)


@dataclass(frozen=True)
class Halftone(_Checked):
    """A faint rotated dot screen, as in photos reproduced in print."""

    p: float = 0.0
    pitch: Range = (3.0, 6.0)  # px between dots
    angle: Range = (0.0, 90.0)  # degrees
    strength: Range = (0.05, 0.2)  # blend towards the screened image


@dataclass(frozen=True)
class Fade(_Checked):
    """Faded print: less saturation and contrast, lifted black level."""

    p: float = 0.0
    contrast: Range = (0.6, 0.9)
    black: Range = (0.03, 0.2)  # new black level
    saturation: Range = (0.5, 1.0)


@dataclass(frozen=True)
class Tint(_Checked):
    """Yellowed paper (multiplicative warm cast) or sepia toning (warm tone curve of the luminance)."""

    p: float = 0.0
    strength: Range = (0.2, 0.6)
    sepia_p: float = 0.4


@dataclass(frozen=True)
class Crease(_Checked):
    """A long fold across the photo: a faint lit/shaded ridge with a broken white crack along it."""

    p: float = 0.0
    count: IntRange = (1, 2)
    width: Range = (3.0, 10.0)  # px
    strength: Range = (0.05, 0.2)  # brightness change of the ridge


@dataclass(frozen=True)
class Scratches(_Checked):
    """Thin bright (emulsion scraped off) and dark curves, broken in places and slightly blurred."""

    p: float = 0.0
    count: IntRange = (1, 8)
    length: Range = (0.05, 1.0)  # fraction of the longer side
    width: Range = (0.5, 1.5)  # px; below 1 px drawn as a fainter 1 px line
    opacity: Range = (0.4, 0.9)
    bright_p: float = 0.7
    bend: float = 0.4  # standard deviation of the total change of direction, radians
    blur: Range = (0.3, 0.8)  # px, sigma


@dataclass(frozen=True)
class Dust(_Checked):
    """Bright and dark specks, mostly tiny, and a few short fibres."""

    p: float = 0.0
    density: Range = (100.0, 1000.0)  # specks per megapixel
    radius: Range = (0.3, 2.5)  # px, mostly small
    opacity: Range = (0.4, 1.0)
    bright_p: float = 0.5
    hair_p: float = 0.1  # share of specks that are fibres
    hair_length: Range = (4.0, 20.0)  # px


@dataclass(frozen=True)
class DegradationConfig(_Checked):
    """The whole pipeline; fields run in this order.

    ``clean_p`` returns that share of images untouched, so a restorer also learns to leave a sound photo
    alone. ``grayscale_p`` makes the output gray (3 equal channels). A restore trainer should then gray the
    target too (as Bringing-Old-Photos does), or the network is asked to invent colour.
    """

    clean_p: float = 0.0
    stage1: Stage = field(default_factory=Stage)
    vignette: Vignette = field(default_factory=Vignette)
    exposure: Exposure = field(default_factory=Exposure)
    grain: Grain = field(default_factory=Grain)
    halftone: Halftone = field(default_factory=Halftone)
    fade: Fade = field(default_factory=Fade)
    tint: Tint = field(default_factory=Tint)
    crease: Crease = field(default_factory=Crease)
    scratches: Scratches = field(default_factory=Scratches)
    dust: Dust = field(default_factory=Dust)
    stage2: Stage = field(default_factory=Stage)
    stage2_p: float = 0.0
    grayscale_p: float = 0.0


def config_to_dict(config: DegradationConfig) -> dict[str, Any]:
    """Plain nested dict (ranges as lists) for YAML/JSON and run folders."""
    return _plain(dataclasses.asdict(config))


def config_from_dict(data: Mapping[str, Any], base: DegradationConfig | None = None) -> DegradationConfig:
    """Config from a (partial) nested dict; missing keys keep the values of ``base`` (default: all off).

    Unknown keys raise ``ValueError``. A ``kinds`` dict replaces the base one instead of merging into it.
    """
    return _merge(base if base is not None else DegradationConfig(), data, "")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _merge(obj: Any, data: Mapping[str, Any], where: str) -> Any:
    names = {f.name for f in dataclasses.fields(obj)}
    unknown = sorted(f"{where}{key}" for key in data if key not in names)
    if unknown:
        raise ValueError(f"unknown degradation option(s): {', '.join(unknown)}")
    changes = {}
    for key, value in data.items():
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _merge(current, value, f"{where}{key}.")
        elif isinstance(current, tuple):
            changes[key] = tuple(type(current[0])(item) for item in value)
        elif isinstance(current, dict):
            changes[key] = {str(name): float(weight) for name, weight in value.items()}
        elif isinstance(current, bool):
            changes[key] = bool(value)
        else:
            changes[key] = type(current)(value)
    return dataclasses.replace(obj, **changes)


# --------------------------------------------------------------------------------------------- sampling


def _uniform(rng: np.random.Generator, bounds: Range) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _integer(rng: np.random.Generator, bounds: IntRange) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _odd(rng: np.random.Generator, bounds: IntRange) -> int:
    """An odd number in ``bounds`` (an even lower bound is rounded up)."""
    low = bounds[0] | 1
    return low + 2 * int(rng.integers(0, max(0, bounds[1] - low) // 2 + 1))


def _happens(rng: np.random.Generator, p: float) -> bool:
    return p > 0 and rng.random() < p


def _pick(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    """A key of ``weights``, drawn with probability proportional to its weight."""
    names, values = list(weights), np.array(list(weights.values()))
    return names[int(rng.choice(len(names), p=values / values.sum()))]


def _one_of(rng: np.random.Generator, names: tuple[str, ...]) -> str:
    return names[int(rng.integers(len(names)))]


def _luma(img: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (the weights of PIL ``convert("L")`` and OpenCV), shape (h, w)."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


# ------------------------------------------------------------------------------------------ Real-ESRGAN chain


def _aniso_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """Rotated bivariate Gaussian kernel (Real-ESRGAN ``bivariate_Gaussian``), normalised to sum 1."""
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    inv_cov = np.linalg.inv(rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T)
    ax = np.arange(size) - size // 2
    grid = np.stack(np.meshgrid(ax, ax), axis=-1)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inv_cov, grid))
    return (kernel / kernel.sum()).astype(np.float32)


def _blur(img: np.ndarray, cfg: Blur, rng: np.random.Generator) -> np.ndarray:
    """Convolve with one kernel drawn from ``cfg.kinds``; every kernel is centred, so nothing shifts."""
    kind = _pick(rng, cfg.kinds)
    if kind == "iso":
        size = _odd(rng, cfg.kernel_size)
        return fpixel.separable_convolve(img, fblur.create_gaussian_kernel_1d(_uniform(rng, cfg.sigma), size))
    if kind == "aniso":
        size = _odd(rng, cfg.kernel_size)
        sigma_x, sigma_y = _uniform(rng, cfg.sigma), _uniform(rng, cfg.sigma)
        return fpixel.convolve(img, _aniso_kernel(size, sigma_x, sigma_y, rng.uniform(-np.pi, np.pi)))
    if kind == "motion":
        size = max(3, _odd(rng, cfg.motion_length))
        # direction 0 keeps the streak symmetric about the centre; random_state is only used when shifted
        angle = rng.uniform(0, 180)
        kernel = fblur.create_motion_kernel(size, angle, 0.0, allow_shifted=False, random_state=None)
        return fpixel.convolve(img, kernel / kernel.sum())
    return fblur.defocus(img, _integer(rng, cfg.defocus_radius), _uniform(rng, (0.1, 0.5)))


def _resize(img: np.ndarray, cfg: Resize, rng: np.random.Generator) -> np.ndarray:
    """Resize by a random factor with a random filter, then back to the input size with another."""
    height, width = img.shape[:2]
    scale_y = _uniform(rng, cfg.scale)
    scale_x = _uniform(rng, cfg.scale) if cfg.per_axis else scale_y
    size = (max(1, round(height * scale_y)), max(1, round(width * scale_x)))
    small = fgeometric.resize(img, size, INTERPOLATIONS[_one_of(rng, cfg.down)])
    return fgeometric.resize(small, (height, width), INTERPOLATIONS[_one_of(rng, cfg.up)])


def _noise(img: np.ndarray, cfg: Noise, rng: np.random.Generator) -> np.ndarray:
    """Add noise of one kind; with probability ``gray_p`` the same noise goes to every channel."""
    kind = _pick(rng, cfg.kinds)
    shape = img.shape[:2] + ((1,) if _happens(rng, cfg.gray_p) else (3,))
    if kind == "salt_pepper":
        hit = rng.random(shape, dtype=np.float32) < _uniform(rng, cfg.amount)
        salt = rng.random(shape, dtype=np.float32) < _uniform(rng, cfg.salt_ratio)
        return np.where(hit, salt.astype(np.float32), img)
    gauss = rng.standard_normal(shape, dtype=np.float32)
    if kind == "poisson":
        # Real-ESRGAN's poisson(255 x) / 255 - x for an 8-bit signal x, in its normal approximation
        # N(0, x / 255): same mean and variance, several times cheaper than sampling Poisson counts
        signal = _luma(img)[..., None] if shape[2] == 1 else img
        return img + gauss * np.sqrt(signal / 255.0) * _uniform(rng, cfg.poisson_scale)
    sigma = _uniform(rng, cfg.sigma) / 255.0
    return img + gauss * sigma * (img if kind == "speckle" else 1.0)


def _jpeg(img: np.ndarray, cfg: Jpeg, rng: np.random.Generator) -> np.ndarray:
    """JPEG round trip at a random quality, fed as BGR so libjpeg's YCbCr and chroma subsampling are right."""
    bgr = cv2.cvtColor(to_uint8(img), cv2.COLOR_RGB2BGR)
    decoded = fpixel.image_compression(bgr, _integer(rng, cfg.quality), ".jpg")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


_CHAIN: tuple[tuple[str, Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]], ...] = (
    ("blur", _blur),
    ("resize", _resize),
    ("noise", _noise),
    ("jpeg", _jpeg),
)


def _stage(img: np.ndarray, cfg: Stage, rng: np.random.Generator) -> np.ndarray:
    """One order of the chain; each step happens with its own probability."""
    order = rng.permutation(len(_CHAIN)) if cfg.shuffle else range(len(_CHAIN))
    for index in order:
        name, step = _CHAIN[index]
        step_cfg = getattr(cfg, name)
        if _happens(rng, step_cfg.p):
            img = np.clip(step(img, step_cfg, rng), 0.0, 1.0)
    return img


# ------------------------------------------------------------------------------------------ old-photo defects


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates as broadcastable (h, 1) and (1, w) float32 arrays."""
    y = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return y, np.arange(width, dtype=np.float32)[None, :] + 0.5


def _vignette(img: np.ndarray, cfg: Vignette, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    y, x = _grid(height, width)
    cy, cx = height * _uniform(rng, (0.4, 0.6)), width * _uniform(rng, (0.4, 0.6))
    r2 = ((x - cx) / (width / 2)) ** 2 + ((y - cy) / (height / 2)) ** 2  # about 2 at the corners
    gain = 1.0 - _uniform(rng, cfg.strength) * np.minimum(r2 / 2.0, 1.0) ** 1.5
    return img * gain[..., None]


def _exposure(img: np.ndarray, cfg: Exposure, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    nodes = _integer(rng, cfg.grid) / max(height, width)
    shape = (max(2, round(height * nodes)), max(2, round(width * nodes)))
    coarse = rng.standard_normal(shape, dtype=np.float32)
    stops = _uniform(rng, cfg.strength) * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return img * np.exp2(stops)[..., None]


def _grain(img: np.ndarray, cfg: Grain, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    size = _uniform(rng, cfg.size)
    ksize = 2 * int(np.ceil(3 * size)) + 1
    noise = rng.standard_normal((height, width, 1), dtype=np.float32)
    if not _happens(rng, cfg.mono_p):  # colour film: the dye layers' grain is partly shared
        noise = (noise + 0.5 * rng.standard_normal((height, width, 3), dtype=np.float32)) / math.sqrt(1.25)
    noise = cv2.GaussianBlur(noise, (ksize, ksize), size)
    noise = noise.reshape(height, width, -1) / float(np.sum(cv2.getGaussianKernel(ksize, size) ** 2))  # std 1
    luma = _luma(img)[..., None]
    amplitude = _uniform(rng, cfg.amount) * (0.25 + 3.0 * luma * (1.0 - luma))  # x1 mid-gray, x0.25 ends
    return img + amplitude * noise


def _halftone(img: np.ndarray, cfg: Halftone, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(*img.shape[:2])
    theta = math.radians(_uniform(rng, cfg.angle))
    pitch = _uniform(rng, cfg.pitch)
    freq = 2 * math.pi / pitch
    u, v = x * math.cos(theta) + y * math.sin(theta), y * math.cos(theta) - x * math.sin(theta)
    screen = 0.5 + 0.25 * (np.cos(u * freq) + np.cos(v * freq))  # threshold in [0, 1]
    luma = _luma(img)
    dots = np.clip((luma - screen) * 4.0 + 0.5, 0.0, 1.0)  # ink dots grow with darkness
    texture = dots - cv2.GaussianBlur(dots, (0, 0), pitch / 2)  # the screen only, not its tone curve
    return img + _uniform(rng, cfg.strength) * texture[..., None]


def _fade(img: np.ndarray, cfg: Fade, rng: np.random.Generator) -> np.ndarray:
    luma = _luma(img)[..., None]
    mean = float(luma.mean())
    out = luma + _uniform(rng, cfg.saturation) * (img - luma)
    out = mean + _uniform(rng, cfg.contrast) * (out - mean)
    black = _uniform(rng, cfg.black)
    return black + (1.0 - black) * out


def _tint(img: np.ndarray, cfg: Tint, rng: np.random.Generator) -> np.ndarray:
    strength = _uniform(rng, cfg.strength)
    if _happens(rng, cfg.sepia_p):
        luma = _luma(img)[..., None]
        sepia = luma ** np.array([1.0, 1.3, 1.9], dtype=np.float32)  # brown shadows, cream highlights
        return img + strength * (sepia - img)
    return img * np.array([1.0, 1.0 - 0.3 * strength, 1.0 - 0.75 * strength], dtype=np.float32)


def _fold(img: np.ndarray, cfg: Crease, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    y, x = _grid(height, width)
    longer = max(height, width)
    along_edge = rng.random() < 0.7  # most photos are folded parallel to an edge
    theta = rng.integers(2) * math.pi / 2 + rng.normal(0, 0.03) if along_edge else rng.uniform(0, math.pi)
    py, px = rng.uniform(0, height), rng.uniform(0, width)
    along = (y - py) * math.cos(theta) - (x - px) * math.sin(theta)
    across = (x - px) * math.cos(theta) + (y - py) * math.sin(theta)
    period = _uniform(rng, (0.5, 1.5)) * longer
    wave = 0.01 * longer * np.sin(along * (2 * math.pi / period) + rng.uniform(0, 2 * math.pi))
    z = (across + wave) / (_uniform(rng, cfg.width) / 2)
    ridge = z * np.exp(-z * z) / 0.43  # in [-1, 1]: lit on one side of the fold, shaded on the other
    knots = np.arange(-longer, longer + 8, 8, dtype=np.float32)
    broken = np.interp(along, knots, (rng.random(knots.size) < 0.6).astype(np.float32)).astype(np.float32)
    crack = np.exp(-4 * z * z) * broken  # white where the emulsion cracked
    strength = _uniform(rng, cfg.strength)
    out = img + (strength * ridge)[..., None]
    return out + (1.5 * strength * crack)[..., None] * (1.0 - out)


def _crease(img: np.ndarray, cfg: Crease, rng: np.random.Generator) -> np.ndarray:
    for _ in range(_integer(rng, cfg.count)):
        img = _fold(img, cfg, rng)
    return img


def _soften(mask: np.ndarray, sigma: float) -> np.ndarray:
    """uint8 coverage mask -> float32 in [0, 1], Gaussian-blurred by ``sigma`` px."""
    out = mask.astype(np.float32) / 255.0
    return cv2.GaussianBlur(out, (0, 0), sigma) if sigma > 0 else out


def _composite(img: np.ndarray, bright: np.ndarray, dark: np.ndarray) -> np.ndarray:
    """Pull pixels towards white by ``bright`` and towards black by ``dark`` (coverages in [0, 1])."""
    out = img + bright[..., None] * (1.0 - img)
    return out * (1.0 - dark[..., None])


def _walk(rng: np.random.Generator, start: np.ndarray, length: float, bend: float, steps: int) -> np.ndarray:
    """Vertices of a random-walk polyline; its heading drifts by N(0, ``bend``) radians over its length."""
    headings = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, bend / np.sqrt(steps), steps))
    moves = (length / steps) * np.stack([np.cos(headings), np.sin(headings)], axis=1)
    return np.vstack([start, moves]).cumsum(axis=0)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Coordinates with 4 fractional bits, for OpenCV drawing with ``shift=4``."""
    return np.round(points * 16).astype(np.int32)


def _draw_scratch(mask: np.ndarray, cfg: Scratches, rng: np.random.Generator) -> None:
    """One scratch, anti-aliased into ``mask``; its depth varies along it and it breaks off here and there."""
    height, width = mask.shape
    start = rng.uniform(0, 1, 2) * [width, height]
    points = _fixed(_walk(rng, start, _uniform(rng, cfg.length) * max(height, width), cfg.bend, 24))
    width_px = _uniform(rng, cfg.width)
    value = 255 * _uniform(rng, cfg.opacity) * min(1.0, width_px)  # sub-pixel widths as fainter 1 px lines
    for a, b in itertools.pairwise(points):
        if rng.random() < 0.95:
            shade = round(value * rng.uniform(0.6, 1.0))
            start_xy, end_xy = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
            cv2.line(mask, start_xy, end_xy, shade, max(1, round(width_px)), cv2.LINE_AA, shift=4)


def _scratches(img: np.ndarray, cfg: Scratches, rng: np.random.Generator) -> np.ndarray:
    bright, dark = np.zeros(img.shape[:2], np.uint8), np.zeros(img.shape[:2], np.uint8)
    for _ in range(_integer(rng, cfg.count)):
        _draw_scratch(bright if rng.random() < cfg.bright_p else dark, cfg, rng)
    sigma = _uniform(rng, cfg.blur)
    return _composite(img, _soften(bright, sigma), _soften(dark, sigma))


def _draw_speck(mask: np.ndarray, cfg: Dust, rng: np.random.Generator, at: np.ndarray, shade: int) -> None:
    """An irregular speck or (probability ``hair_p``) a short curly fibre, into a 2x supersampled mask."""
    if rng.random() < cfg.hair_p:
        points = _walk(rng, at, 2 * _uniform(rng, cfg.hair_length), 3.0, 8)
        cv2.polylines(mask, [_fixed(points)], False, shade, int(rng.integers(1, 3)), cv2.LINE_AA, shift=4)
        return
    angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
    radius = cfg.radius[0] + (cfg.radius[1] - cfg.radius[0]) * rng.random() ** 2  # mostly small
    radii = 2 * radius * rng.uniform(0.6, 1.3, 7)
    outline = at + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    cv2.fillPoly(mask, [_fixed(outline)], shade, cv2.LINE_AA, shift=4)


def _dust(img: np.ndarray, cfg: Dust, rng: np.random.Generator) -> np.ndarray:
    """Specks drawn at twice the resolution and area-downsampled, so sub-pixel specks stay round and faint."""
    height, width = img.shape[:2]
    count = int(rng.poisson(_uniform(rng, cfg.density) * height * width / 1e6))
    bright, dark = np.zeros((2 * height, 2 * width), np.uint8), np.zeros((2 * height, 2 * width), np.uint8)
    for _ in range(count):
        mask = bright if rng.random() < cfg.bright_p else dark
        centre = rng.uniform(0, 1, 2) * [2 * width, 2 * height]
        _draw_speck(mask, cfg, rng, centre, round(255 * _uniform(rng, cfg.opacity)))
    bright, dark = (cv2.resize(m, (width, height), interpolation=cv2.INTER_AREA) for m in (bright, dark))
    return _composite(img, _soften(bright, 0.4), _soften(dark, 0.4))


_DEFECTS: tuple[tuple[str, Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]], ...] = (
    ("vignette", _vignette),
    ("exposure", _exposure),
    ("grain", _grain),
    ("halftone", _halftone),
    ("fade", _fade),
    ("tint", _tint),
    ("crease", _crease),
    ("scratches", _scratches),
    ("dust", _dust),
)


# --------------------------------------------------------------------------------------------- public API


def degrade(image: np.ndarray, config: DegradationConfig, rng: np.random.Generator) -> np.ndarray:
    """Degraded copy of an (h, w, 3) uint8 RGB image: same size, RGB uint8; same ``rng`` state, same bytes."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (h, w, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    if _happens(rng, config.clean_p):  # draws nothing when clean_p is 0: other presets keep their bytes
        return image.copy()
    img = image.astype(np.float32) / 255.0
    img = _stage(img, config.stage1, rng)
    for name, effect in _DEFECTS:
        effect_cfg = getattr(config, name)
        if _happens(rng, effect_cfg.p):
            img = np.clip(effect(img, effect_cfg, rng), 0.0, 1.0)
    if _happens(rng, config.stage2_p):
        img = _stage(img, config.stage2, rng)
    out = to_uint8(img)
    if _happens(rng, config.grayscale_p):
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    return out


def seed_for(name: str) -> int:
    """Stable per-image seed: CRC-32 of the file name (e.g. ``"photo_001.jpg"``), equal in every process."""
    return zlib.crc32(name.encode("utf-8"))


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
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {path}")
        rng = np.random.default_rng(seed_for(path.name) ^ seed)
        rgb = degrade(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), PRESETS[preset], rng)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise RuntimeError(f"PNG encoding failed for {path}")
        with atomic_path(out_dir / f"{path.stem}.png") as tmp:
            tmp.write_bytes(png.tobytes())
    return len(paths)


# --------------------------------------------------------------------------------------------- presets


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
    "eval": _eval(),
    "bopbtl": _bopbtl(),
    "colorize": _colorize(),
}
