"""The web UI in a real browser (Playwright driving Debian's Chromium) against a real `python app.py`."""

from __future__ import annotations

import io
import re

import pytest
from conftest import CHROMIUM
from PIL import Image
from playwright.sync_api import expect

from benchmarks.clips import pan_frames, write_clip
from benchmarks.web_server import MAX_FILE_SIZE_MB, make_photo, running_server

RESULT_TIMEOUT_MS = 60_000  # generous: the machine may be busy

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
expect.set_options(timeout=10_000)  # for elements that appear with a result already waited for


@pytest.fixture(scope="module")
def server(weights_dir, tmp_path_factory):
    """One server for the module."""
    with running_server(weights_dir, tmp_path_factory.mktemp("web-browser")) as running:
        yield running


@pytest.fixture
def page(browser, server):
    """A fresh tab on the app, with `page.outside_requests`: every request that left the server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.outside_requests = []

    def record(request) -> None:
        if not request.url.startswith((server.url, "data:", "blob:")):
            tab.outside_requests.append(request.url)

    tab.on("request", record)
    tab.goto(server.url)
    tab.wait_for_selector("#photo-run")
    yield tab
    context.close()


def test_photo_upload_shows_before_after_and_a_full_size_png(page, tmp_path):
    photo = make_photo(tmp_path / "grandma.png", width=120, height=90)
    page.locator("#photo-input input[type=file]").set_input_files(str(photo))
    page.click("#photo-run")
    page.locator("#photo-summary", has_text="Done in").wait_for(timeout=RESULT_TIMEOUT_MS)
    expect(page.locator("#photo-slider img")).to_have_count(2)  # before and after
    link = page.locator("#photo-file a[href*='grandma-revived.png']")
    expect(link).to_have_count(1)
    download = page.request.get(link.get_attribute("href"))
    with Image.open(io.BytesIO(download.body())) as result:
        assert (result.format, result.size) == ("PNG", (120, 90))
    assert page.outside_requests == []  # fonts, scripts, everything came from the app itself


def test_an_example_restores_in_one_click(page):
    page.locator("#photo-examples img").first.click()
    page.locator("#photo-summary", has_text="Done in").wait_for(timeout=RESULT_TIMEOUT_MS)
    expect(page.locator("#photo-slider img")).to_have_count(2)


def test_a_bad_upload_shows_an_error_and_the_page_keeps_working(page, tmp_path):
    bad = tmp_path / "scan.png"
    bad.write_text("this is not an image")
    page.locator("#photo-input input[type=file]").set_input_files(str(bad))
    toast = page.locator(".toast-body", has_text="scan.png: not an image")
    toast.wait_for(timeout=RESULT_TIMEOUT_MS)  # said when picked, before Restore is pressed
    page.locator(".toast-body").first.wait_for(state="detached", timeout=RESULT_TIMEOUT_MS)  # gradio's toasts fade
    page.click("#photo-run")
    toast.wait_for(timeout=RESULT_TIMEOUT_MS)  # and again for Restore
    assert "Traceback" not in page.content()
    page.locator("#photo-input input[type=file]").set_input_files(str(make_photo(tmp_path / "good.png")))
    page.click("#photo-run")
    page.locator("#photo-summary", has_text="Done in").wait_for(timeout=RESULT_TIMEOUT_MS)


def test_bad_files_in_a_batch_or_video_upload_are_named_when_picked(page, tmp_path):
    bad, good = tmp_path / "letter.jpg", make_photo(tmp_path / "good.png")
    bad.write_text("this is not an image")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-input input[type=file]").set_input_files([str(good), str(bad)])
    page.locator(".toast-body", has_text="letter.jpg: not an image").wait_for(timeout=RESULT_TIMEOUT_MS)
    expect(page.locator(".toast-body", has_text="good.png")).to_have_count(0)
    page.get_by_role("tab", name="Video").click()
    (tmp_path / "reel.mp4").write_text("this is not a film")
    page.locator("#video-input input[type=file]").set_input_files(str(tmp_path / "reel.mp4"))
    page.locator(".toast-body", has_text="reel.mp4:").wait_for(timeout=RESULT_TIMEOUT_MS)


def test_an_upload_over_the_size_limit_is_refused_in_the_page(page, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(b"\0" * (MAX_FILE_SIZE_MB * 1024 * 1024 + 1))
    page.locator("#photo-input input[type=file]").set_input_files(str(big))
    page.locator(".toast-body", has_text="exceed the maximum allowed size").wait_for(timeout=RESULT_TIMEOUT_MS)


def test_batch_shows_a_gallery_and_a_zip(page, tmp_path):
    photos = [str(make_photo(tmp_path / f"p{i}.png", 40 + i, 30)) for i in range(2)]
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-input input[type=file]").set_input_files(photos)
    page.click("#batch-run")
    page.locator("#batch-summary", has_text="2 of 2 photos").wait_for(timeout=RESULT_TIMEOUT_MS)
    expect(page.locator("#batch-gallery img").nth(1)).to_be_visible()
    expect(page.locator("#batch-zip a[href*='revive-results.zip']")).to_have_count(1)


def test_video_upload_shows_a_playable_result(page, tmp_path):
    clip = write_clip(tmp_path / "reel.mp4", pan_frames(8), fps=8)
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-input input[type=file]").set_input_files(str(clip))
    page.click("#video-run")
    page.locator("#video-summary", has_text="Done in").wait_for(timeout=RESULT_TIMEOUT_MS)
    expect(page.locator("#video-output video")).to_have_attribute("src", re.compile(r"reel-revived\.mp4"))
    expect(page.locator("#video-file a[href*='reel-revived.mp4']")).to_have_count(1)
