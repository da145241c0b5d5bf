"""The photo pipeline: restore (tiled), then colourize black-and-white photos."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from restore.color import (
    as_gray,
    is_grayscale,
    is_neutral_gray,
    keep_print_hues,
    merge_lightness,
    rgb_to_lightness,
    shrink,
    to_uint8,
)
from restore.context import photo_thumbnail
from restore.engine import DEVICES, OnnxModel
from restore.hint_spread import spread_hints
from restore.hints import no_hints, resize_hints
from restore.inpaint import damage_mask, inpaint_damage
from restore.manifest import DamageMap, Manifest, ModelSpec, load_manifest
from restore.options import DEFAULT_RENDER_SIZE, ProcessOptions, process_options
from restore.palette import ColourCandidate, likeliest_colours, probabilities_at
from restore.tiling import DEFAULT_TILE, TilePlan, run_tiled

log = logging.getLogger(__name__)

REPO_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_ENV = "REVIVE_WEIGHTS"


def default_weights_dir() -> Path:
    """$REVIVE_WEIGHTS if set, else the repository's weights/ folder."""
    return Path(os.environ.get(WEIGHTS_ENV) or REPO_WEIGHTS)


class Restorer:
    """Restores and colourizes RGB photos with the models in a weights folder.

    Models load on first use, once, and are shared by later calls (process() is safe to call from
    several threads). `device` is "auto" (CUDA if it starts, else CPU), "cpu" or "cuda".
    """

    def __init__(
        self,
        weights_dir: str | os.PathLike[str] | None = None,
        device: str = "auto",
        tile: int = DEFAULT_TILE,
        tile_overlap: int = 32,
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        if tile < 0 or tile_overlap < 0:
            raise ValueError("tile and tile_overlap must be >= 0")
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        self.device = device
        self.tile = tile
        self.tile_overlap = tile_overlap
        self._manifest: Manifest | None = None
        self._models: dict[str, OnnxModel] = {}
        self._lock = threading.Lock()
        self._warned_no_temperature = False

    @property
    def manifest(self) -> Manifest:
        """The weights folder's manifest, read on first use."""
        if self._manifest is None:
            self._manifest = load_manifest(self.weights_dir)
        return self._manifest

    def model(self, task: str) -> OnnxModel:
        """The loaded model for `task` ("restore" or "colorize"), loading it on first use."""
        with self._lock:
            if task not in self._models:
                # Once "auto" has settled on a device, later models go straight to it.
                model = OnnxModel(self.manifest.model(task), self.device_used or self.device)
                self._models[task] = model
                log.info("%s model: %s on %s", task, model.path.name, ", ".join(model.providers))
            return self._models[task]

    @property
    def device_used(self) -> str | None:
        """The device the models run on, "cuda" or "cpu"; None before any model is loaded."""
        return next(iter(self._models.values())).device if self._models else None

    @property
    def providers(self) -> list[str]:
        """ONNX Runtime providers of the loaded models, in priority order ([] before any load)."""
        return next(iter(self._models.values())).providers if self._models else []

    def prepare(self, options: ProcessOptions | None = None, **changes: object) -> None:
        """Load the models that process() with these options (a ProcessOptions, and/or its fields as keywords)
        may need and check them, so that missing weights or bad settings fail before any photo is processed."""
        options = process_options(options, changes)
        if options.restore:
            spec = self.model("restore").spec
            if options.scratches:
                self._check_damage_map()
            tile = self.tile if options.tile is None else options.tile
            if tile:
                TilePlan.make(tile, self.tile_overlap, spec.size_multiple, spec.receptive_field)
        if options.colorize != "never":
            self._temperature_feed(self.model("colorize").spec, options.temperature)

    def process(
        self,
        rgb: np.ndarray,
        options: ProcessOptions | None = None,
        *,
        hints: np.ndarray | None = None,
        **changes: object,
    ) -> np.ndarray:
        """Restore and/or colourize an HxWx3 uint8 RGB image; returns a new array of the same size.

        options: a ProcessOptions (restore.options: restore, colorize, render_size, temperature, tile,
        strength, scratches), and/or any of its fields as keywords, e.g. process(rgb, colorize="always").
        colorize "auto" colourizes only black-and-white or toned photos (see color.is_grayscale) and photos given hints.
        hints: an HxWx3 colour-hint map at the image's size (restore.hints; load_hints reads one from a file),
        spread over the photo after the colorize model (restore.hint_spread).
        """
        return self.process_batch([rgb], options, hints=None if hints is None else [hints], **changes)[0]

    def process_batch(
        self,
        images: Sequence[np.ndarray],
        options: ProcessOptions | None = None,
        *,
        hints: Sequence[np.ndarray | None] | None = None,
        **changes: object,
    ) -> list[np.ndarray]:
        """process() for several images (hints: None, or a map or None per image). Same-size images that fit in
        one tile go through each model as one batch: the same results, faster on devices that gain from batching."""
        options = process_options(options, changes)
        for rgb in images:
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
        given = self._check_hints(images, hints, options.colorize)
        wants_colour = [colourizes(rgb, options.colorize, hint) for rgb, hint in zip(images, given, strict=True)]
        if options.restore:
            out = self.restore_images(
                images,
                tile=options.tile,
                strength=options.strength,
                scratches=options.scratches,
                keep_hues=[not wanted for wanted in wants_colour],  # a colourized photo's a*b* are replaced
            )
        else:
            out = [rgb.copy() for rgb in images]
        picked = [i for i, wanted in enumerate(wants_colour) if wanted]
        coloured = self.colorize_images(
            [out[i] for i in picked],
            render_size=options.render_size,
            temperature=options.temperature,
            hints=[given[i] for i in picked],
        )
        for i, rgb in zip(picked, coloured, strict=True):
            out[i] = rgb
        return out

    def restore_image(
        self,
        rgb: np.ndarray,
        *,
        tile: int | None = None,
        strength: float = 1.0,
        scratches: bool = False,
        keep_hues: bool = True,
    ) -> np.ndarray:
        """Run the restore model over `rgb` (uint8), tiled when larger than one tile of `tile` px
        (default: the Restorer's tile; 0 = whole image). strength in [0, 1] keeps that share of the change
        the model makes (1: all of it; 0.5: halfway between the photo and the model's result), as
        Real-ESRGAN's denoise strength and CodeFormer's fidelity weight let a user hold a model back.
        scratches: also inpaint what the model's damage map marks (Bringing-Old-Photos' --with_scratch).
        keep_hues: a toned photo gains no hue from the model (color.keep_print_hues); False when its colour is
        replaced next."""
        return self.restore_images([rgb], tile=tile, strength=strength, scratches=scratches, keep_hues=[keep_hues])[0]

    def restore_images(
        self,
        images: Sequence[np.ndarray],
        *,
        tile: int | None = None,
        strength: float = 1.0,
        scratches: bool = False,
        correct: bool = True,
        keep_hues: Sequence[bool] | None = None,
    ) -> list[np.ndarray]:
        """restore_image() for several uint8 images, as one batch when they fit in one tile. The manifest's
        global correction follows the restore model (unless `correct` is False: what the correction is fitted
        on). A toned photo gains no hue from the model that it did not have (color.keep_print_hues; `keep_hues`
        may skip that per photo, for photos whose colour is replaced next); a neutral gray photo comes back gray
        (no tint from the correction, no colour in repaired scratches)."""
        ProcessOptions(tile=tile, strength=strength, scratches=scratches)  # checks them
        if scratches:
            self._check_damage_map()
        neutral = [is_neutral_gray(rgb) for rgb in images]
        keep_hues = [True] * len(images) if keep_hues is None else keep_hues
        toned = [
            keep and not gray and is_grayscale(rgb) for rgb, keep, gray in zip(images, keep_hues, neutral, strict=True)
        ]
        restored = self._run_restore(images, tile, scratches, toned)
        if correct:
            restored = self._correct(restored)
        if strength != 1.0:
            restored = [_blend(rgb, out, strength) for rgb, out in zip(images, restored, strict=True)]
        return [as_gray(out) if gray else out for out, gray in zip(restored, neutral, strict=True)]

    def _check_damage_map(self) -> None:
        spec = self.model("restore").spec
        if spec.damage is None:
            raise ValueError(f"{spec.path.name} has no damage map, so scratches cannot be filled")

    def _run_restore(
        self, images: Sequence[np.ndarray], tile: int | None, scratches: bool, toned: Sequence[bool]
    ) -> list[np.ndarray]:
        """The restore model over each photo. The `toned` ones then gain no hue they did not have
        (color.keep_print_hues, told where the damage map marks defects when the model has one); with `scratches`,
        what the damage map marks is inpainted."""
        if not images:
            return []
        model = self.model("restore")
        spec = model.spec
        tile = self.tile if tile is None else tile
        contexts = [spec.context_feed(rgb) for rgb in images]
        with_damage = spec.damage is not None and (scratches or any(toned))
        outputs = (spec.output.name, spec.damage.output) if with_damage else spec.output.name
        if _batchable(images) and (tile == 0 or max(images[0].shape[:2]) <= tile):
            batch = np.stack(images).astype(np.float32) * np.float32(1 / 255)  # as run_tiled converts
            extra = {name: np.concatenate([c[name] for c in contexts]) for name in contexts[0]}
            results = list(to_uint8(model.run_batch(batch, extra, output=outputs)))
        else:
            results = [
                run_tiled(
                    # every tile sees the whole photo's thumbnail
                    functools.partial(model.run_image, extra=context, output=outputs),
                    rgb,
                    tile=tile,
                    overlap=self.tile_overlap,
                    multiple=spec.size_multiple,
                    receptive_field=spec.receptive_field,
                    channels=4 if with_damage else 3,
                )
                for rgb, context in zip(images, contexts, strict=True)
            ]
        damage = spec.damage if with_damage else None
        return [
            _finish_restore(rgb, out, damage, scratches, keep)
            for rgb, out, keep in zip(images, results, toned, strict=True)
        ]

    def _correct(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Restored photos through the manifest's global colour correction ("correct"), when it has one: the
        transform is predicted once from the whole photo at the model's input size and applied to every pixel,
        so tiled and untiled runs stay equal."""
        corrections = self.colour_corrections(images)
        if corrections is None:
            return images
        return [apply_colour_transform(rgb, matrix) for rgb, matrix in zip(images, corrections, strict=True)]

    def colour_corrections(self, restored: Sequence[np.ndarray]) -> list[np.ndarray] | None:
        """The global colour correction's 3 x 4 matrix [A | b] for each restored uint8 photo (see
        apply_colour_transform); None when the manifest has no "correct" model."""
        if not restored or "correct" not in self.manifest.models:
            return None
        model = self.model("correct")
        feed = np.stack([photo_thumbnail(rgb, model.spec.image_input.shape) for rgb in restored])
        return list(model.run({model.spec.image_input.name: feed}))

    def colorize_image(
        self, rgb: np.ndarray, *, render_size: int | None = None, temperature: float | None = None
    ) -> np.ndarray:
        """Predict a*b* from L* at `render_size` (longest side, never upscaled), then merge the
        upsampled a*b* with the full-resolution L*."""
        return self.colorize_images([rgb], render_size=render_size, temperature=temperature)[0]

    def colorize_images(
        self,
        images: Sequence[np.ndarray],
        *,
        render_size: int | None = None,
        temperature: float | None = None,
        hints: Sequence[np.ndarray | None] | None = None,
    ) -> list[np.ndarray]:
        """colorize_image() for several images, as one batch when they have the same size.

        hints: per image, None or an HxWx3 map at the image's size (restore.hints): a*, b* where the third
        channel is 1: they spread over the model's automatic colours (restore.hint_spread)."""
        if not images:
            return []
        model = self.model("colorize")
        spec = model.spec
        feed = self._temperature_feed(spec, temperature)
        given = list(hints) if hints is not None else [None] * len(images)
        size = render_size or spec.render_size or DEFAULT_RENDER_SIZE
        lightness = [rgb_to_lightness(rgb) for rgb in images]
        small = [shrink(channel, size)[..., None] for channel in lightness]
        # no hints at all: the engine feeds zeros (automatic); else each image's at the render size
        maps = None
        if any(hint is not None for hint in given):
            maps = [_hint_map(hint, channel.shape[:2]) for hint, channel in zip(given, small, strict=True)]
        # The model colourizes automatically and the hints spread after it: a model's own hints input obeys a hint
        # where it lies, which leaves the spreading nothing to correct (10 true hints on the holdout: +0.9 dB
        # through a hinted model, +3.9 dB spread after its automatic colours; the model card says more).
        if _batchable(small):
            ab = list(model.run_batch(np.stack(small), feed))
        else:
            ab = [model.run_image(channel, feed) for channel in small]
        if maps is not None:
            ab = [
                spread_hints(light[..., 0], colour, hint) for light, colour, hint in zip(small, ab, maps, strict=True)
            ]
        return [_merge_colour(channel, chroma, spec) for channel, chroma in zip(lightness, ab, strict=True)]

    def colour_candidates(
        self,
        rgb: np.ndarray,
        x: int,
        y: int,
        k: int = 5,
        *,
        hints: np.ndarray | None = None,
        render_size: int | None = None,
    ) -> list[ColourCandidate]:
        """The colorize model's k likeliest distinct colours at pixel (x, y) of `rgb` (uint8, as colourized: no
        restoring here), given `hints` (a map at the image's size, or None): its colour distribution there
        (softmax of the bin logits at T = 1), shown at the pixel's lightness, most likely first (restore.palette).
        ValueError for a model without a distribution output, or a point outside the image."""
        height, width = rgb.shape[:2]
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"point ({x}, {y}) is outside the {width}x{height} image")
        model = self.model("colorize")
        spec = model.spec
        if spec.distribution is None:
            raise ValueError(f"the colorize model ({spec.path.name}) gives no colour distribution to pick from")
        self._check_hints([rgb], None if hints is None else [hints], "always")
        lightness = rgb_to_lightness(rgb)
        small = shrink(lightness, render_size or spec.render_size or DEFAULT_RENDER_SIZE)
        maps = None if hints is None or spec.hints is None else {spec.hints.name: resize_hints(hints, *small.shape)}
        stride = spec.distribution.stride
        logits = model.run_image(small[..., None], spec.temperature_feed(), maps, spec.distribution.output, stride)
        # the point in the render, then in the distribution's cells (pixel centres, as cv2.resize maps them)
        u = ((x + 0.5) * small.shape[1] / width) / stride - 0.5
        v = ((y + 0.5) * small.shape[0] / height) / stride - 0.5
        cells = logits.transpose(2, 0, 1)  # Q x h x w
        return likeliest_colours(probabilities_at(cells, u, v), spec.distribution.bins, float(lightness[y, x]), k)

    def _check_hints(
        self, images: Sequence[np.ndarray], hints: Sequence[np.ndarray | None] | None, colorize: str
    ) -> list[np.ndarray | None]:
        """`hints` checked against `images`, one per image; a map with nothing hinted counts as none."""
        if hints is None:
            return [None] * len(images)
        if len(hints) != len(images):
            raise ValueError(f"{len(hints)} hint maps for {len(images)} images")
        given: list[np.ndarray | None] = []
        for rgb, hint in zip(images, hints, strict=True):
            if hint is not None and (hint.shape != (*rgb.shape[:2], 3) or hint.dtype.kind != "f"):
                size = rgb.shape[:2]
                raise ValueError(f"a hint map must be HxWx3 float at its image's size {size}, not {hint.shape}")
            given.append(hint if hint is not None and hint[..., 2].any() else None)
        if any(hint is not None for hint in given) and colorize == "never":
            raise ValueError("colour hints need colourizing; colorize 'never' would ignore them")
        return given

    def _temperature_feed(self, spec: ModelSpec, temperature: float | None) -> dict[str, np.ndarray]:
        if spec.temperature is None:
            if temperature is not None and not self._warned_no_temperature:
                log.warning("the colorize model has no temperature input; ignoring temperature=%s", temperature)
                self._warned_no_temperature = True
            return {}
        return spec.temperature_feed(temperature)


def colourizes(rgb: np.ndarray, colorize: str, hints: np.ndarray | None = None) -> bool:
    """Whether process(rgb, colorize=colorize, hints=hints) colourizes: "always"; "auto" for black-and-white or
    toned photos (color.is_grayscale) and photos given hints; never for "never"."""
    return colorize == "always" or (colorize == "auto" and (hints is not None or is_grayscale(rgb)))


def apply_colour_transform(rgb: np.ndarray, correction: np.ndarray) -> np.ndarray:
    """rgb + A rgb + b on [0, 1] values, for uint8 RGB and the 3 x 4 matrix [A | b]; uint8 again."""
    pixels = rgb.reshape(-1, 3).astype(np.float32) * np.float32(1 / 255)
    matrix = correction[:, :3].astype(np.float32) + np.eye(3, dtype=np.float32)
    corrected = pixels @ matrix.T + correction[:, 3].astype(np.float32)
    return to_uint8(corrected.reshape(rgb.shape))


def _hint_map(hints: np.ndarray | None, size: tuple[int, int]) -> np.ndarray:
    return no_hints(*size) if hints is None else resize_hints(hints, *size)


def _batchable(images: Sequence[np.ndarray]) -> bool:
    return len(images) > 1 and len({image.shape for image in images}) == 1


def _merge_colour(lightness: np.ndarray, ab: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Full-resolution L* with a*b* upsampled to it and clipped to the model's range, as uint8 RGB."""
    height, width = lightness.shape
    if ab.shape[:2] != (height, width):
        ab = cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC)
    if spec.output.range is not None:
        np.clip(ab, *spec.output.range, out=ab)  # in place: ab is ours, and full-size
    return merge_lightness(lightness, ab)


def _finish_restore(
    original: np.ndarray, result: np.ndarray, damage: DamageMap | None, scratches: bool, toned: bool
) -> np.ndarray:
    """The model's RGB (with the damage map as a 4th channel when `damage` is given): a toned photo's hues kept,
    scratches filled."""
    restored = np.ascontiguousarray(result[..., :3])
    if toned:
        defects = None if damage is None else damage_mask(result[..., 3], damage.threshold)
        restored = keep_print_hues(original, restored, defects)
    if scratches:
        assert damage is not None
        restored = inpaint_damage(restored, result[..., 3], damage.threshold)
    return restored


def _blend(original: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """`original` moved `strength` of the way to `restored` (uint8 both), rounded to uint8."""
    change = restored.astype(np.float32) - original
    return np.clip(np.rint(original + np.float32(strength) * change), 0, 255).astype(np.uint8)
