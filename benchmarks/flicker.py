"""Flicker of colourized video as a viewer sees it (through `revive video`'s H.264 encoding), with and without the
temporal filter, above the floor the codec sets; and what the filter costs in colour quality.

    python -m benchmarks.flicker [--weights weights/] [--size 256x192] [--frames 32]

Clips: pans at 3 px a frame over four scikit-image colour photos, zooms into two of them and a pan that cuts to
another photo halfway; the colour frames are the ground truth, their black-and-white versions the input.
Colourizers, frame by frame: "oracle + jitter" (the true a*b* with per-frame jitter: a global gain and offset and a
smooth random field, like a colourizer that wavers), "test model" (the tests' tiny ONNX model, steady: what the
filter costs by itself), "test model + jitter" and, with --weights, "model": the real colorize model as it is,
through Restorer. "temporal" is the same output through restore.temporal.ChromaStabilizer, as `revive video` and
`revive frames` run it.

Flicker (restore.temporal.flicker: the a*b* change along the true motion, from the ground-truth frames, occlusions
masked) is measured on each sequence after an H.264 round trip with revive's own settings
(benchmarks.clips.through_codec). The codec alone makes a perfectly steady colour image flicker as it moves (4:2:0
chroma, quantization that changes with the motion), by an amount that depends on the colours: the **floor** is the
flicker of the colourizer's own colours made steady (the whole photo colourized once and moved exactly as the clip
moves; the oracle's is the ground truth), through the same round trip. The filter's **ratio** is the flicker it
leaves above that floor over the per-frame flicker above it, (temporal - floor) / (per-frame - floor), of the means
over the clips; "ratio, no codec" is temporal / per-frame before encoding. PSNR (against the ground truth) and
colourfulness (Hasler & Suesstrunk, training.metrics) are taken before encoding. Jitter inflates colourfulness, so
part of the filter's colourfulness change against jittered frames is the jitter going away.
Targets (#20): ratio <= 1/3, colourfulness within 5% of per-frame, PSNR not lower.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.clips import pan_frames, skimage_photo, through_codec, to_gray, zoom_frames
from benchmarks.common import Result, base_parser, markdown_table, parse_size, report
from restore.color import lab_to_rgb, rgb_to_lab
from restore.pipeline import Restorer
from restore.temporal import ChromaStabilizer, flicker
from training.metrics import colorfulness, psnr

PAN_STEP = (3, 1)  # px per frame
ZOOM_RATE = 0.01  # per frame
CLIPS = (  # (motion, the photos it shows: a second photo is cut to halfway)
    ("pan", ("astronaut",)),
    ("pan", ("coffee",)),
    ("pan", ("chelsea",)),
    ("pan", ("rocket",)),
    ("zoom", ("astronaut",)),
    ("zoom", ("coffee",)),
    ("pan", ("coffee", "chelsea")),
)
MOTIONS = {
    "pan": lambda count, size, photo: pan_frames(count, size, photo, step=PAN_STEP),
    "zoom": lambda count, size, photo: zoom_frames(count, size, photo, rate=ZOOM_RATE),
}
Colorizer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input gray frame, ground truth) -> output


def clip(
    motion: str, photos: tuple[str, ...], frames: int, size: tuple[int, int], source: Callable = skimage_photo
) -> list[np.ndarray]:
    """The clip's frames, each photo (as `source` gives it: the sample, or a colourized copy) for an equal share."""
    shares = [frames // len(photos)] * (len(photos) - 1)
    shares.append(frames - sum(shares))
    return [
        frame
        for photo, count in zip(photos, shares, strict=True)
        for frame in MOTIONS[motion](count, size, source(photo))
    ]


def jittered(colorize: Colorizer, seed: int) -> Colorizer:
    """`colorize` whose a*b* waver from frame to frame: gain, offset and a smooth random field."""
    rng = np.random.default_rng(seed)

    def run(gray: np.ndarray, truth: np.ndarray) -> np.ndarray:
        lab = rgb_to_lab(colorize(gray, truth))
        height, width = lab.shape[:2]
        field = cv2.resize(
            rng.normal(0.0, 4.0, (3, 4, 2)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC
        )
        lab[..., 1:] = lab[..., 1:] * rng.normal(1.0, 0.12) + rng.normal(0.0, 4.0, 2) + field
        return lab_to_rgb(lab)

    return run


def oracle(gray: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The true colour on the input's lightness."""
    lab = rgb_to_lab(truth)
    lab[..., 0] = rgb_to_lab(gray)[..., 0]
    return lab_to_rgb(lab)


def model(weights: Path) -> Colorizer:
    """A colorize model through Restorer, as `revive` runs it (no restoration: the clips are clean)."""
    restorer = Restorer(weights, device="cpu")
    return lambda gray, truth: restorer.process(gray, restore=False, colorize="always")


def steady(colorize: Colorizer) -> Callable[[str], np.ndarray]:
    """A sample photo colourized once, whole: moved as a clip moves, the steadiest colours `colorize` can give."""

    def source(name: str) -> np.ndarray:
        photo = skimage_photo(name)
        return colorize(to_gray([photo])[0], photo)

    return source


def evaluate(colorize: Colorizer, motion: str, photos: tuple[str, ...], frames: int, size: tuple[int, int]) -> Result:
    """Flicker (through the codec and before it), PSNR and colourfulness of `colorize` on one clip, frame by frame
    and through the filter, and the floor of its steady colours."""
    truth = clip(motion, photos, frames, size)
    inputs = to_gray(truth)
    per_frame = [colorize(gray, frame) for gray, frame in zip(inputs, truth, strict=True)]
    stabilizer = ChromaStabilizer()
    temporal = [stabilizer(gray, out) for gray, out in zip(inputs, per_frame, strict=True)]
    result: Result = {
        "cuts": stabilizer.cuts,
        "floor": flicker(through_codec(clip(motion, photos, frames, size, steady(colorize))), truth),
    }
    for name, sequence in (("per_frame", per_frame), ("temporal", temporal)):
        result[name] = {
            "flicker": flicker(through_codec(sequence), truth),
            "flicker_no_codec": flicker(sequence, truth),
            "psnr": float(np.mean([psnr(t, f) for t, f in zip(truth, sequence, strict=True)])),
            "colorfulness": float(np.mean([colorfulness(f) for f in sequence])),
        }
    return result


def main() -> None:
    parser = base_parser(__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, help="also measure this folder's colorize model as it is")
    parser.add_argument("--size", default="256x192", metavar="WxH")
    parser.add_argument("--frames", type=int, default=32)
    args = parser.parse_args()
    from benchmarks.tiny_models import write_weights

    height, width = parse_size(args.size)
    names = [f"{motion} {' > '.join(photos)}" for motion, photos in CLIPS]
    with tempfile.TemporaryDirectory() as tmp:
        tiny = model(write_weights(Path(tmp)))
        colorizers = {
            "oracle + jitter": jittered(oracle, 0),
            "test model": tiny,
            "test model + jitter": jittered(tiny, 1),
        }
        if args.weights is not None:
            colorizers["model"] = model(args.weights)
        results = {
            name: {
                clip_name: evaluate(run, motion, photos, args.frames, (width, height))
                for clip_name, (motion, photos) in zip(names, CLIPS, strict=True)
            }
            for name, run in colorizers.items()
        }
    rows = []
    for name, per_clip in results.items():
        floor = float(np.mean([r["floor"] for r in per_clip.values()]))
        before, after = (
            {key: float(np.mean([r[mode][key] for r in per_clip.values()])) for key in per_clip[names[0]][mode]}
            for mode in ("per_frame", "temporal")
        )
        rows.append(
            [
                name,
                floor,
                before["flicker"],
                after["flicker"],
                (after["flicker"] - floor) / (before["flicker"] - floor),
                after["flicker_no_codec"] / before["flicker_no_codec"],
                before["psnr"],
                after["psnr"] - before["psnr"],
                before["colorfulness"],
                100 * (after["colorfulness"] / before["colorfulness"] - 1),
            ]
        )
    headers = [
        "colourizer",
        "floor",
        "flicker per-frame",
        "flicker temporal",
        "ratio above floor",
        "ratio, no codec",
        "PSNR dB",
        "PSNR change dB",
        "colourfulness",
        "colourfulness change %",
    ]
    title = f"Flicker through H.264 on {len(CLIPS)} clips of {args.frames} frames at {args.size} (mean over clips)"
    report(title, markdown_table(headers, rows), {"clips": names, "results": results}, args.json)


if __name__ == "__main__":
    main()
