"""Multi-process training with torchrun: process group setup and gradient averaging.

DistributedDataParallel cannot run the gradient penalty's double backward (`torch.autograd.grad` with
`create_graph=True`; see the DDP documentation), so, as StyleGAN2-ADA does, each rank computes its own gradients and
they are averaged with `all_reduce` before every optimizer step. One code path: with a single process these are
no-ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn


@dataclass(frozen=True)
class Context:
    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(preference: str) -> torch.device:
    """ "auto" is CUDA when available, else CPU; "cuda" without a GPU is an error."""
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA device is available")
    if preference in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def setup(device_preference: str) -> Context:
    """Join the torchrun process group when WORLD_SIZE > 1 (gloo on CPU, nccl on CUDA)."""
    device = pick_device(device_preference)
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return Context(rank, world, device)


def broadcast_parameters(module: nn.Module) -> None:
    """Start every rank from rank 0's weights and buffers."""
    if dist.is_initialized():
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(module: nn.Module) -> None:
    """Replace each gradient by its mean over ranks."""
    if not dist.is_initialized():
        return
    world = dist.get_world_size()
    for parameter in module.parameters():
        if parameter.grad is not None:
            dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
            parameter.grad.div_(world)


def average_scalar(value: float, device: torch.device) -> float:
    """Mean of a logged number over ranks."""
    if not dist.is_initialized():
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.item() / dist.get_world_size()


def teardown() -> None:
    """End the process group a torchrun launch started (nothing otherwise)."""
    if dist.is_initialized():
        dist.destroy_process_group()
