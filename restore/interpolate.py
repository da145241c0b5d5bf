"""Motion-compensated in-between frames (numpy + OpenCV only), for raising a sequence's frame rate.

For two consecutive frames A and B and a time 0 < t < 1 between them:

- Optical flow both ways (OpenCV's DIS, Kroeger et al. 2016, on luma), A -> B and B -> A. Where the frames
  before A and after B belong to the same shot, their flows give each pixel an acceleration too: the motion
  to time t is then quadratic (Xu et al. 2019, "Quadratic video interpolation"), which follows a hand or a
  camera that speeds up, brakes or turns; otherwise it is linear.
- The motion from A (and B) to time t is inverted by fixed-point iteration, so that every pixel at time t
  knows where to sample A and B (backward warping with cv2.remap: no holes). These motion maps are worked
  out at half the flow's size (DIS at its finest scale 1 has no finer detail) and scaled up for the warps.
- Blending is occlusion-aware. Sampling A is distrusted where the point sampled in B fails the forward-
  backward check (Sundaram et al. 2010: it is occluded in A, the background being uncovered), where no point
  of A moves to that pixel (the inversion does not converge) and where the sample lies outside the frame;
  the same for B. These weights apply only where the two warped frames disagree; elsewhere they are averaged
  with weights 1 - t and t, which keeps noise and flow errors from picking one side.
- The zero-motion candidate: where the two frames match better in place than along the flow (over a
  Gaussian window), they are cross-faded in place, so a film's still gate and frame edge stay put while the
  picture pans behind them, and the flow's drift in grain does not move a still background.
- No interpolation across a scene cut (restore.temporal.scene_change of the two frames): the in-between
  frames repeat A.

Interpolator takes a sequence frame by frame and hands out each pair once the frame after it has arrived;
Pair.at(fractions) makes its in-between frames. The two directions (the flows, then each frame's warp) run in
two threads: OpenCV lets go of the GIL, so they use two cores.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from restore.color import shrink
from restore.temporal import TemporalSettings, gray, scene_change

_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="revive-interpolate")  # one per direction


@dataclass(frozen=True)
class InterpolationSettings:
    """Knobs of the interpolator; the defaults were tuned with benchmarks/interpolation.py."""

    flow_size: int = 1024  # longest side the optical flow is computed at
    motion_scale: float = 0.5  # of the flow's size, for the motion maps (DIS's finest scale 1: no finer detail)
    cut_threshold: float = TemporalSettings.cut_threshold  # scene_change() above this is a scene cut
    inversion_steps: int = 4  # fixed-point iterations that invert the motion to time t (even: steadier at edges)
    visibility_px: float = 3.0  # forward-backward and inversion errors: weight exp(-(error / this)^2)
    disagreement: float = 20.0  # 8-bit levels: where the warped frames differ by less, plain averaging
    match_sigma: float = 6.0  # px: Gaussian window over which the flow and zero-motion candidates are compared


class Pair:
    """Two consecutive frames of a sequence, `index` and index + 1, with the flows between them."""

    def __init__(
        self,
        index: int,
        first: np.ndarray,
        second: np.ndarray,
        flows: _Flows | None,
        settings: InterpolationSettings,
    ) -> None:
        self.index = index
        self.first, self.second = first, second
        self.cut = flows is None  # a scene cut: in-between frames repeat the first frame
        self._flows, self._settings = flows, settings

    def at(self, fractions: Sequence[float]) -> list[np.ndarray]:
        """The frames at times `fractions` (each 0 < t < 1) from the first frame to the second, uint8 RGB."""
        flows = self._flows
        if flows is None:
            return [self.first] * len(fractions)
        grids = _grid(*flows.forward.shape[:2]), _grid(*self.first.shape[:2])  # of the motion maps, of the frames
        # Forward-backward error at each pixel of either frame: a point of the second frame that fails it is
        # occluded in the first, so the first frame has no match for it (and the other way round).
        pairs = ((flows.forward, flows.backward), (flows.backward, flows.forward))
        errors = tuple(_THREADS.map(lambda flow_pair: _consistency(*flow_pair, grids[0]), pairs))
        # how well the frames match in place: the zero-motion candidate's error, the same at every t
        unmoved = _local_mean(_luma_difference(self.first, self.second), self._settings.match_sigma)
        return [_blend((self.first, self.second), flows, errors, unmoved, grids, t, self._settings) for t in fractions]


class Interpolator:
    """Feed frames in order with push(); each pair is handed out once the next frame is known (or finish()).

    `first` is the index of the first frame pushed; a resumed job pushes the frames before its first pair
    and ignores the pairs that come back before it.
    """

    def __init__(self, settings: InterpolationSettings | None = None, first: int = 0) -> None:
        self.settings = settings or InterpolationSettings()
        # one estimator per direction, as they run at the same time
        self._dis = [cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) for _ in range(2)]
        self._frames: deque[_Frame] = deque(maxlen=4)  # the last frames pushed, oldest first
        self._links: deque[_Link | None] = deque(maxlen=3)  # between consecutive frames; None: a scene cut
        self._next_index = first

    def push(self, rgb: np.ndarray) -> Pair | None:
        """Add the next frame (uint8 RGB); returns the pair before it (the last but one and the one before),
        ready now that the frame after it is known, or None when there is none yet."""
        luma = gray(rgb)
        flow_gray = shrink(luma, self.settings.flow_size, min_side=8)
        height, width = flow_gray.shape
        scale = self.settings.motion_scale
        motion_shape = max(8, round(height * scale)), max(8, round(width * scale))
        frame = _Frame(self._next_index, rgb, luma, flow_gray, motion_shape)
        self._next_index += 1
        if self._frames:
            self._links.append(self._link(self._frames[-1], frame))
        self._frames.append(frame)
        return self._pair(-3) if len(self._frames) >= 3 else None

    def finish(self) -> Pair | None:
        """The last pair (no frame after it), or None for a sequence of one frame."""
        return self._pair(-2) if len(self._frames) >= 2 else None

    def _pair(self, at: int) -> Pair:
        """The pair of frames[at] and the frame after it."""
        first, second = self._frames[at], self._frames[at + 1]
        links = list(self._links)  # links[-k] joins frames[-k - 1] and frames[-k]
        link = links[at + 1]
        if link is None:
            return Pair(first.index, first.rgb, second.rgb, None, self.settings)
        previous = links[at] if -at <= len(links) else None
        following = links[at + 2] if at + 2 < 0 else None
        if previous is not None and following is not None:
            motion = _Flows.quadratic(link, previous, following)
        else:
            motion = _Flows.linear(link)
        return Pair(first.index, first.rgb, second.rgb, motion, self.settings)

    def _link(self, first: _Frame, second: _Frame) -> _Link | None:
        """The flows between two consecutive frames, or None across a scene cut (or a change of size)."""
        if first.gray.shape != second.gray.shape:
            return None
        if scene_change(first.gray, second.gray) > self.settings.cut_threshold:
            return None
        images = ((first.flow_gray, second.flow_gray), (second.flow_gray, first.flow_gray))
        forward, backward = _THREADS.map(lambda dis, pair: dis.calc(*pair, None), self._dis, images)
        return _Link(*(_resize_flow(flow, first.motion_shape) for flow in (forward, backward)))


@dataclass(frozen=True)
class _Frame:
    index: int
    rgb: np.ndarray
    gray: np.ndarray
    flow_gray: np.ndarray  # luma at the flow's size
    motion_shape: tuple[int, int]  # (height, width) of the motion maps


@dataclass(frozen=True)
class _Link:
    """Flows between frames i and i + 1, at the motion maps' size: forward (i(x) ~ i+1(x + forward(x))) and
    backward."""

    forward: np.ndarray
    backward: np.ndarray


@dataclass(frozen=True)
class _Flows:
    """The motion of a pair: from each frame, velocity and acceleration per pixel (time 1 = the other frame).

    The displacement of a pixel of the first frame at time t is velocity * t + acceleration * t^2 / 2; the
    second frame's uses the same form backwards in time, at 1 - t.
    """

    forward: np.ndarray  # first -> second
    backward: np.ndarray  # second -> first
    velocity: tuple[np.ndarray, np.ndarray]  # of the first frame towards the second, of the second backwards
    acceleration: tuple[np.ndarray, np.ndarray] | None

    @classmethod
    def linear(cls, link: _Link) -> _Flows:
        return cls(link.forward, link.backward, (link.forward, link.backward), None)

    @classmethod
    def quadratic(cls, link: _Link, previous: _Link, following: _Link) -> _Flows:
        """From the flows to the frames on both sides: x(1) = forward and x(-1) = previous.backward give
        velocity (x(1) - x(-1)) / 2 and acceleration x(1) + x(-1); likewise for the second frame."""
        before, after = previous.backward, following.forward
        velocity = ((link.forward - before) / 2, (link.backward - after) / 2)
        acceleration = (link.forward + before, link.backward + after)
        return cls(link.forward, link.backward, velocity, acceleration)

    def displacement(self, side: int, t: float) -> np.ndarray:
        """Where each pixel of frame `side` (0 first, 1 second) is at time t from it (0..1)."""
        if self.acceleration is None:
            return self.velocity[side] * np.float32(t)
        return self.velocity[side] * np.float32(t) + self.acceleration[side] * np.float32(t * t / 2)


def _blend(
    frames: tuple[np.ndarray, np.ndarray],
    flows: _Flows,
    errors: tuple[np.ndarray, np.ndarray],
    unmoved: np.ndarray,
    grids: tuple[np.ndarray, np.ndarray],
    t: float,
    settings: InterpolationSettings,
) -> np.ndarray:
    """The frame at time t between the two `frames` (see the module docstring); `errors`: _consistency()
    of the flows from either frame; `unmoved`: the two frames' luma difference in place, averaged over the
    match window; `grids`: pixel positions of the motion maps and of the frames."""
    (warped, own, error), (other_warped, other_own, other_error) = _THREADS.map(
        lambda side: _sample(side, frames[side], flows, errors[side], grids, t, settings), (0, 1)
    )
    scale = np.float32(settings.visibility_px**2)
    visibility = own * np.exp(-other_error / scale), other_own * np.exp(-error / scale)
    total = visibility[0] + visibility[1]
    occlusion_weight = np.where(total > 1e-3, visibility[0] / np.maximum(total, 1e-3), np.float32(1 - t))
    difference = _luma_difference(warped, other_warped)
    disagreement = _local_mean(difference, 2.0) / np.float32(settings.disagreement)
    trust = np.clip(disagreement - 1, 0, 1)  # 0 at the threshold, 1 at twice it
    weight = ((1 - trust) * np.float32(1 - t) + trust * occlusion_weight)[..., None]
    moving = weight * warped + (1 - weight) * other_warped
    # The zero-motion candidate, as motion-compensated rate converters keep the zero vector among their
    # candidates: where the two frames match better unmoved than along the flow (a film's static gate and
    # frame edge, a still background the flow drifts over in grain), the frames are cross-faded in place.
    along = _local_mean(difference, settings.match_sigma)
    still_weight = (along**4 / (unmoved**4 + along**4 + 1))[..., None]
    static = cv2.addWeighted(frames[0], 1 - t, frames[1], t, 0.0, dtype=cv2.CV_32F)
    out = still_weight * static + (1 - still_weight) * moving
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _luma_difference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Absolute difference of two uint8 RGB images, as luma (8-bit levels, float32)."""
    return cv2.cvtColor(cv2.absdiff(first, second), cv2.COLOR_RGB2GRAY).astype(np.float32)


def _local_mean(image: np.ndarray, sigma: float) -> np.ndarray:
    """`image` averaged over a Gaussian window of `sigma` px."""
    return cv2.GaussianBlur(image, (0, 0), sigma)


def _sample(
    side: int,
    image: np.ndarray,
    flows: _Flows,
    errors: np.ndarray,
    grids: tuple[np.ndarray, np.ndarray],
    t: float,
    settings: InterpolationSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame `side` (0 the first, 1 the second) at time t: the warped frame; its own weight (1 - t or t,
    less where no point of it moves to the pixel or the sample lies outside the frame); and the forward-
    backward error of the point sampled, which counts against the other frame. The motion is worked out
    on the motion maps' grid, then scaled up to the frame's."""
    grid, frame_grid = grids
    displacement = flows.displacement(side, t if side == 0 else 1 - t)
    offset = _invert(displacement, grid, settings.inversion_steps)  # pixel at time t -> source point
    inversion_error = _squared_length(offset + _warp(displacement, offset, grid))
    weight = np.exp(-inversion_error / np.float32(settings.visibility_px**2))
    weight *= _inside(grid + offset, *grid.shape[:2]) * np.float32(1 - t if side == 0 else t)
    shape = frame_grid.shape[:2]
    offset, weight, error = (
        _resize_flow(offset, shape),
        _resize(weight, shape),
        _resize(_warp(errors, offset, grid), shape),
    )
    return _warp(image, offset, frame_grid), weight, error


def _invert(displacement: np.ndarray, grid: np.ndarray, steps: int) -> np.ndarray:
    """The offset v with x + v + displacement(x + v) = x at each pixel x: which source point moves to x."""
    offset = -displacement
    for _ in range(steps):
        offset = -_warp(displacement, offset, grid)
    return offset


def _consistency(flow: np.ndarray, reverse: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Squared forward-backward error of `flow` (px^2), relaxed for large motion as in restore.temporal."""
    back = _warp(reverse, flow, grid)
    return _squared_length(flow + back) / (1 + 0.01 * (_squared_length(flow) + _squared_length(back)))


def _squared_length(vectors: np.ndarray) -> np.ndarray:
    """|v|^2 of each 2-vector of an HxWx2 field (much faster than a sum over the last axis)."""
    x, y = vectors[..., 0], vectors[..., 1]
    return x * x + y * y


def _inside(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """1 for sample points inside the frame, falling to 0 one pixel outside it."""
    x, y = points[..., 0], points[..., 1]
    margin = np.minimum(np.minimum(x + 0.5, width - 0.5 - x), np.minimum(y + 0.5, height - 0.5 - y))
    return np.clip(margin + 1, 0, 1)


def _warp(image: np.ndarray, offset: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """`image` sampled at x + offset(x) (bilinear, edges repeated)."""
    return cv2.remap(image, grid + offset, None, cv2.INTER_LINEAR, None, cv2.BORDER_REPLICATE)


def _resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`image` at `shape` (height, width): bilinear, or area-averaged when smaller."""
    if image.shape[:2] == shape:
        return image
    smaller = shape[0] < image.shape[0]
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA if smaller else cv2.INTER_LINEAR)


def _resize_flow(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A flow field at `shape` (height, width), its vectors scaled with it."""
    if flow.shape[:2] == shape:
        return flow
    scale = np.array([shape[1] / flow.shape[1], shape[0] / flow.shape[0]], np.float32)
    return _resize(flow, shape) * scale


def _grid(height: int, width: int) -> np.ndarray:
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return np.dstack([xs, ys])
