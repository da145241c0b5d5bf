"""The photo tab's colour hints: click the photo to place a point in the picker's colour, see the colour model's
likeliest colours there as swatches (picking one recolours the point), undo and clear. The points live in a JSON
text box (restore.hints' format) that the photo job reads, so the page and the web API take the same hints."""

from __future__ import annotations

from typing import Any

import cv2
import gradio as gr
from gradio.components import Component

from restore.color import shrink
from restore.hints import HintPoint, parse_colour, parse_points, points_json
from restore.io_image import LoadedImage, save_png_atomic
from restore.web import Jobs, refuse, user_errors

VIEW_SIDE = 1024  # longest side of the photo the hints are placed on
DEFAULT_COLOUR = "#3060c0"
MARKER_MIN_RADIUS = 5  # px on the view, so that a small hint stays visible
SWATCH_HEADERS = ["colour", "likelihood"]


class HintPanel:
    """The hint controls (render() them inside the photo tab's column, then wire() them) and their handlers."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.palette = jobs.restorer.manifest.model("colorize").distribution is not None

    def render(self) -> list[Component]:
        """Make the controls; returns the photo job's hint inputs: the JSON points and the hint file."""
        with gr.Accordion("Colour hints: choose the colours", open=False, elem_id="photo-hints"):
            text = "Click the photo to place a hint in the picker's colour; the result updates."
            if self.palette:
                text += " The swatches are the colours the model finds likeliest at the last point: click one."
            gr.Markdown(text)
            self.view = gr.Image(
                type="filepath",
                interactive=False,
                label="Click to place a hint",
                buttons=[],
                elem_id="photo-hints-view",
            )
            with gr.Row():
                self.colour = gr.ColorPicker(DEFAULT_COLOUR, label="Hint colour", elem_id="photo-hints-colour")
                self.radius = gr.Slider(
                    0.1, 5, value=0.5, step=0.1, label="Hint size (% of the photo)", elem_id="photo-hints-size"
                )
            self.swatches = gr.Dataset(
                components=["colorpicker", "textbox"],
                samples=[],
                headers=SWATCH_HEADERS,
                layout="table",
                label="Likeliest colours at the last point",
                elem_id="photo-hints-swatches",
                visible=self.palette,  # a colour model without a distribution output has none to offer
            )
            with gr.Row():
                self.undo_button = gr.Button("Undo last hint", size="sm", elem_id="photo-hints-undo")
                self.clear_button = gr.Button("Clear hints", size="sm", elem_id="photo-hints-clear")
            self.points = gr.Textbox(
                label="Hint points (JSON, as `revive photo --hints` reads them)",
                lines=2,
                elem_id="photo-hints-json",
            )
            self.file = gr.File(
                label="Or a hint file: an image whose opaque pixels are colours, or JSON points",
                file_types=["image", ".json"],
                elem_id="photo-hints-file",
            )
        return [self.points, self.file]

    def wire(self, photo: Component, options: dict[str, Component], rerun: dict[str, Any], run: dict[str, Any]) -> None:
        """Connect the controls: a new photo resets the hints; each change of them reruns the photo job
        (`rerun`: its event arguments); `options`: the photo job's render_size, restore, tile, strength and
        scratches controls (the likeliest colours are the colour model's on the photo as that job will see it); `run`:
        the model runs' concurrency settings."""
        rerun = {**rerun, "api_visibility": "private"}
        photo.change(self.show, photo, [self.view, self.points, self.swatches], preprocess=False, **_private)
        clicked = self.view.select(
            self.add_point,
            [
                photo,
                self.points,
                self.colour,
                self.radius,
                self.file,
                *(options[name] for name in ("render_size", "restore", "tile", "strength", "scratches")),
            ],  # fmt: skip
            [self.points, self.view, self.swatches],
            preprocess=False,
            api_visibility="private",
            **run,
        )
        picked = self.swatches.click(
            self.pick, [photo, self.points, self.swatches], [self.points, self.view, self.colour], **_private
        )
        undone = self.undo_button.click(
            self.undo, [photo, self.points], [self.points, self.view], preprocess=False, **_private
        )
        cleared = self.clear_button.click(
            self.clear, photo, [self.points, self.view, self.swatches, self.file], preprocess=False, **_private
        )
        for event in (clicked, picked, undone, cleared):
            event.success(**rerun)
        self.file.upload(**rerun)

    def reset_after(self, event: Any) -> Any:
        """`event` followed by removing the hint points (placed on another photo), for an example's restore."""
        return event.then(lambda: "", None, self.points, **_private)

    def show(self, photo: Any) -> tuple[str | None, str, gr.Dataset]:
        """A new photo: the view to click on, no points, no swatches. A photo that cannot be read shows nothing
        here (the Restore button says why)."""
        try:
            _, image = self.jobs.read_photo(photo)
        except gr.Error:
            return None, "", gr.Dataset(samples=[])
        return self._view(image, []), "", gr.Dataset(samples=[])

    def add_point(
        self,
        photo: Any,
        points: str,
        colour: str,
        radius: float,
        hints_file: Any,
        render_size: float | None,
        restore: bool,
        tile: float | None,
        strength: float | None,
        scratches: bool,
        evt: gr.SelectData,
    ) -> tuple[str, str, gr.Dataset]:
        """A click on the view at evt.index (its pixels): a point there in `colour`, and the model's likeliest
        colours at that point given the hints before it, on the photo as the photo job colourizes it (restored
        when restoring: the tone correction can change its lightness)."""
        path, image = self.jobs.read_photo(photo)
        height, width = image.rgb.shape[:2]
        view_height, view_width = shrink(image.rgb[..., 0], VIEW_SIDE).shape
        fx = min(1.0, round((evt.index[0] + 0.5) / view_width, 4))
        fy = min(1.0, round((evt.index[1] + 0.5) / view_height, 4))
        earlier = _points(points)
        hints = self.jobs.hint_map(points_json(earlier), hints_file, height, width)
        x, y = min(int(fx * width), width - 1), min(int(fy * height), height - 1)
        source = self.jobs.colour_source(path, image, restore, tile, strength, scratches)
        candidates = self.jobs.palette(source, x, y, hints, render_size)
        rows = [[c.hex, f"{c.probability:.0%}" if c.probability >= 0.005 else "<1%"] for c in candidates]
        added = [*earlier, HintPoint(fx, fy, _colour(colour), round(float(radius) / 100, 4))]
        return points_json(added), self._view(image, added), gr.Dataset(samples=rows)

    def pick(self, photo: Any, points: str, swatch: list[str] | None) -> tuple[str, str, str]:
        """A swatch clicked: the last point takes its colour, and so does the picker."""
        earlier = _points(points)
        if not earlier or not swatch:
            raise refuse("Click the photo first: the swatches are the likeliest colours at the last hint.")
        _, image = self.jobs.read_photo(photo)
        last = earlier[-1]
        recoloured = [*earlier[:-1], HintPoint(last.x, last.y, _colour(swatch[0]), last.radius)]
        return points_json(recoloured), self._view(image, recoloured), swatch[0]

    def undo(self, photo: Any, points: str) -> tuple[str, str]:
        """The last point removed."""
        kept = _points(points)[:-1]
        _, image = self.jobs.read_photo(photo)
        return points_json(kept) if kept else "", self._view(image, kept)

    def clear(self, photo: Any) -> tuple[str, str | None, gr.Dataset, None]:
        """No points, no swatches, no hint file."""
        _, image = self.jobs.read_photo(photo)
        return "", self._view(image, []), gr.Dataset(samples=[]), None

    def _view(self, image: LoadedImage, points: list[HintPoint]) -> str:
        """The photo at VIEW_SIDE with a marker per point (a disc of its colour in a white and black ring), as a
        PNG in a new job folder; returns its path."""
        view = shrink(image.rgb, VIEW_SIDE).copy()  # (shrink may return the photo itself)
        height, width = image.rgb.shape[:2]
        scale = view.shape[1] / width
        for point in points:
            try:
                x, y = point.centre(height, width)
            except ValueError:
                continue  # a point typed in by hand outside the photo: the photo job says so
            centre = (int((x + 0.5) * scale), int((y + 0.5) * scale))
            radius = max(MARKER_MIN_RADIUS, round(point.pixel_radius(height, width) * scale))
            cv2.circle(view, centre, radius + 2, (0, 0, 0), 1, cv2.LINE_AA)
            cv2.circle(view, centre, radius + 1, (255, 255, 255), 2, cv2.LINE_AA)
            cv2.circle(view, centre, radius, point.rgb, -1, cv2.LINE_AA)
        path = self.jobs.job_dir() / "hints.png"
        with user_errors():
            save_png_atomic(path, view)
        return str(path)


_private = {"api_visibility": "private"}


def _points(text: str | None) -> list[HintPoint]:
    try:
        return parse_points(text or "")
    except ValueError as exc:
        raise refuse(f"Hint points: {exc}.") from None


def _colour(value: str) -> tuple[int, int, int]:
    try:
        return parse_colour(value)
    except ValueError as exc:
        raise refuse(f"Hint {exc}.") from None
