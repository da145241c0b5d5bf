"""Training configuration: dataclass defaults, overridden by a YAML file, then by command-line `key=value` pairs.

The resolved configuration is saved in every run folder (config.yaml) and in the exported model's manifest entry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from restore.options import PAPER_TEMPERATURE
from training.degradations import PRESETS, DegradationConfig, config_from_dict


@dataclass
class GeneratorConfig:
    width: int = 32
    depth: int = 4
    norm: str = "none"
    attention: bool = False
    # colorize: an ImageNet-pretrained encoder ("efficientnet_lite0" / "efficientnet_lite2", training.encoders)
    # under a DeOldify-style decoder (training.encoder_unet); "" is the U-Net above, trained from scratch
    encoder: str = ""
    decoder_widths: tuple[int, int, int, int] = (160, 96, 64, 32)  # at strides 16, 8, 4, 2
    freeze_encoder_iters: int = 0  # the encoder's weights stay fixed for these first steps, then train at
    encoder_lr_scale: float = 0.1  # this share of the generator's learning rate
    # restore: an ImageNet-pretrained encoder ("efficientnet_lite0" / "efficientnet_lite2") that sees the whole
    # photo and modulates the U-Net (training.context); "" is the U-Net alone
    context: str = ""
    # restore: a second head on the U-Net's last features that finds the print's damage (cracks, scratches,
    # dust, creases), trained on the damage maps the degradations draw (`damage_weight`)
    damage_head: bool = False
    # the parts that train, as parameter-name prefixes (e.g. ["damage."]: a damage head on a fixed restorer);
    # empty: all of them
    train_only: tuple[str, ...] = ()


@dataclass
class CriticConfig:
    width: int = 64
    layers: int = 3


@dataclass
class ColorConfig:
    """Colorize task: the ab-bin classifier of Zhang et al. 2016 ("bins") or plain ab regression ("regression")."""

    head: str = "bins"
    out_stride: int = 2
    temperature: float = PAPER_TEMPERATURE
    rebalance_mix: float = 0.5
    soft_sigma: float = 5.0
    neighbours: int = 5
    prior: str = ""  # .npy bin distribution; computed from the data folder when empty
    # decoding: logits - prior_correction * log(rebalancing weight) before the annealed mean. Rebalancing shifts
    # the learned distribution toward rare colours by the weights (Menon et al. 2021, logit adjustment); 1 undoes
    # it (desaturated), 0 keeps it (Zhang et al.'s decoding). Measured in the model card; `export` can set it.
    prior_correction: float = 0.0
    # training photos whose colour is a function of their lightness (gray, sepia: `restore.color.chroma_level`
    # below this) are skipped; 0 keeps every photo. On the 2,520 training photos 1.5 leaves out 12 gray or
    # toned ones and no colour photo.
    min_untoned_chroma: float = 1.5
    # colour hints (Zhang et al. 2017, training.hints): the share of samples given hints, and their mean number
    # of points; 0 trains a model without a hints input
    hint_share: float = 0.0
    hint_mean_points: float = 8.0
    # the classification loss weighs 1 + hint_weight within hint_radius px of a hint, so that the few hinted
    # pixels teach the network to follow them (0: every pixel alike)
    hint_weight: float = 0.0
    hint_radius: int = 8


@dataclass
class TrainConfig:
    task: str = "restore"
    data: str = ""
    val: str = ""
    out: str = ""
    iters: int = 20000
    pretrain_iters: int = 2000  # reconstruction only, before the adversarial phase (DeOldify's NoGAN)
    critic_warmup: int = 0  # then steps that train only the critic against the fixed generator (NoGAN)
    batch: int = 8
    crop: int = 128
    crop_scale: tuple[float, float] = (
        1.0,
        1.0,
    )  # random crop side as a fraction of the short side, then resized
    degradation: str = "train"  # a preset of training.degradations
    # changes to that preset, nested as its options (training.degradations.schema), e.g. {tint: {p: 0.1}}
    degradation_params: dict[str, Any] = field(default_factory=dict)
    # restore: the target keeps the degraded copy's tone effects (fading, tint, exposure, vignette, silvering),
    # so the network repairs damage only and never judges a print's tone from the pixels around it
    keep_tone: bool = False
    loss: str = "wgan-gp"
    n_critic: int = 5
    gp_weight: float = 10.0
    clip_value: float = 0.01
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)  # Adam in the adversarial phase (Gulrajani et al. 2017)
    pretrain_lr: float = 2e-4
    pretrain_betas: tuple[float, float] = (0.9, 0.99)  # Adam in the reconstruction-only phase
    l1_weight: float = 1.0
    class_weight: float = 1.0
    damage_weight: float = 0.1  # restore with generator.damage_head: binary cross-entropy against the damage map
    damage_threshold: float = 0.5  # and its export: --scratches inpaints where the map's probability reaches this
    damage_l1_boost: float = 0.0  # restore with a damage head: L1 weighted 1 + this x the damage map
    adv_weight: float = 0.01
    fm_weight: float = 0.0
    # colorize: DeOldify's feature loss (training.losses.FeatureLoss) on the decoded colours, beside the class loss
    feature_weight: float = 0.0
    instance_noise: float = 0.0
    ema_decay: float = 0.999
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 autocast where the CPU or GPU computes bf16 natively, else fp32; or fp32
    threads: int = 0  # torch intra-op threads on CPU; 0 = torch's default
    workers: int = 2
    save_every: int = 250
    log_every: int = 25
    val_every: int = 500
    val_images: int = 8
    init_from: str = ""
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    color: ColorConfig = field(default_factory=ColorConfig)


TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "restore": {"degradation": "train"},
    "colorize": {
        "degradation": "colorize",
        "crop": 160,
        "crop_scale": (0.5, 1.0),
        "l1_weight": 0.0,
        "generator": {"norm": "group", "attention": True},
    },
}


def merge(instance: Any, values: dict[str, Any]) -> Any:
    """Return a copy of a (nested) dataclass with `values` applied; unknown keys are an error."""
    known = {f.name: f for f in dataclasses.fields(instance)}
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise KeyError(f"unknown config key {key!r} in {type(instance).__name__}")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            changes[key] = merge(current, value)
        elif isinstance(current, dict):
            if not isinstance(value, dict):
                raise ValueError(f"config key {key!r} takes a mapping of options, not {value!r}")
            changes[key] = deep_update(current, value)
        elif isinstance(current, tuple) and "..." in str(known[key].type):  # any length (generator.train_only)
            changes[key] = (value,) if isinstance(value, str) else tuple(value)
        elif isinstance(current, tuple):  # a fixed length and types (crop_scale, decoder_widths)
            changes[key] = tuple(type(c)(v) for c, v in zip(current, value, strict=True))
        elif isinstance(current, bool):
            changes[key] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        else:
            changes[key] = type(current)(value)
    return dataclasses.replace(instance, **changes)


def deep_update(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `changes` applied key by key, nested dicts merged rather than replaced."""
    out = dict(base)
    for key, value in changes.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = deep_update(out[key], value) if both_dicts else value
    return out


def parse_override(text: str) -> dict[str, Any]:
    """'generator.width=48' -> {'generator': {'width': 48}} (value parsed as YAML)."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"override {text!r} is not key=value")
    value: Any = yaml.safe_load(raw)
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def resolve(task: str, file: Path | None = None, overrides: list[dict[str, Any]] | None = None) -> TrainConfig:
    """Defaults, then the task's defaults, then the YAML file, then overrides, in that order."""
    config = merge(TrainConfig(), {"task": task, **TASK_DEFAULTS[task]})
    if file is not None:
        config = merge(config, yaml.safe_load(Path(file).read_text()) or {})
    for override in overrides or []:
        config = merge(config, override)
    degradation_for(config)  # an unknown preset or option fails here, not hours into a run
    if config.generator.context and config.task != "restore":
        raise ValueError("generator.context (the whole photo's context) is for the restore task")
    if config.generator.damage_head and config.task != "restore":
        raise ValueError("generator.damage_head (the print's damage map) is for the restore task")
    if config.keep_tone and config.task != "restore":
        raise ValueError("keep_tone (a target with the input's tone) is for the restore task")
    return config


def degradation_for(config: TrainConfig) -> DegradationConfig:
    """The run's degradation: its preset with `degradation_params` applied."""
    if config.degradation not in PRESETS:
        raise ValueError(f"unknown degradation preset {config.degradation!r}; choose from {', '.join(PRESETS)}")
    return config_from_dict(config.degradation_params, base=PRESETS[config.degradation])


def to_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain, YAML-safe dict of the config."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(dataclasses.asdict(config))


def from_dict(values: dict[str, Any]) -> TrainConfig:
    """Inverse of `to_dict`."""
    return merge(TrainConfig(), values)
