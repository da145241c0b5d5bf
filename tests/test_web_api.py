"""The web UI's named API endpoints, through gradio_client, against a real `python app.py` server."""

from __future__ import annotations

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from benchmarks.clips import pan_frames, read_clip, telecine, write_clip
from benchmarks.web_server import MAX_FILE_SIZE_MB, REPO, make_photo, raw_call, running_server
from restore.cli import build_parser


@pytest.fixture(scope="module")
def server(weights_dir, tmp_path_factory):
    """One server for the module."""
    with running_server(weights_dir, tmp_path_factory.mktemp("web-api")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False, download_files=str(server.tmpdir / "downloads"))


def test_the_server_says_where_it_is_in_its_own_words(server):
    line = f"revive: the web UI is on {server.url}; Ctrl+C stops it, --share gives it a public link"
    deadline = time.monotonic() + 20  # it answers a moment before it prints the line
    while line not in (log := (server.tmpdir / "server.log").read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in log, log
    assert "share=True" not in log and "launch()" not in log  # gradio's advice to programmers


def test_named_endpoints_are_listed(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/restore_photo", "/restore_batch", "/restore_video"} <= set(endpoints)


def test_photo_returns_a_png_of_the_input_size(client, tmp_path):
    photo = make_photo(tmp_path / "old.png", width=100, height=70)
    (before, after), png, summary = client.predict(handle_file(str(photo)), api_name="/restore_photo")
    with Image.open(png) as result:
        assert result.format == "PNG"
        assert result.size == (100, 70)
        assert result.mode == "RGB"
    assert Path(png).name == "old-revived.png"
    assert Path(before).is_file() and Path(after).is_file()
    assert "Done in" in summary and "colourized" in summary


def test_photo_options_reach_the_models(client, tmp_path):
    photo = handle_file(str(make_photo(tmp_path / "gray.png")))
    spread = {}
    for temperature in (0.2, 1.0):
        _, png, summary = client.predict(
            photo, colorize="always", restore=False, temperature=temperature, api_name="/restore_photo"
        )
        assert "not restored, colourized" in summary
        rgb = np.asarray(Image.open(png).convert("RGB"), dtype=np.float32)
        spread[temperature] = float(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).mean())
    assert spread[0.2] > spread[1.0] > 0  # lower temperature, more vivid colour


def test_strength_zero_returns_the_photo_unchanged_and_out_of_range_is_refused(client, tmp_path):
    photo = make_photo(tmp_path / "colour.png", gray=False)
    _, png, _ = client.predict(handle_file(str(photo)), colorize="never", strength=0, api_name="/restore_photo")
    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), np.asarray(Image.open(photo).convert("RGB")))
    _, png, _ = client.predict(handle_file(str(photo)), colorize="never", strength=1, api_name="/restore_photo")
    assert not np.array_equal(np.asarray(Image.open(png).convert("RGB")), np.asarray(Image.open(photo).convert("RGB")))
    with pytest.raises(AppError, match="Strength must be between 0 and 1"):
        client.predict(handle_file(str(photo)), strength=2, api_name="/restore_photo")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not an image", "not an image"),
        ("truncated", "truncated or corrupt"),
        ("huge", "over the 0.25 MP limit"),
    ],
)
def test_bad_upload_is_refused_and_the_server_keeps_serving(client, tmp_path, content, message):
    bad = tmp_path / "bad.png"
    if content == "truncated":
        good = make_photo(tmp_path / "good.png").read_bytes()
        bad.write_bytes(good[: len(good) // 2])
    elif content == "huge":  # 1000x1000 px: over --max-pixels, refused from the header
        Image.new("L", (1000, 1000)).save(bad)
    else:
        bad.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(bad)), api_name="/restore_photo")
    _, png, _ = client.predict(handle_file(str(make_photo(tmp_path / "next.png"))), api_name="/restore_photo")
    assert Path(png).is_file()


def test_upload_over_the_size_limit_is_refused(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (MAX_FILE_SIZE_MB * 1024 * 1024 + 1))
    with pytest.raises(Exception, match="413|too large|exceeds"):
        client.predict(handle_file(str(big)), api_name="/restore_photo")


@pytest.mark.parametrize("api_name", ["restore_photo", "restore_batch", "restore_video"])
@pytest.mark.parametrize("with_meta", [True, False])
def test_files_that_were_not_uploaded_are_refused(server, tmp_path, api_name, with_meta):
    """An API client can name any server path in a file value; only the app's uploads may be read."""
    if api_name == "restore_video":
        private = write_clip(tmp_path / "private.mp4", pan_frames(4), fps=8)
    else:
        private = make_photo(tmp_path / "private.png")
    value = {"path": str(private)}
    if with_meta:
        value["meta"] = {"_type": "gradio.FileData"}
    data = {"restore_photo": value, "restore_batch": [value], "restore_video": {"video": value, "subtitles": None}}
    options = ["auto", True, 64, 0.38, 512, 1.0]  # what the page sends by default
    if api_name == "restore_video":
        options.append("same as the input")  # the frame rate
    if api_name == "restore_photo":
        options += ["", None]  # no colour hints
    reply = raw_call(server.url, api_name, [data[api_name], *options])
    assert reply.startswith("event: error") and "private" not in reply


def test_nothing_to_do_is_refused(client, tmp_path):
    photo = make_photo(tmp_path / "p.png")
    with pytest.raises(AppError, match="Nothing to do"):
        client.predict(handle_file(str(photo)), colorize="never", restore=False, api_name="/restore_photo")


def test_batch_returns_a_gallery_and_a_zip_and_reports_bad_files(client, tmp_path):
    photos = [make_photo(tmp_path / "a.png", 40, 30), make_photo(tmp_path / "b.jpg", 50, 20, gray=False)]
    (tmp_path / "broken.png").write_bytes(b"nope")
    files = [handle_file(str(path)) for path in [*photos, tmp_path / "broken.png"]]
    gallery, archive, summary = client.predict(files, api_name="/restore_batch")
    assert [item["caption"] for item in gallery] == ["a.png", "b.jpg"]
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["a.png", "b.png"]
    assert "2 of 3" in summary and "broken.png" in summary


def test_video_returns_an_mp4_with_every_frame_and_the_sound(client, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(8), fps=8)
    video, download, summary = client.predict(handle_file(str(clip)), api_name="/restore_video")
    assert Path(video).name == Path(download).name == "clip-revived.mp4"
    assert "8 frames" in summary and summary.endswith(", sound kept.")
    frames, _, audio, _ = read_clip(Path(video))
    assert len(frames) == 8 and frames[0].shape == (64, 96, 3)
    assert audio  # the sound track was kept

    silent = write_clip(tmp_path / "silent.mp4", pan_frames(4), fps=8, audio=False)
    summary = client.predict(handle_file(str(silent)), api_name="/restore_video")[2]
    assert "4 frames" in summary and summary.endswith(", no sound.")


def test_video_frame_rate_adds_in_between_frames_and_bad_rates_are_refused(client, tmp_path):
    clip = handle_file(str(write_clip(tmp_path / "clip.mp4", pan_frames(8), fps=8)))
    video, _, summary = client.predict(clip, fps="2x", api_name="/restore_video")
    assert "16 frames at 2x the frame rate" in summary
    assert len(read_clip(Path(video))[0]) == 16
    with pytest.raises(AppError, match="Frame rate: expected frames per second"):
        client.predict(clip, fps="fast", api_name="/restore_video")
    telecined = write_clip(tmp_path / "telecined.mp4", telecine(pan_frames(12, (128, 96), step=(5, 0))), fps=30)
    video, _, summary = client.predict(handle_file(str(telecined)), fps="60", api_name="/restore_video")
    assert "30 frames at 60 fps (2 repeated frames of a pulldown transfer left out)" in summary  # not the last
    assert len(read_clip(Path(video))[0]) == 30


def test_video_takes_hint_files_named_by_frame_number(client, tmp_path):
    from test_hint_track import DISC, disc_distance_to_blue, disc_hint

    from benchmarks.clips import object_frames, to_gray

    clip = handle_file(str(write_clip(tmp_path / "clip.mp4", to_gray(object_frames(8, **DISC)), fps=8)))
    disc_hint(tmp_path / "hints", 0)
    hinted, _, summary = client.predict(clip, hints=[handle_file(str(tmp_path / "hints" / "0.json"))],
                                        api_name="/restore_video")  # fmt: skip
    assert "8 frames" in summary and "colourized with your hints" in summary
    plain = client.predict(clip, colorize="always", api_name="/restore_video")[0]
    for index in (0, 7):
        with_hints, without = (read_clip(Path(video))[0][index] for video in (hinted, plain))
        assert disc_distance_to_blue(with_hints, index) < disc_distance_to_blue(without, index) / 2, index
    (tmp_path / "hints" / "9.json").write_text("[]")
    with pytest.raises(AppError, match="9.json: there is no frame 9"):
        client.predict(clip, hints=[handle_file(str(tmp_path / "hints" / "9.json"))], api_name="/restore_video")


def test_a_file_that_is_not_a_video_is_refused(client, tmp_path):
    bad = tmp_path / "reel.mp4"
    bad.write_text("not a video")
    with pytest.raises(AppError, match="reel.mp4: cannot read it"):
        client.predict(handle_file(str(bad)), api_name="/restore_video")


def test_serve_options_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("REVIVE_PORT", "9001")
    monkeypatch.setenv("REVIVE_CONCURRENCY", "3")
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.concurrency, args.share) == ("127.0.0.1", 9001, 3, False)
    assert build_parser().parse_args(["serve", "--port", "9002"]).port == 9002  # a flag wins
    monkeypatch.setenv("REVIVE_PORT", "eighty")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve"])


def test_revive_help_does_not_import_gradio():
    code = "import sys, restore.cli; restore.cli.build_parser(); sys.exit('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_stopping_the_server_removes_its_work_folder(weights_dir, tmp_path):
    with running_server(weights_dir, tmp_path) as running:
        assert list(tmp_path.glob("revive-web-*"))
    assert running.process.returncode in (0, 130)  # it stopped by itself (130: interrupted while starting)
    assert not list(tmp_path.glob("revive-web-*"))
