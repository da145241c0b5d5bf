"""The degradation options: one frozen, validated dataclass per effect, and their nested-dict form (YAML)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cv2

Range = tuple[float, float]
IntRange = tuple[int, int]
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
    """Yellowed paper (multiplicative warm cast), or a toned black-and-white print: sepia (warm tone curve of
    the luminance) or selenium (purple-brown shadows, neutral highlights)."""

    p: float = 0.0
    strength: Range = (0.2, 0.6)
    sepia_p: float = 0.4
    selenium_p: float = 0.0  # of the prints not sepia-toned


@dataclass(frozen=True)
class Silvering(_Checked):
    """Silver mirroring: a bluish metallic sheen on the dark parts of an old print, strongest at its edges."""

    p: float = 0.0
    strength: Range = (0.2, 0.6)  # blend towards the silver colour where the sheen is fullest
    reach: Range = (0.05, 0.25)  # how far it creeps in from the edges, as a share of the shorter side


@dataclass(frozen=True)
class Crease(_Checked):
    """A long fold across the photo: a faint lit/shaded ridge with a broken white crack along it."""

    p: float = 0.0
    count: IntRange = (1, 2)
    width: Range = (3.0, 10.0)  # px
    strength: Range = (0.05, 0.2)  # brightness change of the ridge


@dataclass(frozen=True)
class Cracks(_Checked):
    """A network of cracks in the emulsion, the paper showing through: jagged lines that cross the print and
    branch, with flakes broken off along them (the damage of Bringing-Old-Photos' scratched test prints)."""

    p: float = 0.0
    count: IntRange = (2, 8)  # main cracks
    length: Range = (0.3, 1.2)  # fraction of the longer side
    width: Range = (1.0, 3.5)  # px
    branches: IntRange = (0, 3)  # shorter cracks leaving each crack
    bend: float = 0.6  # standard deviation of the total change of direction, radians
    flake_p: float = 0.03  # per 8 px of crack, the chance of a flake of emulsion lost beside it
    opacity: Range = (0.75, 1.0)
    paper: Range = (0.0, 0.25)  # yellowing of the paper that shows: 0 white, 1 strongly cream


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
    silvering: Silvering = field(default_factory=Silvering)
    crease: Crease = field(default_factory=Crease)
    cracks: Cracks = field(default_factory=Cracks)
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
