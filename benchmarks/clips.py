"""Test clips made with PyAV (pans, zooms and a moving object over skimage photos, AAC sine audio), and killing
`revive`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from skimage import data

from restore.color import as_gray

AUDIO_RATE = 44100
ROOT = Path(__file__).resolve().parents[1]


def pan_frames(
    count: int,
    size: tuple[int, int] = (96, 64),
    photo: str | np.ndarray = "astronaut",
    step: tuple[int, int] = (2, 1),
    acceleration: tuple[int, int] = (0, 0),
) -> list[np.ndarray]:
    """`count` RGB frames of `size` (width, height): a window moving across the photo, at step * i +
    acceleration * i^2 / 2 px in frame i (whole pixels; both >= 0). `photo`: a scikit-image sample's name or
    an RGB image."""
    width, height = size
    image = skimage_photo(photo)
    offsets = [[v * i + a * i * i // 2 for v, a in zip(step, acceleration, strict=True)] for i in range(count)]
    reach = [max(abs(v) * count, offset) for v, offset in zip(step, offsets[-1], strict=True)]
    scale = max((width + reach[0]) / image.shape[1], (height + reach[1]) / image.shape[0])
    image = cv2.resize(image, None, fx=max(scale, 0.5), fy=max(scale, 0.5), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(image[y : y + height, x : x + width]) for x, y in offsets]


def zoom_frames(
    count: int, size: tuple[int, int] = (96, 64), photo: str | np.ndarray = "astronaut", rate: float = 0.01
) -> list[np.ndarray]:
    """`count` RGB frames of `size` (width, height): a zoom into the photo's centre, `rate` closer per frame.
    `photo`: a scikit-image sample's name or an RGB image."""
    width, height = size
    image = skimage_photo(photo)
    scale = 0.9 * min(image.shape[1] / width, image.shape[0] / height)  # photo px per frame px at frame 0
    centre_x, centre_y = image.shape[1] / 2, image.shape[0] / 2
    frames = []
    for i in range(count):
        step = scale / (1 + rate) ** i
        to_photo = np.float32([[step, 0, centre_x - step * width / 2], [0, step, centre_y - step * height / 2]])
        frames.append(cv2.warpAffine(image, to_photo, (width, height), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP))
    return frames


def object_frames(
    count: int,
    size: tuple[int, int] = (96, 64),
    step: tuple[float, float] = (3, 1),
    radius: int = 16,
    start: tuple[int, int] = (8, 8),
    acceleration: tuple[float, float] = (0, 0),
) -> list[np.ndarray]:
    """`count` RGB frames of `size`: a disc cut from one photo moving over another, still one (the "coffee"
    photo). Its top-left corner is at start + step * i + acceleration * i^2 / 2 in frame i (whole pixels)."""
    width, height = size
    background = cv2.resize(skimage_photo("coffee"), size, interpolation=cv2.INTER_AREA)
    disc = cv2.resize(skimage_photo("astronaut"), (2 * radius, 2 * radius), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[: 2 * radius, : 2 * radius]
    inside = (xs - radius + 0.5) ** 2 + (ys - radius + 0.5) ** 2 < radius**2
    frames = []
    for i in range(count):
        frame = background.copy()
        x, y = (round(s + v * i + a * i * i / 2) for s, v, a in zip(start, step, acceleration, strict=True))
        if not (0 <= x <= width - 2 * radius and 0 <= y <= height - 2 * radius):
            raise ValueError(f"the disc leaves the frame at frame {i}")
        frame[y : y + 2 * radius, x : x + 2 * radius][inside] = disc[inside]
        frames.append(frame)
    return frames


def skimage_photo(name: str | np.ndarray) -> np.ndarray:
    """A scikit-image sample photo as RGB (an image is passed through)."""
    if isinstance(name, np.ndarray):
        return name
    image = getattr(data, name)()
    return np.ascontiguousarray(np.dstack([image] * 3) if image.ndim == 2 else image[..., :3])


def through_codec(frames: Sequence[np.ndarray], fps: int = 25) -> list[np.ndarray]:
    """`frames` (RGB, even sides) encoded as `revive video` encodes its output (restore.video_io: libx264, CRF 18,
    4:2:0, BT.709 limited range) and decoded again, as a player shows them."""
    from restore.video_io import Encoding, encode, flush, new_encoder

    height, width = frames[0].shape[:2]
    encoding = Encoding(width, height, Fraction(1, fps), Fraction(fps))
    encoder = new_encoder(encoding)
    packets = [packet for i, rgb in enumerate(frames) for packet in encode(encoder, rgb, i, encoding)]
    packets += flush(encoder)
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = encoder.extradata
    decoded = [frame for *_, payload in packets for frame in decoder.decode(av.Packet(payload))]
    decoded += decoder.decode(None)
    return [
        frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG).to_ndarray()
        for frame in decoded
    ]


def to_gray(frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Black-and-white copies (three equal channels)."""
    return [as_gray(frame) for frame in frames]


def telecine(film: Sequence[np.ndarray]) -> list[np.ndarray]:
    """24 frames/s film as 30 frames/s video: every fourth film frame shown twice (3:2 pulldown)."""
    return [frame for k, frame in enumerate(film) for frame in [frame] * (2 if k % 4 == 3 else 1)]


def horizontal_motion(images: Sequence[np.ndarray]) -> list[float]:
    """Horizontal motion between consecutive images, px (ECC image alignment, which measures sub-pixel
    shifts without phase correlation's pull toward whole pixels)."""
    grays = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in images]
    grays = [cv2.GaussianBlur(gray, (0, 0), 1) for gray in grays]
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    motion = []
    for a, b in pairwise(grays):
        _, warp = cv2.findTransformECC(a, b, np.eye(2, 3, dtype=np.float32), cv2.MOTION_TRANSLATION, criteria, None, 5)
        motion.append(-float(warp[0, 2]))
    return motion


def age(frames: Sequence[np.ndarray], seed: int = 0, grain: float = 12.0, exposure: float = 0.12) -> list[np.ndarray]:
    """Old-film look: per-frame exposure flicker and fresh grain on every frame."""
    rng = np.random.default_rng(seed)
    aged = []
    for frame in frames:
        gain = 1.0 + rng.uniform(-exposure, exposure)
        noisy = frame.astype(np.float32) * gain + rng.normal(0.0, grain, frame.shape[:2])[..., None]
        aged.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return aged


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    fps: int = 24,
    audio: bool = True,
    rotation: int | None = None,
    pts: Sequence[int] | None = None,
    faststart: bool = False,
    keyframes: int | None = None,
) -> Path:
    """Encode `frames` (RGB) as H.264 (4:4:4 when a side is odd) in `path`, with a 440 Hz AAC track if `audio`.

    `pts` (in 1/fps/100 units) gives variable frame timing; `rotation` adds a display matrix; `faststart`
    puts the MP4 index first; `keyframes`: a keyframe every that many frames (x264's default: 250).
    """
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        video.codec_context.time_base = Fraction(1, fps * 100)
        if keyframes is not None:
            video.codec_context.gop_size = keyframes
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i * 100 if pts is None else pts[i]
            frame.time_base = Fraction(1, fps * 100)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if sound is not None:
            duration = (len(frames) * 100 if pts is None else pts[-1] + 100) / (fps * 100)
            samples = np.sin(2 * np.pi * 440 * np.arange(round(duration * AUDIO_RATE)) / AUDIO_RATE)
            for start in range(0, len(samples), 1024):
                chunk = (0.3 * samples[start : start + 1024]).astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = AUDIO_RATE, start
                container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path


def truncated_clip(path: Path, frames: Sequence[np.ndarray], *, fps: int = 24, faststart: bool = False) -> Path:
    """A `write_clip` clip (with sound) cut to its first two thirds: with the index at the end (`faststart`
    off) the index is lost; with the index first, the data of the last frames is."""
    write_clip(path, frames, fps=fps, faststart=faststart)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    return path


def clip_without_video(path: Path) -> Path:
    """An MP4 with one AAC audio stream and no video stream."""
    with av.open(str(path), "w") as container:
        add_silence(container)
    return path


def add_silence(container: av.container.OutputContainer) -> None:
    """Add a mono AAC stream to `container`, with 1024 samples of silence."""
    stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    frame.sample_rate, frame.pts = AUDIO_RATE, 0
    container.mux(stream.encode(frame))
    container.mux(stream.encode())


def read_clip(path: Path) -> tuple[list[np.ndarray], list[float], list[bytes], Fraction | None]:
    """Decoded RGB frames, their times in seconds, the raw bytes of the audio packets, and the video rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.time))
        rate = stream.average_rate
    with av.open(str(path)) as container:
        audio = [bytes(p) for s in container.streams.audio for p in container.demux(s) if p.dts is not None]
    return frames, times, audio, rate


def revive(
    *args: object, env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """`revive ARGS` in a subprocess, with its output captured; `env`: more environment variables for it,
    `preexec_fn`: run in the child before it starts (e.g. to set a resource limit)."""
    command = [sys.executable, "-m", "restore.cli", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, preexec_fn=preexec_fn
    )


# Run in a child process: `revive` with a model slowed down by `delay` seconds per batch (argv[1]), so that
# a kill lands while frames are still being processed.
_SLOW_REVIVE = """
import sys, time
from restore.pipeline import Restorer
from restore.cli import main
delay, process_batch = float(sys.argv[1]), Restorer.process_batch
Restorer.process_batch = lambda self, *args, **kwargs: time.sleep(delay) or process_batch(self, *args, **kwargs)
sys.exit(main(sys.argv[2:]))
"""


def kill_midway(
    args: Sequence[object], progress: Callable[[], int], at: int, delay: float = 0.03, after: float = 0.0
) -> None:
    """Start `revive ARGS` (slowed down) and SIGKILL it `after` seconds after `progress()` reaches `at`."""
    command = [sys.executable, "-c", _SLOW_REVIVE, str(delay), *map(str, args)]
    sigkill_when(command, lambda: progress() >= at, after)


def sigkill_when(command: Sequence[object], ready: Callable[[], bool], after: float = 0.0, timeout: float = 60) -> None:
    """Run `command` (with the repository on PYTHONPATH) and SIGKILL it `after` seconds after `ready()` first
    holds. AssertionError if it ends by itself before that."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen([str(part) for part in command], env=env, stdout=subprocess.DEVNULL, stderr=log) as child,
    ):

        def ended() -> AssertionError:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            return AssertionError(f"it ended (status {child.returncode}) before the kill: {output}")

        deadline = time.monotonic() + timeout
        while not ready():
            if child.poll() is not None:
                raise ended()
            if time.monotonic() > deadline:
                child.kill()
                raise AssertionError(f"it made no progress in {timeout} s")
            time.sleep(0.002)
        time.sleep(after)
        if child.poll() is not None:
            raise ended()
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
