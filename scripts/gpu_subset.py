"""Pack a compact, deterministic subset of a training folder for a GPU burst (the device carries 64 MiB).

    python scripts/gpu_subset.py ../shared/data/train .gpu/data --count 1400 --short-side 224

A second part for a later call takes the photos the first one left out:

    python scripts/gpu_subset.py ../shared/data/train .gpu2/data --start 1350 --count 1170 --short-side 256

Every k-th photo (sorted by name, from `--start`) is resized so its short side is `--short-side` (area filter)
and saved as WebP.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from training.data import list_images


def pack(source: Path, target: Path, count: int, short_side: int, quality: int, start: int = 0) -> int:
    """Write the subset of the photos from index `start` on; returns the number of bytes written."""
    paths = list_images(source)[start:]
    stride = max(1, len(paths) // count)
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in paths[::stride][:count]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            continue
        scale = short_side / min(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out = target / f"{path.stem}.webp"
        cv2.imwrite(str(out), image, [cv2.IMWRITE_WEBP_QUALITY, quality])
        written += out.stat().st_size
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--count", type=int, default=1400)
    parser.add_argument("--short-side", type=int, default=224)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--start", type=int, default=0, help="skip the first photos (sorted by name)")
    args = parser.parse_args()
    size = pack(args.source, args.target, args.count, args.short_side, args.quality, args.start)
    print(f"{args.target}: {size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
