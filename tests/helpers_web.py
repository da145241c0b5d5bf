"""A real web UI server for the web tests (`python app.py` in a subprocess), and small test photos."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
def running_server(weights_dir: Path, tmpdir: Path, timeout: float = 90.0) -> Iterator[Server]:
    """Start `python app.py` on a free port with the test weights; stop it (SIGTERM) on exit."""
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir), "GRADIO_ANALYTICS_ENABLED": "False"}
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
    from PIL import Image

    rng = np.random.default_rng(width * height)
    if gray:
        pixels = np.repeat(rng.integers(0, 256, (height, width, 1), dtype=np.uint8), 3, axis=2)
    else:
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


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
