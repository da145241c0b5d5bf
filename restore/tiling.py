"""Run an image model over overlapping tiles, cross-faded so that the result equals an untiled run.

Each tile is cut with `receptive_field / 2` pixels of context beyond the cross-fade band on every inner
side, and its weight is zero over that context: only pixels that saw all their neighbours count. Tiles
start at multiples of the model's size multiple, so pooling layers line up with an untiled run and a
tile at the bottom or right edge is padded exactly as the whole image would be. Rows are written out as
soon as no later tile touches them, so memory holds one row of tiles, not the whole float image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from restore.color import to_uint8

ImageFn = Callable[[np.ndarray], np.ndarray]

# 1024 px: a 1-megapixel photo runs whole, and a 4K one needs 15 tiles instead of 91 at 512 px, which
# share the 177 px context of each neighbour: 3x faster on a 4K photo, peak RSS 1.0 GB (benchmarks.memory).
DEFAULT_TILE = 1024


def run_tiled(
    run: ImageFn,
    image: np.ndarray,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = 32,
    multiple: int = 1,
    receptive_field: int = 0,
    channels: int | None = None,
) -> np.ndarray:
    """Apply `run` (HxWxC float32 in [0, 1] -> HxWx`channels`, default C, values in [0, 1]) to uint8 `image` in
    tiles; return uint8.

    `tile` is the largest tile side (0: never tile), `overlap` the width of the cross-fade between
    neighbouring tiles. Images that fit in one tile run untiled.
    """
    if tile < 0 or overlap < 0:
        raise ValueError("tile and overlap must be >= 0")
    height, width = image.shape[:2]
    if tile == 0 or (height <= tile and width <= tile):
        return to_uint8(run(_to_float(image)))
    plan = TilePlan.make(tile, overlap, multiple, receptive_field)
    y_plan, x_plan = plan.fit(height), plan.fit(width)
    ys, xs = y_plan.starts(height), x_plan.starts(width)
    x_windows = [x_plan.window(x0, width) for x0 in xs]
    channels = image.shape[2] if channels is None else channels
    out = np.empty((height, width, channels), np.uint8)
    # Accumulators for rows [done, done + len(acc)) of the weighted sum and of the weights.
    acc = np.zeros((0, width, channels), np.float32)
    weights = np.zeros((0, width, 1), np.float32)
    done = 0
    for row, y0 in enumerate(ys):
        y1 = min(y0 + y_plan.tile, height)
        if (grow := y1 - done - len(acc)) > 0:
            acc = np.concatenate([acc, np.zeros((grow, *acc.shape[1:]), np.float32)])
            weights = np.concatenate([weights, np.zeros((grow, *weights.shape[1:]), np.float32)])
        y_window = y_plan.window(y0, height)
        for x0, x_window in zip(xs, x_windows, strict=True):
            x1 = min(x0 + x_plan.tile, width)
            weight = y_window[:, None, None] * x_window[None, :, None]
            acc[y0 - done : y1 - done, x0:x1] += weight * run(_to_float(image[y0:y1, x0:x1]))
            weights[y0 - done : y1 - done, x0:x1] += weight
        final = ys[row + 1] if row + 1 < len(ys) else height
        rows = final - done
        out[done:final] = to_uint8(acc[:rows] / weights[:rows])
        acc, weights, done = acc[rows:], weights[rows:], final
    return out


@dataclass(frozen=True)
class TilePlan:
    """Tile side, stride, context margin and blend band for one model; see the module docstring."""

    tile: int
    stride: int
    margin: int
    band: int
    multiple: int

    @classmethod
    def make(cls, tile: int, overlap: int, multiple: int = 1, receptive_field: int = 0) -> TilePlan:
        """Check the sizes fit together; raise ValueError with the smallest usable tile if not."""
        margin = -(-receptive_field // 2)
        span = overlap + 2 * margin  # pixels shared by neighbouring tiles
        aligned = tile // multiple * multiple
        stride = (aligned - span) // multiple * multiple
        if stride <= 0:
            smallest = -(-(span + multiple) // multiple) * multiple
            raise ValueError(
                f"tile {tile} is too small for a {overlap} px overlap plus the model's {receptive_field} px "
                f"receptive field; use a tile of at least {smallest}"
            )
        return cls(aligned, stride, margin, overlap, multiple)

    def fit(self, length: int) -> TilePlan:
        """This plan with the smallest tile (a multiple of `multiple`) that covers `length` px in no more
        tiles, so that neighbours share what the context and cross-fade need and not the slack of a fixed
        size (1024 px takes three 512 px tiles, and three smaller ones do the same job)."""
        count, fitted = len(self.starts(length)), self
        for tile in range(self.tile - self.multiple, 0, -self.multiple):
            stride = (tile - self.band - 2 * self.margin) // self.multiple * self.multiple
            candidate = replace(self, tile=tile, stride=stride)
            if stride <= 0 or len(candidate.starts(length)) > count:
                break
            fitted = candidate
        return fitted

    def starts(self, length: int) -> list[int]:
        """Tile starts along an axis: multiples of `multiple`, the last tile ending at `length`."""
        if length <= self.tile:
            return [0]
        last = -(-(length - self.tile) // self.multiple) * self.multiple
        return [*range(0, last, self.stride), last]

    def window(self, start: int, length: int) -> np.ndarray:
        """1-D weights of the tile at `start`: 0 over the context margin, a raised-cosine ramp over the
        blend band, 1 inside; edges of the image itself get no ramp. Neighbours' ramps sum to 1."""
        size = min(self.tile, length - start)
        weight = np.ones(size, np.float32)
        if start > 0:
            weight *= self._ramp(size)
        if start + size < length:
            weight *= self._ramp(size)[::-1]
        return weight

    def _ramp(self, size: int) -> np.ndarray:
        offset = np.arange(size, dtype=np.float64) - self.margin + 0.5
        if self.band == 0:
            return (offset > 0).astype(np.float32)
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.clip(offset / self.band, 0.0, 1.0))
        return ramp.astype(np.float32)


def _to_float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) * np.float32(1 / 255)
