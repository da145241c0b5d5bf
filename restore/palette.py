"""The colorizer's likeliest colours at a point, from its colour distribution: a colour picker's candidates, as
in the palette of Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with Learned Deep Priors")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from restore.color import lab_to_rgb, rgb_to_lab
from restore.hints import hex_colour

MERGE_DELTA_E = 20.0  # bins whose colours, as shown at the point's lightness, are closer than this are one


@dataclass(frozen=True)
class ColourCandidate:
    """One likely colour at a point: sRGB at the point's lightness, and the model's probability for it."""

    rgb: tuple[int, int, int]
    probability: float

    @property
    def hex(self) -> str:
        """The colour as "#rrggbb"."""
        return hex_colour(self.rgb)


def probabilities_at(logits: np.ndarray, u: float, v: float) -> np.ndarray:
    """The distribution over the bins at (u, v), in cells of the Q x h x w `logits` (cell centres at integers):
    softmax at T = 1 in each of the four nearest cells, interpolated bilinearly as the a*b* output is."""
    _, height, width = logits.shape
    u, v = float(np.clip(u, 0, width - 1)), float(np.clip(v, 0, height - 1))
    x0, y0 = int(u), int(v)
    x1, y1 = min(x0 + 1, width - 1), min(y0 + 1, height - 1)
    fx, fy = u - x0, v - y0
    cells = logits[:, [y0, y0, y1, y1], [x0, x1, x0, x1]].astype(np.float64)  # Q x 4
    cells = np.exp(cells - cells.max(axis=0))
    cells /= cells.sum(axis=0)
    weights = np.array([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy])
    return cells @ weights


def likeliest_colours(
    probabilities: np.ndarray, bins: np.ndarray, lightness: float, k: int = 5
) -> list[ColourCandidate]:
    """The k likeliest distinct colours of a distribution over a*b* `bins` (Q x 2) at L* `lightness`, most likely
    first. Each bin is shown at that lightness (clipped to sRGB); a bin within MERGE_DELTA_E of a likelier bin's
    colour adds its probability to that one, so that candidates differ visibly."""
    lab = np.column_stack([np.full(len(bins), lightness, np.float32), bins]).astype(np.float32)
    rgb = lab_to_rgb(lab[None])[0]
    shown = rgb_to_lab(rgb[None])[0]
    centres: list[int] = []
    mass: list[float] = []
    for index in np.argsort(-probabilities, kind="stable"):
        if centres:
            distance = np.linalg.norm(shown[centres] - shown[index], axis=1)
            nearest = int(np.argmin(distance))
            if distance[nearest] < MERGE_DELTA_E:
                mass[nearest] += float(probabilities[index])
                continue
        centres.append(int(index))
        mass.append(float(probabilities[index]))
    ranked = sorted(zip(mass, centres, strict=True), key=lambda pair: -pair[0])[:k]
    return [ColourCandidate(tuple(int(c) for c in rgb[index]), probability) for probability, index in ranked]
