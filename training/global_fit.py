"""Train the global colour correction (training.global_correction) behind a restore model, and export it.

    revive-train fit-correction --data FIT_DIR --holdout HOLDOUT_DIR --weights weights/ --run RUN_DIR
        [--export weights/]

1. Samples (cached in RUN_DIR/samples-*.npz): each photo is degraded with the `train` preset (a share
   `--sound-share` is left as it is: the correction must learn to leave sound photos alone), restored by the
   manifest's restore model as the CPU runs it, and the restored photo and its target are resized to SIZE x SIZE.
2. Fit: the frozen encoder's features are computed once; the head learns to maximise the mean PSNR (the mean of
   per-photo log squared errors) between the corrected restored photo and the target; the step with the best
   holdout PSNR is kept.
3. Export (`--export DIR`): restore_global.onnx and its manifest entry (task "correct") in DIR.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from training.data import list_images, read_rgb, restore_target
from training.degradations import PRESETS, degrade
from training.global_correction import SIZE, GlobalCorrection, apply_correction


def make_samples(photos: list[Path], weights: Path, sound_share: float, seed: int) -> dict[str, np.ndarray]:
    """(restored, target) pairs at SIZE x SIZE, uint8 (N, SIZE, SIZE, 3) each, and whether each input was sound."""
    from restore import Restorer

    restorer = Restorer(weights, device="cpu")
    restored, target, sound = [], [], []
    for index, path in enumerate(tqdm(photos, desc="samples")):
        rng = np.random.default_rng([seed, index])
        clean = read_rgb(path)
        is_sound = bool(rng.random() < sound_share)
        degraded = clean if is_sound else degrade(clean, PRESETS["train"], rng)
        out = restorer.process(degraded, restore=True, colorize="never")
        for store, image in ((restored, out), (target, restore_target(clean, degraded))):
            store.append(cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA))
        sound.append(is_sound)
    return {"restored": np.stack(restored), "target": np.stack(target), "sound": np.array(sound)}


def cached_samples(folder: Path, run: Path, name: str, args: argparse.Namespace) -> dict[str, np.ndarray]:
    path = run / f"samples-{name}.npz"
    if not path.exists():
        samples = make_samples(list_images(folder), args.weights, args.sound_share, args.seed + (name == "holdout"))
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **samples)
        tmp.rename(path)
    with np.load(path) as data:
        return dict(data)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def features_of(model: GlobalCorrection, restored: torch.Tensor, batch: int = 64) -> torch.Tensor:
    return torch.cat([model.features(restored[i : i + batch]) for i in range(0, len(restored), batch)])


def psnr_of_mse(mse: torch.Tensor) -> torch.Tensor:
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (`revive-train fit-correction`, `python -m training.global_fit`)."""
    parser.add_argument("--data", type=Path, required=True, help="training photos")
    parser.add_argument("--holdout", type=Path, required=True, help="photos to choose the step on (not val)")
    parser.add_argument("--weights", type=Path, default=Path("weights"), help="the restore model to correct")
    parser.add_argument("--run", type=Path, required=True, help="run folder: samples cache, checkpoint, log")
    parser.add_argument("--export", type=Path, default=None, help="write restore_global.onnx and register it here")
    parser.add_argument("--sound-share", type=float, default=0.2, help="inputs left undamaged (default 0.2)")
    parser.add_argument("--iters", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Samples, fit, and export when asked; prints the summary. Returns the exit status."""
    args.run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    fit, holdout = (cached_samples(folder, args.run, name, args) for folder, name in
                    ((args.data, "fit"), (args.holdout, "holdout")))  # fmt: skip
    model = GlobalCorrection()
    tensors = {}
    for name, samples in (("fit", fit), ("holdout", holdout)):
        restored = to_tensor(samples["restored"])
        cache = args.run / f"features-{name}.pt"  # the frozen encoder's: the same for every fit of these samples
        if not cache.exists():
            torch.save(features_of(model, restored), cache)
        tensors[name] = (torch.load(cache, weights_only=True), restored, to_tensor(samples["target"]))
    features, restored, target = tensors["fit"]
    holdout_features, holdout_restored, holdout_target = tensors["holdout"]
    baseline = psnr_of_mse(((holdout_restored - holdout_target) ** 2).mean(dim=(1, 2, 3))).mean()

    optimizer = torch.optim.AdamW(model.head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    best = (float("-inf"), 0, None)
    log = []
    start = time.perf_counter()
    for step in range(1, args.iters + 1):
        model.train()
        pick = torch.randint(0, len(features), (args.batch,))
        corrected = apply_correction(restored[pick], model.predict(features[pick]))
        # The mean of per-photo log errors, i.e. minus the mean PSNR that the eval reports: a plain MSE would let
        # the worst photos' large errors decide, at the cost of the many that need little.
        loss = torch.log10(((corrected - target[pick]) ** 2).mean(dim=(1, 2, 3)) + 1e-5).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == args.iters:
            model.eval()
            with torch.no_grad():
                corrected = apply_correction(holdout_restored, model.predict(holdout_features))
                per_photo = psnr_of_mse(((corrected - holdout_target) ** 2).mean(dim=(1, 2, 3)))
            score = float(per_photo.mean())
            log.append({"step": step, "train_loss": loss.item(), "holdout_psnr": score})
            print(f"step {step}: train loss {loss.item():.4f}, holdout {score:.3f} dB (restored {baseline:.3f})",
                  flush=True)  # fmt: skip
            if score > best[0]:
                best = (score, step, {k: v.clone() for k, v in model.head.state_dict().items()})
    model.head.load_state_dict(best[2])
    summary = {
        "holdout_psnr_restored": float(baseline),
        "holdout_psnr_corrected": best[0],
        "best_step": best[1],
        "fit_samples": len(features),
        "holdout_samples": len(holdout_features),
        "seconds": round(time.perf_counter() - start, 1),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    torch.save({"head": model.head.state_dict(), "summary": summary}, args.run / "correction.pt")
    (args.run / "log.json").write_text(json.dumps({"summary": summary, "log": log}, indent=1))
    print(json.dumps(summary, indent=1))
    if args.export is not None:
        from training.export import export_correction

        export_correction(model, args.export, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
