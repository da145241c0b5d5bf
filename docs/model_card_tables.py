"""Print the model card's tables from weights/manifest.json and the eval results in weights/eval/*.json.

    python docs/model_card_tables.py [--weights weights]

The eval files come from `revive-train eval ... --json weights/eval/<name>.json` (commands in MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def model_table(weights: Path) -> str:
    manifest = json.loads((weights / "manifest.json").read_text())
    lines = [
        "| model | parameters | GFLOPs / megapixel | file size | iterations | wall time | hardware |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for task, entry in manifest["models"].items():
        training = entry.get("training", {})
        size_mb = (weights / entry["file"]).stat().st_size / 2**20
        lines.append(
            f"| {task} (`{entry['file']}`) | {training.get('parameters', 0) / 1e6:.2f} M "
            f"| {training.get('gflops_per_megapixel', 0):.0f} | {size_mb:.1f} MiB | {training.get('iterations', 0):,} "
            f"| {training.get('wall_time_h', 0):.1f} h | {training.get('hardware', '')} |"
        )
    return "\n".join(lines)


def restore_table(result: dict) -> str:
    mean = result["mean"]
    rows = [("degraded input", "input"), ("OpenCV (inpaint + non-local means)", "opencv"), ("Revive restore", "model")]
    lines = [
        f"{result['images']} images, preset `{result['preset']}`",
        "",
        "| method | PSNR (dB) | SSIM |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {mean[f'{key}_psnr']:.2f} | {mean[f'{key}_ssim']:.3f} |" for name, key in rows]
    return "\n".join(lines)


def colorize_table(result: dict) -> str:
    mean = result["mean"]
    truth = mean["truth_colorfulness"]
    return "\n".join(
        [
            f"{result['images']} images (colourized from the clean photo's luminance). Tint variety: the spread "
            "across photos of each photo's mean a*b* (near 0 when every photo gets the same tint).",
            "",
            "| method | PSNR (dB) | colourfulness | share of ground truth's | tint variety |",
            "|---|---:|---:|---:|---:|",
            f"| grayscale (a* = b* = 0) | {mean['gray_psnr']:.2f} | 0.0 | 0% | 0.0 |",
            f"| Revive colorize | {mean['model_psnr']:.2f} | {mean['model_colorfulness']:.1f} "
            f"| {100 * mean['model_colorfulness'] / truth:.0f}% | {mean.get('model_tint_variety', float('nan')):.1f} |",
            f"| ground truth | - | {truth:.1f} | 100% | {mean.get('truth_tint_variety', float('nan')):.1f} |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights"))
    args = parser.parse_args()
    print(model_table(args.weights), end="\n\n")
    for path in sorted((args.weights / "eval").glob("*.json")):
        result = json.loads(path.read_text())
        print(f"### {path.stem}\n")
        print(restore_table(result) if result["task"] == "restore" else colorize_table(result), end="\n\n")


if __name__ == "__main__":
    main()
