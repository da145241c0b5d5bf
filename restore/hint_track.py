"""Colour hints for film: hint files for chosen frames (keyframes), carried along the motion to the frames after
them until a scene cut or the next keyframe.

A hints folder holds one file per keyframe, named by the frame's number counted from 0 (`120.json`, `0120.png`:
the 121st frame, as FFmpeg's `select=eq(n\\,120)` numbers it), in restore.hints' formats. From a keyframe on,
each frame's hints are the previous frame's moved by the optical flow between the two input frames (DIS at its
medium preset), kept only where the flow is reliable (restore.temporal.motion); a scene cut
(restore.temporal.scene_change) or a frame of another size ends them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

from restore.errors import HintsError
from restore.hints import load_hints
from restore.sequence import Frame
from restore.temporal import TemporalSettings, gray, is_cut, make_dis, motion, warp

HINT_SUFFIXES = (".json", ".png", ".webp", ".tif", ".tiff")
_FRAME_NUMBER = re.compile(r"[0-9]+")


def keyframe_files(folder: str | os.PathLike[str]) -> dict[int, Path]:
    """{frame number: hint file} of a hints folder; HintsError for a folder that is none, a file not named by a
    frame number, or two files for one frame."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HintsError(folder, "not a folder of hint files")
    keyframes: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in HINT_SUFFIXES or not _FRAME_NUMBER.fullmatch(path.stem):
            raise HintsError(path, "name a hint file by its frame number from 0 (120.json, 0120.png)")
        index = int(path.stem)
        if index in keyframes:
            raise HintsError(path, f"frame {index} already has {keyframes[index].name}")
        keyframes[index] = path
    if not keyframes:
        raise HintsError(folder, "no hint files (name them by frame number: 120.json, 0120.png)")
    return keyframes


def film_hints(
    folder: str | os.PathLike[str] | None, colorize: str, height: int, width: int, frames: int | None
) -> HintTracker | None:
    """The tracker for a sequence's hints folder (None without one), every hint file read once at the frame
    size (height x width) so that a bad one fails before any work. HintsError for a bad folder or file, or a
    frame number past the last of `frames` (when known); ValueError with colorize "never", which would ignore
    them."""
    if folder is None:
        return None
    if colorize == "never":
        raise ValueError("colour hints need colourizing; colorize 'never' would ignore them")
    keyframes = keyframe_files(folder)
    for index, path in keyframes.items():
        if frames is not None and index >= frames:
            raise HintsError(path, f"there is no frame {index}: the frames are numbered 0 to {frames - 1}")
        load_hints(path, height, width)
    return HintTracker(keyframes)


def describe(keyframes: dict[int, Path]) -> list[list[object]]:
    """What a resumed job compares: each hint file's frame, name, size and modification time."""
    return [[index, path.name, path.stat().st_size, path.stat().st_mtime_ns] for index, path in keyframes.items()]


class HintTracker:
    """Call it on every frame in order (Frame.index consecutive); it returns the frame's hint map (HxWx3,
    restore.hints) or None. Frames may start at replay_from(k) to give frame k the hints of an unbroken run."""

    def __init__(self, keyframes: dict[int, Path], settings: TemporalSettings | None = None) -> None:
        self.keyframes = keyframes
        self.settings = settings or TemporalSettings()
        self._dis = make_dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # FAST lags a small moving object by half its motion
        self._previous: tuple[int, np.ndarray, np.ndarray | None] | None = None  # index, input gray, hints

    def replay_from(self, first: int) -> int:
        """The frame to start reading at so that frames from `first` on get their hints as in an unbroken run:
        the last keyframe at or before `first` (`first` when there is none)."""
        return max((index for index in self.keyframes if index <= first), default=first)

    def __call__(self, frame: Frame) -> np.ndarray | None:
        now = gray(frame.rgb)
        height, width = now.shape
        if frame.index in self.keyframes:
            hints = load_hints(self.keyframes[frame.index], height, width)
        else:
            hints = self._carried(frame.index, now)
        self._previous = (frame.index, now, hints)
        return hints

    def _carried(self, index: int, now: np.ndarray) -> np.ndarray | None:
        if self._previous is None:
            return None
        previous_index, before, hints = self._previous
        if hints is None or previous_index != index - 1 or is_cut(before, now, self.settings):
            return None
        flow, reliable = motion(now, before, self._dis, self.settings.flow_size)
        moved = warp(hints, flow, cv2.INTER_NEAREST)
        moved[..., 2] *= reliable > 0.5
        moved[..., :2] *= moved[..., 2:]
        return moved if moved[..., 2].any() else None
