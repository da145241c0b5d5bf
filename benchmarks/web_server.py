"""A real web UI server for the web tests (`python app.py` in a subprocess), and small test photos."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
MAX_FILE_SIZE_MB = 1  # small, so that the "too large" test uploads little
MAX_PIXELS = 250_000


@dataclass(frozen=True)
class Server:
    """A running app: its base URL and the TMPDIR it was started with (its work folder goes there)."""

    url: str
    tmpdir: Path
    process: subprocess.Popen


@contextmanager
def running_server(
    weights_dir: Path,
    tmpdir: Path,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Server]:
    """Start `python app.py` on a free port with the test weights; stop it (SIGTERM) on exit. `env`: more
    environment variables for it; `args`: more options (a repeated option wins over the tests' own)."""
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir), "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    env.pop("GRADIO_TEMP_DIR", None)
    log = tmpdir / "server.log"
    command = [
        sys.executable,
        "app.py",
        "--port",
        str(port),
        "--weights",
        str(weights_dir),
        "--device",
        "cpu",
        "--max-file-size",
        str(MAX_FILE_SIZE_MB),
        "--max-pixels",
        str(MAX_PIXELS),
        "--concurrency",
        "2",
        *args,
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process, log, timeout)
        yield Server(url, tmpdir, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_photo(path: Path, width: int = 100, height: int = 70, gray: bool = True) -> Path:
    """A small noisy test photo (gray by default, so that auto colourizes it)."""
    rng = np.random.default_rng(width * height)
    if gray:
        pixels = np.repeat(rng.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2)
    else:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def request_photo(client: Any, photo: Path, size: tuple[int, int], timeout: float) -> str:
    """Send `photo` to /restore_photo through a gradio_client.Client: "ok" (a PNG of `size`, width x height,
    came back), "refused" (the queue is full) or "failed: <reason>"."""
    from gradio_client import handle_file
    from gradio_client.utils import QueueError

    try:
        _, png, _ = client.submit(handle_file(str(photo)), api_name="/restore_photo").result(timeout=timeout)
        with Image.open(png) as image:
            return "ok" if image.size == size else f"failed: {image.size} px back for {size}"
    except QueueError:
        return "refused"
    except Exception as exc:  # anything else is a failure to report, not to stop the load for
        return f"failed: {type(exc).__name__}: {str(exc)[:120]}"


def concurrent_requests(
    url: str, photo: Path, size: tuple[int, int], clients: int, requests: int, deadline: float
) -> dict[str, Any]:
    """`clients` threads, each with its own Client, send `requests` requests one after the other, starting
    together; nothing is sent after `deadline` (time.monotonic()). Returns {"outcomes": [(outcome, seconds)],
    "seconds": wall time}, outcome as request_photo's or "not sent"."""
    from gradio_client import Client

    outcomes: list[tuple[str, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client_thread(index: int) -> None:
        try:
            client, error = Client(url, verbose=False, download_files=str(photo.parent / f"client{index}")), ""
        except Exception as exc:  # counted as failures below, after the others have started
            client, error = None, f"failed: no connection: {type(exc).__name__}: {str(exc)[:120]}"
        start.wait()
        for _ in range(requests):
            if client is None:
                outcome, seconds = error, 0.0
            elif time.monotonic() >= deadline:
                outcome, seconds = "not sent", 0.0
            else:
                began = time.perf_counter()
                outcome = request_photo(client, photo, size, max(1.0, deadline - time.monotonic()))
                seconds = time.perf_counter() - began
            with lock:
                outcomes.append((outcome, seconds))

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"outcomes": outcomes, "seconds": time.perf_counter() - began}


def raw_call(url: str, api_name: str, data: list) -> str:
    """POST `data` to an endpoint the way any HTTP client can, and return the server's event stream."""
    request = urllib.request.Request(
        f"{url}gradio_api/call/{api_name}",
        data=json.dumps({"data": data}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/{api_name}/{event}", timeout=60) as response:
        return response.read().decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"app.py did not answer within {timeout} s:\n{log.read_text(errors='replace')}")
