"""Run under torchrun by test_training: a tiny 2-rank gloo training run; each rank saves its generator weights."""

import sys
from pathlib import Path

import torch

from training.config import resolve
from training.trainer import Trainer

photos, out = Path(sys.argv[1]), Path(sys.argv[2])
config = resolve(
    "restore",
    overrides=[
        {"generator": {"width": 8, "depth": 2}, "critic": {"width": 8, "layers": 2}},
        {
            "batch": 2,
            "crop": 32,
            "iters": 3,
            "pretrain_iters": 1,
            "n_critic": 1,
            "workers": 0,
            "device": "cpu",
        },
        {"data": str(photos), "out": str(out), "save_every": 3, "log_every": 1},
    ],
)
trainer = Trainer(config)
trainer.fit()
out.mkdir(parents=True, exist_ok=True)
torch.save(trainer.generator.state_dict(), out / f"rank{trainer.ctx.rank}.pt")
