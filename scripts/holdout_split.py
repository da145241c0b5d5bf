"""Split a training folder into a fit part and a labelled ImageNet holdout, as folders of symlinks.

    python scripts/holdout_split.py DATA_DIR OUT_DIR [--count 150] [--seed 0]

DATA_DIR holds train/ and manifest.csv (columns split, filename, source_path). `--count` photos whose file name
starts with "imagenet1k_" (one photo per ImageNet class, the class's WordNet id at the start of source_path) are
drawn with a fixed seed into OUT_DIR/holdout/, with OUT_DIR/holdout/labels.csv (file, wnid); every other train
photo goes to OUT_DIR/fit/. Train with --data OUT_DIR/fit, tune and watch on OUT_DIR/holdout; the labels give
real top-1 accuracy of a classifier on colour / gray / colourized versions (revive-train eval --labels).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder with train/ and manifest.csv")
    parser.add_argument("out", type=Path, help="where fit/ and holdout/ are made")
    parser.add_argument("--count", type=int, default=150, help="ImageNet photos held out (default 150)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manifest = args.data / "manifest.csv"
    if not manifest.is_file():
        print(f"holdout_split: error: {manifest} not found", file=sys.stderr)
        return 1
    rows = [row for row in csv.DictReader(manifest.open()) if row["split"] == "train"]
    imagenet = sorted(row["filename"] for row in rows if Path(row["filename"]).name.startswith("imagenet1k_"))
    if len(imagenet) < args.count:
        print(f"holdout_split: error: only {len(imagenet)} imagenet1k photos, asked for {args.count}", file=sys.stderr)
        return 1
    held = set(np.random.default_rng(args.seed).choice(imagenet, size=args.count, replace=False).tolist())
    wnid = {row["filename"]: row["source_path"].split("_")[0] for row in rows}
    for part in ("fit", "holdout"):
        (args.out / part).mkdir(parents=True, exist_ok=True)
    for row in rows:
        source = (args.data / row["filename"]).resolve()
        link = args.out / ("holdout" if row["filename"] in held else "fit") / Path(row["filename"]).name
        if not link.exists():
            os.symlink(source, link)
    with (args.out / "holdout" / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "wnid"])
        for name in sorted(held):
            writer.writerow([Path(name).name, wnid[name]])
    print(f"{len(rows) - len(held)} photos in {args.out / 'fit'}, {len(held)} in {args.out / 'holdout'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
