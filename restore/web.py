"""The web UI: a Gradio app with Photo, Batch and Video tabs over one shared Restorer.

Only `revive serve` (and app.py) import this module; `import restore` never imports gradio. Results are
written into a per-app work folder (WebSettings.work_dir), and job folders older than
WebSettings.keep_results_s are removed as new jobs start; gradio's own copies of them, and the uploads,
are aged out by gradio's delete_cache on the same schedule.
"""

from __future__ import annotations

import contextvars
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from gradio.components import Component
from gradio.utils import get_upload_folder

from restore.color import shrink
from restore.errors import ImageError, ReviveError, first_line
from restore.hint_track import HINT_SUFFIXES
from restore.hints import load_hints, overlay_hints, parse_points, render_points
from restore.io_image import IMAGE_EXTENSIONS, LoadedImage, load_image, save_png_atomic
from restore.manifest import ModelSpec
from restore.options import COLORIZE_MODES, DEFAULT_RENDER_SIZE, TEMPERATURE_RANGE, ProcessOptions
from restore.palette import ColourCandidate
from restore.pipeline import Restorer, colourizes
from restore.retime import FrameRate
from restore.web_cache import RestoredPhotos
from restore.web_examples import write_examples

PREVIEW_SIDE = 2048  # longest side of the before/after slider's images; the PNG download is full size
CONCURRENCY_ID = "models"  # one limit shared by every event that runs the models
# System fonts only: the default theme's web fonts would make the page reach out to the network.
THEME_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]
THEME_MONO_FONTS = ["ui-monospace", "Consolas", "monospace"]
CSS = "#revive-header { text-align: center; }"
SAME_RATE = "same as the input"  # the video tab's frame rate choice that adds no frames
FRAME_RATES = [SAME_RATE, "2x", "3x", "4x", "24", "25", "30", "50", "60"]


@dataclass(frozen=True)
class WebSettings:
    """How the server runs: address, upload limits, queue and where results go (see `revive serve --help`)."""

    work_dir: Path
    host: str
    port: int
    share: bool
    max_file_size_mb: float
    max_pixels: int
    concurrency: int
    queue_size: int
    max_batch: int = 50
    keep_results_s: int = 3600


class Jobs:
    """The work behind the three tabs, independent of the page layout (and testable without a server)."""

    def __init__(self, restorer: Restorer, settings: WebSettings) -> None:
        self.restorer = restorer
        self.settings = settings
        self.restored = RestoredPhotos(restorer)
        self.results = settings.work_dir / "results"
        self.results.mkdir(parents=True, exist_ok=True)

    def photo(
        self,
        photo: str | dict[str, Any] | None,
        colorize: str = "auto",
        restore: bool = True,
        render_size: float | None = None,
        temperature: float | None = None,
        tile: float | None = None,
        strength: float | None = None,
        scratches: bool = False,
        hints: str | None = None,
        hints_file: str | dict[str, Any] | None = None,
    ) -> tuple[tuple[str, str], str, str]:
        """Restore one photo: (before, after) previews for the slider, the PNG's path, a summary line.

        `photo` is gr.Image's raw upload ({"path": ...}, or the path): the event skips gr.Image's
        preprocessing, which would open the file with Pillow and fail on a bad upload with a generic
        error, so that load_image decodes it with Revive's pixel limit and one-line messages.
        Colour hints: `hints`, JSON points, and `hints_file`, an uploaded hint image or JSON file (restore.hints).
        """
        options = self.options(colorize, restore, render_size, temperature, tile, strength, scratches)
        start = time.perf_counter()
        photo, image = self.read_photo(photo)
        hint_map = self.hint_map(hints, hints_file, *image.rgb.shape[:2])
        if hint_map is not None and options.colorize == "never":
            raise refuse("Colour hints need colourizing: set Colourize to auto or always, or clear the hints.")
        with user_errors():
            rgb, coloured = self._process(image, options, hint_map, photo)
            job = self.job_dir()
            out = job / f"{Path(photo).stem}-revived.png"
            save_png_atomic(out, rgb, image.alpha)
            # Previews go as files, not arrays: gradio caches an array under a name made from its content and
            # writes it in place, so two jobs with the same result (an example photo, say) would rewrite a file
            # while it is being downloaded (truncated downloads under load). Files are copied atomically.
            previews = tuple(
                _preview(job / name, pixels) for name, pixels in (("before.png", image.rgb), ("after.png", rgb))
            )
        seconds = time.perf_counter() - start
        height, width = rgb.shape[:2]
        colour = "colourized" if coloured else "colours kept"
        if coloured and hint_map is not None:
            colour += " with your hints"
        summary = (
            f"**Done in {seconds:.2f} s** on {self.device_name()}: {width}x{height} px, "
            f"{'restored' if options.restore else 'not restored'}, {colour}."
        )
        if image.note:
            summary += f" Note: {image.note}."
        return previews, str(out), summary

    def read_photo(self, photo: str | dict[str, Any] | None) -> tuple[str, LoadedImage]:
        """The path and the decoded image of a raw gr.Image upload (see photo()); refused if absent or unreadable."""
        path = _uploaded_path(photo)
        if not path:
            raise refuse("Upload a photo first (drop it on the box, paste it, or click to browse).")
        with user_errors():
            return path, load_image(path, max_pixels=self.settings.max_pixels)

    def check_photo(self, upload: str | dict[str, Any] | None) -> None:
        """Say at once, as a one-line error, when a just-picked photo cannot be used (not only after Restore)."""
        if _uploaded_path(upload):
            self.read_photo(upload)

    def check_video(self, upload: str | dict[str, Any] | None) -> None:
        """Say at once when a just-picked video cannot be read."""
        video = _uploaded_path(upload.get("video") if isinstance(upload, dict) and "video" in upload else upload)
        if video:
            from restore.video_io import probe  # PyAV loads with the first video

            with user_errors():
                probe(Path(video))

    def check_batch(self, uploads: list[Any] | None) -> None:
        """Warn at once of the photos of a batch that cannot be read (Restore all skips them)."""
        for path in filter(None, map(_uploaded_path, uploads or [])):
            try:
                with user_errors():
                    load_image(path, max_pixels=self.settings.max_pixels)
            except gr.Error as exc:
                gr.Warning(f"{exc.message} (Restore all skips it)")

    def hint_map(
        self, hints: str | None, hints_file: str | dict[str, Any] | None, height: int, width: int
    ) -> np.ndarray | None:
        """The colour hints for a height x width photo: the JSON points `hints` over the uploaded `hints_file`
        (None if they hint nothing); refused if they cannot be read."""
        path = _uploaded_path(hints_file)
        if not path and not (hints or "").strip():
            return None
        with user_errors():
            from_file = load_hints(path, height, width, self.settings.max_pixels) if path else None
            combined = overlay_hints(from_file, render_points(parse_points(hints or ""), height, width))
        if not combined[..., 2].any():
            return None
        return combined

    def colour_source(
        self,
        path: str,
        image: LoadedImage,
        restore: bool,
        tile: float | None,
        strength: float | None,
        scratches: bool = False,
    ) -> np.ndarray:
        """The photo as the colour model will see it in the photo job: restored when restoring (and kept, so the
        job that follows reuses it: RestoredPhotos), else as uploaded."""
        if not restore:
            return image.rgb
        options = self.options("always", True, None, None, tile, strength, scratches)
        with user_errors():
            return self.restored.restore(path, image.rgb, options)

    def palette(
        self, rgb: np.ndarray, x: int, y: int, hints: np.ndarray | None, render_size: float | None
    ) -> list[ColourCandidate]:
        """The colour model's likeliest colours at pixel (x, y) of `rgb` given `hints` ([] if it has no
        distribution output to pick from)."""
        if self.restorer.manifest.model("colorize").distribution is None:
            return []
        with user_errors():
            size = int(render_size) if render_size else None
            return self.restorer.colour_candidates(rgb, x, y, hints=hints, render_size=size)

    def batch(
        self,
        photos: list[str | dict[str, Any]] | None,
        colorize: str = "auto",
        restore: bool = True,
        render_size: float | None = None,
        temperature: float | None = None,
        tile: float | None = None,
        strength: float | None = None,
        scratches: bool = False,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (gradio's way of asking for a progress bar)
    ) -> tuple[list[tuple[str, str]], str, str]:
        """Restore several photos: gallery items, a zip of the PNGs, and a summary naming any failures.

        A photo that cannot be read is reported and skipped; the call fails only if none can be read.
        `photos` are gr.File's raw uploads, as for photo(): gr.File's preprocessing would refuse the whole
        batch for one file of another type (a GIF, say), which is skipped with its reason like the others.
        """
        photos = [path for path in map(_uploaded_path, photos or []) if path]
        if not photos:
            raise refuse("Upload one or more photos first.")
        if len(photos) > self.settings.max_batch:
            raise refuse(f"{len(photos)} photos is more than this server takes at once ({self.settings.max_batch}).")
        options = self.options(colorize, restore, render_size, temperature, tile, strength, scratches)
        job, start = self.job_dir(), time.perf_counter()
        done: list[tuple[str, str]] = []
        failed: list[str] = []
        names: set[str] = set()
        for photo in progress.tqdm(photos, desc="Photos", unit="photo"):
            try:
                with user_errors():
                    image = load_image(photo, max_pixels=self.settings.max_pixels)
                    rgb, _ = self._process(image, options)
                    out = job / _unique(f"{Path(photo).stem}.png", names)
                    save_png_atomic(out, rgb, image.alpha)
            except gr.Error as exc:
                failed.append(exc.message)
                continue
            done.append((str(out), Path(photo).name))
        if not done:
            raise refuse("None of the photos could be read. " + " ".join(failed))
        archive = job / "revive-results.zip"
        with user_errors(), zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:  # PNGs are compressed
            for path, _ in done:
                zf.write(path, Path(path).name)
        summary = f"**{len(done)} of {len(photos)} photos done in {time.perf_counter() - start:.1f} s.**"
        if failed:
            summary += " Skipped: " + "; ".join(f"`{line}`" for line in failed)
        return done, str(archive), summary

    def video(
        self,
        video: str | None,
        colorize: str = "auto",
        restore: bool = True,
        render_size: float | None = None,
        temperature: float | None = None,
        tile: float | None = None,
        strength: float | None = None,
        scratches: bool = False,
        fps: str | None = SAME_RATE,
        hints: list[str] | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple[str, str, str]:
        """Restore a video (its sound copied): the H.264 mp4 for the player, the same file to download, a summary.

        `fps`: SAME_RATE (or empty) keeps the frames; else a new frame rate, as `revive video --fps` takes it.
        `hints`: uploaded hint files for chosen frames, named by frame number, as `revive video --hints-dir` reads
        them (restore.hint_track).
        """
        from restore.video import process_video  # PyAV and the video pipeline load with the first video

        if not video:
            raise refuse("Upload a video first.")
        options = self.options(colorize, restore, render_size, temperature, tile, strength, scratches)
        rate = frame_rate(fps)
        job = self.job_dir()
        hints_dir = _keyframe_folder(hints, job / "hints") if hints else None
        out = job / f"{Path(video).stem}-revived.mp4"
        start = time.perf_counter()
        progress(0, desc="Reading the video")
        with user_errors():
            report = process_video(
                video, out, self.restorer, options, fps=rate, progress=_frame_reporter(progress), hints_dir=hints_dir
            )
        frames = f"{report.frames} frames"
        if rate:
            frames += f" at {rate} fps" if rate.rate else f" at {rate} the frame rate"
        if report.copies:
            frames += f" ({report.copies} repeated frames of a pulldown transfer left out)"
        summary = (
            f"**Done in {time.perf_counter() - start:.1f} s** on {self.device_name()}: {frames}, "
            f"{'restored' if options.restore else 'not restored'}, "
            f"{'colourized' if report.colourized else 'colours kept'}{' with your hints' if hints_dir else ''}, "
            f"{'sound kept' if report.sound else 'no sound'}."
        )
        return str(out), str(out), summary

    def options(
        self,
        colorize: str,
        restore: bool,
        render_size: float | None,
        temperature: float | None,
        tile: float | None,
        strength: float | None = None,
        scratches: bool = False,
    ) -> ProcessOptions:
        """Check the page's settings (as sent, unchecked by gradio) and turn them into ProcessOptions."""
        if not restore and colorize == "never":
            raise refuse("Nothing to do: turn on restoring, or set colourize to auto or always.")
        if scratches and self.restorer.manifest.model("restore").damage is None:
            raise refuse("This server's repair model finds no scratches to fill: turn scratches off.")
        has_temperature = self.restorer.manifest.model("colorize").temperature is not None
        try:
            render, temperature, tile, strength = (
                None if value is None else float(value) for value in (render_size, temperature, tile, strength)
            )
        except (TypeError, ValueError):
            raise refuse("render_size, temperature, tile and strength must be numbers.") from None
        try:
            options = ProcessOptions(
                restore=bool(restore),
                colorize=colorize,
                render_size=int(render) if render else None,
                temperature=temperature if temperature and has_temperature else None,
                tile=None if tile is None else int(tile),
                strength=1.0 if strength is None else strength,
                scratches=bool(scratches),
            )
        except ValueError as exc:
            message = str(exc)
            raise refuse(f"{message[:1].upper()}{message[1:]}.") from None
        return options

    def job_dir(self) -> Path:
        """A new folder for one job's results; job folders older than keep_results_s are removed first."""
        cutoff = time.time() - self.settings.keep_results_s
        with user_errors():
            for old in self.results.iterdir():
                with suppress(FileNotFoundError):  # another job's sweep got there first
                    if old.stat().st_mtime < cutoff:
                        shutil.rmtree(old, ignore_errors=True)
            return Path(tempfile.mkdtemp(dir=self.results))

    def device_name(self) -> str:
        """The device the models run on, for the summaries."""
        return "GPU (CUDA)" if self.restorer.device_used == "cuda" else "CPU"

    def _process(
        self, image: LoadedImage, options: ProcessOptions, hints: np.ndarray | None = None, path: str | None = None
    ) -> tuple[np.ndarray, bool]:
        """Run the models on one decoded photo (with colour hints, if any); returns (RGB, whether it was colourized).
        Hints colourize under auto too, as Restorer.process does. With the upload's `path`, the restored photo
        is kept for the next job on it (RestoredPhotos): the same result, without running the restore model."""
        colourize = colourizes(image.rgb, options.colorize, hints)
        rgb, restore = image.rgb, options.restore
        if restore and path:
            # a photo colourized next keeps no hues (its a*b* are replaced), as Restorer.process does
            rgb, restore = self.restored.restore(path, rgb, options, keep_hues=not colourize), False
        rgb = self.restorer.process(
            rgb,
            options,
            restore=restore,
            scratches=options.scratches and restore,  # filled already, with the kept restoration
            colorize="always" if colourize else "never",
            hints=hints,
        )
        return rgb, colourize


def build_app(restorer: Restorer, settings: WebSettings) -> gr.Blocks:
    """The Gradio app: Photo, Batch and Video tabs, queued so that at most settings.concurrency jobs
    run the models at once. Examples are written into settings.work_dir."""
    from restore.web_hints import HintPanel  # it imports this module

    jobs = Jobs(restorer, settings)
    colorize_spec = restorer.manifest.model("colorize")
    hint_panel = HintPanel(jobs)
    run = {"concurrency_limit": settings.concurrency, "concurrency_id": CONCURRENCY_ID}

    def options() -> list[Component]:
        return _option_controls(restorer, colorize_spec)

    with gr.Blocks(
        title="Revive: restore old photos",
        analytics_enabled=False,
        delete_cache=(max(60, settings.keep_results_s // 4), settings.keep_results_s),
    ) as demo:
        gr.Markdown(
            "# Revive\nRestores old photos and film (scratches, dust, grain, fading) and colourizes "
            "black-and-white ones. Everything runs on this server; nothing is sent elsewhere.",
            elem_id="revive-header",
        )
        photo = _job_tab(
            "Photo",
            lambda: gr.Image(
                type="filepath",
                image_mode=None,
                sources=["upload", "clipboard"],
                label="Old photo (drop, paste or click to upload)",
                elem_id="photo-input",
            ),
            lambda: [*options(), *hint_panel.render()],
            "Restore",
            lambda: [
                gr.ImageSlider(
                    label="Before / after (drag the handle)", format="png", interactive=False, elem_id="photo-slider"
                ),
                gr.File(label="Result: lossless PNG, full resolution", elem_id="photo-file"),
            ],
        )
        # preprocess=False: Jobs.photo decodes the upload itself (see its docstring).
        run_photo = {"fn": jobs.photo, "inputs": photo.inputs, "outputs": photo.outputs, "preprocess": False, **run}
        photo.button.click(api_name="restore_photo", show_progress_on=photo.outputs[0], **run_photo)
        photo_options = {"render_size": photo.inputs[3], "restore": photo.inputs[2], "tile": photo.inputs[5],
                         "strength": photo.inputs[6], "scratches": photo.inputs[7]}  # fmt: skip
        hint_panel.wire(photo.inputs[0], photo_options, {**run_photo, "show_progress_on": photo.outputs[0]}, run)
        examples = write_examples(settings.work_dir / "examples")
        if examples:
            with photo.tab:
                gallery = gr.Examples(
                    [[str(path)] for path, _ in examples],
                    inputs=photo.inputs[:1],
                    label="Try an example: " + ", ".join(label for _, label in examples) + " (one click restores it)",
                    elem_id="photo-examples",
                )
            hint_panel.reset_after(gallery.load_input_event).then(api_visibility="private", **run_photo)
        batch = _job_tab(
            "Batch",
            lambda: gr.File(
                file_count="multiple",
                file_types=sorted(IMAGE_EXTENSIONS),
                label=f"Photos (up to {settings.max_batch})",
                elem_id="batch-input",
            ),
            options,
            "Restore all",
            lambda: [
                gr.Gallery(label="Results", columns=3, elem_id="batch-gallery"),
                gr.File(label="All results (zip of PNGs)", elem_id="batch-zip"),
            ],
        )
        batch.button.click(
            jobs.batch,
            batch.inputs,
            batch.outputs,
            api_name="restore_batch",
            show_progress_on=batch.outputs[0],
            preprocess=False,  # Jobs.batch takes the raw uploads (see its docstring)
            **run,
        )
        video = _job_tab(
            "Video",
            lambda: gr.Video(sources=["upload"], label="Old film (sound is kept)", elem_id="video-input"),
            lambda: [*options(), _frame_rate_control(), _keyframe_hints_control()],
            "Restore video",
            lambda: [
                gr.Video(label="Result (H.264 mp4)", interactive=False, elem_id="video-output"),
                gr.File(label="Download the mp4", elem_id="video-file"),
            ],
        )
        video.button.click(
            jobs.video, video.inputs, video.outputs, api_name="restore_video", show_progress_on=video.outputs[0], **run
        )
        for tab, check in ((photo, jobs.check_photo), (batch, jobs.check_batch), (video, jobs.check_video)):
            tab.inputs[0].change(
                check, tab.inputs[0], None, preprocess=False, api_visibility="private", concurrency_limit=None
            )
    demo.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    return demo


@dataclass(frozen=True)
class _JobTab:
    """One tab's parts, for wiring its button."""

    tab: gr.Tab
    inputs: list[Component]  # the upload, then the option controls: the job's arguments, in order
    button: gr.Button
    outputs: list[Component]  # what make_outputs made, then the summary


def _job_tab(
    title: str,
    make_input: Callable[[], Component],
    make_options: Callable[[], list[Component]],
    button_label: str,
    make_outputs: Callable[[], list[Component]],
) -> _JobTab:
    """A tab with the upload, options and button on the left and the results and a summary on the right.

    Element ids are "<title>-run" and "<title>-summary" (lower case), for the browser tests."""
    key = title.lower()
    with gr.Tab(title, id=key) as tab, gr.Row(equal_height=False):
        with gr.Column():
            inputs = [make_input(), *make_options()]
            button = gr.Button(button_label, variant="primary", elem_id=f"{key}-run")
        with gr.Column():
            outputs = [*make_outputs(), gr.Markdown(label="summary", elem_id=f"{key}-summary")]
    return _JobTab(tab, inputs, button, outputs)


def launch(demo: gr.Blocks, settings: WebSettings) -> None:
    """Serve `demo` until interrupted. Only gradio's cache (the app's results and uploads) is served:
    allowed_paths stays empty."""
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=settings.share,
        max_file_size=int(settings.max_file_size_mb * 1024 * 1024),
        theme=gr.themes.Default(font=THEME_FONTS, font_mono=THEME_MONO_FONTS),
        css=CSS,
        footer_links=["api", "settings"],
        ssr_mode=False,
        mcp_server=False,
        quiet=True,  # gradio's lines would suggest launch(share=True); the app's own --share is said below
        prevent_thread_lock=True,
    )
    where = f"{demo.local_url} and {demo.share_url} (public)" if demo.share_url else demo.local_url
    print(f"revive: the web UI is on {where}; Ctrl+C stops it" + ("" if demo.share_url else
          ", --share gives it a public link"), flush=True)  # fmt: skip
    demo.block_thread()


def frame_rate(text: str | None) -> FrameRate | None:
    """The video tab's frame rate: None for SAME_RATE or nothing, else FrameRate.parse (refused if invalid)."""
    if not text or text.strip() == SAME_RATE:
        return None
    try:
        return FrameRate.parse(text)
    except ValueError as exc:
        raise refuse(f"Frame rate: {exc}.") from None


def refuse(message: str) -> gr.Error:
    """A gr.Error for a user's mistake: shown in the page, and no traceback in the server's log."""
    return gr.Error(message, print_exception=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors an upload or a setting can cause into gr.Error: one line in the page, no traceback."""
    try:
        yield
    except gr.Error:
        raise  # already one line for the page (and a ValueError, which the clause below would quote)
    except ImageError as exc:
        raise refuse(f"{Path(exc.path).name}: {exc.reason}") from None
    except (ReviveError, ValueError) as exc:
        raise refuse(str(exc)) from None
    except MemoryError:
        raise refuse("Not enough memory for this file: try a smaller one, or a smaller tile size.") from None
    except OSError as exc:  # the server's own files: a full disk, a read-only or vanished work folder
        raise refuse(f"The server could not read or write a file: {exc.strerror or first_line(exc)}.") from None


def _option_controls(restorer: Restorer, colorize_spec: ModelSpec) -> list[Component]:
    """colorize, restore, render_size, temperature, tile, strength and scratches controls, in the handlers'
    argument order."""
    temperature = colorize_spec.temperature
    low, high = temperature.range if temperature is not None and temperature.range else TEMPERATURE_RANGE
    multiple = restorer.manifest.model("restore").size_multiple
    colorize = gr.Radio(
        list(COLORIZE_MODES),
        value="auto",
        label="Colourize",
        info="auto: only black-and-white and toned photos; colour photos keep their colours",
    )
    restore = gr.Checkbox(value=True, label="Repair damage (scratches, dust, grain, fading)")
    strength = gr.Slider(
        0,
        1,
        value=1,
        step=0.05,
        label="Repair strength",
        info="share of the repair to keep: lower it for photos in good condition, which it can over-correct",
    )
    scratches = gr.Checkbox(
        value=False,
        label="Fill scratches and cracks",
        info="inpaint the cracks, tears and scratches the repair model finds, for scratched prints; it can take "
        "thin bright lines (rails, wires, polka dots) for scratches",
        visible=restorer.manifest.model("restore").damage is not None,
    )
    render_size = gr.Slider(
        64,
        2048,
        value=colorize_spec.render_size or DEFAULT_RENDER_SIZE,
        step=16,
        label="Colour render size (px)",
        info="longest side the colour model sees; colour is smooth, so it is upsampled",
    )
    with gr.Accordion("Fine controls", open=False):
        vibrance = gr.Slider(
            low,
            high,
            value=temperature.default if temperature is not None and temperature.default else low,
            step=0.01,
            label="Vibrance (colour temperature)",
            info="lower = more vivid colour, 1.0 = safest and dullest",
            visible=temperature is not None,
        )
        tile = gr.Slider(
            0,
            2048,
            value=restorer.tile,
            step=multiple,
            label="Tile size (px)",
            info="large photos are repaired in tiles of this size to bound memory; 0 = whole photo at once",
        )
    return [colorize, restore, render_size, vibrance, tile, strength, scratches]


def _frame_rate_control() -> Component:
    return gr.Dropdown(
        FRAME_RATES,
        value=SAME_RATE,
        allow_custom_value=True,
        label="Frame rate",
        info="more frames a second, made along the motion (none across a cut): a multiple, or frames per second",
        elem_id="video-fps",
    )


def _keyframe_hints_control() -> Component:
    return gr.File(
        file_count="multiple",
        file_types=list(HINT_SUFFIXES),
        label="Colour hints for chosen frames (optional): hint files as the photo tab's, named by frame number "
        "from 0 (0.json, 240.png); each colours its frame and the rest of its shot",
        elem_id="video-hints",
    )


def _keyframe_folder(uploads: list[str], folder: Path) -> Path:
    """The uploaded hint files copied into `folder` under their own names, for restore.hint_track."""
    folder.mkdir(parents=True, exist_ok=True)
    for upload in uploads:
        path = Path(_uploaded_path(upload) or "")
        target = folder / path.name
        if target.exists():
            raise refuse(f"Two hint files are named {path.name}.")
        shutil.copyfile(path, target)
    return folder


def _uploaded_path(value: str | dict[str, Any] | None) -> str | None:
    """The path in a raw upload value, which must lie in gradio's upload folder.

    Gradio checks that for file values marked as such, but gr.Image's data model also accepts a bare
    {"path": ...} from an API client; without this check any image on the server could be asked for.
    """
    path = value.get("path") if isinstance(value, dict) else value
    if not path:
        return None
    if not Path(path).resolve().is_relative_to(Path(get_upload_folder()).resolve()):
        raise refuse("Only uploaded files can be restored.")
    return path


def _preview(path: Path, rgb: np.ndarray) -> str:
    """Write `rgb`, shrunk to PREVIEW_SIDE, as a PNG at `path`; return the path."""
    save_png_atomic(path, shrink(rgb, PREVIEW_SIDE))
    return str(path)


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `stem-2.png`, `stem-3.png`... if already in `taken` (which it is added to)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    taken.add(candidate)
    return candidate


def _frame_reporter(progress: gr.Progress) -> Callable[[int, int | None], None]:
    """A progress(done, total) callback for the video pipeline that shows frames done and the time left.

    The pipeline calls it from its writer thread, where gradio's per-request context (which tells
    gr.Progress which request to update) is unset, so each call runs in a copy of this thread's context.
    """
    start, context = time.perf_counter(), contextvars.copy_context()

    def show(done: int, total: int | None) -> None:
        left = (time.perf_counter() - start) / done * (total - done) if total and done else None
        desc = "Frames" if left is None else f"Frames ({_duration(left)} left)"
        progress((done, total), desc=desc, unit="frames")

    def report(done: int, total: int | None) -> None:
        context.copy().run(show, done, total)

    return report


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"
