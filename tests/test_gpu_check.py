"""`python -m benchmarks.gpu_check`: exit status 2 and what it would measure without a GPU, every step on the CPU with
--allow-cpu (tiny sizes), and the fp16 verdict and registration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import gpu_check
from restore.engine import OnnxModel
from restore.manifest import load_manifest
from training.fp16 import convert

ROOT = Path(__file__).resolve().parents[1]

TINY = ["--sizes", "64x48", "--video-size", "64x48", "--video-frames", "3", "--batch", "2", "--photos", "1"]


def run_check(*args: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "benchmarks.gpu_check", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_without_a_gpu_it_exits_2_and_says_what_it_would_measure(weights_dir: Path):
    if OnnxModel(load_manifest(weights_dir).model("restore"), "auto").device == "cuda":
        pytest.skip("CUDA works here: the check would measure for minutes")
    result = run_check("--weights", weights_dir)
    assert result.returncode == 2, result.stderr
    assert "gpu_check: no GPU to measure: CUDA could not start (" in result.stderr
    assert "it would measure" in result.stderr and "1920x1080" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_allow_cpu_runs_every_step_and_changes_nothing(weights_dir: Path, tmp_path: Path):
    weights = shutil.copytree(weights_dir, tmp_path / "weights")
    manifest = (weights / "manifest.json").read_text()
    out = tmp_path / "gpu.json"
    result = run_check("--weights", weights, "--allow-cpu", *TINY, "--repeats", 1, "--warmup", 0, "--json", out)
    assert result.returncode == 0, result.stderr
    results = json.loads(out.read_text())
    device = results["device"]
    assert result.stdout.startswith("## GPU check: ")
    for title in ("model vs cpu fp32", "PSNR dB vs ground truth", "photo latency", "IO binding", "video 64x48"):
        assert title in result.stdout
    made = {"from": "made now by training.fp16"}
    assert results["fp16_models"] == {task: {"file": f"{task}.fp16.onnx", **made} for task in ("restore", "colorize")}
    models = results["accuracy"]["models"]
    assert models["restore"]["fp16"]["max_abs_diff"] < 2e-3 and models["colorize"]["fp16"]["max_abs_diff"] < 0.1
    if device == "cpu":
        assert models["restore"]["fp32"] == {"file": "restore.onnx", "device": "cpu", "max_abs_diff": 0.0,
                                             "min_psnr_db": None}  # fmt: skip
    assert set(results["accuracy"]["quality"]["colorize"]) == {"cpu fp32", f"{device} fp32", f"{device} fp16"}
    latency = results["latency"]
    assert [(row["size"], row["mode"]) for row in latency["fp16"]["rows"]] == [
        ("64x48", "restore"), ("64x48", "colorize"), ("64x48", "restore+colorize")
    ]  # fmt: skip
    assert latency["fp16"]["files"] == {"restore": "restore.fp16.onnx", "colorize": "colorize.fp16.onnx"}
    assert set(latency["fp32"]["binding"]) == {"shape", "session_run", "io_binding"}
    assert [(row["precision"], row["batch"], row["frames"]) for row in results["video"]] == [
        ("fp32", 2, 3), ("fp16", 2, 3)
    ]  # fmt: skip
    assert set(results["verdict"]) == {"restore", "colorize"}
    if device == "cpu":
        assert not any(verdict["ships"] for verdict in results["verdict"].values()) and results["ship_commands"] == []
        assert "to ship" not in result.stderr
    assert (weights / "manifest.json").read_text() == manifest  # a benchmark only measures
    assert not (weights / "restore.fp16.onnx").exists()


def test_fp16_ships_only_faster_and_within_the_psnr_loss():
    def latency(restore: float, colorize: float) -> dict:
        rows = [{"size": size, "mode": mode, "median_s": 9.0} for size in ("512x512",) for mode in ("restore",)]
        rows += [
            {"size": "1920x1080", "mode": "restore", "median_s": restore},
            {"size": "1920x1080", "mode": "colorize", "median_s": colorize},
        ]
        return {"rows": rows}

    def quality(device: str) -> dict:
        return {
            "restore": {"cpu fp32": 30.0, f"{device} fp32": 30.0, f"{device} fp16": 29.95},
            "colorize": {"cpu fp32": 25.0, f"{device} fp32": 25.0, f"{device} fp16": 24.8},
        }

    latencies = {"fp32": latency(1.0, 0.1), "fp16": latency(0.5, 0.05)}
    verdict = gpu_check.verdicts({"restore": None, "colorize": None}, {"quality": quality("cuda")}, latencies, "cuda")
    assert verdict["restore"]["size"] == "1920x1080" and verdict["restore"]["speedup"] == pytest.approx(2.0)
    assert verdict["restore"]["ships"] and not verdict["colorize"]["ships"]  # 0.2 dB lost
    slow = {"fp32": latency(1.0, 0.1), "fp16": latency(0.95, 0.05)}
    assert not gpu_check.verdicts({"restore": None}, {"quality": quality("cuda")}, slow, "cuda")["restore"]["ships"]
    on_cpu = gpu_check.verdicts({"restore": None}, {"quality": quality("cpu")}, latencies, "cpu")
    assert on_cpu["restore"]["speedup"] == pytest.approx(2.0) and not on_cpu["restore"]["ships"]


def test_revive_train_register_copies_a_variant_in_and_lists_it(weights_dir: Path, tmp_path: Path):
    from training.cli import main as revive_train

    weights = shutil.copytree(weights_dir, tmp_path / "weights")
    made = tmp_path / "restore.fp16.onnx"
    convert(weights / "restore.onnx", made)
    assert revive_train(["register", str(made), "--weights", str(weights), "--task", "restore",
                         "--variant", "cuda-fp16"]) == 0  # fmt: skip
    manifest = load_manifest(weights)
    assert manifest.model("restore").for_device("cuda").path == weights / "restore.fp16.onnx"
    assert manifest.model("colorize").for_device("cuda") is manifest.model("colorize")
    manifest.model("restore").for_device("cuda").verify()  # the copy's sha256 is the one listed
    assert gpu_check.ship_commands(weights, {"restore": {"ships": True}, "colorize": {"ships": False}}) == [
        f"revive-train fp16 --weights {weights} --tasks restore --register"
    ]
