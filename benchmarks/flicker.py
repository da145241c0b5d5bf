"""Flicker of colourized video with and without the temporal filter, and what the filter costs in colour quality.

    python -m benchmarks.flicker [--weights weights/] [--size 256x192] [--frames 32]

Clips: a window panning over scikit-image colour photos (and one with a hard cut between two photos); the
colour frames are the ground truth, their black-and-white versions the input. Colourizers, frame by frame:
"oracle + jitter" (the true a*b* with per-frame jitter: a global gain and offset and a smooth random field,
like a colourizer that wavers), "test model" (the tests' tiny ONNX model, steady: what the filter costs by
itself), "test model + jitter" and, with --weights, "model": the real colorize model as it is, through Restorer.
Jitter inflates colourfulness, so part of the filter's colourfulness change against jittered frames is the
jitter going away. "temporal" is the same output through
restore.temporal.ChromaStabilizer, as `revive video` and `revive frames` run it.

Reported per colourizer (mean over clips): flicker (restore.temporal.flicker: a*b* change along the true motion,
from the ground-truth frames, occlusions masked), PSNR against the ground truth and colourfulness (Hasler &
Suesstrunk, training.metrics). Targets: temporal flicker <= 60% of per-frame, PSNR within 0.3 dB, colourfulness
within 5%.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import Result, base_parser, markdown_table, parse_size, report
from restore.color import lab_to_rgb, rgb_to_lab
from restore.pipeline import Restorer
from restore.temporal import ChromaStabilizer, flicker
from training.metrics import colorfulness, psnr

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
CUT = ("coffee", "chelsea")
Colorizer = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (input gray frame, ground truth) -> output


def clips(frames: int, size: tuple[int, int]) -> dict[str, list[np.ndarray]]:
    """Ground-truth colour clips: one pan per photo, and a cut halfway from one pan to another."""
    from benchmarks.clips import pan_frames

    result = {photo: pan_frames(frames, size, photo) for photo in PHOTOS}
    half = frames // 2
    result["+".join(CUT)] = pan_frames(half, size, CUT[0]) + pan_frames(frames - half, size, CUT[1])
    return result


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


def evaluate(colorize: Colorizer, truth: list[np.ndarray]) -> Result:
    """Flicker, PSNR and colourfulness of `colorize` on one clip, frame by frame and through the filter."""
    from benchmarks.clips import to_gray

    inputs = to_gray(truth)
    per_frame = [colorize(gray, frame) for gray, frame in zip(inputs, truth, strict=True)]
    stabilizer = ChromaStabilizer()
    temporal = [stabilizer(gray, out) for gray, out in zip(inputs, per_frame, strict=True)]
    result: Result = {"cuts": stabilizer.cuts}
    for name, frames in (("per_frame", per_frame), ("temporal", temporal)):
        result[name] = {
            "flicker": flicker(frames, truth),
            "psnr": float(np.mean([psnr(t, f) for t, f in zip(truth, frames, strict=True)])),
            "colorfulness": float(np.mean([colorfulness(f) for f in frames])),
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
    truth = clips(args.frames, (width, height))
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
            name: {clip: evaluate(run, frames) for clip, frames in truth.items()} for name, run in colorizers.items()
        }
    rows = []
    for name, per_clip in results.items():
        mean = {
            mode: {
                key: float(np.mean([r[mode][key] for r in per_clip.values()]))
                for key in ("flicker", "psnr", "colorfulness")
            }
            for mode in ("per_frame", "temporal")
        }
        before, after = mean["per_frame"], mean["temporal"]
        rows.append(
            [
                name,
                before["flicker"],
                after["flicker"],
                after["flicker"] / before["flicker"],
                before["psnr"],
                after["psnr"] - before["psnr"],
                before["colorfulness"],
                100 * (after["colorfulness"] / before["colorfulness"] - 1),
            ]
        )
    headers = [
        "colourizer",
        "flicker per-frame",
        "flicker temporal",
        "ratio",
        "PSNR dB",
        "PSNR change dB",
        "colourfulness",
        "colourfulness change %",
    ]
    title = f"Flicker on {len(truth)} panned clips of {args.frames} frames at {args.size} (mean over clips)"
    report(title, markdown_table(headers, rows), {"clips": list(truth), "results": results}, args.json)


if __name__ == "__main__":
    main()
