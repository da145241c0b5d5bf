"""`revive batch` on a real local Ray cluster (2 CPUs, started here): photos, a frame folder and a film give what
`revive photo`, `revive frames` and `revive video` give; a SIGKILLed worker or driver loses nothing."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import ray
from PIL import Image
from skimage import data

from benchmarks.clips import ROOT, pan_frames, read_clip, sigkill_when, to_gray, truncated_clip, write_clip
from restore.cli import main
from restore.cluster.film import FilmJob, decode_range, scan_film
from restore.cluster.pieces import WARMUP, Piece, plan_pieces
from restore.cluster.worker import Worker
from restore.color import rgb_to_lab
from restore.sequence import SequenceOptions
from restore.video_io import Encoding, probe, read_frames

STARTING = (b"ray::Worker.__init__", b"ray::Worker.ready")  # process titles of a worker not yet at work
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat")


@pytest.fixture
def cluster() -> str:
    """A local Ray cluster of 2 CPUs for one test (a test that fails mid-job cannot leave workers holding the next
    test's CPUs); `revive batch` in this process uses it. Its address. "local": always a new cluster (without an
    address ray.init joins the latest one it finds recorded under /tmp/ray, which may be a test's that is going)."""
    ray.init(address="local", num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def batch(*args: object) -> int:
    return main(["batch", *map(str, args)])


def digests(folder: Path) -> dict[str, str]:
    """Every visible file under `folder` (relative path -> sha256); hidden files (records, temporaries) aside."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*.tmp"))


def make_album(folder: Path, count: int, size: int) -> Path:
    """`count` photos of `size` px: colour ones, gray ones, in a folder and a sub-folder."""
    for index in range(count):
        name = PHOTOS[index % len(PHOTOS)]
        image = cv2.resize(getattr(data, name)(), (size, size), interpolation=cv2.INTER_AREA)
        sub = folder / ("1950s" if index % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(sub / f"{name}{index}.{'png' if index % 3 else 'jpg'}")
    return folder


def kill_a_busy_worker(finished: Callable[[], int], timeout: float = 120) -> int:
    """Once `finished()` > 0, SIGKILL a process of this test's Ray cluster that runs a task of a `revive batch`
    worker (not one still loading its models); returns `finished()` at the kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [pid for pid in _worker_tasks() if _descends_from_us(pid)] if finished() else []
        if busy:
            os.kill(busy[0], signal.SIGKILL)
            return finished()
        time.sleep(0.01)
    raise AssertionError("no worker was busy after the first output")


def _worker_tasks() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
            if title.startswith(b"ray::Worker.") and not title.startswith(STARTING):
                yield int(entry.name)
        except OSError:
            continue


def _descends_from_us(pid: int) -> bool:
    try:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # it ended meanwhile
        pass
    return False


def test_photos_match_revive_photo_and_a_rerun_skips_them(cluster, weights_dir, tmp_path, capsys):
    album = make_album(tmp_path / "album", 6, 96)
    gray = data.camera()[::8, ::8]
    Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 180)])).save(album / "scan.png")
    (album / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    options = ["--weights", weights_dir, "--tile", "64", "--device", "cpu"]
    assert main(["photo", str(album), "-o", str(tmp_path / "single"), *map(str, options)]) == 1
    single_errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("revive: error:")]

    out = tmp_path / "out"
    assert batch(album, "-o", out, *options) == 1
    stderr = capsys.readouterr().err.splitlines()
    assert [line for line in stderr if line.startswith("revive: error:")] == single_errors
    assert len(single_errors) == 1 and "broken.jpg" in single_errors[0]
    summary = r"revive: 7 photos written; 1 failed; [\d.]+ photos/s in [\d.]+ s on [12] workers? \(cpu on .+\)"
    assert re.fullmatch(summary, stderr[-1]), stderr[-1]
    assert digests(out) == digests(tmp_path / "single") and len(digests(out)) == 7  # byte for byte
    assert temporaries(tmp_path) == []

    times = {path: path.stat().st_mtime_ns for path in out.rglob("*.png")}
    assert batch(album, "-o", out, *options) == 1  # the broken file again, and only it
    assert capsys.readouterr().err.splitlines()[-1].startswith("revive: 0 photos written; 1 failed; 7 done before")
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*.png")} == times

    assert batch(album, "-o", out, *options, "--colorize", "never") == 1  # other settings: all again
    summary = capsys.readouterr().err.splitlines()[-1]
    assert summary.startswith("revive: 7 photos written; 1 failed; ") and "done before" not in summary
    assert all(path.stat().st_mtime_ns > times[path] for path in times)


def test_a_worker_killed_mid_job_is_restarted_and_nothing_is_lost(cluster, weights_dir, tmp_path, capsys):
    album = make_album(tmp_path / "album", 12, 384)
    options = ["--weights", weights_dir, "--tile", "64", "--colorize", "never", "--device", "cpu"]
    assert main(["photo", str(album), "-o", str(tmp_path / "single"), *map(str, options)]) == 0
    out = tmp_path / "out"
    status: list[int] = []
    job = threading.Thread(target=lambda: status.append(batch(album, "-o", out, *options)), daemon=True)
    job.start()
    written_at_kill = kill_a_busy_worker(lambda: len(list(out.rglob("*.png"))))
    job.join(timeout=180)
    assert not job.is_alive(), "the job did not end within 180 s of the kill"
    assert written_at_kill < 12, "the job ended before the kill"
    assert status == [0]
    summary = capsys.readouterr().err.splitlines()[-1]
    assert summary.startswith("revive: 12 photos written; ") and summary.endswith("; 1 worker restart"), summary
    assert digests(out) == digests(tmp_path / "single")  # none lost, none extra, none corrupt
    assert temporaries(tmp_path) == []


def test_a_killed_driver_resumes_on_rerun(cluster, weights_dir, tmp_path, capsys):
    album = make_album(tmp_path / "album", 12, 384)
    options = ["--weights", weights_dir, "--tile", "64", "--colorize", "never", "--device", "cpu"]
    assert main(["photo", str(album), "-o", str(tmp_path / "single"), *map(str, options)]) == 0
    out = tmp_path / "out"
    command = [sys.executable, "-m", "restore.cli", "batch", album, "-o", out, "--ray", cluster, *options]
    sigkill_when(command, lambda: len(list(out.rglob("*.png"))) >= 2, timeout=120)
    written = len(list(out.rglob("*.png")))
    assert 2 <= written < 12
    time.sleep(1)  # Ray ends the dead driver's workers
    assert batch(album, "-o", out, *options) == 0
    done_before = int(capsys.readouterr().err.splitlines()[-1].split("; ")[1].split()[0])
    assert written <= done_before < 12
    assert digests(out) == digests(tmp_path / "single")
    assert temporaries(tmp_path) == []


class CrashingWorker(Worker):
    """A worker whose process dies by SIGKILL whenever it gets a photo named crash*: a file that kills it."""

    def photo(self, job, options, max_pixels):
        if job.source.name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().photo(job, options, max_pixels)


def test_a_file_that_kills_its_worker_every_time_fails_alone(cluster, weights_dir, tmp_path, capsys, monkeypatch):
    album = make_album(tmp_path / "album", 6, 64)
    crash = album / "crash.png"
    Image.fromarray(data.camera()[::8, ::8]).save(crash)
    monkeypatch.setattr("restore.cluster.pool.Worker", CrashingWorker)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this module
    try:
        assert batch(album, "-o", tmp_path / "out", "--weights", weights_dir, "--colorize", "never") == 1
    finally:
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    stderr = capsys.readouterr().err.splitlines()
    assert [line for line in stderr if line.startswith("revive: error:")] == [
        f"revive: error: {crash}: its worker died 3 times on it (out of memory?)"
    ]
    assert stderr[-1].startswith("revive: 6 photos written; 1 failed; ") and stderr[-1].endswith("; 3 worker restarts")
    assert len(digests(tmp_path / "out")) == 6 and temporaries(tmp_path) == []


def test_pieces_end_at_scene_cuts_else_after_a_fixed_length():
    assert plan_pieces(100, 40, stateful=False) == [Piece(0, 40, 0), Piece(40, 80, 40), Piece(80, 100, 80)]
    cut_at_30 = plan_pieces(100, 40, [30, 95])
    assert cut_at_30 == [Piece(0, 30, 0), Piece(30, 70, 29), Piece(70, 100, 70 - WARMUP)]
    assert plan_pieces(100, 40, [5, 70]) == [Piece(0, 40, 0), Piece(40, 70, 40 - WARMUP), Piece(70, 100, 69)]
    assert plan_pieces(45, 40, [20]) == [Piece(0, 45, 0)]  # no piece under half the length
    assert plan_pieces(300, 40, [44]) == [Piece(0, 44, 0), *plan_pieces(300, 40, [44])[1:]]
    pieces = plan_pieces(1000, 40, [44, 300, 301, 305])
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]] and pieces[-1].end == 1000
    assert Piece(244, 300, 228) in pieces and Piece(300, 340, 299) in pieces  # to the cut nearest 40 frames on


def film(path: Path, shot: int = 40, keyframes: int = 8) -> Path:
    """Two black-and-white shots of `shot` frames (a cut between), a keyframe every `keyframes`, with sound."""
    frames = to_gray(pan_frames(shot, photo="astronaut")) + to_gray(pan_frames(shot, photo="coffee"))
    return write_clip(path, frames, keyframes=keyframes)


def test_a_piece_seeks_to_its_first_frame(tmp_path, monkeypatch):
    clip = film(tmp_path / "reel.mp4")
    info = probe(clip)
    plan = scan_film(clip, info, find_cuts=True)
    assert plan.cuts == [40] and plan.seekable and len(plan.pts) == 80
    frames = list(read_frames(clip, info))
    monkeypatch.setattr("restore.cluster.film.read_frames", None)  # no decoding from the start
    job = FilmJob(clip, info, Encoding(96, 64, info.time_base, info.rate), SequenceOptions(), tmp_path, True)
    piece = list(decode_range(job, 27, plan.pts[27:45]))
    assert [frame.index for frame in piece] == list(range(27, 45))
    assert all(np.array_equal(a.rgb, b.rgb) and a.data == b.data for a, b in zip(piece, frames[27:45], strict=True))


def test_a_film_in_pieces_matches_revive_video(cluster, weights_dir, tmp_path, capsys):
    clip = film(tmp_path / "reel.mp4")
    options = ["--weights", weights_dir, "--crf", "0", "--chunk", "16"]  # lossless: decoded frames compare exactly
    assert main(["video", str(clip), "-o", str(tmp_path / "single.mp4"), "--device", "cpu", *map(str, options)]) == 0
    out = tmp_path / "out" / "reel.mp4"
    assert batch(clip, "-o", out, *options) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("revive: 80 frames written; ")
    frames, times, audio, rate = read_clip(out)
    single, single_times, _, _ = read_clip(tmp_path / "single.mp4")
    source_times, source_audio = read_clip(clip)[1:3]
    assert times == single_times == source_times and rate == 24
    assert audio == source_audio and len(audio) > 40  # every AAC packet, byte for byte
    # Pieces [0, 16) [16, 40) [40, 56) [56, 72) [72, 80): those from the start and the cut at 40 (and the one
    # that warms up from the cut) are exactly as one run; the last one warmed up on 16 frames of its shot.
    for index, (frame, expected) in enumerate(zip(frames, single, strict=True)):
        if index < 72:
            assert np.array_equal(frame, expected), index
        else:
            assert np.abs(rgb_to_lab(frame)[..., 1:] - rgb_to_lab(expected)[..., 1:]).mean() < 0.5
    assert sorted(path.name for path in out.parent.iterdir()) == ["reel.mp4"]  # the work folder is gone

    restore_only = tmp_path / "restore-only.mp4"
    assert batch(clip, "-o", restore_only, *options, "--colorize", "never") == 0
    assert main(["video", str(clip), "-o", str(tmp_path / "single2.mp4"), "--device", "cpu", "--colorize", "never",
                 *map(str, options)]) == 0  # fmt: skip
    assert all(map(np.array_equal, read_clip(restore_only)[0], read_clip(tmp_path / "single2.mp4")[0]))


def test_a_damaged_film_is_one_error_line_and_leaves_nothing(weights_dir, tmp_path, capsys):
    clip = truncated_clip(tmp_path / "reel.mp4", to_gray(pan_frames(48)), faststart=True)
    for _ in range(3):  # PyAV skips a log line that repeats the one before, from an earlier run too
        assert batch(clip, "-o", tmp_path / "batch.mp4", "--weights", weights_dir) == 1
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("revive: error:")]
        expected = rf"revive: error: {re.escape(str(clip))}: truncated or damaged: \d\d of 48 frames decode \(.+\)"
        assert len(errors) == 1 and re.fullmatch(expected, errors[0]), errors
    assert sorted(path.name for path in tmp_path.iterdir()) == ["reel.mp4"]  # no output, work folder or temporary


def test_a_film_survives_a_killed_worker_and_a_killed_driver_byte_for_byte(cluster, weights_dir, tmp_path, capsys):
    clip = film(tmp_path / "reel.mp4", shot=48)
    options = ["--weights", weights_dir, "--chunk", "8", "--tile", "56"]
    assert batch(clip, "-o", tmp_path / "first.mp4", *options) == 0
    out = tmp_path / "second.mp4"
    status: list[int] = []
    job = threading.Thread(target=lambda: status.append(batch(clip, "-o", out, *options)), daemon=True)
    job.start()
    work = tmp_path / "second.mp4.work"
    finished_at_kill = kill_a_busy_worker(lambda: len(list(work.glob("piece_*.bin"))))
    job.join(timeout=180)
    assert not job.is_alive(), "the job did not end within 180 s of the kill"
    assert finished_at_kill < 12 and status == [0]
    assert capsys.readouterr().err.splitlines()[-1].endswith("; 1 worker restart")
    assert out.read_bytes() == (tmp_path / "first.mp4").read_bytes()
    assert not work.exists() and temporaries(tmp_path) == []

    out, work = tmp_path / "third.mp4", tmp_path / "third.mp4.work"
    command = [sys.executable, "-m", "restore.cli", "batch", clip, "-o", out, "--ray", cluster, *options]
    sigkill_when(command, lambda: len(list(work.glob("piece_*.bin"))) >= 2, timeout=120)
    finished_at_kill = len(list(work.glob("piece_*.bin")))
    assert 2 <= finished_at_kill < 12 and not out.exists()
    time.sleep(1)  # Ray ends the dead driver's workers
    assert batch(clip, "-o", out, *options) == 0
    done_before = int(capsys.readouterr().err.splitlines()[-1].split("; ")[1].split()[0])
    assert finished_at_kill * 8 <= done_before < 96  # pieces of 8 frames kept from the killed run
    assert out.read_bytes() == (tmp_path / "first.mp4").read_bytes()
    assert not work.exists() and temporaries(tmp_path) == []


def test_a_frame_folder_in_pieces_matches_revive_frames(cluster, weights_dir, tmp_path, capsys):
    scans = tmp_path / "scans"
    scans.mkdir()
    for index, frame in enumerate(to_gray(pan_frames(40))):
        Image.fromarray(frame).save(scans / f"frame{index + 1}.png")
    assert main(["frames", str(scans), "-o", str(tmp_path / "single"), "--weights", str(weights_dir)]) == 0
    out = tmp_path / "out"
    options = ["--weights", weights_dir, "--chunk", "16"]
    assert batch("--frames", scans, "-o", out, *options) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("revive: 40 frames written; ")
    names = [f"frame{index + 1}.png" for index in range(40)]
    assert sorted(digests(out)) == sorted(names)
    for index, name in enumerate(names):  # pieces [0, 16) [16, 32) [32, 40): the third warms up on 16 frames
        ours, theirs = (np.asarray(Image.open(folder / name)) for folder in (out, tmp_path / "single"))
        if index < 32:
            assert np.array_equal(ours, theirs), name
        else:
            assert np.abs(rgb_to_lab(ours)[..., 1:] - rgb_to_lab(theirs)[..., 1:]).mean() < 0.5
    assert batch("--frames", scans, "-o", out, *options) == 0
    assert capsys.readouterr().err.splitlines()[-1].startswith("revive: 0 frames written; 40 done before")


def test_without_ray_it_says_how_to_install_it(weights_dir, tmp_path):
    Image.fromarray(data.camera()[::8, ::8]).save(tmp_path / "a.png")
    code = "import sys; sys.modules['ray'] = None; from restore.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", code, "batch", tmp_path / "a.png", "-o", tmp_path / "o", "--weights", weights_dir]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(list(map(str, command)), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "revive: error: revive batch runs on Ray, which is not installed: pip install -e '.[cluster]' "
        "(or: pip install ray)"
    ]


def test_ray_local_starts_a_cluster_of_its_own(weights_dir, tmp_path):
    Image.fromarray(data.camera()[::8, ::8]).save(tmp_path / "a.png")
    command = [sys.executable, "-m", "restore.cli", "batch", tmp_path / "a.png", "-o", tmp_path / "out", "--ray",
               "local", "--weights", weights_dir]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(list(map(str, command)), env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"revive: 1 photo written; .* on 1 worker \(cpu on .+\)", result.stderr.strip())
    assert (tmp_path / "out" / "a.png").is_file()


def test_an_address_where_no_ray_answers_is_one_line(weights_dir, tmp_path):
    Image.fromarray(data.camera()[::8, ::8]).save(tmp_path / "a.png")
    with socket.socket() as probe_socket:  # a port that nothing listens on once this socket is closed
        probe_socket.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe_socket.getsockname()[1]}"
    command = [sys.executable, "-m", "restore.cli", "batch", tmp_path / "a.png", "-o", tmp_path / "o", "--ray", address,
               "--weights", weights_dir]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(list(map(str, command)), env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"revive: error: --ray {address}: nothing answers there (Connection refused); is `ray start --head` running?"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.mp4", "b.mp4", "-o", "out.mp4"], "a film takes one INPUT, not 2"),
        (["--frames", "scans", "-o", "out.mkv"], "--frames writes PNGs into a folder, not into 'out.mkv'"),
        (["a.png", "-o", "out", "--no-restore", "--colorize", "never"], "leaves nothing to do"),
        (["a.png", "-o", "out", "--ray", "head"], "argument --ray: auto, local or HOST:PORT, not 'head'"),
    ],
)
def test_usage_errors(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        batch(*args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_device_cuda_on_a_cluster_without_gpus_is_a_usage_error(cluster, weights_dir, tmp_path, capsys):
    Image.fromarray(data.camera()[::8, ::8]).save(tmp_path / "a.png")
    with pytest.raises(SystemExit) as exit_info:
        batch(tmp_path / "a.png", "-o", tmp_path / "out", "--weights", weights_dir, "--device", "cuda")
    assert exit_info.value.code == 2
    assert "--device cuda needs GPU workers, and this Ray cluster has no GPUs" in capsys.readouterr().err
