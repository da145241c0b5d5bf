"""Reach a Ray cluster for `revive batch --ray`, and size the workers to it."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from restore.commands.common import UsageError
from restore.errors import ReviveError, first_line

INSTALL_HINT = "revive batch runs on Ray, which is not installed: pip install -e '.[cluster]' (or: pip install ray)"
LOCAL_OBJECT_STORE = 200 * 2**20  # bytes; only small results travel through it (outputs go straight to files)
CONNECT_TIMEOUT = 10  # seconds


def import_ray() -> ModuleType:
    """The ray module; ReviveError with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise ReviveError(INSTALL_HINT) from None
    return ray


@contextmanager
def connected(address: str) -> Iterator[ModuleType]:
    """Ray, connected for the block: to the cluster at `address`; "auto": the running one (RAY_ADDRESS, or one
    started with `ray start` on this machine), else a new one on this machine; "local": a new one on this
    machine. A connection made before (ray.init in the caller) is used as it is and left open."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address == "auto":
            try:
                ray.init(address="auto", **quiet)
            except ConnectionError:
                ray.init(address="local", object_store_memory=LOCAL_OBJECT_STORE, **quiet)
        elif address == "local":
            ray.init(address="local", object_store_memory=LOCAL_OBJECT_STORE, **quiet)
        else:
            _check_reachable(address)
            ray.init(address=address, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise ReviveError(f"--ray {address}: cannot connect to Ray ({first_line(exc)})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """ReviveError unless something listens at HOST:PORT (ray.init would wait minutes for a wrong address)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ReviveError(
            f"--ray {address}: nothing answers there ({exc.strerror or exc}); is `ray start --head` running?"
        ) from None


@dataclass(frozen=True)
class Shape:
    """How many workers to start, what each asks Ray for, and the device its models use."""

    workers: int
    cpus: int
    gpus: float
    device: str


def worker_shape(
    ray: ModuleType, *, workers: int | None, cpus: int, gpus: float | None, device: str, tasks: int
) -> Shape:
    """Fit the workers to the cluster's nodes: by default GPU workers (one GPU each) where the cluster has GPUs
    and `device` allows them, else CPU workers; as many as the nodes hold, at most one per task. UsageError
    for a request that no node can meet."""
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    has_gpus = any(node.get("GPU", 0) > 0 for node in nodes)
    if gpus is None:
        gpus = 1.0 if has_gpus and device != "cpu" else 0.0
    if gpus and device == "cpu":
        raise UsageError("--gpus-per-worker with --device cpu: CPU workers need no GPU")
    if not gpus and device == "cuda":
        raise UsageError("--device cuda needs GPU workers, and " + ("--gpus-per-worker is 0" if has_gpus else
                         "this Ray cluster has no GPUs"))  # fmt: skip
    fits = [min(node.get("CPU", 0) // cpus, node.get("GPU", 0) // gpus if gpus else float("inf")) for node in nodes]
    if not any(fits):
        wanted = f"{cpus} CPUs" + (f" and {gpus:g} GPUs" if gpus else "")
        raise UsageError(f"no node of this Ray cluster has {wanted} for a worker")
    count = workers or int(sum(fits))
    return Shape(min(count, max(tasks, 1)), cpus, gpus, "cpu" if not gpus else device)
