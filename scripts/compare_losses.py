"""The same adversarial fine-tuning budget under each adversarial loss, from one checkpoint, in one table.

    python scripts/compare_losses.py --init CHECKPOINT --config configs/colorize-v2.yaml --data FIT_DIR \\
        --val HOLDOUT_DIR --out RUNS_DIR [--steps 60] [--limit 40] [--losses wgan-gp hinge ...] [--set k=v ...] \\
        [--export-arg=--prior-correction=0.2 ...] [--eval-arg=--fp32 ...]

For each loss: `revive-train fit --init-from CHECKPOINT --set loss=L --set pretrain_iters=0` for --steps
generator steps (vanilla with annealed instance noise 0.1), `revive-train export`, `revive-train eval` on the
first --limit photos of --val (PSNR, colourfulness, semantic agreement and feature cosine), and the critic's
statistics from the run's TensorBoard log: its loss and, for the Wasserstein losses, its estimate
E[D(real)] - E[D(fake)], first and last logged values. Prints a Markdown table; RUNS_DIR/losses.json keeps it all.
Runs already finished in RUNS_DIR are not run again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from training.losses import ADVERSARIAL_LOSSES

COLUMNS = (
    ("model_psnr", "PSNR"),
    ("model_colorfulness", "colourfulness"),
    ("mobilenet_v2_model_agreement", "MobileNetV2 agreement"),
    ("efficientnet_lite2_model_agreement", "Lite2 agreement"),
    ("mobilenet_v2_model_cosine", "MobileNetV2 cosine"),
    ("efficientnet_lite2_model_cosine", "Lite2 cosine"),
)


def critic_statistics(run: Path) -> dict[str, Any]:
    """First and last logged critic loss and Wasserstein estimate of a run's TensorBoard log, and the estimate's
    mean over each fifth of the run (its course over time; single logged steps are noisy)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = EventAccumulator(str(run / "tb"))
    log.Reload()
    stats: dict[str, Any] = {}
    for tag in ("critic/loss", "critic/wasserstein"):
        if tag in log.Tags()["scalars"]:
            values = log.Scalars(tag)
            stats[f"{tag}_first"], stats[f"{tag}_last"] = values[0].value, values[-1].value
            fifths = np.array_split(np.array([value.value for value in values]), 5)
            stats[f"{tag}_fifths"] = [float(part.mean()) for part in fifths]
    return stats


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def compare(args: argparse.Namespace, loss: str) -> dict[str, float]:
    folder = args.out / loss
    result_path = folder / "eval.json"
    if not result_path.exists():
        settings = [f"loss={loss}", "pretrain_iters=0", f"iters={args.steps}", "log_every=5", "val_every=100000"]
        if loss == "vanilla":
            settings.append("instance_noise=0.1")
        fit = ["revive-train", "fit", "--task", "colorize", "--config", str(args.config), "--data", str(args.data)]
        fit += ["--val", str(args.val), "--out", str(folder / "run"), "--init-from", str(args.init)]
        run(fit + [f"--set={s}" for s in settings + args.set])
        export = ["revive-train", "export", "--checkpoint", str(folder / "run" / "last.pt"), "--out", str(folder / "w")]
        run(export + args.export_arg)
        evaluate = ["revive-train", "eval", "--task", "colorize", "--weights", str(folder / "w" / "colorize.onnx")]
        evaluate += ["--data", str(args.val), "--limit", str(args.limit), "--json", str(result_path)]
        run(evaluate + args.eval_arg)
    mean = json.loads(result_path.read_text())["mean"]
    return {**{key: mean[key] for key, _ in COLUMNS}, **critic_statistics(folder / "run")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--init", type=Path, required=True, help="checkpoint every run starts from")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="training photos")
    parser.add_argument("--val", type=Path, required=True, help="photos to evaluate on (a split of train)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=60, help="adversarial generator steps per loss")
    parser.add_argument("--limit", type=int, default=40, help="photos evaluated")
    parser.add_argument("--losses", nargs="+", default=list(ADVERSARIAL_LOSSES), choices=ADVERSARIAL_LOSSES)
    parser.add_argument("--set", action="append", default=[], help="a further config value for every run")
    parser.add_argument("--export-arg", action="append", default=[], help="a further `revive-train export` argument")
    parser.add_argument("--eval-arg", action="append", default=[], help="a further `revive-train eval` argument")
    args = parser.parse_args()
    rows = {loss: compare(args, loss) for loss in args.losses}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "losses.json").write_text(json.dumps({"steps": args.steps, "init": str(args.init), **rows}, indent=2))
    critic = ("critic/loss_first", "critic/loss_last", "critic/wasserstein_first", "critic/wasserstein_last")
    print("| loss | " + " | ".join(name for _, name in COLUMNS) + " | critic loss first / last | W first / last |")
    print("|---|" + "---:|" * (len(COLUMNS) + 2))
    for loss, row in rows.items():
        cells = [f"{row[key]:.3f}" for key, _ in COLUMNS]
        pairs = [f"{row.get(critic[i], float('nan')):.3g} / {row.get(critic[i + 1], float('nan')):.3g}" for i in (0, 2)]
        print(f"| {loss} | " + " | ".join(cells + pairs) + " |")
    print("\n| loss | critic's E[D(real)] - E[D(fake)], mean over each fifth of the run |\n|---|---|")
    for loss, row in rows.items():
        print(f"| {loss} | " + " / ".join(f"{value:.2f}" for value in row.get("critic/wasserstein_fifths", [])) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
