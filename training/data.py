"""Training pairs made on the fly: clean photo -> random crop -> synthetic degradation.

Every sample is a pure function of (seed, global sample index): the image, the crop and the degradation are all
drawn from a generator seeded with both. A run that resumes at sample k therefore sees exactly the data an
uninterrupted run would have seen, whatever the number of loader workers.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from restore.color import as_gray, chroma_level
from restore.errors import ImageError
from restore.io_image import IMAGE_EXTENSIONS, load_image
from training.degradations import DegradationConfig, degrade, degrade_sample, seed_for


def list_images(folder: Path) -> list[Path]:
    """Image files under `folder`, recursively, in a stable order."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise FileNotFoundError(f"no images found in {folder}")
    return paths


def read_rgb(path: Path) -> np.ndarray:
    """RGB uint8 image, decoded as inference decodes it (restore.io_image.load_image: upright per EXIF, 16-bit
    and palette images to 8-bit RGB, the first frame of an animation; no pixel limit)."""
    return load_image(path, max_pixels=None).rgb


def colour_photos(paths: list[Path], minimum: float) -> tuple[list[Path], list[Path]]:
    """(photos with colour of their own, gray or toned photos) by restore.color.chroma_level against `minimum`
    (the measure `--colorize auto` decides by, with a lower bar: only prints that are nearly one tint).

    A colorizer must not learn from the second kind: it would learn that old-looking photos are brown or gray
    (Zhang et al. 2016 likewise drop ImageNet's grayscale photos). Unreadable files stay in the first list, for
    the data loader to report.
    """
    kept, toned = [], []
    for path in paths:
        try:
            uncoloured = chroma_level(read_rgb(path)) < minimum
        except (ImageError, OSError):
            uncoloured = False
        (toned if uncoloured else kept).append(path)
    return kept, toned


def colour_training_photos(folder: Path, minimum: float) -> list[Path]:
    """The photos in `folder` a colorizer may learn from (`colour_photos`), saying how many it leaves out."""
    photos = list_images(folder)
    kept, toned = colour_photos(photos, minimum)
    if toned:
        names = ", ".join(p.name for p in toned[:5]) + (", ..." if len(toned) > 5 else "")
        print(f"colorize: leaving out {len(toned)} of {len(photos)} photos that are gray or toned ({names})")
    if not kept:
        raise ValueError(f"no colour photos in {folder}: every one is gray or toned")
    return kept


def random_crop(image: np.ndarray, size: int, scale: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A square crop: `size` px at native resolution when scale is (0, 0), else a side of U(scale) x the short
    side resized to `size` (more context per pixel, for colorization). Random horizontal flip."""
    h, w = image.shape[:2]
    side = size if scale == (0.0, 0.0) else int(round(rng.uniform(*scale) * min(h, w)))
    if min(h, w) < side:
        factor = side / min(h, w)
        image = cv2.resize(image, (max(side, round(w * factor)), max(side, round(h * factor))), cv2.INTER_CUBIC)
        h, w = image.shape[:2]
    top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
    crop = image[top : top + side, left : left + side]
    if side != size:
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def restore_target(clean: np.ndarray, degraded: np.ndarray) -> np.ndarray:
    """What restoring `degraded` should give: `clean`, in gray when the degraded copy is gray (its colours are
    gone, so the model cannot be asked for them)."""
    if np.array_equal(degraded[..., 0], degraded[..., 1]) and np.array_equal(degraded[..., 1], degraded[..., 2]):
        return as_gray(clean)
    return clean


# (target, degraded copy, damage map) -> (input, target) tensors in the task's units
Pair = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[torch.Tensor, torch.Tensor]]


def degraded_copy(clean: np.ndarray, degradation: DegradationConfig | None, rng: np.random.Generator) -> np.ndarray:
    """`clean` degraded with `degradation` (None: `clean` itself)."""
    return clean if degradation is None else degrade(clean, degradation, rng)


def training_sample(
    clean: np.ndarray, degradation: DegradationConfig | None, rng: np.random.Generator, keep_tone: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(target, degraded copy, damage map): the target is `clean`, or with `keep_tone` `clean` given the degraded
    copy's tone effects; the damage map as training.degradations.degrade_sample draws it (zeros undegraded)."""
    if degradation is None:
        return clean, clean, np.zeros(clean.shape[:2], np.float32)
    sample = degrade_sample(clean, degradation, rng, toned=keep_tone)
    return sample.toned if keep_tone else clean, sample.image, sample.damage


class PairDataset(Dataset):
    """Map-style dataset indexed by global sample number; epoch e visits the images in a seeded permutation."""

    def __init__(
        self,
        images: list[Path],
        pair: Pair,
        crop: int,
        crop_scale: tuple[float, float],
        degradation: DegradationConfig,
        seed: int,
        keep_tone: bool = False,
    ):
        self.images, self.pair, self.crop, self.crop_scale = images, pair, crop, tuple(crop_scale)
        self.degradation, self.seed, self.keep_tone = degradation, seed, keep_tone
        self._permutation: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.images)

    def _image_for(self, index: int) -> Path:
        epoch, position = divmod(index, len(self.images))
        if self._permutation is None or self._permutation[0] != epoch:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
            self._permutation = (epoch, order)
        return self.images[self._permutation[1][position]]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index, 1])
        clean = random_crop(read_rgb(self._image_for(index)), self.crop, self.crop_scale, rng)
        return self.pair(*training_sample(clean, self.degradation, rng, self.keep_tone))


class StreamSampler(Sampler[int]):
    """Endless global sample indices for one rank: rank, rank + world, ... starting after `consumed` of its own."""

    def __init__(self, consumed: int = 0, rank: int = 0, world: int = 1):
        self.consumed, self.rank, self.world = consumed, rank, world

    def __iter__(self) -> Iterator[int]:
        return itertools.count(self.consumed * self.world + self.rank, self.world)


def _leave_signals_to_the_trainer(_worker_id: int) -> None:
    """Loader workers ignore Ctrl-C and SIGTERM (a terminal or `timeout` signals the whole process group):
    the trainer saves a checkpoint and stops, and its workers end with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def training_batches(
    dataset: PairDataset, batch: int, consumed: int, rank: int, world: int, workers: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """An endless iterator of (input, target) batches, resuming after `consumed` samples of this rank.

    The loader gets its own torch generator so that creating it does not advance the global RNG, which is
    checkpointed for an exact resume.
    """
    loader = DataLoader(
        dataset,
        batch_size=batch,
        sampler=StreamSampler(consumed, rank, world),
        num_workers=workers,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_leave_signals_to_the_trainer,
        pin_memory=torch.cuda.is_available(),
    )
    return iter(loader)


def validation_pairs(
    folder: Path,
    pair: Pair,
    degradation: DegradationConfig | None,
    count: int,
    size: int = 256,
    keep_tone: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `count` images, centre-cropped square, resized to `size` and degraded with `degradation` (one
    fixed seed per file name), as `pair` makes them into (inputs, targets); the targets as training's
    (`training_sample`)."""
    inputs, targets = [], []
    for path in list_images(folder)[:count]:
        image = read_rgb(path)
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        clean = cv2.resize(image[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_AREA)
        rng = np.random.default_rng(seed_for(path.name))
        x, y = pair(*training_sample(clean, degradation, rng, keep_tone))
        inputs.append(x)
        targets.append(y)
    return torch.stack(inputs), torch.stack(targets)
