"""Robustness (issue "bad input, load and crashes lose nothing"): a table of bad and odd inputs through the
command line and the web API, outputs that cannot be written (as root too), SIGKILL at random points, and the
security checks. Every input is generated in code (tests/helpers_corpus.py, which also says how each failure
that chmod cannot cause for root is made real).

Covered elsewhere, not repeated here:
- decoding each odd format in-process, pixel for pixel: test_restore_io.py;
- `revive video` on a truncated MP4, on a file with only sound, and with an output under a regular file:
  test_video.py::test_errors_are_one_line_and_leave_nothing;
- frame folders and videos killed at a random point resume to byte-identical files:
  test_frames.py::test_a_killed_job_resumes_to_identical_files,
  test_video.py::test_a_killed_job_resumes_to_the_same_file;
- upload size and pixel limits, and server files named in an API call instead of an upload: test_web_api.py;
- model files checked against the manifest's sha256 before loading: test_restore_engine.py.
"""

from __future__ import annotations

import ast
import http.client
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import gradio as gr
import helpers_corpus as corpus
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers_corpus import PHOTO, SmallDisk, read_only_folder
from PIL import Image
from skimage import data

from benchmarks.clips import kill_midway, pan_frames, read_clip, revive, sigkill_when, write_clip
from benchmarks.web_server import concurrent_requests, make_photo, running_server
from restore.cli import main
from restore.pipeline import Restorer

ROOT = Path(__file__).resolve().parents[1]
NO_NETWORK = Path(__file__).resolve().parent / "no_network"  # its sitecustomize.py trips on network access
SEED = 1926  # the kill points are random, and the same on every run


@dataclass(frozen=True)
class Case:
    """One input of the corpus: its file name, how it is made, and what Revive must do with it. `refused`: the
    reason in its one-line error (`revive: error: PATH: REASON` on the command line, `NAME: REASON` in the web
    UI). Otherwise it is written: `size` (width, height), with an alpha channel if `alpha`, and `note`, if any, is
    told in one line (`revive: PATH: NOTE`; in the web UI's summary)."""

    name: str
    make: Callable[[Path], Path]
    refused: str | None = None
    size: tuple[int, int] | None = None
    alpha: bool = False
    note: str | None = None


PHOTOS = {
    "zero-byte": Case("empty.jpg", corpus.empty, refused="empty file (0 bytes)"),
    "truncated-jpeg": Case("cut-jpeg.jpg", corpus.truncated_jpeg, refused="the file may be truncated or corrupt"),
    "truncated-png": Case("cut-png.png", corpus.truncated_png, refused="the file may be truncated or corrupt"),
    "text-named-jpg": Case("letter.jpg", corpus.text_file, refused="not an image, or a format that cannot be read"),
    "decompression-bomb": Case("bomb.png", corpus.bomb, refused="30000x30000 = 900 MP, over the "),
    "static-gif": Case("still.gif", corpus.static_gif, size=(64, 64)),
    "animated-gif": Case(
        "animated.gif",
        corpus.animated_gif,
        size=(64, 64),
        note="an animated GIF: its first frame is restored; `revive video` takes it as a film",
    ),
    "1x1": Case("dot.png", corpus.one_by_one, size=(1, 1)),
    "1xN": Case("sliver.png", corpus.one_by_n, size=(1, 37)),
    "16-bit-tiff": Case("gray16.tif", corpus.tiff16, size=(64, 48)),
    "float-tiff": Case("float.tif", corpus.tiff_float, size=(40, 64)),
    "cmyk-jpeg": Case("cmyk.jpg", corpus.cmyk_jpeg, size=(64, 64)),
    "palette-transparency": Case("palette.png", corpus.palette_alpha, size=(40, 30), alpha=True),
    "animated-png": Case("apng.png", corpus.animated_png, size=(64, 64)),  # its first frame
    "exif-rotated": Case("turned.jpg", corpus.exif_rotated, size=(24, 48)),
    "gray-alpha": Case("gray-alpha.png", corpus.gray_alpha, size=(64, 64), alpha=True),
}
VIDEOS = {
    "video-without-frames": Case("empty-track.mkv", corpus.no_frames_video, refused="its video stream has no frames"),
    "truncated-mp4": Case("cut.mp4", corpus.truncated_video, refused="it may be truncated or not a video"),
    "audio-only": Case("sound.mp4", corpus.audio_only, refused="no video stream (it has audio)"),
}
# Entries of corpus.unreadable_folder that no user, root included, can read; next to them good.png is fine.
UNREADABLE = {
    "broken-symlink": ("dangling.jpg", "No such file or directory"),
    "symlink-loop": ("loop.jpg", "Too many levels of symbolic links"),
    "fifo": ("pipe.png", "not a regular file (a FIFO, device, socket or folder)"),
}


def guarded(log: Path) -> dict[str, str]:
    """Environment for a child process that records (in `log`) and refuses any non-loopback network access."""
    return {"PYTHONPATH": os.pathsep.join([str(NO_NETWORK), str(ROOT)]), "REVIVE_NETWORK_LOG": str(log)}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("revive: error: ")]


def check_png(path: Path, size: tuple[int, int] | None, alpha: bool = False) -> np.ndarray:
    """The PNG at `path`, fully decoded, after checking its size (width, height) and its alpha channel."""
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size
        assert image.mode == ("RGBA" if alpha else "RGB")
        return np.asarray(image)


# ----------------------------------------------------------------------------------------- the corpus


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """The corpus, and the sha256 of each of its files as made."""
    folder = tmp_path_factory.mktemp("corpus")
    for case in [*PHOTOS.values(), *VIDEOS.values()]:
        case.make(folder / case.name)
    corpus.unreadable_folder(folder / "unreadable")
    return folder, corpus.digests(folder)


@pytest.fixture(scope="module")
def network_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("network") / "attempts.log"


@pytest.fixture(scope="module")
def cli_batch(corpus_dir, weights_dir, network_log, tmp_path_factory):
    """One `revive photo` over every photo of the corpus and the unreadable folder, with the network tripwire."""
    folder, _ = corpus_dir
    out = tmp_path_factory.mktemp("cli") / "out"
    inputs = [folder / case.name for case in PHOTOS.values()] + [folder / "unreadable"]
    result = revive("photo", *inputs, "-o", out, "--weights", weights_dir, "--device", "cpu", env=guarded(network_log))
    assert "Traceback" not in result.stderr
    return result, out


@pytest.mark.parametrize("case", PHOTOS.values(), ids=PHOTOS.keys())
def test_photo_cli(cli_batch, corpus_dir, case):
    result, out = cli_batch
    source = corpus_dir[0] / case.name
    assert result.returncode == 1  # some inputs failed; the others are written
    lines = [line for line in error_lines(result.stderr) if line.startswith(f"revive: error: {source}: ")]
    output = out / f"{Path(case.name).stem}.png"
    if case.refused:
        assert len(lines) == 1 and case.refused in lines[0], result.stderr
        assert not output.exists()
        return
    assert lines == []
    notes = [line for line in result.stderr.splitlines() if line.startswith(f"revive: {source}: ")]
    assert notes == ([f"revive: {source}: {case.note}"] if case.note else [])
    pixels = check_png(output, case.size, case.alpha)
    if case.name == "turned.jpg":  # upright: the stored left half (light) is on top
        assert pixels[:20].mean() > pixels[28:].mean() + 50
    if case.name == "apng.png":  # the first frame, not a later one (each is shifted by 8 px)
        lightness = [frame.astype(float).mean(axis=2).ravel() for frame in (pixels, PHOTO, np.roll(PHOTO, 8, 1))]
        assert np.corrcoef(lightness)[0, 1] > 0.8 > 0.4 > np.corrcoef(lightness)[0, 2]
    if case.name == "palette.png":
        assert (pixels[:, :20, 3] == 0).all() and (pixels[:, 20:, 3] == 255).all()


@pytest.mark.parametrize(("entry", "reason"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_folder_entries_cli(cli_batch, corpus_dir, entry, reason):
    result, out = cli_batch
    source = corpus_dir[0] / "unreadable" / entry
    assert f"revive: error: {source}: {reason}" in error_lines(result.stderr)
    check_png(out / "good.png", (64, 64))  # its good neighbour is done


def test_unreadable_frame_stops_revive_frames_with_one_line(corpus_dir, weights_dir, tmp_path, capsys):
    source = corpus_dir[0] / "unreadable"
    status = main(
        ["frames", str(source), "-o", str(tmp_path / "out"), "--weights", str(weights_dir), "--device", "cpu"]
    )
    assert status == 1
    assert capsys.readouterr().err.splitlines() == [
        f"revive: error: {source / 'dangling.jpg'}: No such file or directory"
    ]


def test_video_without_frames_cli(corpus_dir, weights_dir, tmp_path):
    source = corpus_dir[0] / VIDEOS["video-without-frames"].name
    result = revive("video", source, "-o", tmp_path / "out.mp4", "--weights", weights_dir, "--device", "cpu")
    assert result.returncode == 1
    assert result.stderr.strip() == f"revive: error: {source}: its video stream has no frames"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def server(weights_dir, tmp_path_factory, network_log):
    """One web server for the module, with the network tripwire."""
    with running_server(weights_dir, tmp_path_factory.mktemp("web"), env=guarded(network_log)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False, download_files=str(server.tmpdir / "downloads"))


@pytest.mark.parametrize("case", PHOTOS.values(), ids=PHOTOS.keys())
def test_photo_web(client, corpus_dir, case):
    upload = handle_file(str(corpus_dir[0] / case.name))
    if case.refused:
        with pytest.raises(AppError) as caught:
            client.predict(upload, api_name="/restore_photo")
        assert str(caught.value).startswith(f"{case.name}: ") and case.refused in str(caught.value)
        return
    _, png, summary = client.predict(upload, api_name="/restore_photo")
    check_png(Path(png), case.size, case.alpha)
    assert summary.startswith("**Done in")
    assert (f"Note: {case.note}." in summary) if case.note else ("Note" not in summary)


@pytest.mark.parametrize("case", VIDEOS.values(), ids=VIDEOS.keys())
def test_video_web(client, corpus_dir, case):
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(corpus_dir[0] / case.name)), api_name="/restore_video")
    assert str(caught.value).startswith(f"{case.name}: ") and case.refused in str(caught.value)


def test_web_batch_goes_past_every_bad_photo(client, corpus_dir):
    files = [handle_file(str(corpus_dir[0] / case.name)) for case in PHOTOS.values()]
    gallery, archive, summary = client.predict(files, api_name="/restore_batch")
    good = [case.name for case in PHOTOS.values() if not case.refused]
    assert [item["caption"] for item in gallery] == good
    assert f"**{len(good)} of {len(PHOTOS)} photos done" in summary
    for case in PHOTOS.values():
        assert (f"`{case.name}: " in summary) == bool(case.refused)


def test_many_clients_at_once_with_the_same_photo_all_get_it(server, tmp_path):
    """Identical requests give identical results, which gradio caches under one name made from their content:
    they must not overwrite each other while being downloaded. (benchmarks/load.py does this at scale.)"""
    photo = make_photo(tmp_path / "same.png", 96, 64)
    load = concurrent_requests(server.url, photo, (96, 64), clients=8, requests=3, deadline=time.monotonic() + 240)
    assert [outcome for outcome, _ in load["outcomes"]] == ["ok"] * 24  # the queue (20) takes them all


# ----------------------------------------------------------------------------------------- output side


def _album(folder: Path, count: int) -> Path:
    """`count` small photos (96x64 crops of scikit-image samples) as p01.png, p02.png ..."""
    folder.mkdir(parents=True)
    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    for i in range(count):
        crop = photos[i % 3][8 * i : 8 * i + 64, 10 * i : 10 * i + 96]
        Image.fromarray(np.ascontiguousarray(crop)).save(folder / f"p{i + 1:02d}.png")
    return folder


def _revive_main(*args: object) -> int:
    return main([*map(str, args), "--device", "cpu"])


def _web_jobs(work_dir: Path, weights_dir: Path):
    from restore.web import Jobs, WebSettings

    settings = WebSettings(work_dir, "127.0.0.1", 7860, False, 1.0, 1_000_000, 1, 1)
    return Jobs(Restorer(weights_dir, device="cpu"), settings)


@pytest.fixture
def upload_dir(tmp_path, monkeypatch) -> Path:
    """gradio's upload folder, for Jobs called in-process (it restores only files from there)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_a_read_only_output_folder_is_one_line(weights_dir, tmp_path, upload_dir, capsys):
    album = _album(tmp_path / "album", 2)
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(4), audio=False)
    photo = make_photo(upload_dir / "old.png")
    folder, model = tmp_path / "ro", ["--weights", weights_dir]
    with read_only_folder(folder, lambda f: (f / "results").mkdir()) as how:
        jobs = _web_jobs(folder, weights_dir)
        reason = "Read-only file system" if how == "read-only tmpfs" else "Permission denied"
        assert _revive_main("photo", album, "-o", folder, *model) == 1
        assert capsys.readouterr().err.splitlines() == [f"revive: error: {folder}: cannot write here ({reason})"]
        assert _revive_main("frames", album, "-o", folder / "frames", *model) == 1
        assert capsys.readouterr().err.splitlines() == [f"revive: error: {folder / 'frames'}: {reason}"]
        assert _revive_main("video", clip, "-o", folder / "clip.mp4", *model) == 1
        assert capsys.readouterr().err.splitlines() == [f"revive: error: {folder / 'clip.mp4.work'}: {reason}"]
        for job in (lambda: jobs.photo(str(photo)), lambda: jobs.batch([str(photo)])):
            with pytest.raises(gr.Error) as caught:
                job()
            assert caught.value.message == f"The server could not read or write a file: {reason}."
        assert sorted(p.name for p in folder.iterdir()) == ["results"]


def test_an_output_folder_under_a_file_is_one_line(weights_dir, tmp_path, capsys):
    album = _album(tmp_path / "album", 2)
    (tmp_path / "a-file").write_text("a file where a folder should be")
    out = tmp_path / "a-file" / "out"
    for command in ("photo", "frames"):  # `revive video`: test_video.py
        assert _revive_main(command, album, "-o", out, "--weights", weights_dir) == 1
        assert capsys.readouterr().err.splitlines() == [f"revive: error: {out}: Not a directory"]


def test_a_full_disk_fails_only_what_does_not_fit_and_a_rerun_resumes(weights_dir, tmp_path, upload_dir):
    """1 MiB of disk: a photo whose PNG is bigger fails alone, no partial file is left, and a video resumes
    from its finished chunks once there is room."""
    rng = np.random.default_rng(SEED)
    album = _album(tmp_path / "album", 2)
    Image.fromarray(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(album / "big-noise.png")  # 1.4 MB
    noise = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(40)]
    clip = write_clip(tmp_path / "noise.mp4", noise, audio=False)
    for name in ("p01.png", "big-noise.png"):
        (upload_dir / name).write_bytes((album / name).read_bytes())
    disk = SmallDisk(tmp_path / "disk")
    try:
        full = ("No space left on device", "File too large")  # tmpfs; RLIMIT_FSIZE where mounting is not allowed
        out = disk.folder / "photos"
        options = ["--weights", weights_dir, "--device", "cpu", "--colorize", "never"]
        result = revive("photo", album, "-o", out, *options, preexec_fn=disk.preexec)
        assert result.returncode == 1
        [line] = error_lines(result.stderr)
        assert line.startswith(f"revive: error: {album / 'big-noise.png'}: ") and line.endswith(full)
        assert sorted(p.name for p in out.iterdir()) == ["p01.png", "p02.png"]  # no partial PNG, no temporary
        for name in ("p01.png", "p02.png"):
            check_png(out / name, (96, 64))

        jobs = _web_jobs(disk.folder / "web", weights_dir)
        with disk.limits(), pytest.raises(gr.Error) as caught:
            jobs.photo(str(upload_dir / "big-noise.png"), colorize="never")
        assert caught.value.message in [f"The server could not read or write a file: {reason}." for reason in full]
        with disk.limits():
            done, _, summary = jobs.batch([str(upload_dir / "big-noise.png"), str(upload_dir / "p01.png")])
        assert [caption for _, caption in done] == ["p01.png"] and "Skipped: `The server could not" in summary

        video = disk.folder / "noise.mp4"
        args = ["video", clip, "-o", video, *options, "--chunk", 8]
        result = revive(*args, preexec_fn=disk.preexec)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()  # names the output, or the chunk that did not fit
        assert line.startswith(f"revive: error: {disk.folder}/") and line.endswith(full)
        assert not video.exists() and not list(disk.folder.glob("*.tmp"))
        disk.make_room()
        assert revive(*args).returncode == 0
        assert len(read_clip(video)[0]) == 40 and not video.with_name("noise.mp4.work").exists()
    finally:
        disk.close()


# ----------------------------------------------------------------------------------------- SIGKILL


def test_a_killed_photo_batch_leaves_only_whole_pngs_and_a_rerun_completes(weights_dir, tmp_path):
    rng = random.Random(SEED)
    album, out = _album(tmp_path / "album", 12), tmp_path / "out"
    written = rng.randint(1, 9)  # PNGs done when the kill comes, then a random moment into the next one
    args = ["photo", album, "-o", out, "--weights", weights_dir, "--device", "cpu"]
    kill_midway(args, lambda: len(list(out.glob("*.png"))) if out.is_dir() else 0, written, after=rng.uniform(0, 0.06))
    pngs = sorted(out.glob("*.png"))
    assert written <= len(pngs) < 12
    for png in pngs:
        check_png(png, (96, 64))
    others = [p.name for p in out.iterdir() if p.suffix != ".png"]
    assert len(others) <= 1 and all(name.startswith(".p") and name.endswith(".tmp") for name in others)  # in flight
    assert revive(*args).returncode == 0
    for png in (out / f"p{i:02d}.png" for i in range(1, 13)):
        check_png(png, (96, 64))


def test_a_killed_training_run_resumes_from_its_last_checkpoint(tmp_path):
    pytest.importorskip("torch")
    from training import checkpoint

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(getattr(data, name)()).convert("RGB").save(photos / f"{name}.jpg")
    run = tmp_path / "run"
    tiny = ["--width", 8, "--crop", 32, "--batch", 2, "--iters", 20, "--pretrain-iters", 2]
    settings = ["critic.width=8", "critic.layers=2", "n_critic=2", "workers=0", "save_every=2", "val_every=1000"]
    fit = [sys.executable, "-m", "training.cli", "fit", "--out", run]
    new = ["--task", "restore", "--data", photos, "--val", photos, *tiny, *(f"--set={s}" for s in settings)]
    sigkill_when([*fit, *new, "--set=threads=1"], (run / "last.pt").exists, after=random.Random(SEED).uniform(0, 0.8))
    assert 2 <= checkpoint.load(run / "last.pt")["step"] < 20  # whole: written atomically, read safely
    result = subprocess.run(list(map(str, [*fit, "--resume"])), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert checkpoint.load(run / "last.pt")["step"] == 20


# ----------------------------------------------------------------------------------------- security


def test_the_server_listens_on_loopback_only(server):
    port = urlsplit(server.url).port
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex; nothing on 0.0.0.0 or ::


def test_only_the_apps_own_results_are_served(server, weights_dir, tmp_path):
    """The server hands out what it made; `file=` URLs for anything else, `..` tricks included, are refused."""
    results = Client(server.url, verbose=False, download_files=False)
    _, png, _ = results.predict(handle_file(str(make_photo(tmp_path / "mine.png"))), api_name="/restore_photo")
    served = urlsplit(png["url"]).path
    host = urlsplit(server.url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)

    def status(path: str) -> int:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status

    assert status(served) == 200
    cache_file = served.split("file=", 1)[1]
    secrets = [
        "/etc/passwd",
        "/proc/self/environ",
        str(server.tmpdir / "server.log"),
        str(weights_dir / "manifest.json"),
    ]
    tricks = [
        *secrets,
        "../../../../../../etc/passwd",
        "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "app.py",
        str(ROOT / "app.py"),
        f"{cache_file}/../../../../server.log",
        f"{Path(cache_file).parent}/..%2F..%2F..%2Fserver.log",
    ]
    for trick in tricks:
        for route in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            assert status(route + trick) in (400, 403, 404), route + trick


def test_torch_checkpoints_are_loaded_without_running_pickled_code(tmp_path):
    """Every torch.load in the repository passes weights_only=True, and a checkpoint carrying code is refused."""
    for path in [
        *ROOT.glob("*.py"),
        *(p for d in ("restore", "training", "benchmarks", "tests") for p in (ROOT / d).rglob("*.py")),
    ]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("torch.load", "pickle.load", "pickle.loads"):
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                assert keywords.get("weights_only") == "True", f"{path}:{node.lineno}: {ast.unparse(node)}"
    torch = pytest.importorskip("torch")
    from training import checkpoint

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"step": 1, "payload": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="Weights only load failed"):
        checkpoint.load(tmp_path / "evil.pt")
    assert not marker.exists()


def test_nothing_reaches_the_network(cli_batch, client, network_log, tmp_path):
    """The CLI run and the web server (with every request of this module) ran under the tripwire: nothing."""
    client.predict(handle_file(str(make_photo(tmp_path / "one-more.png"))), api_name="/restore_photo")
    assert not network_log.exists(), network_log.read_text()
    # The tripwire itself works: an attempt is refused and recorded.
    probe = tmp_path / "probe.log"
    code = "import urllib.request\ntry: urllib.request.urlopen('http://example.com', timeout=5)\nexcept OSError: pass"
    env = {**os.environ, **guarded(probe)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert "getaddrinfo 'example.com'" in probe.read_text()


def test_no_input_was_modified(corpus_dir, cli_batch):
    """Last: every run of this module read the corpus; not one byte of it changed."""
    folder, before = corpus_dir
    assert corpus.digests(folder) == before
