"""Temporal consistency of colourized video (numpy + OpenCV only), and the flicker metric that measures it.

Each frame is colourized on its own, so the colour of a surface jumps a little from frame to frame: flicker.
ChromaStabilizer carries colour along the motion instead. For frame t it estimates optical flow from t to the
previous output frame with OpenCV's DIS (Kroeger et al. 2016) on lightness, at a reduced size, warps the previous
output's a*b* onto frame t and blends it with frame t's own a*b* where the warp can be trusted:

- the forward and backward flows agree (Sundaram et al. 2010), which rules out occlusions and bad matches, and
  the flow stays inside the frame;
- the warped lightness matches frame t's lightness, after removing the global brightness change (old film
  flickers in exposure, which must not switch the blending off).

The blend keeps `history` (0.8) of the warped colour there, so colour is a running average along motion
trajectories; elsewhere frame t keeps its own colour. Lightness is never changed: it carries the detail, and
blending it over time would smear. A scene cut (a jump in the luminance histogram of the *input* frames,
exposure changes aside) starts afresh. The state between frames is only (previous input frame, previous output
frame as written), so a resumed job re-seeds from files and produces the same frames as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from restore.color import lab_to_rgb, rgb_to_lab

_HIST_BINS = 64


@dataclass(frozen=True)
class TemporalSettings:
    """Knobs of ChromaStabilizer; the defaults were tuned on panned photo clips (benchmarks/flicker.py)."""

    history: float = 0.8  # weight of the warped previous colour where the warp is reliable
    flow_size: int = 320  # longest side the optical flow is computed at
    lightness_tolerance: float = 8.0  # L* units: full weight below this difference, none at twice it
    cut_threshold: float = 0.035  # scene_change() above this is a scene cut


def gray(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB to HxW uint8 luma (what the optical flow and scene-cut test look at)."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def scene_change(previous: np.ndarray, current: np.ndarray) -> float:
    """How far apart the tones of two uint8 gray frames are: the earth mover's distance between their luma
    histograms, as a fraction of the 0-255 range (0 the same; 1 black against white).

    Old film flickers in exposure, a global gain, so `current` is first scaled to `previous`'s mean; a gain
    beyond 1.5x either way is no flicker and counts as 1. Camera motion within a shot moves the histogram
    little, a cut between shots a lot.
    """
    gain = float(previous.mean()) / max(float(current.mean()), 1.0)
    if not 2 / 3 <= gain <= 3 / 2:
        return 1.0
    matched = np.minimum(current.astype(np.float32) * np.float32(gain), 255.0)
    first, second = (
        np.cumsum(cv2.calcHist([image], [0], None, [_HIST_BINS], [0, 256]).ravel()) / image.size
        for image in (previous.astype(np.float32), matched)
    )
    return float(np.abs(first - second).mean())


def is_cut(previous: np.ndarray, current: np.ndarray, settings: TemporalSettings) -> bool:
    """Whether two consecutive uint8 gray input frames lie across a scene cut: another size, or tones apart by
    more than settings.cut_threshold (scene_change)."""
    return previous.shape != current.shape or scene_change(previous, current) > settings.cut_threshold


def motion(
    current: np.ndarray, previous: np.ndarray, dis: cv2.DISOpticalFlow, max_side: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Flow from `current` to `previous` (uint8 gray; current(x) ~ previous(x + flow(x))) and its reliability.

    Both are full size; reliability is 1 where the forward and backward flows agree and the flow stays in the
    frame, 0 elsewhere (soft at the edges when computed at a reduced size, `max_side` px on the longest side).
    """
    height, width = current.shape
    scale = 1.0 if max_side is None else min(1.0, max_side / max(height, width))
    if scale < 1:
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        current, previous = (cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in (current, previous))
    backward = dis.calc(current, previous, None)
    forward = dis.calc(previous, current, None)
    small_h, small_w = current.shape
    target = _grid(small_h, small_w) + backward
    forward_there = warp(forward, backward)
    round_trip = np.sum((backward + forward_there) ** 2, axis=-1)
    consistent = round_trip < 0.01 * (np.sum(backward**2, axis=-1) + np.sum(forward_there**2, axis=-1)) + 0.5
    inside = (target[..., 0] >= 0) & (target[..., 0] <= small_w - 1)
    inside &= (target[..., 1] >= 0) & (target[..., 1] <= small_h - 1)
    reliable = (consistent & inside).astype(np.float32)
    if scale < 1:
        backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
        backward *= np.array([width / small_w, height / small_h], np.float32)
        reliable = cv2.resize(reliable, (width, height), interpolation=cv2.INTER_LINEAR)
    return backward, reliable


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """`image` (the previous frame) resampled onto the current frame along `flow` from motion()."""
    target = _grid(*flow.shape[:2]) + flow
    return cv2.remap(image, target[..., 0], target[..., 1], interpolation, None, cv2.BORDER_REPLICATE)


def make_dis(preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> cv2.DISOpticalFlow:
    """A DIS optical flow estimator (PRESET_FAST for inference, PRESET_MEDIUM for measuring)."""
    return cv2.DISOpticalFlow_create(preset)


@dataclass(frozen=True)
class _Previous:
    source_gray: np.ndarray  # input frame, for the scene-cut test
    gray: np.ndarray  # output frame, for the flow
    lab: np.ndarray  # output frame, for the colour it passes on


class ChromaStabilizer:
    """Stabilizes the a*b* of a sequence of colourized frames; see the module docstring.

    Call it on each (input frame, per-frame output) in order; it returns the frame to write. `seed()` sets the
    state from an earlier input frame and the output written for it, to resume a sequence midway.
    """

    def __init__(self, settings: TemporalSettings | None = None) -> None:
        self.settings = settings or TemporalSettings()
        self.cuts = 0  # scene cuts seen so far
        self._dis = make_dis()
        self._previous: _Previous | None = None

    def seed(self, source: np.ndarray, output: np.ndarray) -> None:
        """Continue from `source` (an input frame) and `output` (the frame written for it)."""
        self._previous = _Previous(gray(source), gray(output), rgb_to_lab(output))

    def __call__(self, source: np.ndarray, output: np.ndarray) -> np.ndarray:
        """The stabilized version of `output`, the per-frame result for input frame `source` (both uint8 RGB)."""
        previous = self._previous
        result = output
        if previous is not None:
            if is_cut(previous.source_gray, gray(source), self.settings):
                self.cuts += 1
            else:
                result = self._blend(previous, output)
        self.seed(source, result)  # from the uint8 frame as written, so that a resumed run can rebuild it
        return result

    def _blend(self, previous: _Previous, output: np.ndarray) -> np.ndarray:
        settings = self.settings
        lab = rgb_to_lab(output)
        flow, reliable = motion(gray(output), previous.gray, self._dis, settings.flow_size)
        warped = warp(previous.lab, flow)
        lightness_change = lab[..., 0] - warped[..., 0]
        if (total := float(reliable.sum())) > 0:
            lightness_change -= float((lightness_change * reliable).sum()) / total  # global exposure change
        agreement = np.clip(2.0 - np.abs(lightness_change) / settings.lightness_tolerance, 0.0, 1.0)
        weight = (settings.history * reliable * agreement)[..., None]
        lab[..., 1:] = weight * warped[..., 1:] + (1.0 - weight) * lab[..., 1:]
        return lab_to_rgb(lab)


def flicker(
    outputs: Iterable[np.ndarray],
    references: Iterable[np.ndarray],
    cut_threshold: float = TemporalSettings.cut_threshold,
) -> float:
    """Mean a*b* distance (CIE units) between each output frame and the previous one warped onto it.

    The motion comes from the clean `references` (same size and order as `outputs`), with occluded pixels
    (forward-backward disagreement) left out, so only colour that changes along the true motion counts. Pairs
    across a scene cut of the references are skipped. Lower is steadier; 0 for a perfectly stable sequence.
    """
    dis = make_dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    scores: list[float] = []
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for output, reference in zip(outputs, references, strict=True):
        ab, reference_gray = rgb_to_lab(output)[..., 1:], gray(reference)
        if previous is not None and scene_change(previous[1], reference_gray) <= cut_threshold:
            flow, reliable = motion(reference_gray, previous[1], dis)
            distance = np.linalg.norm(ab - warp(previous[0], flow), axis=-1)
            if (mask := reliable > 0.5).any():
                scores.append(float(distance[mask].mean()))
        previous = (ab, reference_gray)
    return float(np.mean(scores)) if scores else 0.0


def _grid(height: int, width: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([xs, ys])
