"""Colour hints for the colorizer: an HxWx3 float32 map of a*, b* (Lab units) and a mask (1 where hinted).

restore.hint_spread spreads given hints over the colorize model's automatic colours (a model with a hints input gets
all zeros there; its hints input conditions only the palette's colour distribution).
Hints come from a painted image (its opaque pixels) or from JSON points, read by load_hints for the CLI, the
Python API and the web UI alike.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from restore.color import rgb_to_lab
from restore.errors import HintsError, ImageError, first_line
from restore.io_image import load_image

POINT_KEYS = ("x", "y", "color", "radius")  # the first three are required
DEFAULT_RADIUS = 0.005  # of the photo's longer side: about 5x5 px at a 512 px render size, as trained
MIN_ALPHA = 128  # pixels of a hint image at least this opaque are hints
ASPECT_TOLERANCE = 0.02  # how far a hint image's shape may differ from the photo's (log of the ratios)
_HEX = re.compile(r"#([0-9a-f]{6}|[0-9a-f]{3})")
_CSS_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+%?\s*)?\)")


def no_hints(height: int, width: int) -> np.ndarray:
    """The all-zero hint map: automatic colourization."""
    return np.zeros((height, width, 3), np.float32)


def resize_hints(hints: np.ndarray, height: int, width: int) -> np.ndarray:
    """`hints` at another size: a*b* averaged over the hinted pixels of each new pixel, which counts as hinted
    when any of them was (a 1 px hint on a large photo survives the render size)."""
    if hints.shape[:2] == (height, width):
        return hints.astype(np.float32, copy=False)
    ab, coverage = shrink_hints(hints, height, width)
    return np.concatenate([ab, coverage[..., None] > 0], axis=2).astype(np.float32)


def shrink_hints(hints: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """`hints` area-resized to height x width: (a*b* averaged over the hinted pixels of each new pixel, 0 where
    none is; the hinted share of each new pixel)."""
    mask = hints[..., 2:3].astype(np.float32)
    weighted = np.concatenate([hints[..., :2] * mask, mask], axis=2)
    small = cv2.resize(weighted, (width, height), interpolation=cv2.INTER_AREA).reshape(height, width, 3)
    coverage = np.where(small[..., 2] > 1e-6, small[..., 2], 0.0).astype(np.float32)
    ab = small[..., :2] / np.maximum(coverage, 1e-6)[..., None] * (coverage > 0)[..., None]
    return ab.astype(np.float32), coverage


def load_hints(path: str | os.PathLike[str], height: int, width: int, max_pixels: int | None = None) -> np.ndarray:
    """The hint map, at height x width, of a hints file: JSON points (a .json file, see parse_points) or an image
    with transparency (any other name: its opaque pixels are hints in their colour, see image_hints).

    Raises HintsError, naming the file, for anything wrong with it."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            return render_points(parse_points(path.read_text(encoding="utf-8")), height, width)
        image = load_image(path, max_pixels=max_pixels)
        return image_hints(image.rgb, image.alpha, height, width)
    except ImageError as exc:
        raise HintsError(path, exc.reason) from None
    except UnicodeDecodeError:
        raise HintsError(path, "not a text file; hint points are JSON in UTF-8") from None
    except OSError as exc:
        raise HintsError(path, exc.strerror or first_line(exc)) from None
    except ValueError as exc:
        raise HintsError(path, str(exc)) from None


def image_hints(rgb: np.ndarray, alpha: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """The hint map of a painted hint image (RGB + alpha) scaled to height x width: pixels at least half opaque
    are hints of their colour's a*b*. ValueError without alpha, or for a shape other than the photo's."""
    if alpha is None:
        raise ValueError("has no transparency: hints are the opaque pixels of an image with alpha (an RGBA PNG)")
    own_height, own_width = rgb.shape[:2]
    mismatch = abs(math.log((own_width / own_height) / (width / height)))
    if mismatch > ASPECT_TOLERANCE + 1 / min(own_height, own_width):  # (and one pixel of rounding)
        raise ValueError(
            f"is {own_width}x{own_height} px, a different shape from the {width}x{height} photo "
            "(a hint image is scaled to the photo, never cropped)"
        )
    mask = (alpha >= MIN_ALPHA).astype(np.float32)[..., None]
    ab = rgb_to_lab(rgb)[..., 1:] * mask
    return resize_hints(np.concatenate([ab, mask], axis=2), height, width)


@dataclass(frozen=True)
class HintPoint:
    """One point hint. x, y and radius as written: a float from 0 to 1 is a fraction (of the width, the height,
    the longer side), any other number pixels. rgb: the hint's colour."""

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float = DEFAULT_RADIUS

    def as_json(self) -> dict[str, float | str]:
        """The point as parse_points reads it."""
        return {"x": self.x, "y": self.y, "color": hex_colour(self.rgb), "radius": self.radius}

    def centre(self, height: int, width: int) -> tuple[int, int]:
        """The pixel (x, y) of the point on a height x width photo; ValueError if it lies outside."""
        return _pixel(self.x, width, "x"), _pixel(self.y, height, "y")

    def pixel_radius(self, height: int, width: int) -> float:
        """The radius in pixels on a height x width photo."""
        return self.radius * max(height, width) if _is_fraction(self.radius) else self.radius


def parse_points(text: str) -> list[HintPoint]:
    """Hint points from JSON: a list of {"x": X, "y": Y, "color": "#RRGGBB", "radius": R} (radius optional).
    Empty text is no points; ValueError, naming the point, for anything else that is not such a list."""
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, list):
        raise ValueError('hint points must be a JSON list of {"x": ..., "y": ..., "color": "#RRGGBB"}')
    return [_parse_point(number, item) for number, item in enumerate(data, 1)]


def render_points(points: Sequence[HintPoint], height: int, width: int) -> np.ndarray:
    """The hint map of `points` on a height x width photo: a filled disc per point, later points on top.
    ValueError for a point outside the photo."""
    hints = no_hints(height, width)
    for number, point in enumerate(points, 1):
        try:
            centre = point.centre(height, width)
        except ValueError as exc:
            raise ValueError(f"point {number}: {exc}") from None
        a, b = rgb_to_lab(np.array([[point.rgb]], np.uint8))[0, 0, 1:]
        cv2.circle(hints, centre, round(point.pixel_radius(height, width)), (float(a), float(b), 1.0), thickness=-1)
    return hints


def points_json(points: Sequence[HintPoint]) -> str:
    """`points` as the JSON that parse_points reads."""
    return json.dumps([point.as_json() for point in points])


def overlay_hints(base: np.ndarray | None, top: np.ndarray | None) -> np.ndarray | None:
    """`top`'s hints over `base`'s (either may be None)."""
    if base is None or top is None:
        return top if base is None else base
    return np.where(top[..., 2:3] > 0, top, base)


def parse_colour(text: object) -> tuple[int, int, int]:
    """An sRGB colour from "#RRGGBB", "#RGB" or CSS "rgb(r, g, b)" / "rgba(r, g, b, a)" (as colour pickers write)."""
    value = str(text).strip().lower()
    if match := _HEX.fullmatch(value):
        digits = match[1] if len(match[1]) == 6 else "".join(c * 2 for c in match[1])
        return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    if (match := _CSS_RGB.fullmatch(value)) and all(float(c) <= 255 for c in match.groups()[:3]):
        return tuple(round(float(c)) for c in match.groups()[:3])  # type: ignore[return-value]
    raise ValueError(f"color {text!r} is not #RRGGBB")


def hex_colour(rgb: Sequence[int]) -> str:
    """An sRGB colour as "#rrggbb"."""
    return "#" + "".join(f"{int(c):02x}" for c in rgb)


def _parse_point(number: int, item: object) -> HintPoint:
    if not isinstance(item, dict):
        raise ValueError(f'point {number}: not an object like {{"x": 0.5, "y": 0.5, "color": "#3050c0"}}')
    unknown = sorted(set(item) - set(POINT_KEYS))
    if unknown:
        raise ValueError(f"point {number}: unknown key {unknown[0]!r} (keys: {', '.join(POINT_KEYS)})")
    missing = [key for key in POINT_KEYS[:3] if key not in item]
    if missing:
        raise ValueError(f"point {number}: no {missing[0]!r}")
    values = {key: item[key] for key in ("x", "y", "radius") if key in item}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise ValueError(f"point {number}: {key} must be a number >= 0, not {value!r}")
    try:
        rgb = parse_colour(item["color"])
    except ValueError as exc:
        raise ValueError(f"point {number}: {exc}") from None
    return HintPoint(x=values["x"], y=values["y"], rgb=rgb, radius=values.get("radius", DEFAULT_RADIUS))


def _is_fraction(value: float) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


def _pixel(value: float, size: int, what: str) -> int:
    """The pixel index (0 to size - 1) of a coordinate given as a fraction or in pixels."""
    if _is_fraction(value):
        return min(int(value * size), size - 1)
    if value >= size:
        raise ValueError(f"{what}={value} is outside the photo ({size} px; fractions are written 0.0 to 1.0)")
    return int(value)
