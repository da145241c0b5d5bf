"""Train restore's global tone correction (training.global_correction), and export it.

    revive-train fit-correction --data FIT_DIR --holdout HOLDOUT_DIR --run RUN_DIR [--behind weights/]
        [--export weights/]

1. Samples (cached in RUN_DIR/samples-*.npz): with `--behind WEIGHTS_DIR`, each photo is degraded `--draws`
   times with `--preset` (default train4, the restorer's training mix, a share of draws left sound) and restored
   by that folder's restore model: exactly what the correction sees when it runs. Without it, each photo,
   resized to SIZE x SIZE, gets the `tone` preset's tone effects alone: what a perfect restorer that leaves tone
   alone (`keep_tone`) would output. The target is the photo itself (gray when the copy is gray). Kept are the
   correction's input features and both images at LOSS_SIZE (a global transform's error shows at any size).
2. Fit: the head learns to maximise the mean PSNR (the mean of per-photo log squared errors, floored at 50 dB)
   between the corrected copy and the target; the step with the best holdout score is kept.
3. Export (`--export DIR`): restore_global.onnx and its manifest entry (task "correct") in DIR, next to the
   restore model it follows.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from restore import Restorer
from restore.commands.common import positive_int
from training.data import list_images, read_rgb, restore_target
from training.degradations import PRESETS, degrade
from training.global_correction import FEATURES, SIZE, GlobalCorrection, apply_correction
from training.trainer import cpu_description

CopyMaker = Callable[[np.ndarray, list[np.random.Generator]], list[tuple[np.ndarray, np.ndarray]]]
LOSS_SIZE = 48
FLOOR = 1e-5  # a squared error this small counts as perfect (50 dB)


def toned_copies(photo: np.ndarray, rngs: list[np.random.Generator]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(copy, target) per generator: the photo at SIZE x SIZE with the `tone` preset's effects, and itself."""
    small = cv2.resize(photo, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    copies = [degrade(small, PRESETS["tone"], rng) for rng in rngs]
    return [(copy, restore_target(small, copy)) for copy in copies]


def restored_copies(
    photo: np.ndarray, rngs: list[np.random.Generator], restorer: Restorer, preset: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(copy, target) per generator: the photo degraded with `preset` and restored (uncorrected), and itself."""
    degraded = [degrade(photo, PRESETS[preset], rng) for rng in rngs]
    restored = restorer.restore_images(degraded, correct=False)  # one batch: the copies share the photo's size
    return [(copy, restore_target(photo, damaged)) for copy, damaged in zip(restored, degraded, strict=True)]


def make_samples(photos: list[Path], draws: int, seed: int, make_copies: CopyMaker) -> dict[str, np.ndarray]:
    """Per draw: the correction's features of the copy, and the copy and its target at LOSS_SIZE (uint8)."""
    count = len(photos) * draws
    features = torch.empty(count, FEATURES)
    image, target = (np.empty((count, LOSS_SIZE, LOSS_SIZE, 3), np.uint8) for _ in range(2))  # no heap fragments
    shrink = functools.partial(cv2.resize, dsize=(LOSS_SIZE, LOSS_SIZE), interpolation=cv2.INTER_AREA)
    for index, path in enumerate(tqdm(photos, desc="samples")):
        pairs = make_copies(read_rgb(path), [np.random.default_rng([seed, index, draw]) for draw in range(draws)])
        rows = slice(index * draws, (index + 1) * draws)
        thumbnails = [cv2.resize(copy, (SIZE, SIZE), interpolation=cv2.INTER_AREA) for copy, _ in pairs]
        features[rows] = GlobalCorrection.features(to_tensor(np.stack(thumbnails)))
        image[rows] = [shrink(copy) for copy, _ in pairs]
        target[rows] = [shrink(clean) for _, clean in pairs]
    return {"features": features.numpy(), "image": image, "target": target}


def copy_maker(args: argparse.Namespace) -> tuple[str, CopyMaker]:
    """How the samples' copies are made, and its name for the samples cache: tone-only thumbnails, or with
    `--behind`, that folder's restore model (named by its file's sha256; WeightsError when it has none)."""
    if not args.behind:
        return "toned", toned_copies
    restorer = Restorer(args.behind, device="cpu")  # its session starts with the first photo
    sha256 = restorer.manifest.model("restore").sha256
    make_copies = functools.partial(restored_copies, restorer=restorer, preset=args.preset)
    return f"{args.preset}-behind-{sha256[:12]}", make_copies


def cached_samples(
    folder: Path, name: str, source: tuple[str, CopyMaker], args: argparse.Namespace
) -> dict[str, np.ndarray]:
    """The samples of the photos in `folder`, made by `source` (copy_maker) unless RUN_DIR caches them."""
    source_name, make_copies = source
    path = args.run / f"samples-{name}-{source_name}-draws{args.draws}-seed{args.seed}.npz"  # these settings only
    if not path.exists():
        samples = make_samples(list_images(folder), args.draws, args.seed + (name == "holdout"), make_copies)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **samples)
        tmp.rename(path)
    with np.load(path) as data:
        return dict(data)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def log_error(corrected: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per photo log10 of the mean squared error, floored at FLOOR: minus a tenth of its PSNR, at most 50 dB."""
    return torch.log10(((corrected - target) ** 2).mean(dim=(1, 2, 3)) + FLOOR)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (`revive-train fit-correction`, `python -m training.global_fit`)."""
    parser.add_argument("--data", type=Path, required=True, help="training photos")
    parser.add_argument("--holdout", type=Path, required=True, help="photos to choose the step on (not val)")
    parser.add_argument("--run", type=Path, required=True, help="run folder: samples cache, checkpoint, log")
    parser.add_argument("--export", type=Path, default=None, help="write restore_global.onnx and register it here")
    parser.add_argument(
        "--behind",
        type=Path,
        default=None,
        help="a weights folder: fit on its restore model's outputs of degraded photos",
    )
    parser.add_argument(
        "--preset",
        default="train4",
        choices=sorted(PRESETS),
        help="with --behind: the degradation preset (default train4)",
    )
    parser.add_argument("--draws", type=int, default=8, help="copies of each photo (default 8)")
    parser.add_argument("--iters", type=positive_int, default=6000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Samples, fit, and export when asked; prints the summary. Returns the exit status."""
    start = time.perf_counter()  # samples (when not cached) and fit
    source = copy_maker(args)  # a weights folder without a restore model fails here, before anything is made
    args.run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    fit, holdout = (cached_samples(folder, name, source, args) for folder, name in
                    ((args.data, "fit"), (args.holdout, "holdout")))  # fmt: skip
    features, image, target = torch.from_numpy(fit["features"]), to_tensor(fit["image"]), to_tensor(fit["target"])
    holdout_features, holdout_image = torch.from_numpy(holdout["features"]), to_tensor(holdout["image"])
    holdout_target = to_tensor(holdout["target"])
    model = GlobalCorrection()
    model.normalize_features(features)
    baseline = -10 * float(log_error(holdout_image, holdout_target).mean())

    optimizer = torch.optim.AdamW(model.head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    best = (float("-inf"), 0, None)
    log = []
    for step in range(1, args.iters + 1):
        model.train()
        pick = torch.randint(0, len(features), (args.batch,))
        corrected = apply_correction(image[pick], model.predict(features[pick]))
        # The mean of per-photo log errors, i.e. minus the mean PSNR that the eval reports: a plain MSE would let
        # the worst photos' large errors decide, at the cost of the many that need little.
        loss = log_error(corrected, target[pick]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 250 == 0 or step == args.iters:
            model.eval()
            with torch.no_grad():
                corrected = apply_correction(holdout_image, model.predict(holdout_features))
                score = -10 * float(log_error(corrected, holdout_target).mean())
            log.append({"step": step, "train_loss": loss.item(), "holdout_psnr": score})
            print(f"step {step}: train loss {loss.item():.4f}, holdout {score:.3f} dB (uncorrected {baseline:.3f})",
                  flush=True)  # fmt: skip
            if score > best[0]:
                best = (score, step, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    summary = {
        "holdout_psnr_uncorrected": baseline,
        "holdout_psnr_corrected": best[0],
        "best_step": best[1],
        "fit_samples": len(features),
        "holdout_samples": len(holdout_features),
        "iterations": args.iters,
        "wall_time_h": round((time.perf_counter() - start) / 3600, 3),
        "hardware": f"1 x {cpu_description()}",
        "args": {k: str(v) for k, v in vars(args).items() if k != "handler"},  # not the CLI's function
    }
    torch.save({"model": model.state_dict(), "summary": summary}, args.run / "correction.pt")
    (args.run / "log.json").write_text(json.dumps({"summary": summary, "log": log}, indent=1))
    print(json.dumps(summary, indent=1))
    if args.export is not None:
        from training.export import export_correction

        export_correction(model, args.export, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
