"""Carry a run's EMA generator and its critic to and from a lent GPU machine, whose files come back in pieces of
at most 16 MiB.

    python scripts/gpu_pack.py init  runs/colorize/last.pt .gpu/init/colorize.pt   # here: fp16 weights to start from
    python scripts/gpu_pack.py split /tmp/runs/colorize/last.pt $OUT/colorize      # on the GPU machine
    python scripts/gpu_pack.py join  files/colorize runs/gpu-colorize/last.pt       # back here

The joined file is a slim checkpoint (EMA generator, critic, config, step, wall time, hardware): `revive-train
export` reads it like a full one, and `revive-train fit --init-from` starts both networks from it, so the next
burst's adversarial phase goes on against a trained critic. Optimizer states stay behind.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.checkpoint import load, save_atomic

SLIM_KEYS = ("config", "step", "samples", "wall_seconds", "hardware")
NETWORKS = ("ema", "critic")  # the weights carried, each a name -> tensor dict


def init(checkpoint: Path, out: Path) -> None:
    """The EMA generator and the critic (if the checkpoint has one) in float16, half the size, for
    `revive-train fit --init-from` on the GPU machine."""
    state = load(checkpoint)
    slim = {
        network: {name: t.half() if t.is_floating_point() else t for name, t in state[network].items()}
        for network in NETWORKS
        if network in state
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**slim, "step": state["step"]}, out)


def split(checkpoint: Path, prefix: Path, max_mib: float) -> list[Path]:
    """Write prefix.part0.pt, prefix.part1.pt, ... each under `max_mib` MiB; part 0 also holds the metadata."""
    state = load(checkpoint)
    parts: list[dict[str, dict[str, torch.Tensor]]] = [{}]
    size = 0
    for network in (n for n in NETWORKS if n in state):
        for name, tensor in state[network].items():
            nbytes = tensor.numel() * tensor.element_size()
            if parts[-1] and size + nbytes > max_mib * 2**20:
                parts.append({})
                size = 0
            parts[-1].setdefault(network, {})[name] = tensor
            size += nbytes
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, networks in enumerate(parts):
        extra = {key: state[key] for key in SLIM_KEYS if key in state} if index == 0 else {}
        path = prefix.with_name(f"{prefix.name}.part{index}.pt")
        torch.save({**networks, **extra}, path)
        paths.append(path)
    return paths


def join(prefix: Path, out: Path) -> dict:
    """Merge the parts back into one slim checkpoint at `out`."""
    paths = sorted(prefix.parent.glob(f"{prefix.name}.part*.pt"), key=lambda p: int(p.stem.rsplit("part", 1)[1]))
    if not paths:
        raise FileNotFoundError(f"no {prefix.name}.part*.pt in {prefix.parent}")
    state: dict = {}
    for path in paths:
        part = load(path)
        for network in NETWORKS:
            state.setdefault(network, {}).update(part.pop(network, {}))
        state.update(part)
    if not state["critic"]:
        del state["critic"]
    save_atomic(state, out)
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("init", "split", "join"))
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--max-mib", type=float, default=15.0)
    args = parser.parse_args()
    if args.action == "init":
        init(args.source, args.target)
        print(f"{args.target}: {args.target.stat().st_size / 2**20:.1f} MiB")
    elif args.action == "split":
        for path in split(args.source, args.target, args.max_mib):
            print(f"{path}: {path.stat().st_size / 2**20:.1f} MiB")
    else:
        state = join(args.source, args.target)
        print(f"{args.target}: step {state.get('step')}, {len(state['ema'])} tensors")


if __name__ == "__main__":
    main()
