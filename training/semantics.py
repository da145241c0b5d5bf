"""Does a colourization mean what the true colours mean? ImageNet classifiers as judges (Zhang et al. 2016, sec.
3.1, scored colourizations by a classifier's accuracy on them; with no labels, agreement stands in).

For each photo, each classifier sees the true colour photo, its grayscale version and the colourization:
- agreement: its top-1 class on the colourization (or the gray photo, the baseline) equals its top-1 on the truth;
- cosine: the cosine similarity of its pooled penultimate features with the truth's (wrong colours fall below
  gray's);
- top-1: with ImageNet labels (a held-out labelled split), whether its top-1 is the true class.

The classifiers are MobileNetV2 and EfficientNet-Lite2, neither of which is the colorizer's encoder (Lite0).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from training.encoders import IMAGENET_MEAN, IMAGENET_STD, efficientnet_lite, lite_input, mobilenet_v2


@dataclass
class Judgement:
    """One classifier's view of one image: its top-1 class index and pooled features."""

    top1: int
    features: torch.Tensor


class Classifier:
    """An ImageNet classifier with its own preprocessing: resize the short side, centre crop, normalise."""

    def __init__(
        self,
        name: str,
        network: nn.Module,
        crop: int,
        normalise: Callable[[torch.Tensor], torch.Tensor],
        pooled: Callable[[torch.Tensor], torch.Tensor],
    ):
        self.name, self.network, self.crop = name, network.eval(), crop
        self._normalise, self._pooled = normalise, pooled

    @torch.no_grad()
    def judge(self, rgb: np.ndarray) -> Judgement:
        x = self._normalise(torch.from_numpy(centre_crop(rgb, self.crop)).permute(2, 0, 1)[None].float())
        features = self._pooled(x)
        return Judgement(int(self.network.classifier(features).argmax()), features[0])


def centre_crop(rgb: np.ndarray, crop: int, ratio: float = 0.875) -> np.ndarray:
    """Short side resized to crop / ratio (bicubic), then the centre crop x crop (the usual ImageNet eval)."""
    h, w = rgb.shape[:2]
    scale = crop / ratio / min(h, w)
    resized = cv2.resize(rgb, (max(crop, round(w * scale)), max(crop, round(h * scale))), interpolation=cv2.INTER_CUBIC)
    top, left = (resized.shape[0] - crop) // 2, (resized.shape[1] - crop) // 2
    return np.ascontiguousarray(resized[top : top + crop, left : left + crop])


def mobilenet_classifier() -> Classifier:
    network = mobilenet_v2()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0

    def pooled(x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(network.features(x), 1).flatten(1)

    return Classifier("mobilenet_v2", network, 224, lambda x: (x - mean) / std, pooled)


def lite2_classifier() -> Classifier:
    network = efficientnet_lite("efficientnet_lite2")

    def pooled(x: torch.Tensor) -> torch.Tensor:
        return network.forward_head(network.forward_features(x), pre_logits=True)

    return Classifier("efficientnet_lite2", network, 260, lite_input, pooled)


def judges() -> list[Classifier]:
    return [mobilenet_classifier(), lite2_classifier()]


def imagenet_index(wnid: str) -> int:
    """Class index of an ILSVRC-2012 WordNet id (position in the sorted list of the 1000 ids)."""
    from timm.data import ImageNetInfo

    return ImageNetInfo().label_names().index(wnid)


def read_labels(path: Path) -> dict[str, int]:
    """A labels.csv (columns file, wnid; scripts/holdout_split.py writes one) as file name -> class index."""
    with path.open(newline="") as handle:
        return {row["file"]: imagenet_index(row["wnid"]) for row in csv.DictReader(handle)}


def semantic_row(
    classifiers: list[Classifier], truth: np.ndarray, gray: np.ndarray, model: np.ndarray, label: int | None = None
) -> dict[str, float]:
    """Agreement, cosine and (with a label) top-1 of each classifier, for the gray photo and the model's."""
    row: dict[str, float] = {}
    for classifier in classifiers:
        reference = classifier.judge(truth)
        views = {"gray": classifier.judge(gray), "model": classifier.judge(model)}
        for who, view in views.items():
            row[f"{classifier.name}_{who}_agreement"] = float(view.top1 == reference.top1)
            row[f"{classifier.name}_{who}_cosine"] = float(F.cosine_similarity(view.features, reference.features, 0))
        if label is not None:
            row[f"{classifier.name}_truth_top1"] = float(reference.top1 == label)
            for who, view in views.items():
                row[f"{classifier.name}_{who}_top1"] = float(view.top1 == label)
    return row
