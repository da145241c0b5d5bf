"""One line per `revive-train eval --task restore --json` file: the mean gain over the degraded input, SSIM, the
photos made worse and the mean gain on the lightest (input 26 dB and over), photos the preset left undamaged aside;
with `--against REPORT`, also photo by photo against that report's model (the same photos and preset), by input band.

    python scripts/restore_eval_summary.py ~/revive-eval/*/holdout_eval.json \
        --against ~/revive-eval/shipped/holdout_eval.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.metrics import PSNR_CEILING

LIGHT = 26.0  # dB: the lightest band of the model card's tables


def damaged_rows(path: Path) -> tuple[dict, list[dict]]:
    report = json.loads(path.read_text())
    return report, [row for row in report["per_image"] if row["input_psnr"] < PSNR_CEILING]  # undamaged copies aside


def summary(path: Path) -> str:
    report, rows = damaged_rows(path)
    gain = np.array([row["model_psnr"] - row["input_psnr"] for row in rows])
    light = np.array([row["input_psnr"] >= LIGHT for row in rows])
    ssim = np.mean([row["model_ssim"] for row in rows])
    return (f"{path}: {report['preset']} gain {gain.mean():+.2f} dB, SSIM {ssim:.3f}, worse {int((gain < 0).sum())}"
            f"/{len(rows)}, input >= {LIGHT:g} dB {gain[light].mean():+.2f} dB (n={int(light.sum())})")  # fmt: skip


def against(path: Path, reference: Path) -> str:
    """Mean PSNR and SSIM change per photo against `reference`'s model, overall and by the input's band."""
    ours = {row["image"]: row for row in damaged_rows(path)[1]}
    theirs = {row["image"]: row for row in damaged_rows(reference)[1]}
    names = sorted(ours.keys() & theirs.keys())
    change = np.array([ours[n]["model_psnr"] - theirs[n]["model_psnr"] for n in names])
    ssim = np.mean([ours[n]["model_ssim"] - theirs[n]["model_ssim"] for n in names])
    inputs = np.array([theirs[n]["input_psnr"] for n in names])
    bands = {"under 20": inputs < 20, "20-26": (inputs >= 20) & (inputs < LIGHT), f"{LIGHT:g}+": inputs >= LIGHT}
    by_band = ", ".join(f"{band} {change[mask].mean():+.2f}" for band, mask in bands.items() if mask.any())
    return (f"  against {reference}: {change.mean():+.2f} dB, better on {int((change > 0).sum())}/{len(names)}, "
            f"SSIM {ssim:+.3f}; by input band: {by_band}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--against", type=Path, help="another report on the same photos: the change photo by photo")
    args = parser.parse_args()
    for path in args.reports:
        print(summary(path))
        if args.against:
            print(against(path, args.against))


if __name__ == "__main__":
    main()
