"""Training speed: iterations per second of `revive-train fit` in fp32 and with bf16 autocast.

    python -m benchmarks.train_speed [--data DIR] [--iterations 10] [--threads N]

For each task at its shipped recipe (configs/restore.yaml, configs/colorize.yaml: crop, batch, model, threads,
loader workers), each precision and each phase (reconstruction pretraining; adversarial: the generator step plus
n_critic critic steps), the real Trainer runs `--iterations` steps after `--warmup` in a fresh subprocess. Data:
random crops of the photos in --data, else of a few scikit-image sample photos. The colour prior is uniform
(it changes loss weights, not speed). The last column estimates a whole run: pretrain_iters + adversarial iters.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import ROOT, Result, base_parser, isolated, markdown_table, report, timed, write_sample_photos

TASKS = ("restore", "colorize")
PRECISIONS = {"fp32": "fp32", "bf16 autocast": "auto"}  # label -> TrainConfig.precision ("auto": bf16 on CPU)
PHASES = ("pretrain", "adversarial")


def train_speed(task: str, precision: str, phase: str, data: str, iterations: int, warmup: int, threads: int) -> Result:
    """Seconds per training iteration of `task` at its shipped config, in `phase`, with `precision`."""
    import numpy as np

    from training.colorbins import ab_bin_centers
    from training.config import resolve
    from training.data import training_batches
    from training.trainer import Trainer

    with tempfile.TemporaryDirectory() as out:
        prior = Path(out) / "prior.npy"
        np.save(prior, np.full(len(ab_bin_centers()), 1 / len(ab_bin_centers())))
        overrides = [{"data": data, "out": out, "precision": precision, "color": {"prior": str(prior)}}]
        if threads:
            overrides.append({"threads": threads})
        config = resolve(task, ROOT / "configs" / f"{task}.yaml", overrides)
        trainer = Trainer(config)
        trainer.batches = training_batches(trainer.dataset, config.batch, 0, 0, 1, config.workers, config.seed)
        trainer.step = 0 if phase == "pretrain" else config.pretrain_iters
        timing = timed(trainer.train_step, iterations, warmup)
    return {
        **timing,
        "iterations_per_s": len(timing["times_s"]) / sum(timing["times_s"]),
        "config": {k: getattr(config, k) for k in ("crop", "batch", "threads", "workers", "n_critic", "iters")},
        "pretrain_iters": config.pretrain_iters,
    }


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.set_defaults(warmup=3)
    parser.add_argument("--iterations", type=int, default=10, help="timed training iterations per measurement")
    parser.add_argument("--data", type=Path, help="folder of photos (default: scikit-image sample photos)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the config's)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data.resolve() if args.data else write_sample_photos(Path(tmp) / "photos")
        for task in args.tasks:
            for label, precision in PRECISIONS.items():
                for phase in PHASES:
                    result = isolated(
                        "benchmarks.train_speed:train_speed",
                        task=task,
                        precision=precision,
                        phase=phase,
                        data=str(data),
                        iterations=args.iterations,
                        warmup=args.warmup,
                        threads=args.threads,
                    )
                    results.append({"task": task, "precision": label, "phase": phase, **result})
    rows = []
    for task in args.tasks:
        hours: dict[str, float] = {}
        for label in PRECISIONS:
            pre, adv = (
                next(r for r in results if (r["task"], r["precision"], r["phase"]) == (task, label, p)) for p in PHASES
            )
            c = pre["config"]
            adversarial_iters = c["iters"] - pre["pretrain_iters"]
            seconds = pre["pretrain_iters"] / pre["iterations_per_s"] + adversarial_iters / adv["iterations_per_s"]
            hours[label] = seconds / 3600
            rows.append(
                [
                    task,
                    f"{c['crop']} px x {c['batch']}",
                    c["threads"],
                    label,
                    pre["iterations_per_s"],
                    adv["iterations_per_s"],
                    hours[label],
                    hours["fp32"] / hours[label],
                ]
            )
    table = markdown_table(
        [
            "task",
            "crop x batch",
            "threads",
            "precision",
            "pretrain it/s",
            "adversarial it/s",
            "full run h",
            "speed-up vs fp32",
        ],
        rows,
    )
    report("Training speed", table, {"train_speed": results}, args.json)


if __name__ == "__main__":
    main()
