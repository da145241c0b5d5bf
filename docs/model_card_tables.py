"""Print the model card's tables from weights/manifest.json and the eval results in weights/eval/*.json.

    python docs/model_card_tables.py [--weights weights]

The eval files come from `revive-train eval ... --json weights/eval/<name>.json` (commands in MODEL_CARD.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

INPUT_BANDS = (
    ("under 18", 0.0, 18.0),
    ("18-22", 18.0, 22.0),
    ("22-26", 22.0, 26.0),
    ("26 and over", 26.0, float("inf")),
)


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


def which(result: dict) -> str:
    """'' for the model's own file, ' (cpu-int8)' etc. for the variant that ran in its place."""
    ran = result.get("ran", "")
    return " (cpu-int8: what the CPU runs)" if ".int8." in ran else ""


def restore_label(result: dict) -> str:
    """'Revive restore', with the strength it ran at (when not 1) and the variant that ran."""
    strength = f", strength {result['strength']}" if "strength" in result else ""
    return f"Revive restore{strength}{which(result)}"


def restore_order(result: dict) -> tuple:
    return (-result.get("strength", 1.0), which(result))


def restore_table(results: list[dict]) -> str:
    """One preset: the baselines, then a row per evaluated file (the model, its CPU variant)."""
    mean = results[0]["mean"]
    lines = [
        f"{results[0]['images']} images, preset `{results[0]['preset']}`",
        "",
        "| method | PSNR (dB) | SSIM |",
        "|---|---:|---:|",
        f"| degraded input | {mean['input_psnr']:.2f} | {mean['input_ssim']:.3f} |",
        f"| OpenCV (inpaint + non-local means) | {mean['opencv_psnr']:.2f} | {mean['opencv_ssim']:.3f} |",
    ]
    peer = next((r for r in results if "ffdnet_psnr" in r["mean"]), None)
    if peer is not None:
        m, sigma = peer["mean"], peer["ffdnet_sigma"]
        label = f"FFDNet (colour weights, noise level {sigma:g} chosen on training photos)"
        lines.append(f"| {label} | {m['ffdnet_psnr']:.2f} | {m['ffdnet_ssim']:.3f} |")
    for result in sorted(results, key=restore_order):
        m = result["mean"]
        lines.append(f"| {restore_label(result)} | {m['model_psnr']:.2f} | {m['model_ssim']:.3f} |")
    return "\n".join(lines)


def gain_table(result: dict) -> str:
    """Per-photo gains of one restore result over its degraded input: how many got worse, the median gain,
    and the mean gain in bands of input PSNR (heavily to lightly damaged)."""
    gains = [(row["input_psnr"], row["model_psnr"] - row["input_psnr"]) for row in result["per_image"]]
    worse = sum(gain < 0 for _, gain in gains)
    lines = [
        f"{restore_label(result)}: {worse} of {len(gains)} photos worse than their input, "
        f"median gain {statistics.median(gain for _, gain in gains):+.2f} dB",
        "",
        "| input PSNR (dB) | photos | mean gain (dB) |",
        "|---|---:|---:|",
    ]
    for label, low, high in INPUT_BANDS:
        band = [gain for value, gain in gains if low <= value < high]
        mean = f"{statistics.fmean(band):+.2f}" if band else "-"
        lines.append(f"| {label} | {len(band)} | {mean} |")
    return "\n".join(lines)


def colorize_table(results: list[dict], default_temperature: float | None) -> str:
    """One table: the grayscale baseline, a row per evaluated temperature, the ground truth."""
    mean = results[0]["mean"]
    truth = mean["truth_colorfulness"]
    lines = [
        f"{results[0]['images']} images (colourized from the clean photo's luminance). Tint variety: the spread "
        "across photos of each photo's mean a*b* (near 0 when every photo gets the same tint).",
        "",
        "| method | PSNR (dB) | colourfulness | share of ground truth's | tint variety |",
        "|---|---:|---:|---:|---:|",
        f"| grayscale (a* = b* = 0) | {mean['gray_psnr']:.2f} | 0.0 | 0% | 0.0 |",
    ]
    for result in sorted(results, key=lambda r: (r.get("temperature", default_temperature or 0.0), which(r))):
        temperature = result.get("temperature", default_temperature)
        label = f"temperature {temperature}" + (" (default)" if temperature == default_temperature else "")
        label += which(result)
        m = result["mean"]
        lines.append(
            f"| Revive colorize, {label} | {m['model_psnr']:.2f} | {m['model_colorfulness']:.1f} "
            f"| {100 * m['model_colorfulness'] / truth:.0f}% | {m.get('model_tint_variety', float('nan')):.1f} |"
        )
    lines.append(f"| ground truth | - | {truth:.1f} | 100% | {mean.get('truth_tint_variety', float('nan')):.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("weights"))
    args = parser.parse_args()
    print(model_table(args.weights), end="\n\n")
    colorize, restore = [], {}
    for path in sorted((args.weights / "eval").glob("*.json")):
        result = json.loads(path.read_text())
        if result["task"] == "colorize":
            colorize.append(result)
        else:
            restore.setdefault(result["preset"], []).append(result)
    for preset, results in restore.items():
        print(f"### restore, `{preset}` preset\n")
        print(restore_table(results), end="\n\n")
        for result in sorted(results, key=restore_order):
            print(gain_table(result), end="\n\n")
    if colorize:
        manifest = json.loads((args.weights / "manifest.json").read_text())
        default = manifest["models"]["colorize"]["inputs"].get("temperature", {}).get("default")
        print("### colorize\n")
        print(colorize_table(colorize, default), end="\n\n")


if __name__ == "__main__":
    main()
