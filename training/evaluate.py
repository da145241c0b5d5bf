"""`revive-train eval`: a model against baselines on clean photos, per image and in mean.

restore:  the clean photo is degraded with a preset (the fixed `eval` preset by default: one fixed seed per file
          name), then restored by the exported model through the same tiled inference users run. Baselines: the
          degraded input itself, a classical OpenCV restoration (scratch inpainting + non-local means), and with
          `--ffdnet` the FFDNet denoiser (training.peers) at a noise level given or tuned on other photos.
colorize: the clean photo's luminance is colorized at the model's render size and merged with the full-resolution
          L*. Baseline: the grayscale image (a* = b* = 0). Colourfulness is Hasler & Suesstrunk's signed formula.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from restore.color import as_gray, rgb_to_lab
from training.data import list_images, read_rgb, restore_target
from training.degradations import PRESETS, degrade, seed_for
from training.metrics import colorfulness, psnr, ssim

SOUND = "none"  # the restore eval's preset for undamaged photos
HINT_PATCH = 5  # px: the side of each simulated user hint (Zhang et al. 2017 sample 1-9 px patches)


def classical_restore(rgb: np.ndarray) -> np.ndarray:
    """OpenCV baseline: inpaint thin bright/dark line defects (morphological top-hat/black-hat), then non-local
    means denoising (Buades et al. 2005)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    tophat = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kernel)
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kernel)
    mask = ((tophat > 50) | (blackhat > 50)).astype(np.uint8) * 255
    inpainted = cv2.inpaint(rgb, mask, 3, cv2.INPAINT_TELEA)
    return cv2.fastNlMeansDenoisingColored(inpainted, None, 10, 10, 7, 21)


def restore_pair(path: Path, preset: str) -> tuple[np.ndarray, np.ndarray]:
    """(target, degraded) for a clean photo: the eval's fixed degradation of it (`SOUND`: none)."""
    clean = read_rgb(path)
    if preset == SOUND:  # the photo as it is: what restoring does to a photo in good condition
        return clean, clean
    degraded = degrade(clean, PRESETS[preset], np.random.default_rng(seed_for(path.name)))
    return restore_target(clean, degraded), degraded


def evaluate_restore(
    restorer: Any,
    images: list[Path],
    preset: str,
    strength: float = 1.0,
    peers: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    opencv: bool = True,
    scratches: bool = False,
) -> list[dict[str, Any]]:
    """Per photo: PSNR and SSIM of the model (with `scratches`, its damage map's inpainting too), the degraded
    input, OpenCV (unless not `opencv`: its non-local means takes most of the time) and each of `peers` (name ->
    restorer)."""
    rows = []
    for path in tqdm(images, desc="restore eval", leave=False):
        clean, degraded = restore_pair(path, preset)
        outputs = {
            "model": restorer.process(degraded, colorize="never", strength=strength, scratches=scratches),
            "input": degraded,
            **({"opencv": classical_restore(degraded)} if opencv else {}),
            **{name: peer(degraded) for name, peer in (peers or {}).items()},
        }
        row: dict[str, Any] = {"image": path.name}
        for method, output in outputs.items():
            row[f"{method}_psnr"] = psnr(clean, output)
            row[f"{method}_ssim"] = ssim(clean, output)
        rows.append(row)
    return rows


def evaluate_colorize(
    restorer: Any,
    images: list[Path],
    temperature: float | None,
    render_size: int | None = None,
    classifiers: list[Any] | None = None,
    labels: dict[str, int] | None = None,
    hint_points: int = 0,
) -> list[dict[str, Any]]:
    """Per photo: PSNR, colourfulness and mean a*b* of the model and of gray; with `classifiers`
    (training.semantics), their agreement / feature cosine with the truth, and top-1 for photos in `labels`;
    with `hint_points`, PSNR and the hinted pixels' colour error when that many true colours are given as hints."""
    from training.semantics import semantic_row

    rows = []
    for path in tqdm(images, desc="colorize eval", leave=False):
        clean = read_rgb(path)
        gray = as_gray(clean)
        output = restorer.process(
            gray, restore=False, colorize="always", temperature=temperature, render_size=render_size
        )
        truth_cf = colorfulness(clean)
        model_ab, truth_ab = rgb_to_lab(output)[..., 1:].mean(axis=(0, 1)), rgb_to_lab(clean)[..., 1:].mean(axis=(0, 1))
        rows.append(
            {
                "image": path.name,
                "model_psnr": psnr(clean, output),
                "gray_psnr": psnr(clean, gray),
                "model_colorfulness": colorfulness(output),
                "truth_colorfulness": truth_cf,
                "model_colorfulness_gap": colorfulness(output) - truth_cf,
                "model_mean_a": float(model_ab[0]),
                "model_mean_b": float(model_ab[1]),
                "truth_mean_a": float(truth_ab[0]),
                "truth_mean_b": float(truth_ab[1]),
            }
        )
        if classifiers:
            label = None if labels is None else labels.get(path.name)
            rows[-1].update(semantic_row(classifiers, clean, gray, output, label))
        if hint_points:
            hints = truth_hints(clean, hint_points, np.random.default_rng(seed_for(path.name)))
            hinted = restorer.process(
                gray, restore=False, colorize="always", temperature=temperature, render_size=render_size, hints=hints
            )
            rows[-1]["hinted_psnr"] = psnr(clean, hinted)
            rows[-1]["hinted_delta_e"] = hint_delta_e(hinted, hints)
    return rows


def truth_hints(clean: np.ndarray, points: int, rng: np.random.Generator, size: int = HINT_PATCH) -> np.ndarray:
    """`points` square hint patches of `size` px at uniform positions, each the true photo's mean a*b* there
    (a user who knows the colours, as Zhang et al. 2017 simulate one), as a restore.hints map."""
    lab = rgb_to_lab(clean)
    height, width = clean.shape[:2]
    hints = np.zeros((height, width, 3), np.float32)
    for _ in range(points):
        top, left = rng.integers(0, max(1, height - size + 1)), rng.integers(0, max(1, width - size + 1))
        patch = (slice(top, top + size), slice(left, left + size))
        hints[patch + (slice(0, 2),)] = lab[patch + (slice(1, 3),)].reshape(-1, 2).mean(axis=0)
        hints[patch + (2,)] = 1.0
    return hints


def hint_delta_e(output: np.ndarray, hints: np.ndarray) -> float:
    """Mean CIE76 colour difference between the output and the hint colour over the hinted pixels (the
    output's own lightness: a hint sets colour, not lightness)."""
    mask = hints[..., 2] > 0
    ab = rgb_to_lab(output)[..., 1:][mask]
    return float(np.linalg.norm(ab - hints[..., :2][mask], axis=1).mean())


def semantic_summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Per classifier: the share of the gray-to-truth agreement gap the model recovers,
    (agreement_model - agreement_gray) / (1 - agreement_gray), and top-1 means over the labelled photos only."""
    summary = {}
    keys = dict.fromkeys(key for row in rows for key in row)  # top-1 keys appear only in labelled rows
    for key in keys:
        if key.endswith("_model_agreement"):
            name = key.removesuffix("_model_agreement")
            model, gray = (float(np.mean([r[f"{name}_{w}_agreement"] for r in rows])) for w in ("model", "gray"))
            summary[f"{name}_gap_recovered"] = (model - gray) / max(1e-9, 1.0 - gray)
        if key.endswith("_top1"):
            labelled = [r[key] for r in rows if key in r]
            summary[f"labelled_{key}"] = float(np.mean(labelled))
            summary["labelled_images"] = float(len(labelled))
    return summary


def tint_variety(rows: list[dict[str, Any]], who: str) -> float:
    """Spread across images of each image's mean a*b* (the norm of the per-axis standard deviations).

    A colorizer that gives every photo the same tint scores near 0 however colourful that tint is, which
    colourfulness alone does not reveal (the sepia-wash failure)."""
    return float(np.hypot(np.std([r[f"{who}_mean_a"] for r in rows]), np.std([r[f"{who}_mean_b"] for r in rows])))


def summarize(rows: list[dict[str, Any]]) -> dict[str, float]:
    keys = [k for k in rows[0] if k != "image" and not k.endswith("_top1")]
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def markdown(rows: list[dict[str, Any]], mean: dict[str, float]) -> str:
    keys = list(mean)
    lines = ["| image | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for row in rows:
        lines.append("| " + row["image"] + " | " + " | ".join(f"{row[k]:.3f}" if k in row else "" for k in keys) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{mean[k]:.3f}**" for k in keys) + " |")
    return "\n".join(lines) + "\n"


def ffdnet_sigma_on(args: argparse.Namespace) -> float:
    """FFDNet's noise level, tuned on the first `--ffdnet-tune-limit` photos of `--ffdnet-tune` (not `--data`)
    degraded with the same preset; prints every candidate's mean PSNR."""
    from training.peers import load_ffdnet, tune_sigma

    if not args.ffdnet_tune:
        raise ValueError("--ffdnet needs --ffdnet-sigma S or --ffdnet-tune DIR (photos to choose the level on)")
    if Path(args.ffdnet_tune).resolve() == Path(args.data).resolve():
        raise ValueError("--ffdnet-tune must be other photos than --data: the evaluation set must not pick settings")
    tune_images = list_images(Path(args.ffdnet_tune))[: args.ffdnet_tune_limit]
    pairs = [restore_pair(path, args.preset) for path in tqdm(tune_images, desc="ffdnet tuning", leave=False)]
    sigma, means = tune_sigma(load_ffdnet(Path(args.ffdnet)), pairs, psnr)
    scores = ", ".join(f"{level:g}: {mean:.2f} dB" for level, mean in means.items())
    print(
        f"ffdnet noise level {sigma:g} chosen on {len(pairs)} photos of {args.ffdnet_tune}: {scores}", file=sys.stderr
    )
    return sigma


Report = tuple[list[dict[str, Any]], dict[str, float], dict[str, Any]]  # per photo, means, settings used


def restore_report(restorer: Any, images: list[Path], args: argparse.Namespace) -> Report:
    """The restore eval with its baselines (and FFDNet with `--ffdnet`)."""
    from training.peers import ffdnet_restorer, load_ffdnet

    peers, settings = {}, {}
    if args.ffdnet:
        sigma = args.ffdnet_sigma if args.ffdnet_sigma is not None else ffdnet_sigma_on(args)
        peers["ffdnet"] = ffdnet_restorer(load_ffdnet(Path(args.ffdnet)), sigma)
        settings["ffdnet_sigma"] = sigma
    if args.strength != 1.0:
        settings["strength"] = args.strength
    if args.scratches:
        settings["scratches"] = True
    rows = evaluate_restore(restorer, images, args.preset, args.strength, peers, args.opencv, args.scratches)
    return rows, summarize(rows), settings


def colorize_report(restorer: Any, images: list[Path], args: argparse.Namespace) -> Report:
    """The colorize eval: colour measures, tint variety and (unless --no-semantic) the classifiers' verdicts."""
    from training.semantics import judges, read_labels

    classifiers = judges() if args.semantic else None
    labels = read_labels(Path(args.labels)) if args.labels else None
    rows = evaluate_colorize(
        restorer, images, args.temperature, args.render_size, classifiers, labels, args.hint_points
    )
    mean = summarize(rows)
    mean["model_tint_variety"] = tint_variety(rows, "model")
    mean["truth_tint_variety"] = tint_variety(rows, "truth")
    if args.semantic:
        mean.update(semantic_summary(rows))
    settings = {"temperature": args.temperature, "render_size": args.render_size}
    return rows, mean, {key: value for key, value in settings.items() if value}


EVALUATIONS = {"restore": restore_report, "colorize": colorize_report}


def run_evaluation(args: argparse.Namespace) -> int:
    from restore.pipeline import Restorer

    weights = Path(args.weights)
    restorer = Restorer(weights.parent, device="cpu")
    spec = restorer.manifest.models.get(args.task)
    if spec is None or spec.path.name != weights.name:
        raise ValueError(f"{weights.parent / 'manifest.json'} has no {args.task} entry for {weights.name}")
    if args.fp32:  # the model's own file, not the variant (e.g. cpu-int8) that the CPU runs in its place
        restorer.manifest.models[args.task] = replace(spec, variants=())
    images = list_images(Path(args.data))
    if args.limit:
        images = images[: args.limit]
    rows, mean, settings = EVALUATIONS[args.task](restorer, images, args)
    table = markdown(rows, mean)
    print(table)
    result = {
        "task": args.task,
        "weights": str(weights),
        "data": str(args.data),
        "preset": args.preset,
        **settings,
        "images": len(rows),
        "ran": restorer.model(args.task).path.relative_to(weights.parent).as_posix(),
        "mean": mean,
        "per_image": rows,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(" ".join(f"{k}={v:.3f}" for k, v in mean.items()), file=sys.stderr)
    return 0
