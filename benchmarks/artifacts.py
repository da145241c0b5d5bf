"""Structured artifacts on smooth skies: what a restore model draws where there is nothing to draw (#19).

    python -m benchmarks.artifacts --weights weights/ [--model int8=weights/int8/restore.int8.onnx ...]
        [--model v2=EXPORTED_WEIGHTS_DIR ...]

On the real old photos the int8 restore model paints dark dashes and a blotchy rectangle into plain skies
(bopbtl_old_d, deoldify_SanFran1851, the film's frame 180). The same happens on skies made in code: smooth
two-colour gradients (blue, overcast gray, warm evening) at a landscape and a portrait size, with film grain of
0, 6 and 12 (0-255 units, mostly shared by the channels as on black-and-white film). Each model restores every
sky; the measure is the restored sky's error against the clean sky, band-passed: blurred (sigma 3 px) so that
leftover grain averages out, less the same error blurred at sigma 16 px, so that a tone or colour change over the
whole sky (a separate failing, measured by `revive-train eval`) is not counted as structure; a 16 px border is left
out. Shapes with edges (dashes, the rectangle) stand out in it:

- structure: its largest absolute value over the sky, worst of the channels (0-255 units);
- area: the share of pixels where it exceeds 4;
- shift: how far the restored sky's tone moved, the error blurred at sigma 16 px, its absolute value averaged over
  the sky, worst of the channels (0-255 units): a sky has nothing to repair, so a restorer that judges the
  print's black level or cast from the pixels around it darkens or tints it here;
- patchiness: the standard deviation over the sky of that blurred error, worst channel: a tone change that differs
  from place to place (the shipped model's hard-edged blotches) rather than one for the whole sky.

The fp32 model (the weights' own file) and each `--model NAME=FILE` run side by side in one process. A variant
ships only if no sky gets more structure from it than from fp32 (`--margin`, default 2 units). `--save DIR`
writes the restored skies as PNGs, to look at.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import markdown_table, pinned_weights, report

SKIES = {  # (top colour, bottom colour) in RGB
    "blue": ((70, 95, 140), (150, 165, 185)),
    "overcast": ((120, 122, 126), (200, 200, 198)),
    "evening": ((60, 70, 110), (215, 160, 110)),
}
SIZES = ((512, 768), (736, 1016))  # (height, width)
GRAINS = (0.0, 6.0, 12.0)
GRAIN_SIGMA, TONE_SIGMA = 3.0, 16.0  # px: the band-pass
BORDER = 16  # px left out at the edges
AREA_LEVEL = 4.0
MEASURES = ("structure", "area", "shift", "patchiness")


def clean_sky(colours: tuple[tuple[int, int, int], tuple[int, int, int]], height: int, width: int) -> np.ndarray:
    """A float (h, w, 3) vertical gradient between the two colours with a slight horizontal tilt."""
    top, bottom = (np.array(c, np.float32) for c in colours)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :, None]
    return top * (1 - y) + bottom * y + 6.0 * x


def grainy(sky: np.ndarray, grain: float, rng: np.random.Generator) -> np.ndarray:
    """`sky` with film grain: mostly shared by the channels, a third of it per channel; uint8."""
    shape = sky.shape[:2]
    noise = rng.normal(0.0, grain, (*shape, 1)) + rng.normal(0.0, grain / 3, (*shape, 3))
    return np.clip(np.rint(sky + noise), 0, 255).astype(np.uint8)


def structure(restored: np.ndarray, sky: np.ndarray) -> tuple[float, float]:
    """(largest band-passed error, share of pixels above AREA_LEVEL), see the module docstring."""
    error = restored.astype(np.float32) - sky
    band = cv2.GaussianBlur(error, (0, 0), GRAIN_SIGMA) - cv2.GaussianBlur(error, (0, 0), TONE_SIGMA)
    worst = np.abs(band).max(axis=2)[BORDER:-BORDER, BORDER:-BORDER]
    return float(worst.max()), float((worst > AREA_LEVEL).mean())


def tone_change(restored: np.ndarray, sky: np.ndarray) -> tuple[float, float]:
    """(shift, patchiness) of the restored sky's tone against the clean sky, see the module docstring."""
    error = cv2.GaussianBlur(restored.astype(np.float32) - sky, (0, 0), TONE_SIGMA)[BORDER:-BORDER, BORDER:-BORDER]
    return float(np.abs(error).mean(axis=(0, 1)).max()), float(error.std(axis=(0, 1)).max())


def skies(seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean float sky, grainy uint8 input) for every sky, size and grain."""
    rng = np.random.default_rng(seed)
    out = []
    for name, colours in SKIES.items():
        for height, width in SIZES:
            sky = clean_sky(colours, height, width)
            for grain in GRAINS:
                out.append((f"{name} {width}x{height} grain {grain:g}", sky, grainy(sky, grain, rng)))
    return out


def main(argv: list[str] | None = None) -> int:
    from restore.pipeline import Restorer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, default=Path("weights"), help="weights folder (its fp32 restore)")
    parser.add_argument(
        "--model", action="append", default=[], metavar="NAME=FILE", help="a restore model (.onnx, or a weights folder)"
    )
    parser.add_argument("--margin", type=float, default=2.0, help="structure a variant may add over fp32 (units)")
    parser.add_argument("--save", type=Path, metavar="DIR", help="write the restored skies here as PNGs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    models = {"fp32": args.weights / "restore.onnx"}
    for item in args.model:
        name, _, file = item.partition("=")
        models[name] = Path(file)
    scenes = skies()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, file in models.items():
            # a folder is a weights folder of its own (a model with other inputs, e.g. restore v2's context)
            weights = file if file.is_dir() else pinned_weights(args.weights, {"restore": file}, Path(tmp) / name)
            restorer = Restorer(weights, device="cpu")
            results[name] = {"structure": [], "area": [], "shift": [], "patchiness": []}
            for scene, sky, noisy in scenes:
                restored = restorer.process(noisy, colorize="never")
                peak, area = structure(restored, sky)
                shift, patchiness = tone_change(restored, sky)
                for key, value in (("structure", peak), ("area", area), ("shift", shift), ("patchiness", patchiness)):
                    results[name][key].append(value)
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    path = args.save / f"{name}-{scene.replace(' ', '_')}.png"
                    cv2.imwrite(str(path), cv2.cvtColor(restored, cv2.COLOR_RGB2BGR))
    fp32 = results["fp32"]["structure"]
    rows = []
    for index, (scene, _, _) in enumerate(scenes):
        row = [scene]
        for name in models:
            row += [results[name][key][index] for key in MEASURES]
        rows.append(row)
    worst = ["**worst**"]
    for name in models:
        worst += [max(results[name][key]) for key in MEASURES]
    rows.append(worst)
    headers = ["sky"] + [f"{name} {what}" for name in models for what in MEASURES]
    verdicts = {
        name: all(s <= f + args.margin for s, f in zip(results[name]["structure"], fp32, strict=True))
        for name in models
        if name != "fp32"
    }
    table = markdown_table(headers, rows)
    lines = [
        f"{name}: {'no' if ok else 'MORE'} structure than fp32 (margin {args.margin:g})"
        for name, ok in verdicts.items()
    ]
    table += "\n\n" + "\n".join(lines)
    report("Structured artifacts on smooth skies (restore)", table, {"results": results, "ships": verdicts}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
