"""The two tasks, one class each: its network and units, training pairs, losses, critic view, sample images and
export graph, so that the trainer, the data loader and the exporter never ask which task they run.

restore:  degraded RGB in [0, 1] -> clean RGB in [0, 1]   (U-Net with an output residual, no normalization layers,
          so tiled inference equals whole-image inference up to the receptive field)
colorize: L* in [0, 100] -> a*b*                            (U-Net with group norm and self-attention, or a U-Net
          on an ImageNet-pretrained encoder that also takes colour hints; the head is the ab-bin classifier of
          Zhang et al. 2016 decoded with the annealed mean, or plain regression)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from restore.color import as_gray, lab_to_rgb, rgb_to_lab
from restore.context import CONTEXT_SIZE
from restore.options import DEFAULT_RENDER_SIZE, PAPER_TEMPERATURE, TEMPERATURE_RANGE
from training.colorbins import ab_bin_centers, annealed_mean, nearest_bins, rebalancing_weights
from training.colour_prior import colour_prior
from training.config import TrainConfig
from training.context import PhotoContext
from training.data import colour_training_photos, list_images, restore_target
from training.degradations import PRESETS, DegradationConfig
from training.encoder_unet import EncoderUNet
from training.hints import AB_SCALE, sample_hints
from training.losses import FeatureLoss, rebalanced_cross_entropy
from training.metrics import colorfulness
from training.models import PatchCritic, UNetGenerator


class RestoreNet(nn.Module):
    """Degraded RGB -> restored RGB, both in [0, 1] (the output is clamped only at export); with
    `generator.context`, modulated by a thumbnail of the whole degraded photo (training.context); with
    `generator.damage_head`, also the logits of the print's damage map, from the U-Net's last features."""

    # what a restorer without context or damage head lacks, when one starts from it (`fit --init-from`)
    optional_on_init = ("context.", "damage.")

    def __init__(self, config: TrainConfig):
        super().__init__()
        g = config.generator
        self.unet = UNetGenerator(3, 3, g.width, g.depth, g.norm, g.attention, residual=True)
        self.context = PhotoContext(g.context, self.unet.modulated_channels) if g.context else None
        self.damage = (
            nn.Sequential(  # two hidden layers: one linear map of the features confuses rails and dots with scratches
                nn.Conv2d(g.width, g.width, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(g.width, g.width, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(g.width, 1, 3, padding=1),
            )
            if g.damage_head
            else None
        )

    @property
    def takes_context(self) -> bool:
        return self.context is not None

    def forward(self, image: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """context: the whole photo's thumbnail (restore.context.photo_thumbnail); None when `image` is the whole
        photo, as a training crop is (crop_scale 1: the photo's short side at `crop` px)."""
        return self.unet.output(image, self._features(image, context))

    def restore(
        self, image: torch.Tensor, context: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(restored RGB, damage map logits (N, 1, H, W) or None without a damage head)."""
        features = self._features(image, context)
        damage = self.damage(features) if self.damage is not None else None
        return self.unet.output(image, features), damage

    def _features(self, image: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        if self.context is None:
            return self.unet.features(image)
        if context is None:
            context = F.interpolate(image, size=(CONTEXT_SIZE, CONTEXT_SIZE), mode="area")
        return self.unet.features(image, self.context(context))

    def predict(
        self, image: torch.Tensor, temperature: float | torch.Tensor = 1.0, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The output in target units at the input's size."""
        return self.forward(image, context)


class ColorizeNet(nn.Module):
    """L* (and colour hints, with a pretrained encoder) -> raw head output at 1/out_stride: bin logits (`bins`)
    or tanh-bounded ab / 110 (`regression`)."""

    def __init__(self, config: TrainConfig, class_weights: np.ndarray | None = None):
        super().__init__()
        g, c = config.generator, config.color
        self.head = c.head
        self.register_buffer("centers", torch.from_numpy(ab_bin_centers()))
        outputs = len(self.centers) if c.head == "bins" else 2
        self.takes_hints = bool(g.encoder)
        if g.encoder:
            if c.out_stride != 2:
                raise ValueError("a colorizer on a pretrained encoder predicts at stride 2 (color.out_stride=2)")
            self.unet = EncoderUNet(g.encoder, outputs, g.decoder_widths)
        else:
            if c.hint_share > 0:
                raise ValueError("colour hints need a pretrained encoder (generator.encoder)")
            self.unet = UNetGenerator(1, outputs, g.width, g.depth, g.norm, g.attention, out_stride=c.out_stride)
        shift = None
        if c.head == "bins" and class_weights is not None and c.prior_correction:
            shift = -c.prior_correction * torch.log(torch.as_tensor(class_weights, dtype=torch.float32)).view(-1, 1, 1)
        # derived from the colour prior, not learned: kept out of checkpoints, exported as a constant
        self.register_buffer("logit_shift", shift, persistent=False)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.takes_hints:
            return self.unet(lightness, hints)
        return self.unet(lightness / 50.0 - 1.0)

    def logits(self, raw: torch.Tensor) -> torch.Tensor:
        """The bin logits the decoding uses: the head's, less the share of rebalancing it undoes."""
        return raw.float() if self.logit_shift is None else raw.float() + self.logit_shift

    def decode(
        self, raw: torch.Tensor, temperature: float | torch.Tensor, size: tuple[int, int], shifted: bool = False
    ) -> torch.Tensor:
        """Raw head output (or `shifted`: its `logits`) -> a*b* in Lab units at `size` (bilinear upsampling)."""
        if self.head == "bins":
            ab = annealed_mean(raw.float() if shifted else self.logits(raw), self.centers, temperature)
        else:
            ab = torch.tanh(raw.float()) * AB_SCALE
        return F.interpolate(ab, size=size, mode="bilinear", align_corners=False)

    def predict(
        self,
        lightness: torch.Tensor,
        temperature: float | torch.Tensor = PAPER_TEMPERATURE,
        hints: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.decode(self.forward(lightness, hints), temperature, lightness.shape[-2:])


class RestoreGraph(nn.Module):
    """The exported restore graph: the output clamped to [0, 1]."""

    def __init__(self, generator: RestoreNet):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.generator(image).clamp(0.0, 1.0)


class ContextRestoreGraph(RestoreGraph):
    """Also takes the whole photo's thumbnail (N, 3, CONTEXT_SIZE, CONTEXT_SIZE), the same for all its tiles."""

    def forward(self, image: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.generator(image, context).clamp(0.0, 1.0)


class DamageRestoreGraph(RestoreGraph):
    """Also outputs the damage head's map: the probability (N, 1, H, W) that the print is damaged at each pixel
    (cracks, scratches, dust, creases), where the engine inpaints what the restorer left when asked (--scratches)."""

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        restored, damage = self.generator.restore(image)
        return restored.clamp(0.0, 1.0), torch.sigmoid(damage)


class ColorizeGraph(nn.Module):
    """The exported colorize graph: L* and the decoding temperature in; a*b* out, and with the bins head its bin
    logits."""

    def __init__(self, generator: ColorizeNet):
        super().__init__()
        self.generator = generator

    def forward(
        self, lightness: torch.Tensor, temperature: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return self.outputs(lightness, temperature, None)

    def outputs(
        self, lightness: torch.Tensor, temperature: torch.Tensor, hints: torch.Tensor | None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """a*b*, and with the bins head also its logits over the ab bins at the head's stride (the decoding's
        own: the colour distribution a colour picker shows)."""
        if self.generator.head != "bins":
            return self.generator.predict(lightness, temperature, hints)
        logits = self.generator.logits(self.generator(lightness, hints))
        return self.generator.decode(logits, temperature, lightness.shape[-2:], shifted=True), logits


class HintedColorizeGraph(ColorizeGraph):
    """Takes hints in natural units, (N, 3, H, W) = a*, b*, mask (1 where hinted), at the L input's size."""

    def forward(  # type: ignore[override]
        self, lightness: torch.Tensor, temperature: torch.Tensor, hints: torch.Tensor
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        mask = hints[:, 2:3]
        return self.outputs(lightness, temperature, torch.cat([hints[:, :2] * mask / AB_SCALE, mask], dim=1))


def takes_hints(generator: nn.Module) -> bool:
    return getattr(generator, "takes_hints", False)


def lab_to_rgb_tensor(lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) L* and (N, 2, H, W) a*b* -> (N, 3, H, W) sRGB in [0, 1], differentiable (kornia)."""
    from kornia.color import lab_to_rgb as kornia_lab_to_rgb

    return kornia_lab_to_rgb(torch.cat([lightness.float(), ab.float()], dim=1), clip=True)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """An HWC float32 array -> a CHW tensor."""
    return torch.from_numpy(image.transpose(2, 0, 1).copy())


class Task:
    """What the trainer, the data loader and the exporter need to know about a task (see the subclasses)."""

    name: ClassVar[str]
    critic_channels: ClassVar[int]  # the critic sees the condition and the image, concatenated
    tiled: ClassVar[bool]  # runs at full resolution in tiles: the export records its receptive field
    validation_degradation: ClassVar[DegradationConfig | None]  # the sample grid's inputs (None: undamaged)

    def __init__(self, config: TrainConfig, class_weights: np.ndarray | None = None):
        self.config = config
        self.class_weights = None if class_weights is None else torch.from_numpy(class_weights)
        self.export_hints = True  # False: export a hinted generator's automatic graph only

    def graph_takes_hints(self, generator: nn.Module) -> bool:
        """Whether the export graph has the hints input (and the distribution output)."""
        return self.export_hints and takes_hints(generator)

    @classmethod
    def for_run(cls, config: TrainConfig, run_dir: Path, photos: list[Path] | None = None) -> Task:
        """The task of the run in `run_dir`, with what it derives from the run's photos (default:
        `training_photos`)."""
        return cls(config)

    # ----------------------------------------------------------------- data
    @classmethod
    def training_photos(cls, config: TrainConfig) -> list[Path]:
        """The photos of the data folder to learn from."""
        return list_images(Path(config.data))

    @staticmethod
    def model_input(degraded: np.ndarray) -> torch.Tensor:
        """The network's CHW input in the task's units for a degraded uint8 RGB crop."""
        raise NotImplementedError

    def pair(self, clean: np.ndarray, degraded: np.ndarray, damage: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) CHW tensors in the task's units for a clean uint8 crop (the target photo), its degraded
        copy and, where the task learns it, the copy's damage map (training.degradations.degrade_sample)."""
        raise NotImplementedError

    def images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        """A batch of inputs `x` with outputs or targets `y` in the task's units -> RGB uint8 images."""
        raise NotImplementedError

    def input_images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        """The inputs as pictures, for the sample grid."""
        raise NotImplementedError

    def validation_metrics(self, outputs: torch.Tensor, y: torch.Tensor, results: list, targets: list) -> dict:
        """Task-specific validation metrics beyond PSNR, from the outputs and targets (tensors and images)."""
        return {}

    # ----------------------------------------------------------------- networks and losses
    def build_generator(self) -> nn.Module:
        raise NotImplementedError

    def build_critic(self) -> PatchCritic:
        return PatchCritic(self.critic_channels, self.config.critic.width, self.config.critic.layers)

    def needs_prediction(self, adversarial: bool) -> bool:
        """Whether a generator step must decode its output (decoding the colour bins is costly)."""
        return adversarial or self.config.l1_weight > 0

    def training_hints(self, target: torch.Tensor) -> torch.Tensor | None:
        """Colour hints drawn from the ground truth for a training batch (None: the task takes no hints)."""
        return None

    def generate(
        self, generator: nn.Module, x: torch.Tensor, decode: bool = True, hints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(raw output, prediction in target units at full size, or None when not `decode`)."""
        raise NotImplementedError

    def reconstruction_loss(
        self,
        raw: torch.Tensor,
        prediction: torch.Tensor | None,
        target: torch.Tensor,
        hints: torch.Tensor | None = None,
        model_input: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Named, weighted loss terms (their sum is the reconstruction loss); `hints` as the generator saw them,
        `model_input` the batch's input (the colorizer's L*, which its feature loss renders the colours with)."""
        raise NotImplementedError

    def critic_view(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(condition, image) normalized to about [-1, 1], as the critic sees them."""
        raise NotImplementedError

    # ----------------------------------------------------------------- export
    def export_graph(self, generator: nn.Module) -> tuple[nn.Module, list[str], list[str]]:
        """The export wrapper in eval mode (the exporter restores a wrapper's mode afterwards, and a wrapper left
        in training mode would put batch norm back on batch statistics), with its input and output names."""
        raise NotImplementedError

    def example_inputs(
        self, shape: tuple[int, int, int], temperature: float = PAPER_TEMPERATURE, seed: int = 0, hints: bool = False
    ) -> list[np.ndarray]:
        """Random inputs for the export graph; with `hints`, a few hinted patches of random colour."""
        raise NotImplementedError

    def centre_response(self, generator: nn.Module, inputs: list[torch.Tensor]) -> torch.Tensor:
        """What the receptive field is measured on: the output, less an identity path the model may have."""
        raise NotImplementedError

    def manifest_io(self, generator: nn.Module, temperature: float) -> dict[str, Any]:
        """The manifest entry's inputs, outputs and task settings (docs/manifest.md)."""
        raise NotImplementedError


class RestoreTask(Task):
    """Degraded RGB in [0, 1] -> clean RGB; a gray target where the degraded copy is gray."""

    name = "restore"
    critic_channels = 6
    tiled = True
    validation_degradation = PRESETS["eval"]

    @staticmethod
    def model_input(degraded: np.ndarray) -> torch.Tensor:
        return to_tensor(degraded.astype(np.float32) / 255.0)

    def pair(self, clean: np.ndarray, degraded: np.ndarray, damage: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """With a damage head, the target carries the damage map as a fourth channel."""
        target = restore_target(clean, degraded).astype(np.float32) / 255.0
        if self.config.generator.damage_head:
            target = np.concatenate([target, damage[..., None]], axis=2)
        return self.model_input(degraded), to_tensor(target)

    def images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        return [(t[:3].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8) for t in y]

    def input_images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        return self.images(x, x)

    def build_generator(self) -> nn.Module:
        return RestoreNet(self.config)

    def needs_prediction(self, adversarial: bool) -> bool:
        return True  # the raw output is the prediction

    def generate(
        self, generator: nn.Module, x: torch.Tensor, decode: bool = True, hints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """raw: the restored RGB, and with a damage head its logits as a fourth channel."""
        restored, damage = generator.restore(x)
        return (restored if damage is None else torch.cat([restored, damage], dim=1)), restored

    def reconstruction_loss(
        self,
        raw: torch.Tensor,
        prediction: torch.Tensor | None,
        target: torch.Tensor,
        hints: torch.Tensor | None = None,
        model_input: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        c = self.config
        terms = {}
        if c.l1_weight > 0:
            error = (prediction.float() - target[:, :3]).abs()
            if c.damage_l1_boost > 0 and c.generator.damage_head:  # the pixels the damage map marks count more
                weights = 1.0 + c.damage_l1_boost * target[:, 3:4]
                terms["l1"] = c.l1_weight * (weights * error).mean() / weights.mean()
            else:
                terms["l1"] = c.l1_weight * error.mean()
        if c.generator.damage_head:
            terms["damage"] = c.damage_weight * F.binary_cross_entropy_with_logits(raw[:, 3:].float(), target[:, 3:])
        return terms

    def critic_view(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * 2.0 - 1.0, image[:, :3] * 2.0 - 1.0

    def export_graph(self, generator: nn.Module) -> tuple[nn.Module, list[str], list[str]]:
        if generator.takes_context and generator.damage is not None:
            raise ValueError("exporting a restorer with both context and a damage head is not supported")
        if generator.takes_context:
            return ContextRestoreGraph(generator).eval(), ["image", "context"], ["restored"]
        if generator.damage is not None:
            return DamageRestoreGraph(generator).eval(), ["image"], ["restored", "damage"]
        return RestoreGraph(generator).eval(), ["image"], ["restored"]

    def example_inputs(
        self, shape: tuple[int, int, int], temperature: float = PAPER_TEMPERATURE, seed: int = 0, hints: bool = False
    ) -> list[np.ndarray]:
        """The image, and the thumbnail of a photo for a generator with context (unused by one without)."""
        n, h, w = shape
        rng = np.random.default_rng(seed)
        image = rng.random((n, 3, h, w), dtype=np.float32)
        if self.config.generator.context:
            return [image, rng.random((n, 3, CONTEXT_SIZE, CONTEXT_SIZE), dtype=np.float32)]
        return [image]

    def centre_response(self, generator: nn.Module, inputs: list[torch.Tensor]) -> torch.Tensor:
        modulation = generator.context(inputs[1]) if generator.takes_context else None
        output = generator.unet(inputs[0], modulation)
        return output - inputs[0] if generator.unet.residual else output

    def manifest_io(self, generator: nn.Module, temperature: float) -> dict[str, Any]:
        image = {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}
        inputs = {"image": image}
        if generator.takes_context:  # the whole photo, resized to this shape (restore.context.photo_thumbnail)
            inputs["context"] = {**image, "shape": [CONTEXT_SIZE, CONTEXT_SIZE]}
        io: dict[str, Any] = {
            "inputs": inputs,
            "outputs": {"restored": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]}},
        }
        if generator.damage is not None:  # with --scratches the engine inpaints where the map reaches the threshold
            io["damage"] = {"output": "damage", "threshold": self.config.damage_threshold}
        return io


class ColorizeTask(Task):
    """L* of the gray degraded copy -> a*b* of the clean photo (natural Lab units); colour hints with a
    pretrained encoder."""

    name = "colorize"
    critic_channels = 3
    tiled = False
    validation_degradation = None

    def __init__(self, config: TrainConfig, class_weights: np.ndarray | None = None):
        super().__init__(config, class_weights)
        self.centers = torch.from_numpy(ab_bin_centers())
        if config.color.head == "bins" and class_weights is None:
            raise ValueError("the bins colour head needs class-rebalancing weights (the colour prior)")
        if config.color.head == "regression" and config.l1_weight <= 0:
            raise ValueError("the regression colour head needs l1_weight > 0")
        self._feature_loss: FeatureLoss | None = None  # built on first use: export and eval never need it

    @classmethod
    def for_run(cls, config: TrainConfig, run_dir: Path, photos: list[Path] | None = None) -> Task:
        """With the bins head, the class-rebalancing weights of the run's colour prior (training.colour_prior)."""
        if config.color.head != "bins":
            return cls(config)
        prior = colour_prior(config, run_dir, lambda: cls.training_photos(config) if photos is None else photos)
        return cls(config, rebalancing_weights(prior, config.color.rebalance_mix, config.color.soft_sigma))

    @classmethod
    def training_photos(cls, config: TrainConfig) -> list[Path]:
        """Without the gray and toned photos (`color.min_untoned_chroma`; 0 keeps them)."""
        if config.color.min_untoned_chroma <= 0:
            return list_images(Path(config.data))
        return colour_training_photos(Path(config.data), config.color.min_untoned_chroma)

    @staticmethod
    def model_input(degraded: np.ndarray) -> torch.Tensor:
        return to_tensor(rgb_to_lab(as_gray(degraded))[..., :1])

    def pair(self, clean: np.ndarray, degraded: np.ndarray, damage: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model_input(degraded), to_tensor(rgb_to_lab(clean)[..., 1:])

    def images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        return [lab_to_rgb(image) for image in torch.cat([x, y], dim=1).permute(0, 2, 3, 1).numpy()]

    def input_images(self, x: torch.Tensor, y: torch.Tensor) -> list[np.ndarray]:
        return self.images(x, 0 * y)

    def validation_metrics(self, outputs: torch.Tensor, y: torch.Tensor, results: list, targets: list) -> dict:
        """Colourfulness, its ratio to the truth's, and the ratio of tint variety (the spread of the images'
        mean a*b*: near 0 when every photo gets the same tint, the sepia wash)."""
        mean = float(np.mean([colorfulness(r) for r in results]))
        variety = [ab.mean(dim=(2, 3)).std(dim=0).norm().item() for ab in (outputs, y)]
        return {
            "val/colorfulness": mean,
            "val/colorfulness_ratio": mean / max(1e-6, float(np.mean([colorfulness(t) for t in targets]))),
            "val/tint_variety_ratio": variety[0] / max(1e-6, variety[1]),
        }

    def build_generator(self) -> nn.Module:
        weights = None if self.class_weights is None else self.class_weights.numpy()
        return ColorizeNet(self.config, weights)

    def training_hints(self, target: torch.Tensor) -> torch.Tensor | None:
        c = self.config.color
        return sample_hints(target, c.hint_share, c.hint_mean_points) if c.hint_share > 0 else None

    def generate(
        self, generator: nn.Module, x: torch.Tensor, decode: bool = True, hints: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raw = generator(x, hints)
        return raw, generator.decode(raw, self.config.color.temperature, x.shape[-2:]) if decode else None

    def reconstruction_loss(
        self,
        raw: torch.Tensor,
        prediction: torch.Tensor | None,
        target: torch.Tensor,
        hints: torch.Tensor | None = None,
        model_input: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        c = self.config
        terms = {}
        if c.color.head == "bins":
            stride = c.color.out_stride
            target_small = F.avg_pool2d(target, stride) if stride > 1 else target
            centers, weights = self._on(self.centers, raw), self._on(self.class_weights, raw)
            bins, soft = nearest_bins(target_small, centers, c.color.neighbours, c.color.soft_sigma)
            emphasis = self.hint_emphasis(hints, stride)
            terms["class"] = c.class_weight * rebalanced_cross_entropy(raw, bins, soft, weights, emphasis)
        if c.l1_weight > 0:
            terms["l1"] = c.l1_weight * F.l1_loss(prediction.float() / AB_SCALE, target / AB_SCALE)
        if c.feature_weight > 0:
            if model_input is None:
                raise ValueError("the feature loss renders the colours with the input's L*: pass model_input")
            generated, true = (lab_to_rgb_tensor(model_input, ab) for ab in (prediction.float(), target))
            terms["feature"] = c.feature_weight * self.feature_network(raw.device)(generated, true)
        return terms

    def feature_network(self, device: torch.device) -> FeatureLoss:
        """The feature loss's frozen network, built once, on `device`."""
        if self._feature_loss is None:
            self._feature_loss = FeatureLoss()
        return self._feature_loss.to(device)

    def needs_prediction(self, adversarial: bool) -> bool:
        return super().needs_prediction(adversarial) or self.config.feature_weight > 0

    def hint_emphasis(self, hints: torch.Tensor | None, stride: int) -> torch.Tensor | None:
        """(N, H/stride, W/stride) loss weights: 1 + hint_weight within hint_radius px of a hinted pixel."""
        c = self.config.color
        if hints is None or c.hint_weight <= 0:
            return None
        mask = F.max_pool2d(hints[:, 2:3].float(), stride) if stride > 1 else hints[:, 2:3].float()
        radius = max(0, c.hint_radius // stride)
        near = F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)
        return (1.0 + c.hint_weight * near)[:, 0]

    @staticmethod
    def _on(tensor: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return tensor if tensor.device == like.device else tensor.to(like.device)

    def critic_view(self, x: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x / 50.0 - 1.0, image / AB_SCALE

    def export_graph(self, generator: nn.Module) -> tuple[nn.Module, list[str], list[str]]:
        outputs = ["ab", "ab_logits"] if generator.head == "bins" else ["ab"]
        if self.graph_takes_hints(generator):
            return HintedColorizeGraph(generator).eval(), ["L", "temperature", "hints"], outputs
        return ColorizeGraph(generator).eval(), ["L", "temperature"], outputs

    def example_inputs(
        self, shape: tuple[int, int, int], temperature: float = PAPER_TEMPERATURE, seed: int = 0, hints: bool = False
    ) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        n, h, w = shape
        inputs = [(rng.random((n, 1, h, w), dtype=np.float32) * 100.0), np.array([temperature], np.float32)]
        if hints:
            hint_map = np.zeros((n, 3, h, w), np.float32)
            for i in range(n):
                for _ in range(4):
                    y, x, size = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 6)
                    hint_map[i, :2, y : y + size, x : x + size] = rng.uniform(-60, 60, (2, 1, 1))
                    hint_map[i, 2, y : y + size, x : x + size] = 1.0
            inputs.append(hint_map)
        return inputs

    def centre_response(self, generator: nn.Module, inputs: list[torch.Tensor]) -> torch.Tensor:
        return generator.predict(*inputs)

    def manifest_io(self, generator: nn.Module, temperature: float) -> dict[str, Any]:
        inputs = {"L": {"layout": "NCHW", "channels": "L", "range": [0.0, 100.0]}}
        if self.config.color.head == "bins":
            inputs["temperature"] = {"shape": [1], "default": temperature, "range": list(TEMPERATURE_RANGE)}
        io: dict[str, Any] = {
            "inputs": inputs,
            "outputs": {"ab": {"layout": "NCHW", "channels": "ab", "range": [-128.0, 127.0]}},
            "render_size": DEFAULT_RENDER_SIZE,
        }
        if self.graph_takes_hints(generator):
            inputs["hints"] = {"layout": "NCHW", "channels": "ab+mask", "size": "L"}
        if generator.head == "bins":
            stride = self.config.color.out_stride
            io["distribution"] = {"output": "ab_logits", "stride": stride, "bins": generator.centers.tolist()}
        return io


TASKS: dict[str, type[Task]] = {task.name: task for task in (RestoreTask, ColorizeTask)}


def task_class(config: TrainConfig) -> type[Task]:
    """The Task subclass for `config.task`."""
    if config.task not in TASKS:
        raise ValueError(f"unknown task {config.task!r}; choose from {', '.join(TASKS)}")
    return TASKS[config.task]


def make_task(config: TrainConfig, class_weights: np.ndarray | None = None) -> Task:
    """The Task for `config.task`; a colorizer with the bins head needs the run's `class_weights`."""
    return task_class(config)(config, class_weights)


def task_for_run(config: TrainConfig, run_dir: Path, photos: list[Path] | None = None) -> Task:
    """The Task of the run in `run_dir` (see Task.for_run)."""
    return task_class(config).for_run(config, run_dir, photos)
