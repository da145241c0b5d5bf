"""Colour hints in the web UI: the API's `hints` and `hints_file` through gradio_client, the photo tab's hint
tools in Chromium (Playwright), both against a real `python app.py` with the tiny hinted colorizer, and a
server whose colour model takes no hints."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from test_hints import ab_of, gray_ramp, mean_ab, write_rgba
from test_web_browser import RESULT_TIMEOUT_MS

from benchmarks.web_server import raw_call, running_server
from restore.hints import parse_colour
from restore.pipeline import Restorer
from restore.web import Jobs, WebSettings, build_app
from restore.web_hints import DEFAULT_COLOUR

WIDTH, HEIGHT = 200, 140
CENTRE = (slice(HEIGHT // 2 - 5, HEIGHT // 2 + 6), slice(WIDTH // 2 - 5, WIDTH // 2 + 6))
RED = (230, 40, 30)
POINT = json.dumps([{"x": 0.5, "y": 0.5, "color": "#e6281e", "radius": 0.05}])
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def server(hinted_weights_dir, tmp_path_factory):
    with running_server(hinted_weights_dir, tmp_path_factory.mktemp("web-hints")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False, download_files=str(server.tmpdir / "downloads"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "ramp.png"
    Image.fromarray(gray_ramp(HEIGHT, WIDTH)).save(path)
    return path


def distance(png: str | bytes, rgb) -> float:
    """How far the mean a*b* of the result's centre is from `rgb`'s."""
    image = Image.open(io.BytesIO(png) if isinstance(png, bytes) else png).convert("RGB")
    return float(np.linalg.norm(mean_ab(np.asarray(image), *CENTRE) - ab_of(rgb)))


def test_api_hints_as_json_points_or_a_hint_image_move_the_region_toward_their_colour(client, photo, tmp_path):
    _, automatic, summary = client.predict(handle_file(str(photo)), api_name="/restore_photo")
    assert summary.endswith("restored, colourized.")
    _, hinted, summary = client.predict(handle_file(str(photo)), hints=POINT, api_name="/restore_photo")
    assert "colourized with your hints" in summary
    assert distance(hinted, RED) < distance(automatic, RED) / 3
    painted = write_rgba(tmp_path / "hints.png", WIDTH // 2, HEIGHT // 2, (slice(30, 41), slice(45, 56)), RED)
    _, from_file, _ = client.predict(
        handle_file(str(photo)), hints_file=handle_file(str(painted)), api_name="/restore_photo"
    )
    assert distance(from_file, RED) < distance(automatic, RED) / 3
    _, none, summary = client.predict(handle_file(str(photo)), hints="[]", api_name="/restore_photo")
    assert np.array_equal(np.asarray(Image.open(none)), np.asarray(Image.open(automatic)))
    assert "with your hints" not in summary


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ('[{"x": 0.5, "y": 0.5}]', "point 1: no 'color'"),
        ('[{"x": 900, "y": 1, "color": "#fff"}]', "point 1: x=900 is outside the photo"),
        ("not json", "not valid JSON"),
    ],
)
def test_api_bad_hints_are_one_line_errors_and_the_server_carries_on(client, photo, hints, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(photo)), hints=hints, api_name="/restore_photo")
    with pytest.raises(AppError, match="Colour hints need colourizing"):
        client.predict(handle_file(str(photo)), hints=POINT, colorize="never", api_name="/restore_photo")
    _, png, _ = client.predict(handle_file(str(photo)), api_name="/restore_photo")
    assert Path(png).is_file()


def test_api_hint_file_errors_name_the_file_and_only_uploads_are_read(client, server, photo, tmp_path):
    opaque = tmp_path / "opaque.png"
    Image.new("RGB", (WIDTH, HEIGHT), RED).save(opaque)
    with pytest.raises(AppError, match="opaque.png: has no transparency"):
        client.predict(handle_file(str(photo)), hints_file=handle_file(str(opaque)), api_name="/restore_photo")
    private = write_rgba(tmp_path / "private.png", WIDTH, HEIGHT, (slice(0, 9), slice(0, 9)))
    uploaded = client.predict(handle_file(str(photo)), api_name="/restore_photo")  # a real upload for the photo
    assert uploaded
    reply = raw_call(
        server.url,
        "restore_photo",
        [{"path": str(private), "meta": {"_type": "gradio.FileData"}}, "auto", True, 64, 0.38, 512, 1.0, "", None],
    )
    assert reply.startswith("event: error") and "private" not in reply


def test_a_model_without_a_hints_input_shows_the_tools_and_follows_hints(weights_dir, tmp_path, photo):
    from gradio.utils import get_upload_folder

    settings = WebSettings(tmp_path / "work", "127.0.0.1", 0, False, 1.0, 250_000, 1, 5)
    restorer = Restorer(weights_dir, device="cpu")
    assert restorer.manifest.model("colorize").hints is None
    demo = build_app(restorer, settings)
    panels = [block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "photo-hints"]
    assert len(panels) == 1 and panels[0].visible is not False
    swatches = [block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "photo-hints-swatches"]
    assert len(swatches) == 1 and swatches[0].visible is False  # no colour distribution to offer
    upload = Path(get_upload_folder()) / "test-web-hints"
    upload.mkdir(parents=True, exist_ok=True)
    uploaded = upload / photo.name
    uploaded.write_bytes(photo.read_bytes())
    jobs = Jobs(restorer, settings)
    _, png, summary = jobs.photo(str(uploaded), hints=POINT)
    assert Path(png).is_file() and "with your hints" in summary
    _, png, summary = jobs.photo(str(uploaded), hints="[]")
    assert Path(png).is_file() and "with your hints" not in summary


def test_recolouring_a_photo_reuses_its_restoration_for_the_same_result(hinted_weights_dir, tmp_path, photo):
    from gradio.utils import get_upload_folder

    upload = Path(get_upload_folder()) / "test-web-hints-cache"
    upload.mkdir(parents=True, exist_ok=True)
    uploaded = upload / photo.name
    uploaded.write_bytes(photo.read_bytes())
    restorer = Restorer(hinted_weights_dir, device="cpu")
    jobs = Jobs(restorer, WebSettings(tmp_path / "work", "127.0.0.1", 0, False, 1.0, 250_000, 1, 5))
    outputs = [jobs.photo(str(uploaded), hints=hints)[1] for hints in ("", POINT, "")]
    # restored once (keeping no hues: it is colourized next), then reused
    assert list(jobs.restored._photos) == [(str(uploaded), None, 1.0, False, False)]
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    for png, hints in zip(outputs, (None, POINT, None), strict=True):
        expected = restorer.process(rgb, hints=hints and jobs.hint_map(hints, None, HEIGHT, WIDTH))
        assert np.array_equal(np.asarray(Image.open(png)), expected)
    jobs.photo(str(uploaded), strength=0.5)
    assert len(jobs.restored._photos) == 2  # other settings, another restoration


def test_a_toned_photo_comes_out_of_the_web_ui_as_out_of_process(hinted_weights_dir, tmp_path):
    from gradio.utils import get_upload_folder

    upload = Path(get_upload_folder()) / "test-web-toned"
    upload.mkdir(parents=True, exist_ok=True)
    sepia = (gray_ramp(HEIGHT, WIDTH) * np.array([1.0, 0.85, 0.65])).astype(np.uint8)
    Image.fromarray(sepia).save(upload / "sepia.png")
    restorer = Restorer(hinted_weights_dir, device="cpu")
    jobs = Jobs(restorer, WebSettings(tmp_path / "work", "127.0.0.1", 0, False, 1.0, 250_000, 1, 5))
    for colorize in ("never", "auto"):  # hues kept, then not (colourized next), as Restorer.process does
        png = jobs.photo(str(upload / "sepia.png"), colorize=colorize)[1]
        assert np.array_equal(np.asarray(Image.open(png)), restorer.process(sepia, colorize=colorize))
    assert [key[-1] for key in jobs.restored._photos] == [True, False]


@pytest.fixture
def page(browser, server, photo):
    """The app with `photo` uploaded and the hint tools open."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    tab = context.new_page()
    tab.goto(server.url)
    tab.wait_for_selector("#photo-run")
    tab.locator("#photo-input input[type=file]").set_input_files(str(photo))
    tab.locator("#photo-hints").get_by_text("Colour hints").click()
    tab.locator("#photo-hints-view img").wait_for(timeout=RESULT_TIMEOUT_MS)
    yield tab
    context.close()


def result_png(page) -> bytes:
    link = page.locator("#photo-file a[href*='ramp-revived.png']")
    return page.request.get(link.get_attribute("href")).body()


def hint_json(page) -> list[dict]:
    text = page.locator("#photo-hints-json textarea").input_value()
    return json.loads(text) if text else []


def result_link(page) -> str | None:
    return page.locator("#photo-file a[href*='ramp-revived.png']").get_attribute("href")


def wait_for_summary(page, previous: str, text: str, previous_link: str | None = None) -> None:
    """Wait until the summary is a new one (not `previous`, nor the old one under a running timer) with `text`.
    With `previous_link`, a new result file also counts: a quick rerun can repeat the summary word for word."""
    deadline = time.monotonic() + RESULT_TIMEOUT_MS / 1000
    summary = page.locator("#photo-summary")
    while time.monotonic() < deadline:
        current = summary.inner_text()
        renewed = current != previous or (previous_link is not None and result_link(page) != previous_link)
        if renewed and current.startswith("Done in") and text in current:
            return
        time.sleep(0.1)
    raise AssertionError(f"summary still {summary.inner_text()!r}, waited for {text!r}")


@needs_chromium
def test_a_clicked_hint_moves_the_region_toward_its_colour_and_undo_and_clear_take_it_back(page):
    page.click("#photo-run")
    wait_for_summary(page, "", "colourized.")
    automatic = result_png(page)
    size = page.locator("#photo-hints-size input[type=number]")
    size.fill("5")
    size.press("Enter")
    view = page.locator("#photo-hints-view img")
    box = view.bounding_box()
    before = page.locator("#photo-summary").inner_text()
    view.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    wait_for_summary(page, before, "colourized with your hints")
    [point] = hint_json(page)
    assert point["x"] == pytest.approx(0.5, abs=0.02) and point["y"] == pytest.approx(0.5, abs=0.02)
    assert point["radius"] == 0.05 and point["color"] == DEFAULT_COLOUR
    blue = parse_colour(DEFAULT_COLOUR)
    assert distance(result_png(page), blue) < distance(automatic, blue) / 3
    rows = page.locator("#photo-hints-swatches tbody tr")
    assert rows.count() == 5  # the five likeliest colours at the point
    before, link = page.locator("#photo-summary").inner_text(), result_link(page)
    page.click("#photo-hints-undo")
    wait_for_summary(page, before, "colourized.", link)
    assert hint_json(page) == []
    assert result_png(page) == automatic  # no hints: the automatic result again
    before = page.locator("#photo-summary").inner_text()
    view.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    wait_for_summary(page, before, "colourized with your hints")  # the hinted run done before Clear
    before, link = page.locator("#photo-summary").inner_text(), result_link(page)
    page.click("#photo-hints-clear")
    wait_for_summary(page, before, "colourized.", link)
    assert hint_json(page) == [] and result_png(page) == automatic


@needs_chromium
def test_a_swatch_recolours_the_last_hint_with_a_colour_the_model_finds_likely(page):
    view = page.locator("#photo-hints-view img")
    box = view.bounding_box()
    view.click(position={"x": box["width"] * 0.8, "y": box["height"] * 0.3})
    page.locator("#photo-summary", has_text="with your hints").wait_for(timeout=RESULT_TIMEOUT_MS)
    first = page.locator("#photo-hints-swatches tbody tr").first
    assert first.inner_text().strip().endswith("%")
    before, link = page.locator("#photo-summary").inner_text(), result_link(page)
    first.click()
    wait_for_summary(page, before, "with your hints", link)
    [point] = hint_json(page)
    assert point["color"] != DEFAULT_COLOUR
    # the likeliest colour is the model's own there, so the result keeps about that colour with it as a hint
    result = np.asarray(Image.open(io.BytesIO(result_png(page))).convert("RGB"))
    x, y = int(point["x"] * WIDTH), int(point["y"] * HEIGHT)
    assert np.linalg.norm(ab_of(parse_colour(point["color"])) - ab_of(result[y, x])) < 12


@needs_chromium
def test_an_example_photo_restores_without_the_hints_placed_on_another_photo(page):
    view = page.locator("#photo-hints-view img")
    box = view.bounding_box()
    view.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.locator("#photo-summary", has_text="with your hints").wait_for(timeout=RESULT_TIMEOUT_MS)
    before = page.locator("#photo-summary").inner_text()
    page.locator("#photo-examples img").first.click()
    wait_for_summary(page, before, "Done in")
    assert "with your hints" not in page.locator("#photo-summary").inner_text()
    assert hint_json(page) == []
