"""Read photos into RGB uint8 (+ alpha) with Pillow, and write PNGs atomically."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from restore.atomic import atomic_path
from restore.errors import ImageError, first_line

DEFAULT_MAX_PIXELS = 100_000_000
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "TIFF", "BMP", "WEBP", "GIF"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"})

_GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_RGB_MODES = frozenset({"RGB", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"})
# Image.MAX_IMAGE_PIXELS is global; it is swapped out only around Image.open, under this lock.
_pillow_limit_lock = threading.Lock()


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: `rgb` is HxWx3 uint8, `alpha` is HxW uint8 or None."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    was_gray: bool  # the file had one colour channel (L, LA, 16-bit or float gray)
    mode: str  # Pillow's mode of the file, e.g. "RGB", "I;16", "CMYK"
    animated_gif: bool = False  # a GIF of several frames, of which this is the first

    @property
    def note(self) -> str | None:
        """A line worth telling the user about this file, if any (without the path)."""
        if self.animated_gif:
            return "an animated GIF: its first frame is restored; `revive video` takes it as a film"
        return None


def load_image(path: str | os.PathLike[str], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode `path` (JPEG, PNG, TIFF, BMP, WebP, GIF), upright per EXIF, as 8-bit RGB plus optional alpha.

    The pixel count is checked from the header before anything is decoded. Files that cannot be
    decoded, and entries that are not regular files (a FIFO would block the read forever), raise ImageError;
    errors opening the file itself (missing, permission, a symlink loop) stay OSError. Files with several
    frames (APNG, animated WebP and GIF, multi-page TIFF) give their first frame (`animated_gif` says so for a
    GIF, which is more often a film than a photo).
    """
    path = Path(path)
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; it changes nothing for files.
    with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise ImageError(path, "not a regular file (a FIFO, device, socket or folder)")
        try:
            im = _open_without_pillow_limit(fh)
            with im:
                if im.format not in SUPPORTED_FORMATS:
                    supported = ", ".join(sorted(SUPPORTED_FORMATS - {"MPO"}))
                    raise ImageError(path, f"{im.format} files are not supported (use {supported})")
                _check_pixels(path, im.size, max_pixels)
                mode = im.mode
                animated_gif = im.format == "GIF" and getattr(im, "n_frames", 1) > 1
                ImageOps.exif_transpose(im, in_place=True)
                rgb, alpha = _to_arrays(im)
        except ImageError:
            raise
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
            raise ImageError(path, _decode_reason(exc, fh)) from None
    return LoadedImage(rgb=rgb, alpha=alpha, was_gray=mode in _GRAY_MODES, mode=mode, animated_gif=animated_gif)


def save_png_atomic(
    path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None, *, stable: bool = False
) -> None:
    """Write `rgb` (+ `alpha`) as a PNG via a temporary file in the same folder, then rename it.

    Readers see either the old file or the complete new one, never a partial write. `stable`: see
    restore.atomic.atomic_path (for resumable jobs, whose rerun then overwrites a killed run's leftover).
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.dtype} {rgb.shape}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]):
        raise ValueError(f"expected {rgb.shape[:2]} uint8 alpha, got {alpha.dtype} {alpha.shape}")
    image = Image.fromarray(rgb if alpha is None else np.dstack([rgb, alpha]))
    with atomic_path(path, stable=stable) as tmp:
        image.save(tmp, format="PNG")


def _open_without_pillow_limit(fh) -> Image.Image:
    """Image.open (lazy: reads the header only) without Pillow's own bomb check.

    load_image enforces its own configurable limit instead, which may be above Pillow's.
    """
    with _pillow_limit_lock:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(fh)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(path: Path, size: tuple[int, int], max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            path,
            f"{width}x{height} = {width * height / 1e6:.4g} MP, over the {max_pixels / 1e6:.4g} MP limit; "
            "raise it with --max-pixels",
        )


def _decode_reason(exc: BaseException, fh) -> str:
    if isinstance(exc, MemoryError):
        return "not enough memory to decode this image"
    if os.fstat(fh.fileno()).st_size == 0:
        return "empty file (0 bytes)"
    if isinstance(exc, Image.UnidentifiedImageError):
        return "not an image, or a format that cannot be read"
    return f"cannot decode ({first_line(exc)}); the file may be truncated or corrupt"


def _to_arrays(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert a loaded Pillow image of any supported mode to (RGB uint8, alpha uint8 or None)."""
    mode = im.mode
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode in ("RGBa", "La"):
        im = im.convert(mode.upper())
    elif mode == "1":
        im = im.convert("L")
    elif mode in _RGB_MODES:
        im = im.convert("RGB")

    mode = im.mode
    if mode == "RGB":
        return np.ascontiguousarray(np.asarray(im)), None
    if mode == "RGBA":
        rgba = np.asarray(im)
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    if mode == "LA":
        la = np.asarray(im)
        return _gray_to_rgb(la[..., 0]), np.ascontiguousarray(la[..., 1])
    if mode == "L":
        return _gray_to_rgb(np.asarray(im)), None
    if mode == "F":
        return _gray_to_rgb(_float_to_uint8(np.asarray(im))), None
    if mode.startswith("I"):
        return _gray_to_rgb(_int_to_uint8(np.asarray(im))), None
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))), None


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _int_to_uint8(values: np.ndarray) -> np.ndarray:
    """16-bit gray to 8 bits over the full 16-bit range; 32-bit data above 65535 is scaled by its max."""
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        wide, top = values.astype(np.uint32), 65535
    else:
        wide = np.clip(values.astype(np.int64), 0, None)
        top = max(65535, int(wide.max(initial=0)))
    return ((wide * 255 + top // 2) // top).astype(np.uint8)


def _float_to_uint8(values: np.ndarray) -> np.ndarray:
    """Float gray to 8 bits: [0, 1] maps to 0..255, clipped; data above 1 is scaled by its maximum."""
    values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(values.max(initial=0.0))
    scale = 255.0 if top <= 1.0 else 255.0 / top
    return np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
