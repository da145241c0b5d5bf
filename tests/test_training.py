"""Training system: losses, a few real training steps per adversarial loss, exact resume, DDP, export, eval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers_training import write_sample_photos  # noqa: E402

from training import checkpoint  # noqa: E402
from training.config import resolve  # noqa: E402
from training.losses import ADVERSARIAL_LOSSES, gradient_penalty  # noqa: E402
from training.trainer import NonFiniteLoss, Trainer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    {"generator": {"width": 8, "depth": 2}},
    {"critic": {"width": 8, "layers": 2}},
    {"batch": 2, "crop": 32, "iters": 4, "pretrain_iters": 2, "n_critic": 2, "workers": 0},
    {"save_every": 2, "log_every": 1, "val_every": 4, "val_images": 2, "threads": 1},
]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """Four real photos shipped with scikit-image, as JPEGs (the kind of folder users train on)."""
    return write_sample_photos(tmp_path_factory.mktemp("photos"))


def tiny_config(task: str, photos: Path, out: Path, **extra):
    return resolve(task, overrides=[*TINY, {"data": str(photos), "val": str(photos), "out": str(out)}, extra])


def test_the_runs_yaml_changes_its_degradation_preset_and_a_wrong_option_is_refused(photo_folder, tmp_path):
    recipe = tmp_path / "run.yaml"
    recipe.write_text("degradation: train\ndegradation_params: {clean_p: 1.0, tint: {p: 0.5}}\n")
    override = {"degradation_params": {"tint": {"strength": [0.1, 0.2]}}}
    config = resolve("restore", recipe, [*TINY, {"data": str(photo_folder), "out": str(tmp_path / "run")}, override])
    assert config.degradation_params == {"clean_p": 1.0, "tint": {"p": 0.5, "strength": [0.1, 0.2]}}
    trainer = Trainer(config)
    assert trainer.dataset.degradation.tint.strength == (0.1, 0.2)
    for index in range(4):  # clean_p 1: every training input is its clean target
        degraded, clean = trainer.dataset[index]
        assert torch.equal(degraded, clean)
    with pytest.raises(ValueError, match="tint.opacity"):
        resolve("restore", overrides=[{"degradation_params": {"tint": {"opacity": 1}}}])
    with pytest.raises(ValueError, match="unknown degradation preset 'faded'"):
        resolve("restore", overrides=[{"degradation": "faded"}])
    with pytest.raises(ValueError, match="'degradation_params' takes a mapping"):
        resolve("restore", overrides=[{"degradation_params": None}])


def test_keep_tone_trains_a_restorer_on_targets_with_the_inputs_tone_and_damage_repaired(photo_folder, tmp_path):
    fade_and_noise = {"fade": {"p": 1.0, "black": [0.2, 0.2]}, "stage1": {"noise": {"p": 1.0, "sigma": [20, 20]}}}
    for keep_tone in (False, True):
        extra = {"degradation_params": fade_and_noise, "keep_tone": keep_tone}
        trainer = Trainer(tiny_config("restore", photo_folder, tmp_path / f"run-{keep_tone}", **extra))
        degraded, target = trainer.dataset[0]
        black = float(target.min())  # the faded copy's blacks are lifted to 0.2; the photo's are not
        assert (black > 0.15) if keep_tone else (black < 0.1)
        assert float((degraded - target).abs().mean()) > 0.02  # the noise is still the network's to remove
    with pytest.raises(ValueError, match="keep_tone"):
        resolve("colorize", overrides=[{"keep_tone": True}])


def test_gradient_penalty_matches_hand_computation_on_a_linear_critic():
    torch.manual_seed(0)
    w = torch.randn(1, 3, 4, 4)
    critic = lambda image: (image * w).sum(dim=(1, 2, 3)).view(-1, 1, 1, 1)  # noqa: E731
    real, fake = torch.rand(5, 3, 4, 4), torch.rand(5, 3, 4, 4)
    # the gradient of a linear critic is w everywhere, so the penalty is (||w|| - 1)^2 for every interpolate
    expected = (w.norm() - 1.0) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("loss", ADVERSARIAL_LOSSES)
def test_few_iterations_of_each_loss_train_and_checkpoint(photo_folder, tmp_path, loss):
    config = tiny_config("restore", photo_folder, tmp_path / "run", loss=loss)
    trainer = Trainer(config)
    before = {k: v.clone() for k, v in trainer.critic.state_dict().items()}
    trainer.fit()
    state = checkpoint.load(tmp_path / "run" / "last.pt")
    assert state["step"] == 4
    changed = [k for k, v in trainer.critic.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "the critic never stepped"
    assert any((tmp_path / "run" / "samples").iterdir())
    assert any((tmp_path / "run" / "tb").iterdir())


def write_gray_and_sepia(folder: Path) -> None:
    """A gray print and a sepia-toned print of a colour photo: colour that is a function of lightness."""
    import cv2
    from skimage import data

    lightness = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY)[..., None].astype(np.float32) / 255.0
    for name, tone in (("gray.png", (1.0, 1.0, 1.0)), ("sepia.png", (1.0, 0.85, 0.6))):
        toned = (np.clip(lightness * np.array(tone) * 1.1, 0, 1) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / name), cv2.cvtColor(toned, cv2.COLOR_RGB2BGR))


def test_chroma_level_separates_colour_photos_from_gray_and_toned_prints(photo_folder, tmp_path):
    from restore.color import chroma_level
    from training.data import colour_photos, list_images, read_rgb

    write_gray_and_sepia(tmp_path)
    assert chroma_level(read_rgb(tmp_path / "gray.png")) < 0.1
    assert chroma_level(read_rgb(tmp_path / "sepia.png")) < 1.5
    assert all(chroma_level(read_rgb(photo)) > 5 for photo in list_images(photo_folder))
    kept, toned = colour_photos(list_images(tmp_path), 1.5)
    assert (kept, [p.name for p in toned]) == ([], ["gray.png", "sepia.png"])


def test_colorize_training_skips_gray_and_toned_photos_and_restore_keeps_them(photo_folder, tmp_path):
    import shutil

    mixed = tmp_path / "mixed"
    shutil.copytree(photo_folder, mixed)
    write_gray_and_sepia(mixed)
    colour = sorted(p.name for p in photo_folder.iterdir())
    colorize = Trainer(tiny_config("colorize", mixed, tmp_path / "colorize"))
    assert sorted(p.name for p in colorize.dataset.images) == colour
    restore = Trainer(tiny_config("restore", mixed, tmp_path / "restore"))
    assert len(restore.dataset.images) == len(colour) + 2
    everything = Trainer(tiny_config("colorize", mixed, tmp_path / "all", color={"min_untoned_chroma": 0}))
    assert len(everything.dataset.images) == len(colour) + 2
    only_gray = tmp_path / "gray"
    only_gray.mkdir()
    write_gray_and_sepia(only_gray)
    with pytest.raises(ValueError, match="no colour photos"):
        Trainer(tiny_config("colorize", only_gray, tmp_path / "none"))


def test_prior_command_leaves_out_toned_photos_and_refuses_a_folder_of_them(photo_folder, tmp_path):
    gray = tmp_path / "gray"
    gray.mkdir()
    write_gray_and_sepia(gray)
    prior = [sys.executable, "-m", "training.cli", "prior", "--data", str(gray), "--out", str(tmp_path / "p.npy")]
    result = subprocess.run(prior, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"error: no colour photos in {gray}: every one is gray or toned")
    assert not (tmp_path / "p.npy").exists()
    for photo in photo_folder.iterdir():
        (gray / photo.name).write_bytes(photo.read_bytes())
    result = subprocess.run(prior, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "leaving out 2 of 6 photos that are gray or toned (gray.png, sepia.png)" in result.stdout
    assert np.load(tmp_path / "p.npy").sum() == pytest.approx(1.0)


def test_critic_warmup_trains_the_critic_alone_then_both(photo_folder, tmp_path):
    def run(iters: int, resume: bool) -> Trainer:
        config = tiny_config("colorize", photo_folder, tmp_path / "run", pretrain_iters=0, critic_warmup=2, iters=iters)
        trainer = Trainer(config, resume=resume)
        trainer.fit()
        return trainer

    def changed(a: dict, b: dict) -> bool:
        return any(not torch.equal(v, b[k]) for k, v in a.items())

    fresh = Trainer(tiny_config("colorize", photo_folder, tmp_path / "unused", pretrain_iters=0))
    warmed = run(2, resume=False)
    assert not changed(warmed.generator.state_dict(), fresh.generator.state_dict())
    assert changed(warmed.critic.state_dict(), fresh.critic.state_dict())
    both = run(3, resume=True)
    assert changed(both.generator.state_dict(), fresh.generator.state_dict())


@pytest.mark.parametrize(
    ("task", "loss"), [("colorize", "wgan-gp")] + [("restore", loss) for loss in ADVERSARIAL_LOSSES]
)
def test_resume_continues_exactly(photo_folder, tmp_path, task, loss):
    straight = Trainer(tiny_config(task, photo_folder, tmp_path / "straight", loss=loss))
    straight.fit()

    interrupted = Trainer(tiny_config(task, photo_folder, tmp_path / "resumed", iters=3, loss=loss))
    interrupted.fit()
    resumed = Trainer(tiny_config(task, photo_folder, tmp_path / "resumed", loss=loss), resume=True)
    assert resumed.step == 3
    resumed.fit()

    a = checkpoint.load(tmp_path / "straight" / "last.pt")
    b = checkpoint.load(tmp_path / "resumed" / "last.pt")
    for part in ("generator", "critic", "ema"):
        for key, value in a[part].items():
            assert torch.equal(value, b[part][key]), f"{part}.{key} differs after resume"


def test_non_finite_loss_stops_with_the_step_and_saves_nothing(photo_folder, tmp_path):
    trainer = Trainer(tiny_config("restore", photo_folder, tmp_path / "run", lr_g=float("inf")))
    with pytest.raises(NonFiniteLoss, match="step"):
        trainer.fit()
    assert not (tmp_path / "run" / "last.pt").exists() or checkpoint.load(tmp_path / "run" / "last.pt")["step"] < 4


def test_two_process_gloo_run_keeps_ranks_identical(photo_folder, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
        str(ROOT / "tests" / "ddp_worker.py"),
        str(photo_folder),
        str(out),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(out / "rank0.pt", weights_only=True)
    rank1 = torch.load(out / "rank1.pt", weights_only=True)
    for key, value in rank0.items():
        assert torch.equal(value, rank1[key]), key
    assert checkpoint.load(out / "last.pt")["samples"] > 0


@pytest.mark.parametrize("task", ["restore", "colorize"])
def test_export_matches_pytorch_and_fine_tunes_from_onnx(photo_folder, tmp_path, task):
    from training.export import export

    Trainer(tiny_config(task, photo_folder, tmp_path / "run", iters=2, pretrain_iters=2)).fit()
    entry = export(tmp_path / "run" / "last.pt", tmp_path / "weights")
    assert entry["training"]["parity_max_abs_error"] < 1e-3
    manifest = (tmp_path / "weights" / "manifest.json").read_text()
    assert entry["sha256"] in manifest

    fine_tune = Trainer(
        tiny_config(task, photo_folder, tmp_path / "ft", init_from=str(tmp_path / "weights" / entry["file"]))
    )
    shipped = checkpoint.ema_generator_state(checkpoint.load(tmp_path / "run" / "last.pt"))
    for key, value in fine_tune.generator.state_dict().items():
        assert torch.allclose(value, shipped[key]), key


def test_eval_prints_a_table_for_two_images(photo_folder, tmp_path):
    from training.export import export

    Trainer(tiny_config("restore", photo_folder, tmp_path / "run", iters=2, pretrain_iters=2)).fit()
    export(tmp_path / "run" / "last.pt", tmp_path / "weights")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "training.cli",
            "eval",
            "--task",
            "restore",
            "--weights",
            str(tmp_path / "weights" / "restore.onnx"),
            "--data",
            str(photo_folder),
            "--limit",
            "2",
            "--json",
            str(tmp_path / "eval.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| **mean** |" in result.stdout
    assert "opencv_psnr" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and ".jpg" in line]
    assert len(rows) == 2
    assert np.isfinite(float(rows[0].split("|")[2]))

    weights = str(tmp_path / "weights" / "restore.onnx")
    command = [sys.executable, "-m", "training.cli", "eval", "--task", "restore", "--weights", weights,
               "--data", str(photo_folder), "--limit", "1", "--no-opencv"]  # fmt: skip
    quick = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert quick.returncode == 0, quick.stderr
    assert "model_psnr" in quick.stdout and "opencv" not in quick.stdout


def test_an_undamaged_copy_scores_the_psnr_ceiling_not_infinity():
    from training.metrics import PSNR_CEILING, psnr

    photo = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    assert psnr(photo, photo.copy()) == PSNR_CEILING  # a degradation may leave a photo as it was
    assert 40 < psnr(photo, np.clip(photo.astype(int) + 1, 0, 255).astype(np.uint8)) < PSNR_CEILING


def test_ffdnet_has_kairs_layout_and_keeps_odd_sizes():
    from training.peers import FFDNet

    state = FFDNet().state_dict()  # the official colour model: 12 convolutions of 96 channels
    assert list(state) == [f"model.{2 * i}.{kind}" for i in range(12) for kind in ("weight", "bias")]
    assert state["model.0.weight"].shape == (96, 13, 3, 3) and state["model.22.weight"].shape == (12, 96, 3, 3)
    tiny = FFDNet(3, 8, 3)
    assert tiny(torch.rand(1, 3, 33, 47), torch.tensor([0.1])).shape == (1, 3, 33, 47)


def test_eval_adds_an_ffdnet_row_with_its_noise_level_tuned_on_other_photos(photo_folder, tmp_path):
    import shutil

    from training.export import export
    from training.peers import SIGMAS, FFDNet

    Trainer(tiny_config("restore", photo_folder, tmp_path / "run", iters=2, pretrain_iters=2)).fit()
    export(tmp_path / "run" / "last.pt", tmp_path / "weights")
    torch.manual_seed(0)
    torch.save(FFDNet(3, 8, 3).state_dict(), tmp_path / "ffdnet.pth")
    tune = tmp_path / "tune"
    tune.mkdir()
    shutil.copy(photo_folder / "coffee.jpg", tune)
    command = [sys.executable, "-m", "training.cli", "eval", "--task", "restore", "--limit", "2"]
    command += ["--weights", str(tmp_path / "weights" / "restore.onnx"), "--ffdnet", str(tmp_path / "ffdnet.pth")]

    def run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*command, *extra], cwd=ROOT, capture_output=True, text=True, timeout=300)

    result = run("--data", str(photo_folder), "--ffdnet-tune", str(tune), "--json", str(tmp_path / "eval.json"))
    assert result.returncode == 0, result.stderr
    assert "ffdnet noise level" in result.stderr and f"on 1 photos of {tune}" in result.stderr
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["ffdnet_sigma"] in SIGMAS
    assert all(np.isfinite(row["ffdnet_psnr"]) for row in report["per_image"])
    same = run("--data", str(photo_folder), "--ffdnet-tune", str(photo_folder))
    assert same.returncode == 1 and "must be other photos than --data" in same.stderr
    assert "Traceback" not in same.stderr


def test_sigterm_to_the_whole_process_group_saves_a_checkpoint_with_loader_workers(photo_folder, tmp_path):
    """`timeout` and Ctrl-C signal the loader workers too: the run must still save and exit cleanly."""
    import signal
    import time

    run = tmp_path / "run"
    settings = ["critic.width=8", "critic.layers=2", "workers=2", "save_every=100000", "val_every=100000"]
    command = [
        *(sys.executable, "-m", "training.cli", "fit", "--task", "restore", "--data", str(photo_folder)),
        *("--out", str(run), "--width", "8", "--crop", "32", "--batch", "2", "--iters", "100000"),
        *(f"--set={s}" for s in [*settings, "threads=1"]),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 240
    while not (run / "tb").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(5)  # a few steps, with the workers running
    os.killpg(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    assert b"checkpoint saved" in stdout
    assert checkpoint.load(run / "last.pt")["step"] >= 1


def test_export_temperature_sets_the_inference_default_and_eval_takes_another(photo_folder, tmp_path):
    from training.export import export

    Trainer(tiny_config("colorize", photo_folder, tmp_path / "run", iters=2, pretrain_iters=2)).fit()
    entry = export(tmp_path / "run" / "last.pt", tmp_path / "weights", temperature=0.6)
    assert entry["inputs"]["temperature"]["default"] == 0.6
    assert entry["training"]["config"]["color"]["temperature"] == 0.38  # the training config stays as trained
    rows = {}
    for name, options in {
        "0.1": ["--temperature", "0.1"],
        "1.0": ["--temperature", "1.0"],
        "0.1 at 48 px": ["--temperature", "0.1", "--render-size", "48"],
    }.items():
        out = tmp_path / f"eval{len(rows)}.json"
        result = subprocess.run(
            [sys.executable, "-m", "training.cli", "eval", "--task", "colorize", *options]
            + [
                "--weights",
                str(tmp_path / "weights" / "colorize.onnx"),
                "--data",
                str(photo_folder),
                "--json",
                str(out),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        rows[name] = json.loads(out.read_text())
        assert rows[name]["temperature"] == float(options[1])
    # a higher temperature averages over more bins: less saturated colour
    assert rows["1.0"]["mean"]["model_colorfulness"] < rows["0.1"]["mean"]["model_colorfulness"]
    # the render size is recorded and changes the colour (48 px instead of the manifest's 512)
    assert "render_size" not in rows["0.1"] and rows["0.1 at 48 px"]["render_size"] == 48
    assert rows["0.1 at 48 px"]["mean"]["model_psnr"] != rows["0.1"]["mean"]["model_psnr"]


def test_gpu_pack_splits_under_the_size_limit_and_joins_to_an_exportable_checkpoint(photo_folder, tmp_path):
    from training.export import export

    Trainer(tiny_config("restore", photo_folder, tmp_path / "run", iters=2, pretrain_iters=2)).fit()
    pack = [sys.executable, str(ROOT / "scripts" / "gpu_pack.py")]
    split = subprocess.run(
        [*pack, "split", str(tmp_path / "run" / "last.pt"), str(tmp_path / "out" / "restore"), "--max-mib", "0.01"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert split.returncode == 0, split.stderr
    parts = sorted((tmp_path / "out").glob("restore.part*.pt"))
    assert len(parts) > 2
    joined = tmp_path / "joined.pt"
    subprocess.run([*pack, "join", str(tmp_path / "out" / "restore"), str(joined)], cwd=ROOT, check=True)
    original = checkpoint.load(tmp_path / "run" / "last.pt")
    carried = checkpoint.load(joined)
    original_ema = checkpoint.ema_generator_state(original)
    for key, value in checkpoint.ema_generator_state(carried).items():
        assert torch.equal(value, original_ema[key]), key
    assert carried["critic"].keys() == original["critic"].keys()
    assert all(torch.equal(value, original["critic"][key]) for key, value in carried["critic"].items())
    assert export(joined, tmp_path / "weights")["training"]["iterations"] == 2
    # the next run starts from both networks: the critic is not a fresh one
    resumed = Trainer(tiny_config("restore", photo_folder, tmp_path / "next", init_from=str(joined)))
    for key, value in resumed.critic.state_dict().items():
        assert torch.equal(value, original["critic"][key]), key
    # the float16 file a burst starts from carries the critic too
    half = tmp_path / "init.pt"
    subprocess.run([*pack, "init", str(tmp_path / "run" / "last.pt"), str(half)], cwd=ROOT, check=True)
    started = Trainer(tiny_config("restore", photo_folder, tmp_path / "burst", init_from=str(half)))
    for key, value in started.critic.state_dict().items():
        assert torch.allclose(value, original["critic"][key].float(), rtol=1e-3, atol=1e-4), key


def test_a_regression_head_colorizer_exports_without_a_temperature_input(photo_folder, tmp_path):
    """The L1 baseline of the colour issue: its graph has no temperature, and its manifest entry says so."""
    from restore.manifest import load_manifest
    from restore.pipeline import Restorer
    from training.export import export

    regression = {"color": {"head": "regression"}, "l1_weight": 1.0, "class_weight": 0.0}
    Trainer(tiny_config("colorize", photo_folder, tmp_path / "run", iters=2, pretrain_iters=2, **regression)).fit()
    entry = export(tmp_path / "run" / "last.pt", tmp_path / "weights")
    assert list(entry["inputs"]) == ["L"] and entry["training"]["parity_max_abs_error"] < 1e-3
    assert load_manifest(tmp_path / "weights").model("colorize").temperature is None
    gray = np.repeat(np.linspace(0, 255, 32 * 48, dtype=np.uint8).reshape(32, 48, 1), 3, axis=2)
    assert Restorer(tmp_path / "weights", device="cpu").colorize_image(gray).shape == (32, 48, 3)


def test_a_damage_head_learns_where_the_print_is_damaged_beside_the_restorer(photo_folder, tmp_path):
    from training.data import training_batches
    from training.export import export

    Trainer(tiny_config("restore", photo_folder, tmp_path / "plain", iters=2, pretrain_iters=2)).fit()
    plain = export(tmp_path / "plain" / "last.pt", tmp_path / "weights")
    cracks = {"degradation_params": {"cracks": {"p": 1.0}, "scratches": {"p": 1.0}}, "generator": {"damage_head": True}}
    extra = {**cracks, "crop": 64, "iters": 120, "pretrain_iters": 120, "pretrain_lr": 2e-3, "damage_weight": 1.0}
    config = tiny_config(
        "restore", photo_folder, tmp_path / "run", init_from=str(tmp_path / "weights" / plain["file"]), **extra
    )
    trainer = Trainer(config)
    shipped = checkpoint.ema_generator_state(checkpoint.load(tmp_path / "plain" / "last.pt"))
    from_run = Trainer(
        tiny_config("restore", photo_folder, tmp_path / "run2", init_from=str(tmp_path / "plain" / "last.pt"), **cracks)
    )
    for key, value in trainer.generator.unet.state_dict().items():  # the restorer starts as the plain one
        assert torch.equal(value, shipped[f"unet.{key}"]), key
        assert torch.equal(from_run.generator.unet.state_dict()[key], shipped[f"unet.{key}"]), key
    degraded, target = trainer.dataset[0]
    assert target.shape[0] == 4 and 0.005 < float((target[3] > 0.5).float().mean()) < 0.5  # the damage map
    trainer.batches = training_batches(trainer.dataset, config.batch, 0, 0, 1, 0, config.seed)
    losses = [trainer.train_step()["generator/damage"] for _ in range(config.iters)]
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:5])
    x, y = (torch.stack(t) for t in zip(*(trainer.dataset[i] for i in range(100, 104)), strict=True))
    with torch.no_grad():
        found = torch.sigmoid(trainer.generator.restore(x)[1])[:, 0]
    damaged = y[:, 3] > 0.5
    assert float(found[damaged].mean()) > 2 * float(found[~damaged].mean())  # found where the damage is
    with pytest.raises(ValueError, match="damage_head"):
        resolve("colorize", overrides=[{"generator": {"damage_head": True}}])
