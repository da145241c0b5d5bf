"""`revive-train`: train, fine-tune, evaluate and export Revive's models on your own photos."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from restore.commands.common import positive_int
from restore.errors import ReviveError
from training.config import merge, parse_override, resolve

EXAMPLES = """examples:
  revive-train degrade --preset train photos/ degraded/
  revive-train fit --task restore --data photos/ --val val/ --out runs/restore
  revive-train fit --task colorize --data photos/ --out runs/colorize --iters 30000 --batch 16
  revive-train fit --task restore --data my_scans/ --out runs/mine --init-from weights/restore.onnx --iters 2000
  revive-train fit --task restore --out runs/restore --resume
  torchrun --nproc_per_node 4 -m training.cli fit --task restore --data photos/ --out runs/restore
  revive-train eval --task restore --weights weights/restore.onnx --data val/
  revive-train export --checkpoint runs/restore/last.pt --out weights/
  revive-train quantize --weights weights/ --calibration photos/ --out weights/int8/
  revive-train fp16 --weights weights/ --register
  revive-train register --weights weights/ --task restore --variant cuda-fp16 restore.fp16.onnx
  revive-train fit-correction --data photos/ --holdout held_out/ --run runs/correct \\
      --export weights/
"""


TOOLS = {  # subcommands that are modules with their own parsers: name -> (module, help)
    "quantize": ("training.quantize", "make static int8 models for the CPU (the cpu-int8 variants)"),
    "fp16": ("training.fp16", "make float16 models for CUDA (the cuda-fp16 variants)"),
}


TRAINING_SCHEDULE = ("train_only", "freeze_encoder_iters", "encoder_lr_scale")  # how it trained, not its shape


def shipped_structure(model: Path) -> dict:
    """The generator and colour-head settings recorded in the manifest beside an exported model, so that
    `--init-from weights/x.onnx` builds a network of the same shape ({} for checkpoints or unknown files). The
    generator's TRAINING_SCHEDULE is left to the new run's config: the shipped restorer's last stage trained its
    damage head alone, and a run started from it trained nothing else."""
    from restore.manifest import MANIFEST_NAME, read_manifest_json

    if model.suffix != ".onnx" or not (model.parent / MANIFEST_NAME).exists():
        return {}
    for entry in read_manifest_json(model.parent).get("models", {}).values():
        if entry.get("file") == model.name and "config" in entry.get("training", {}):
            config = entry["training"]["config"]
            structure = {key: config[key] for key in ("generator", "color") if key in config}
            if "generator" in structure:
                structure["generator"] = {
                    key: value for key, value in structure["generator"].items() if key not in TRAINING_SCHEDULE
                }
            return structure
    return {}


FIXED_ON_RESUME = {"task", "generator", "critic", "color", "seed", "out"}


def _fit(args: argparse.Namespace) -> int:
    from training import checkpoint
    from training.config import from_dict
    from training.trainer import Trainer

    overrides = [parse_override(text) for text in args.set]
    for key in (
        "data",
        "val",
        "iters",
        "batch",
        "crop",
        "loss",
        "device",
        "init_from",
        "pretrain_iters",
        "seed",
    ):
        value = getattr(args, key)
        if value is not None:
            overrides.append({key: value})
    if args.width is not None:
        overrides.append({"generator": {"width": args.width}})
    last = Path(args.out) / "last.pt"
    if args.resume:
        if not last.exists():
            print(f"revive-train: error: nothing to resume: {last} does not exist", file=sys.stderr)
            return 1
        config = from_dict(checkpoint.load(last)["config"])
        for override in overrides:
            if set(override) & FIXED_ON_RESUME:
                print(
                    f"revive-train: error: {sorted(set(override) & FIXED_ON_RESUME)} cannot change on --resume",
                    file=sys.stderr,
                )
                return 2
            config = merge(config, override)
    else:
        if args.task is None or args.data is None:
            print("revive-train: error: --task and --data are required for a new run", file=sys.stderr)
            return 2
        if last.exists():
            print(
                f"revive-train: error: {last} exists; pass --resume to continue it or choose another --out",
                file=sys.stderr,
            )
            return 1
        structure = shipped_structure(Path(args.init_from)) if args.init_from else {}
        config = resolve(
            args.task, Path(args.config) if args.config else None, [structure, *overrides, {"out": args.out}]
        )
    from training import distributed

    try:
        Trainer(config, resume=args.resume).fit()
    finally:
        distributed.teardown()  # torchrun's process group, if any
    return 0


def _degrade(args: argparse.Namespace) -> int:
    from training.degradations import degrade_folder

    count = degrade_folder(args.preset, Path(args.input), Path(args.output), seed=args.seed)
    print(f"wrote {count} degraded images to {args.output}")
    return 0


def _prior(args: argparse.Namespace) -> int:
    import numpy as np

    from training.colorbins import empirical_distribution
    from training.config import ColorConfig
    from training.data import colour_training_photos

    photos = colour_training_photos(Path(args.data), ColorConfig().min_untoned_chroma)
    distribution = empirical_distribution(photos)
    np.save(args.out, distribution)
    print(f"wrote the ab-bin distribution of {len(photos)} photos ({len(distribution)} bins) to {args.out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from training.export import export

    command = "revive-train " + shlex.join(sys.argv[1:])
    entry = export(
        Path(args.checkpoint), Path(args.out), args.name, command, args.temperature, args.prior_correction, args.hints
    )
    print(
        f"exported {entry['task']} to {Path(args.out) / entry['file']} "
        f"(parity max abs error {entry['training']['parity_max_abs_error']:.2e})"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from training.evaluate import run_evaluation

    return run_evaluation(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revive-train",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    fit = commands.add_parser(
        "fit",
        help="train or fine-tune a model",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--task", choices=("restore", "colorize"))
    fit.add_argument("--data", help="folder of clean photos (searched recursively)")
    fit.add_argument("--val", help="folder of validation photos (metrics and sample grids)")
    fit.add_argument("--out", required=True, help="run folder: checkpoints, TensorBoard logs, samples")
    fit.add_argument("--config", help="YAML file overriding the defaults")
    fit.add_argument("--iters", type=int, help="generator steps in total, pretraining included")
    fit.add_argument("--pretrain-iters", dest="pretrain_iters", type=int, help="reconstruction-only steps")
    fit.add_argument("--batch", type=int)
    fit.add_argument("--crop", type=int)
    fit.add_argument("--width", type=int, help="generator width (channels at full resolution)")
    fit.add_argument("--loss", choices=("wgan-gp", "wgan-clip", "hinge", "lsgan", "vanilla"))
    fit.add_argument("--device", choices=("auto", "cpu", "cuda"))
    fit.add_argument("--seed", type=int)
    fit.add_argument("--init-from", dest="init_from", help="start from a checkpoint (.pt) or shipped model (.onnx)")
    fit.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    fit.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any config value, e.g. --set generator.width=48 --set n_critic=2",
    )
    fit.set_defaults(handler=_fit)

    degrade = commands.add_parser("degrade", help="write synthetically degraded copies of photos, to look at")
    degrade.add_argument("--preset", default="train")
    degrade.add_argument("--seed", type=int, default=0)
    degrade.add_argument("input")
    degrade.add_argument("output")
    degrade.set_defaults(handler=_degrade)

    prior = commands.add_parser("prior", help="compute the ab colour-bin distribution of a photo folder")
    prior.add_argument("--data", required=True)
    prior.add_argument("--out", required=True, help=".npy file")
    prior.set_defaults(handler=_prior)

    evaluate = commands.add_parser("eval", help="measure a model and the baselines on a folder of clean photos")
    evaluate.add_argument("--task", choices=("restore", "colorize"), required=True)
    evaluate.add_argument("--weights", required=True, help="ONNX model file")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument(
        "--preset", default="eval", help="restore: the degradation preset, or none for undamaged photos (default eval)"
    )
    evaluate.add_argument("--limit", type=int, default=0, help="only the first N images")
    evaluate.add_argument(
        "--temperature", type=float, help="colorize: annealed-mean temperature (default: the model's own)"
    )
    evaluate.add_argument(
        "--render-size", type=positive_int, help="colorize: longest side the model sees (default: the manifest's)"
    )
    evaluate.add_argument(
        "--strength", type=float, default=1.0, help="restore: share of the model's change kept (as `revive --strength`)"
    )
    evaluate.add_argument(
        "--scratches", action="store_true", help="restore: also fill what the damage map finds (`revive --scratches`)"
    )
    evaluate.add_argument(
        "--fp32", action="store_true", help="run the model's own file, not the faster variant the CPU runs (int8)"
    )
    evaluate.add_argument(
        "--no-opencv",
        dest="opencv",
        action="store_false",
        help="restore: leave out the OpenCV baseline (most of the time taken; for comparing models quickly)",
    )
    evaluate.add_argument(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="colorize: skip the ImageNet classifiers' agreement and feature cosine (training.semantics)",
    )
    evaluate.add_argument(
        "--labels", help="colorize: labels.csv (file, wnid) of ImageNet photos in --data, for real top-1 accuracy"
    )
    evaluate.add_argument(
        "--hint-points",
        type=int,
        default=0,
        metavar="N",
        help="colorize: also colourize with N hints of the true colours (5 px patches) and report PSNR and "
        "the hinted pixels' colour error (a model with a hints input)",
    )
    evaluate.add_argument(
        "--ffdnet", metavar="PTH", help="restore: add FFDNet with these weights (KAIR's layout) as a peer row"
    )
    evaluate.add_argument("--ffdnet-sigma", type=float, help="restore: FFDNet's noise level, 0-255")
    evaluate.add_argument(
        "--ffdnet-tune",
        metavar="DIR",
        help="restore: choose FFDNet's noise level on these photos (not --data), degraded with the same preset",
    )
    evaluate.add_argument(
        "--ffdnet-tune-limit", type=positive_int, default=20, help="photos of --ffdnet-tune used (default 20)"
    )
    evaluate.add_argument("--json", help="also write the results as JSON here")
    evaluate.add_argument("--markdown", help="also write the table as Markdown here")
    evaluate.set_defaults(handler=_eval)

    export = commands.add_parser("export", help="export a checkpoint's EMA generator to ONNX + manifest")
    export.add_argument("--checkpoint", required=True)
    export.add_argument("--out", default="weights")
    export.add_argument("--name", help="file name stem (default: the task)")
    export.add_argument(
        "--temperature", type=float, help="colorize: default colour temperature at inference (default: training's)"
    )
    export.add_argument(
        "--prior-correction",
        type=float,
        help="colorize: share of the class rebalancing that the decoding undoes, 0-1 (default: training's)",
    )
    export.add_argument(
        "--no-hints",
        dest="hints",
        action="store_false",
        help="colorize: export a hinted model's automatic graph only, without the hints input (while its hints "
        "are not good enough to offer); its colour distribution output stays, for the palette",
    )
    export.set_defaults(handler=_export)

    from training import global_fit

    correction = commands.add_parser(
        "fit-correction", help="train restore's global tone correction (after a keep-tone restorer), and export it"
    )
    global_fit.add_arguments(correction)
    correction.set_defaults(handler=global_fit.run)

    for name, about in TOOLS.items():  # listed here; main() hands their arguments to their own parsers
        commands.add_parser(name, help=about[1])
    register = commands.add_parser(
        "register", help="list an ONNX file as a model's device variant in the manifest (after a benchmark passed it)"
    )
    register.add_argument("file", type=Path, help="the variant's ONNX file (copied beside the model if elsewhere)")
    register.add_argument("--weights", type=Path, required=True, help="folder with manifest.json")
    register.add_argument("--task", required=True, help="the model it is a variant of, e.g. restore")
    register.add_argument("--variant", required=True, choices=("cpu-int8", "cuda-fp16"))
    register.set_defaults(handler=_register)
    return parser


def _register(args: argparse.Namespace) -> int:
    from training.variants import adopt_variant

    path = adopt_variant(args.weights, args.task, args.variant, args.file)
    print(f"revive-train: {path} is the {args.variant} variant of {args.task} in {args.weights / 'manifest.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TOOLS:  # a tool with its own options and --help
        import importlib

        return importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (FileNotFoundError, ValueError, KeyError, RuntimeError, ReviveError) as error:
        print(f"revive-train: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
