"""The training loop: reconstruction pretraining, then the adversarial phase against the critic.

Per generator step of the adversarial phase the critic takes `n_critic` steps, each on a fresh batch
(Gulrajani et al. 2017, Algorithm 1). The generator's exponential moving average is kept for evaluation and export.
Checkpoints are written atomically every `save_every` steps and on SIGINT/SIGTERM; `resume` continues exactly.
"""

from __future__ import annotations

import contextlib
import math
import platform
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import yaml
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from training import checkpoint, distributed
from training.config import TrainConfig, degradation_for, to_dict
from training.data import PairDataset, training_batches, validation_pairs
from training.losses import (
    critic_loss,
    feature_matching,
    generator_loss,
    gradient_penalty,
    instance_noise_sigma,
)
from training.metrics import psnr
from training.tasks import task_class, task_for_run


def ema_with_warmup(decay: float):
    """Exponential moving average whose decay ramps up as min(decay, (1 + n) / (10 + n)) over the first updates.

    A plain 0.999 average keeps a large share of the random initial weights for thousands of steps, and an
    average of weights that far apart is a worse network than either (measured here: 1.2 dB below the raw
    generator after 1,500 steps). The ramp is TensorFlow's ExponentialMovingAverage `num_updates` rule.
    """

    def average(averaged: torch.Tensor, current: torch.Tensor, updates: torch.Tensor) -> torch.Tensor:
        rate = min(decay, (1.0 + float(updates)) / (10.0 + float(updates)))
        return rate * averaged + (1.0 - rate) * current

    return average


def generator_parameter_groups(generator: nn.Module, config: TrainConfig) -> list[dict]:
    """Adam parameter groups: a pretrained encoder's weights (if any) learn at `encoder_lr_scale` of the rate.
    With `generator.train_only`, only the parameters under those names train; the rest stay fixed."""
    if config.generator.train_only:
        prefixes = tuple(config.generator.train_only)
        trained = [p for name, p in generator.named_parameters() if name.startswith(prefixes)]
        if not trained:
            raise ValueError(f"generator.train_only {list(prefixes)} names none of the generator's parameters")
        generator.requires_grad_(False)
        for parameter in trained:
            parameter.requires_grad_(True)
        return [{"params": trained, "lr": config.lr_g, "lr_scale": 1.0}]
    unet = generator.unet
    encoder = list(unet.encoder.parameters()) if hasattr(unet, "encoder") else []
    owned = {id(p) for p in encoder}
    rest = [p for p in generator.parameters() if id(p) not in owned]
    groups = [{"params": rest, "lr": config.lr_g, "lr_scale": 1.0}]
    if encoder:
        groups.append({"params": encoder, "lr": config.lr_g, "lr_scale": config.generator.encoder_lr_scale})
    return groups


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or infinite; nothing is saved from that step."""


def hardware_description(ctx: distributed.Context) -> str:
    """E.g. '1 x NVIDIA H100' or 'AMD EPYC 9R14 (2 threads)', for the model card."""
    if ctx.device.type == "cuda":
        return f"{ctx.world} x {torch.cuda.get_device_name(ctx.device)}"
    return f"{ctx.world} x {cpu_description()}"


def cpu_description() -> str:
    """E.g. 'AMD EPYC 9R14 (2 threads)': this machine's CPU and torch's thread count."""
    model = platform.processor() or "CPU"
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    return f"{model} ({torch.get_num_threads()} threads)"


def grad_norm(module: nn.Module) -> float:
    norms = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


class Trainer:
    def __init__(self, config: TrainConfig, resume: bool = False):
        self.config = config
        self.ctx = distributed.setup(config.device)
        if config.threads and self.ctx.device.type == "cpu":
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed + self.ctx.rank)
        self.run_dir = Path(config.out)
        self.last_path = self.run_dir / "last.pt"
        photos = task_class(config).training_photos(config)
        self.task = task_for_run(config, self.run_dir, photos)
        device = self.ctx.device
        self.generator = self.task.build_generator().to(device)
        self.critic = self.task.build_critic().to(device)
        if config.init_from and not resume:
            checkpoint.load_init_weights(self.generator, self.critic, Path(config.init_from))
        distributed.broadcast_parameters(self.generator)
        distributed.broadcast_parameters(self.critic)
        self.ema = AveragedModel(self.generator, avg_fn=ema_with_warmup(config.ema_decay), use_buffers=True)
        self.opt_g = torch.optim.Adam(generator_parameter_groups(self.generator, config), betas=config.betas)
        if config.loss == "wgan-clip":
            self.opt_d = torch.optim.RMSprop(self.critic.parameters(), lr=config.lr_d)
        else:
            self.opt_d = torch.optim.Adam(self.critic.parameters(), lr=config.lr_d, betas=config.betas)
        self.step = 0
        self.samples = 0  # per-rank samples drawn from the data stream
        self.wall_seconds = 0.0  # training time over all sessions, for the model card
        if resume:
            self._restore(checkpoint.load(self.last_path, device))
        self.dataset = PairDataset(
            photos,
            self.task.pair,
            config.crop,
            config.crop_scale,
            degradation_for(config),
            config.seed,
            config.keep_tone,
        )
        self.autocast_dtype = self._autocast_dtype()
        self.stop_requested = False
        self.writer = None

    def _autocast_dtype(self) -> torch.dtype | None:
        """bf16 autocast where the hardware computes in bf16 (CUDA GPUs that support it; CPUs with AVX-512, whose
        oneDNN kernels run bf16 natively); fp32 otherwise (on an AVX2-only CPU, bf16 is emulated: a colorize-v2
        step took 32 s against 4.2 s in fp32) or when asked."""
        if self.config.precision == "fp32":
            return None
        if self.ctx.device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
        return torch.bfloat16 if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.ctx.device.type, dtype=self.autocast_dtype)

    # ----------------------------------------------------------------- state
    def state(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "ema": self.ema.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "samples": self.samples,
            "torch_rng": torch.get_rng_state(),
            "wall_seconds": self.wall_seconds,
            "hardware": hardware_description(self.ctx),
            "config": to_dict(self.config),
        }

    def _restore(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.samples = state["step"], state["samples"]
        self.wall_seconds = state.get("wall_seconds", 0.0)
        torch.set_rng_state(state["torch_rng"].cpu())

    def save(self) -> None:
        if self.ctx.is_main:
            checkpoint.save_atomic(self.state(), self.last_path)

    # ----------------------------------------------------------------- steps
    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = next(self.batches)
        self.samples += x.shape[0]
        return x.to(self.ctx.device, non_blocking=True), y.to(self.ctx.device, non_blocking=True)

    def _check_finite(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            if not math.isfinite(value):
                raise NonFiniteLoss(f"step {self.step}: {name} became {value}; the run stops without saving it")

    @staticmethod
    def _descend(loss: torch.Tensor, module: nn.Module, optimizer: torch.optim.Optimizer) -> float:
        """Backward, average the gradients over ranks, step; returns the gradient norm before the step."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(module)
        norm = grad_norm(module)
        optimizer.step()
        return norm

    def critic_step(self) -> dict[str, float]:
        c = self.config
        x, y = self._next_batch()
        sigma = instance_noise_sigma(c.instance_noise, self.step - c.pretrain_iters, c.iters - c.pretrain_iters)
        with self.autocast():
            with torch.no_grad():
                _, fake = self.task.generate(self.generator, x, hints=self.task.training_hints(y))
            condition, real = self.task.critic_view(x, y)
            _, fake = self.task.critic_view(x, fake.float())
            if sigma > 0:
                real = real + sigma * torch.randn_like(real)
                fake = fake + sigma * torch.randn_like(fake)
            real_score, fake_score = self.critic(condition, real), self.critic(condition, fake)
            loss = critic_loss(c.loss, real_score.float(), fake_score.float())
            stats = {
                "critic/loss": loss.item(),
                "critic/wasserstein": (real_score.mean() - fake_score.mean()).item(),
            }
            if c.loss == "wgan-gp":
                penalty = gradient_penalty(lambda image: self.critic(condition, image).float(), real, fake)
                loss = loss + c.gp_weight * penalty
                stats["critic/gradient_penalty"] = penalty.item()
        self._check_finite({"critic loss": loss.item()})
        stats["critic/grad_norm"] = self._descend(loss, self.critic, self.opt_d)
        if c.loss == "wgan-clip":
            with torch.no_grad():
                for parameter in self.critic.parameters():
                    parameter.clamp_(-c.clip_value, c.clip_value)
        return stats

    def generator_step(self, adversarial: bool) -> dict[str, float]:
        c = self.config
        x, y = self._next_batch()
        self.critic.requires_grad_(False)
        with self.autocast():
            hints = self.task.training_hints(y)
            raw, prediction = self.task.generate(self.generator, x, self.task.needs_prediction(adversarial), hints)
            terms = self.task.reconstruction_loss(raw, prediction, y, hints, model_input=x)
            if adversarial:
                condition, fake = self.task.critic_view(x, prediction)
                if c.fm_weight > 0:
                    fake_score, fake_features = self.critic(condition, fake, features=True)
                    _, real = self.task.critic_view(x, y)
                    with torch.no_grad():
                        _, real_features = self.critic(condition, real, features=True)
                    terms["feature_matching"] = c.fm_weight * feature_matching(real_features, fake_features)
                else:
                    fake_score = self.critic(condition, fake)
                terms["adversarial"] = c.adv_weight * generator_loss(c.loss, fake_score.float())
            loss = sum(terms.values())
        self.critic.requires_grad_(True)
        stats = {f"generator/{name}": value.item() for name, value in terms.items()}
        stats["generator/loss"] = loss.item()
        self._check_finite({"generator loss": loss.item()})
        stats["generator/grad_norm"] = self._descend(loss, self.generator, self.opt_g)
        self.ema.update_parameters(self.generator)
        return stats

    def train_step(self) -> dict[str, float]:
        """One generator step, preceded by n_critic critic steps once the adversarial phase has begun.

        The first `critic_warmup` steps of that phase train the critic alone (DeOldify's NoGAN critic
        pretraining): a critic that starts from scratch, or meets a generator it has not seen, would otherwise
        push the generator with gradients that mean nothing yet.
        """
        c = self.config
        adversarial = self.step >= c.pretrain_iters
        critic_only = adversarial and self.step < c.pretrain_iters + c.critic_warmup
        for group in self.opt_g.param_groups:
            group["lr"] = (c.lr_g if adversarial else c.pretrain_lr) * group.get("lr_scale", 1.0)
            group["betas"] = c.betas if adversarial else c.pretrain_betas
        if hasattr(self.generator.unet, "freeze_encoder") and not c.generator.train_only:
            self.generator.unet.freeze_encoder(self.step < c.generator.freeze_encoder_iters)
        stats: dict[str, list[float]] = {}
        if adversarial:
            for _ in range(c.n_critic):
                for key, value in self.critic_step().items():
                    stats.setdefault(key, []).append(value)
        if not critic_only:
            for key, value in self.generator_step(adversarial).items():
                stats.setdefault(key, []).append(value)
        self.step += 1
        return {key: float(np.mean(values)) for key, values in stats.items()}

    # ----------------------------------------------------------------- monitoring
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Metrics of the EMA generator on the validation images, and a sample grid (input, output, target)."""
        task = self.task
        x, y = validation_pairs(
            Path(self.config.val),
            task.pair,
            task.validation_degradation,
            self.config.val_images,
            keep_tone=self.config.keep_tone,
        )
        model = self.ema.module.eval()
        with self.autocast():
            outputs = (
                torch.cat(
                    [
                        model.predict(x[i : i + 1].to(self.ctx.device), self.config.color.temperature)
                        for i in range(len(x))
                    ]
                )
                .float()
                .cpu()
            )
        model.train()
        inputs, results, targets = task.input_images(x, y), task.images(x, outputs), task.images(x, y)
        metrics = {
            "val/psnr": float(np.mean([psnr(t, r) for t, r in zip(targets, results, strict=True)])),
            "val/psnr_input": float(np.mean([psnr(t, i) for t, i in zip(targets, inputs, strict=True)])),
        }
        metrics.update(task.validation_metrics(outputs, y, results, targets))
        grid = np.concatenate(
            [np.concatenate(row, axis=0) for row in zip(inputs, results, targets, strict=True)], axis=1
        )
        self._save_sample(grid)
        if self.writer is not None:
            self.writer.add_image("samples", grid, self.step, dataformats="HWC")
        return metrics

    def _save_sample(self, grid: np.ndarray) -> None:
        import cv2

        folder = self.run_dir / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"step_{self.step:07d}.png"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))

    def _log(self, stats: dict[str, float]) -> None:
        if self.writer is not None:
            for key, value in stats.items():
                self.writer.add_scalar(key, value, self.step)

    # ----------------------------------------------------------------- loop
    def _request_stop(self, signum: int, _frame) -> None:
        self.stop_requested = True

    def fit(self) -> None:
        c = self.config
        if self.ctx.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(c), sort_keys=False))
            self.writer = SummaryWriter(str(self.run_dir / "tb"))
        previous = {s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        self.batches = training_batches(
            self.dataset, c.batch, self.samples, self.ctx.rank, self.ctx.world, c.workers, c.seed
        )
        bar = tqdm(total=c.iters, initial=self.step, disable=not self.ctx.is_main, dynamic_ncols=True)
        try:
            while self.step < c.iters and not self.stop_requested:
                started = time.perf_counter()
                stats = self.train_step()
                stats["speed/seconds_per_step"] = time.perf_counter() - started
                self.wall_seconds += stats["speed/seconds_per_step"]
                stats["lr/generator"] = self.opt_g.param_groups[0]["lr"]
                stats["lr/critic"] = self.opt_d.param_groups[0]["lr"]
                bar.update(1)
                if self.step % c.log_every == 0:
                    stats = {k: distributed.average_scalar(v, self.ctx.device) for k, v in stats.items()}
                    self._log(stats)
                    bar.set_postfix(
                        {
                            k.split("/")[-1]: f"{v:.4g}"
                            for k, v in stats.items()
                            if k in ("generator/loss", "critic/wasserstein", "val/psnr")
                        }
                    )
                if self.ctx.is_main and c.val and (self.step % c.val_every == 0 or self.step == c.iters):
                    metrics = self.validate()
                    self._log(metrics)
                    bar.write(f"step {self.step}: " + ", ".join(f"{k[4:]} {v:.3f}" for k, v in metrics.items()))
                if self.step % c.save_every == 0 or self.step == c.iters:
                    self.save()
            if self.stop_requested:
                self.save()
                bar.write(f"stopped at step {self.step}; checkpoint saved, continue with --resume")
        finally:
            bar.close()
            for s, handler in previous.items():
                signal.signal(s, handler)
            if self.writer is not None:
                self.writer.close()
