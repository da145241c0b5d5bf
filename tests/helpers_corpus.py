"""A corpus of bad and odd inputs, generated in code (no files in the repository), and ways to make the output
side fail for real, also as root.

Each maker writes one input at the path it is given and returns it. The corpus is built into a fresh folder
per test module; `digests` records every regular file, so a test can check that nothing touched an input.

Failures that chmod cannot cause for root (root bypasses file permissions):
- unreadable input entries: a symlink to nothing (ENOENT), a symlink to itself (ELOOP) and a FIFO (reading it
  waits for a writer forever; revive opens it without waiting and refuses it as not a regular file). The
  kernel refuses the first two to every user, root included; the third is a real entry a folder can hold.
- an output folder that cannot be written: a read-only tmpfs mount (EROFS, refused to root as well); without
  the right to mount (not root), chmod 0o555 is real for that user.
- a full disk: a 1 MiB tmpfs mount (ENOSPC); without the right to mount, RLIMIT_FSIZE in the child process
  (EFBIG: Python ignores SIGXFSZ, so the write fails instead of killing the process).
"""

from __future__ import annotations

import hashlib
import io
import os
import resource
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import tifffile
from PIL import Image
from skimage import data

from benchmarks.clips import add_silence, clip_without_video, pan_frames, truncated_clip

SMALL_DISK_BYTES = 1 << 20
PHOTO = np.ascontiguousarray(data.astronaut()[::8, ::8])  # 64x64 RGB
GRAY = np.ascontiguousarray(data.camera()[::8, ::8])  # 64x64


def _encoded(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def empty(path: Path) -> Path:
    return _write(path, b"")


def truncated_jpeg(path: Path) -> Path:
    return _write(path, _encoded(Image.fromarray(PHOTO), format="JPEG", quality=95)[:600])


def truncated_png(path: Path) -> Path:
    whole = _encoded(Image.fromarray(PHOTO), format="PNG")
    return _write(path, whole[: len(whole) // 2])


def text_file(path: Path) -> Path:
    return _write(path, b"Dear Aunt Edna,\nthe photos are in the attic.\n" * 4)


def bomb(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A small real PNG whose header (with a correct CRC) declares `width` x `height` pixels."""
    raw = bytearray(_encoded(Image.fromarray(PHOTO), format="PNG"))
    ihdr = raw[12:29]  # chunk type + 13 bytes of data
    ihdr[4:12] = struct.pack(">II", width, height)
    raw[12:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return _write(path, bytes(raw))


def one_by_one(path: Path) -> Path:
    Image.fromarray(np.array([[[200, 120, 40]]], np.uint8)).save(path)
    return path


def one_by_n(path: Path) -> Path:
    """1 px wide, 37 px high, gray."""
    Image.fromarray(GRAY[:37, :1].copy()).save(path)
    return path


def tiff16(path: Path) -> Path:
    """16-bit gray TIFF using the whole range."""
    tifffile.imwrite(path, (GRAY.astype(np.uint16) * 257)[:48])
    return path


def tiff_float(path: Path) -> Path:
    """32-bit float gray TIFF in [0, 1]."""
    tifffile.imwrite(path, GRAY.astype(np.float32)[:, :40] / 255.0)
    return path


def cmyk_jpeg(path: Path) -> Path:
    Image.fromarray(PHOTO).convert("CMYK").save(path, quality=95)
    return path


def palette_alpha(path: Path) -> Path:
    """Palette PNG, index 0 transparent (the left half)."""
    indices = np.zeros((30, 40), np.uint8)
    indices[:, 20:] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 0, 40, 160, 60] + [0] * 762)
    image.save(path, transparency=0)
    return path


def static_gif(path: Path) -> Path:
    Image.fromarray(PHOTO).convert("P").save(path)
    return path


def animated_gif(path: Path) -> Path:
    frames = [Image.fromarray(np.roll(PHOTO, 8 * i, axis=1)).convert("P") for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def animated_png(path: Path) -> Path:
    """An APNG of 3 frames: the first is the still image viewers without APNG support show."""
    frames = [Image.fromarray(np.roll(PHOTO, 8 * i, axis=1)) for i in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    return path


def exif_rotated(path: Path) -> Path:
    """Stored 48 wide and 24 high, left half light and right half dark; EXIF orientation 6 (turn 90 degrees
    clockwise to view: the light half comes on top)."""
    pixels = np.full((24, 48, 3), 30, np.uint8)
    pixels[:, :24] = 220
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return path


def gray_alpha(path: Path) -> Path:
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    Image.fromarray(np.dstack([GRAY, alpha]), "LA").save(path)
    return path


def no_frames_video(path: Path) -> Path:
    """A Matroska file (give `path` a .mkv name) with an H.264 video track that holds no frame, and a little
    sound. (MP4 cannot hold it: FFmpeg's MP4 muxer leaves empty tracks out.)"""
    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        add_silence(container)
    return path


def truncated_video(path: Path) -> Path:
    """The first two thirds of an MP4 with its index at the end: the index is missing."""
    return truncated_clip(path, pan_frames(12), faststart=False)


def audio_only(path: Path) -> Path:
    return clip_without_video(path)


def unreadable_folder(path: Path) -> Path:
    """A folder with one good photo and three entries that cannot be read, as root too (see the module doc)."""
    path.mkdir()
    Image.fromarray(PHOTO).save(path / "good.png")
    (path / "dangling.jpg").symlink_to(path / "deleted-long-ago.jpg")
    (path / "loop.jpg").symlink_to(path / "loop.jpg")
    os.mkfifo(path / "pipe.png")
    return path


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every regular file under `folder` (FIFOs and links to nothing are skipped)."""
    found = {}
    for item in sorted(folder.rglob("*")):
        if item.is_file() and not item.is_symlink():
            found[str(item.relative_to(folder))] = hashlib.sha256(item.read_bytes()).hexdigest()
    return found


def mount_tmpfs(folder: Path, *options: str) -> bool:
    """Mount a tmpfs at `folder` with `options` (e.g. "size=1m", "ro"); False if this user may not mount."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", ",".join(["mode=0755", *options]), "tmpfs", str(folder)]
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=10, check=True)


@contextmanager
def read_only_folder(folder: Path, prepare: Callable[[Path], object] = lambda folder: None) -> Iterator[str]:
    """`folder`, filled by `prepare(folder)`, then made unwritable: a tmpfs remounted read-only (EROFS, for root
    too) or, where this user may not mount, chmod 0o555 on every folder in it (EACCES, real for any user but
    root). Yields which of the two."""
    if mount_tmpfs(folder, "size=1m"):
        try:
            prepare(folder)
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, timeout=10)
            yield "read-only tmpfs"
        finally:
            unmount(folder)
    elif os.geteuid() != 0:
        folder.mkdir(parents=True, exist_ok=True)
        prepare(folder)
        folders = [folder, *(path for path in folder.rglob("*") if path.is_dir())]
        for path in folders:
            path.chmod(0o555)
        try:
            yield "chmod 0o555"
        finally:
            for path in folders:
                path.chmod(0o755)
    else:
        import pytest

        pytest.skip("root without the right to mount: no real way to make a folder unwritable here")


class SmallDisk:
    """A 1 MiB filesystem at `folder` (tmpfs: writes past it fail with ENOSPC), or where this user may not
    mount, a 1 MiB limit on the size of each file that the process under test writes (RLIMIT_FSIZE: EFBIG).
    Run children with `preexec_fn=disk.preexec`, and in-process code inside `with disk.limits():`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mounted = mount_tmpfs(folder, f"size={SMALL_DISK_BYTES}")
        self.full = True

    def preexec(self) -> None:
        if self.full and not self.mounted:
            resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL_DISK_BYTES, resource.RLIM_INFINITY))

    @contextmanager
    def limits(self) -> Iterator[None]:
        """The file size limit in this process, for the block (only where the folder is not a tmpfs)."""
        saved = resource.getrlimit(resource.RLIMIT_FSIZE)
        if self.full and not self.mounted:
            resource.setrlimit(resource.RLIMIT_FSIZE, (SMALL_DISK_BYTES, saved[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, saved)

    def make_room(self) -> None:
        """Free space: grow the tmpfs to 64 MiB (its files stay), or drop the file size limit."""
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(self.folder)], check=True, timeout=10)
        self.full = False

    def close(self) -> None:
        if self.mounted:
            unmount(self.folder)
