"""Old-photo defects in the order they happen to a print: capture and printing, ageing, damage."""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would query PyPI on import

from training.degradations.sampling import happens, integer, luma_of, uniform
from training.degradations.schema import (
    Cracks,
    Crease,
    Dust,
    Exposure,
    Fade,
    Grain,
    Halftone,
    Scratches,
    Silvering,
    Tint,
    Vignette,
)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates as broadcastable (h, 1) and (1, w) float32 arrays."""
    y = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return y, np.arange(width, dtype=np.float32)[None, :] + 0.5


def _vignette(img: np.ndarray, cfg: Vignette, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    y, x = _grid(height, width)
    cy, cx = height * uniform(rng, (0.4, 0.6)), width * uniform(rng, (0.4, 0.6))
    r2 = ((x - cx) / (width / 2)) ** 2 + ((y - cy) / (height / 2)) ** 2  # about 2 at the corners
    gain = 1.0 - uniform(rng, cfg.strength) * np.minimum(r2 / 2.0, 1.0) ** 1.5
    return img * gain[..., None]


def _exposure(img: np.ndarray, cfg: Exposure, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    nodes = integer(rng, cfg.grid) / max(height, width)
    shape = (max(2, round(height * nodes)), max(2, round(width * nodes)))
    coarse = rng.standard_normal(shape, dtype=np.float32)
    stops = uniform(rng, cfg.strength) * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return img * np.exp2(stops)[..., None]


def _grain(img: np.ndarray, cfg: Grain, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    size = uniform(rng, cfg.size)
    ksize = 2 * int(np.ceil(3 * size)) + 1
    noise = rng.standard_normal((height, width, 1), dtype=np.float32)
    if not happens(rng, cfg.mono_p):  # colour film: the dye layers' grain is partly shared
        noise = (noise + 0.5 * rng.standard_normal((height, width, 3), dtype=np.float32)) / math.sqrt(1.25)
    noise = cv2.GaussianBlur(noise, (ksize, ksize), size)
    noise = noise.reshape(height, width, -1) / float(np.sum(cv2.getGaussianKernel(ksize, size) ** 2))  # std 1
    luma = luma_of(img)[..., None]
    amplitude = uniform(rng, cfg.amount) * (0.25 + 3.0 * luma * (1.0 - luma))  # x1 mid-gray, x0.25 ends
    return img + amplitude * noise


def _halftone(img: np.ndarray, cfg: Halftone, rng: np.random.Generator) -> np.ndarray:
    y, x = _grid(*img.shape[:2])
    theta = math.radians(uniform(rng, cfg.angle))
    pitch = uniform(rng, cfg.pitch)
    freq = 2 * math.pi / pitch
    u, v = x * math.cos(theta) + y * math.sin(theta), y * math.cos(theta) - x * math.sin(theta)
    screen = 0.5 + 0.25 * (np.cos(u * freq) + np.cos(v * freq))  # threshold in [0, 1]
    luma = luma_of(img)
    dots = np.clip((luma - screen) * 4.0 + 0.5, 0.0, 1.0)  # ink dots grow with darkness
    texture = dots - cv2.GaussianBlur(dots, (0, 0), pitch / 2)  # the screen only, not its tone curve
    return img + uniform(rng, cfg.strength) * texture[..., None]


def _fade(img: np.ndarray, cfg: Fade, rng: np.random.Generator) -> np.ndarray:
    luma = luma_of(img)[..., None]
    mean = float(luma.mean())
    out = luma + uniform(rng, cfg.saturation) * (img - luma)
    out = mean + uniform(rng, cfg.contrast) * (out - mean)
    black = uniform(rng, cfg.black)
    return black + (1.0 - black) * out


def _tint(img: np.ndarray, cfg: Tint, rng: np.random.Generator) -> np.ndarray:
    strength = uniform(rng, cfg.strength)
    if happens(rng, cfg.sepia_p):
        luma = luma_of(img)[..., None]
        sepia = luma ** np.array([1.0, 1.3, 1.9], dtype=np.float32)  # brown shadows, cream highlights
        return img + strength * (sepia - img)
    if happens(rng, cfg.selenium_p):
        luma = luma_of(img)[..., None]
        selenium = luma ** np.array([1.1, 1.3, 1.05], dtype=np.float32)  # purple-brown shadows, white highlights
        return img + strength * (selenium - img)
    return img * np.array([1.0, 1.0 - 0.3 * strength, 1.0 - 0.75 * strength], dtype=np.float32)


SILVER = np.array([0.62, 0.65, 0.70], dtype=np.float32)  # the bluish gray of silver mirroring


def _silvering(img: np.ndarray, cfg: Silvering, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    y, x = _grid(height, width)
    reach = uniform(rng, cfg.reach) * min(height, width)
    edges = rng.uniform(0.3, 1.0, 4).astype(np.float32)  # each edge of the print silvered to its own degree
    distances = (y, height - y, x, width - x)
    near_edge = functools.reduce(np.maximum, [w * np.exp(-d / reach) for w, d in zip(edges, distances, strict=True)])
    darkness = (1.0 - luma_of(img)) ** 2
    sheen = (uniform(rng, cfg.strength) * near_edge * darkness)[..., None]
    return img + sheen * (SILVER - img)


def _fold(img: np.ndarray, cfg: Crease, rng: np.random.Generator) -> np.ndarray:
    height, width = img.shape[:2]
    y, x = _grid(height, width)
    longer = max(height, width)
    along_edge = rng.random() < 0.7  # most photos are folded parallel to an edge
    theta = rng.integers(2) * math.pi / 2 + rng.normal(0, 0.03) if along_edge else rng.uniform(0, math.pi)
    py, px = rng.uniform(0, height), rng.uniform(0, width)
    along = (y - py) * math.cos(theta) - (x - px) * math.sin(theta)
    across = (x - px) * math.cos(theta) + (y - py) * math.sin(theta)
    period = uniform(rng, (0.5, 1.5)) * longer
    wave = 0.01 * longer * np.sin(along * (2 * math.pi / period) + rng.uniform(0, 2 * math.pi))
    z = (across + wave) / (uniform(rng, cfg.width) / 2)
    ridge = z * np.exp(-z * z) / 0.43  # in [-1, 1]: lit on one side of the fold, shaded on the other
    knots = np.arange(-longer, longer + 8, 8, dtype=np.float32)
    broken = np.interp(along, knots, (rng.random(knots.size) < 0.6).astype(np.float32)).astype(np.float32)
    crack = np.exp(-4 * z * z) * broken  # white where the emulsion cracked
    strength = uniform(rng, cfg.strength)
    out = img + (strength * ridge)[..., None]
    return out + (1.5 * strength * crack)[..., None] * (1.0 - out)


def _crease(img: np.ndarray, cfg: Crease, rng: np.random.Generator) -> np.ndarray:
    for _ in range(integer(rng, cfg.count)):
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
    points = _fixed(_walk(rng, start, uniform(rng, cfg.length) * max(height, width), cfg.bend, 24))
    width_px = uniform(rng, cfg.width)
    value = 255 * uniform(rng, cfg.opacity) * min(1.0, width_px)  # sub-pixel widths as fainter 1 px lines
    for a, b in itertools.pairwise(points):
        if rng.random() < 0.95:
            shade = round(value * rng.uniform(0.6, 1.0))
            start_xy, end_xy = (int(a[0]), int(a[1])), (int(b[0]), int(b[1]))
            cv2.line(mask, start_xy, end_xy, shade, max(1, round(width_px)), cv2.LINE_AA, shift=4)


def _scratches(img: np.ndarray, cfg: Scratches, rng: np.random.Generator) -> np.ndarray:
    bright, dark = np.zeros(img.shape[:2], np.uint8), np.zeros(img.shape[:2], np.uint8)
    for _ in range(integer(rng, cfg.count)):
        _draw_scratch(bright if rng.random() < cfg.bright_p else dark, cfg, rng)
    sigma = uniform(rng, cfg.blur)
    return _composite(img, _soften(bright, sigma), _soften(dark, sigma))


PAPER = np.array([1.0, 0.93, 0.78], dtype=np.float32)  # the cream of old photographic paper, fully yellowed


def _draw_crack(
    mask: np.ndarray,
    cfg: Cracks,
    rng: np.random.Generator,
    start: np.ndarray,
    length: float,
    width_px: float,
    depth: int,
) -> None:
    """One jagged crack from ``start`` into a 2x supersampled ``mask``: a kink every 8 px of the photo, its
    width varying along it; shorter branches (two levels deep) and flakes leave it."""
    steps = max(2, round(length / 16))
    points = _walk(rng, start, length, cfg.bend, steps) + rng.normal(0, 2.0, (steps + 1, 2))
    for a, b in itertools.pairwise(points):
        thickness = max(1, round(width_px * rng.uniform(0.6, 1.2)))
        cv2.line(mask, tuple(_fixed(a)), tuple(_fixed(b)), 255, thickness, cv2.LINE_AA, shift=4)
        if happens(rng, cfg.flake_p):
            angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
            radii = width_px * rng.uniform(1.0, 3.0) * rng.uniform(0.5, 1.3, 6)
            outline = b + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
            cv2.fillPoly(mask, [_fixed(outline)], 255, cv2.LINE_AA, shift=4)
    if depth < 2:
        for _ in range(integer(rng, cfg.branches)):
            at = points[int(rng.integers(len(points)))]
            _draw_crack(mask, cfg, rng, at, length * rng.uniform(0.1, 0.4), width_px * 0.7, depth + 1)


def _cracks(img: np.ndarray, cfg: Cracks, rng: np.random.Generator) -> np.ndarray:
    """Cracks drawn at twice the resolution, area-downsampled, and filled with the colour of the paper."""
    height, width = img.shape[:2]
    mask = np.zeros((2 * height, 2 * width), np.uint8)
    for _ in range(integer(rng, cfg.count)):
        start = rng.uniform(0, 1, 2) * [2 * width, 2 * height]
        length = 2 * uniform(rng, cfg.length) * max(height, width)
        _draw_crack(mask, cfg, rng, start, length, 2 * uniform(rng, cfg.width), 0)
    coverage = uniform(rng, cfg.opacity) * _soften(cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA), 0.3)
    paper = 1.0 + uniform(rng, cfg.paper) * (PAPER - 1.0)
    return img + coverage[..., None] * (paper - img)


def _draw_speck(mask: np.ndarray, cfg: Dust, rng: np.random.Generator, at: np.ndarray, shade: int) -> None:
    """An irregular speck or (probability ``hair_p``) a short curly fibre, into a 2x supersampled mask."""
    if rng.random() < cfg.hair_p:
        points = _walk(rng, at, 2 * uniform(rng, cfg.hair_length), 3.0, 8)
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
    count = int(rng.poisson(uniform(rng, cfg.density) * height * width / 1e6))
    bright, dark = np.zeros((2 * height, 2 * width), np.uint8), np.zeros((2 * height, 2 * width), np.uint8)
    for _ in range(count):
        mask = bright if rng.random() < cfg.bright_p else dark
        centre = rng.uniform(0, 1, 2) * [2 * width, 2 * height]
        _draw_speck(mask, cfg, rng, centre, round(255 * uniform(rng, cfg.opacity)))
    bright, dark = (cv2.resize(m, (width, height), interpolation=cv2.INTER_AREA) for m in (bright, dark))
    return _composite(img, _soften(bright, 0.4), _soften(dark, 0.4))


DEFECTS: tuple[tuple[str, Callable[[np.ndarray, Any, np.random.Generator], np.ndarray]], ...] = (
    ("vignette", _vignette),
    ("exposure", _exposure),
    ("grain", _grain),
    ("halftone", _halftone),
    ("fade", _fade),
    ("tint", _tint),
    ("silvering", _silvering),
    ("crease", _crease),
    ("cracks", _cracks),
    ("scratches", _scratches),
    ("dust", _dust),
)
