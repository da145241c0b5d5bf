"""What the benchmarks share: one measurement per fresh subprocess, median timing, peak RSS, test photos, tables.

A measurement is a function `module:function(**kwargs) -> dict` run by `isolated` in its own Python process
(`python -m benchmarks.common TARGET KWARGS_JSON RESULT_PATH`): ONNX Runtime and torch never share a process
(ORT timings become bimodal and up to 2x slower after torch ran in the same process), and the peak RSS
reported is the measurement's own. Linux only (memory is read from /proc).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Colour photos shipped with scikit-image (no download), used when no --data folder is given.
SAMPLE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")
Result = dict[str, Any]


def isolated(target: str, /, **kwargs: Any) -> Result:
    """Run `target` ("module:function") with `kwargs` in a fresh Python process and return its result dict,
    with `peak_rss_mb` (that process's peak resident memory, unless the result has it) and `torch_loaded`."""
    print(f"  {target} {json.dumps(kwargs)}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "benchmarks.common", target, json.dumps(kwargs), str(out)]
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{target} failed (status {proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(out.read_text())


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> Result:
    """Call `fn` `warmup` times untimed, then `repeats` times; median and all wall times in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "times_s": times}


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB (10^6 bytes): VmHWM, since start or `reset_peak_rss`."""
    return _status_mb("VmHWM")


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    return _status_mb("VmRSS")


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {key} in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM again from the current resident memory (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def sample_photo(height: int, width: int, gray: bool = False, name: str = "astronaut") -> np.ndarray:
    """A scikit-image sample photo resized to `height` x `width`, HxWx3 uint8 RGB (three equal channels if gray)."""
    import cv2
    from skimage import data

    from restore.color import as_gray

    rgb = cv2.resize(getattr(data, name)(), (width, height), interpolation=cv2.INTER_CUBIC)
    if gray:
        rgb = as_gray(rgb)
    return rgb


def write_sample_photos(folder: Path) -> Path:
    """Write the SAMPLE_PHOTOS as PNGs into `folder` (a stand-in data set); return `folder`."""
    import cv2
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLE_PHOTOS:
        cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR))
    return folder


def pinned_weights(weights: str | Path, files: dict[str, str | Path], folder: Path) -> Path:
    """Write into `folder` a copy of `weights`' manifest in which each task of `files` (task -> model file)
    runs that file (by absolute path, with its sha256) and no model has variants, so that the engine runs
    exactly these files on any device; return `folder`."""
    from restore.manifest import MANIFEST_NAME, sha256_file

    manifest = json.loads((Path(weights) / MANIFEST_NAME).read_text())
    for task, entry in manifest["models"].items():
        file = Path(files[task]) if task in files else Path(weights) / entry["file"]
        entry.update(file=str(file.resolve()), sha256=sha256_file(file))
        entry.pop("variants", None)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return folder


def parse_size(text: str) -> tuple[int, int]:
    """'2048x1536' -> (height 1536, width 2048): sizes are written width x height."""
    width, _, height = text.lower().partition("x")
    return int(height), int(width)


def machine() -> Result:
    """The CPU, core count and library versions, for the record."""
    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in _cpuinfo() if line.startswith("flags")), [])
    versions = {}
    for package in ("onnxruntime-gpu", "onnxruntime", "torch", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "isa": sorted(f for f in flags if f.startswith(("avx512_vnni", "avx512_bf16", "avx_vnni", "amx"))),
        "python": platform.python_version(),
        **versions,
    }


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def base_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has: --repeats, --warmup and --json."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write all results as JSON here")
    return parser


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats get 3 significant digits, None prints as a dash."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def report(title: str, table: str, results: Result, json_path: Path | None) -> None:
    """Print the machine line and the table; write `results` (plus the machine) to `json_path` if given."""
    info = machine()
    print(f"## {title}\n")
    print(f"{info['cpu']}, {info['cores']} cores ({', '.join(info['isa']) or 'no VNNI/BF16/AMX'})\n")
    print(table)
    if json_path is not None:
        json_path.write_text(json.dumps({"machine": info, **results}, indent=2) + "\n")


def _child(target: str, kwargs_json: str, out_path: str) -> None:
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    result = function(**json.loads(kwargs_json))
    result.setdefault("peak_rss_mb", peak_rss_mb())  # a function that resets the peak reports its own
    result["torch_loaded"] = "torch" in sys.modules
    Path(out_path).write_text(json.dumps(result))


if __name__ == "__main__":
    _child(*sys.argv[1:])
