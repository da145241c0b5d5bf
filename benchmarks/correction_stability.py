"""How steady restore's global colour correction is along a film: does it add flicker?

    python -m benchmarks.correction_stability FRAMES_DIR [--weights weights/] [--limit 120]

For each pair of consecutive frames, frame t+1 is corrected with its own transform and with frame t's; the mean
absolute difference of the two (0-255 units) is the flicker the correction alone adds. Printed beside the
frames' own mean change from one to the next, and the size of the correction itself.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from restore.files import natural_key
from restore.io_image import IMAGE_EXTENSIONS, load_image
from restore.pipeline import Restorer, apply_colour_transform


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("frames", type=Path)
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=120)
    args = parser.parse_args(argv)
    restorer = Restorer(args.weights, device="cpu")
    if "correct" not in restorer.manifest.models:
        parser.error(f"{restorer.manifest.path} has no 'correct' model")
    plain = Restorer(args.weights, device="cpu")
    del plain.manifest.models["correct"]  # the restore model alone
    frames = (p for p in args.frames.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    paths = sorted(frames, key=lambda p: natural_key(p.name))
    restored = [plain.restore_image(load_image(path).rgb) for path in paths[: args.limit]]
    transforms = [restorer.colour_corrections([out])[0] for out in restored]
    added, own, size = [], [], []
    for t in range(len(restored) - 1):
        nxt = restored[t + 1].astype(np.float32)
        own.append(np.abs(nxt - restored[t]).mean())
        a = apply_colour_transform(restored[t + 1], transforms[t + 1]).astype(np.float32)
        b = apply_colour_transform(restored[t + 1], transforms[t]).astype(np.float32)
        added.append(np.abs(a - b).mean())
        size.append(np.abs(a - nxt).mean())
    print(f"| {args.frames.name}, {len(restored)} frames | mean abs, 0-255 |")
    print("| --- | ---: |")
    print(f"| change the correction adds between consecutive frames | {np.mean(added):.3f} (max {np.max(added):.3f}) |")
    print(f"| the restored frames' own change between consecutive frames | {np.mean(own):.3f} |")
    print(f"| the correction itself (corrected against restored) | {np.mean(size):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
