"""Videos: restore and colourize every frame, keeping the frame count, the timing and the sound; resumable.

Every decoded frame becomes one output frame with the same timestamp (variable frame rates included), unless
`fps` asks for another frame rate: then restore.retime adds motion-compensated in-between frames. The
output is H.264 in yuv420p (see restore.video_io for sizes, rotation and the copied streams), written to a
temporary file next to OUTPUT and renamed when complete, so OUTPUT is never half written.

Resuming: the frames are encoded in segments of `chunk` frames, each by a fresh encoder, into a work folder
(OUTPUT.work by default): the segment's packets, the last frame written (the temporal filter's state) and a
record of the settings. A rerun with the same settings decodes up to the first missing segment, re-seeds the
temporal filter there and carries on, so a crash costs at most one segment. The work folder is removed when
the output is complete. With a new frame rate, a segment holds the output frames from the (film) time of its
first input frame up to the next segment's, and the retimer's history (.json) and, when its last frame is a
copy, the frame it copies (.kept.png), which a resumed retimer starts from (restore.retime).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from restore.atomic import atomic_path
from restore.errors import VideoError
from restore.hint_track import describe, film_hints
from restore.io_image import load_image, save_png_atomic
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.pulldown import BLOCK_LEVELS, REPEAT_PSNR, WINDOW, Entry
from restore.resume import file_identity, job_settings, locked, read_record, write_record
from restore.retime import FrameRate, Retimer, Timeline, Unit
from restore.sequence import (
    SAMPLE_FRAMES,
    Frame,
    Progress,
    SequenceOptions,
    auto_batch,
    decide_colorize,
    first_needed,
    run_sequence,
)
from restore.video_io import (
    Encoding,
    Muxer,
    StoredPacket,
    encode,
    flush,
    new_encoder,
    probe,
    read_frames,
    read_packets,
    sample_frames,
    write_packets,
)

log = logging.getLogger(__name__)

CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
DEFAULT_CHUNK = 120
DEFAULT_CRF = 18
RECORD_NAME = "job.json"


@dataclass(frozen=True)
class VideoReport:
    """What process_video made: how many frames it wrote, whether it colourized them and copied sound, and how
    many input frames it left out as pulldown copies (restore.pulldown; in this run, if it resumed)."""

    frames: int
    colourized: bool
    sound: bool
    copies: int = 0


def process_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    restorer: Restorer,
    options: ProcessOptions,
    *,
    temporal: bool = True,
    fps: FrameRate | None = None,
    batch: int | None = None,
    crf: int = DEFAULT_CRF,
    chunk: int = DEFAULT_CHUNK,
    work_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    hints_dir: str | os.PathLike[str] | None = None,
) -> VideoReport:
    """Process video `source` into `output` (.mp4, .m4v, .mov or .mkv); see the module docstring.

    `fps`: the output's frame rate (None: the input's frames and times). `batch`: frames per model run (None:
    see sequence.auto_batch). `progress(done, total)` is called as input frames are written (total estimated
    from the duration when the container does not say, None when it cannot be). `hints_dir`: colour hints for
    keyframes, carried through their shots (restore.hint_track; the film is then colourized).
    Raises HintsError for a bad hints folder, VideoError for an input that cannot be used, OSError when the
    output cannot be written, and ValueError for an unsupported output type.
    """
    source, output = Path(source), Path(output)
    container_format = CONTAINERS.get(output.suffix.lower())
    if container_format is None:
        raise ValueError(f"{output}: the output must end in {', '.join(CONTAINERS)}")
    if output.exists() and output.samefile(source):
        raise VideoError(source, f"refusing to write {output}: that is the input file")
    info = probe(source)
    batch = batch or auto_batch(info.height, info.width)
    tracker = film_hints(hints_dir, options.colorize, info.height, info.width, info.frames or None)
    colorize = "always" if tracker else decide_colorize(options.colorize, sample_frames(source, info, SAMPLE_FRAMES))
    sequence = SequenceOptions.build(options, colorize, temporal=temporal, batch=batch)
    timeline = Timeline(fps, info.time_base, info.rate, info.start_pts) if fps else None
    time_base, rate = (timeline.time_base, timeline.rate) if timeline else (info.time_base, info.rate)
    encoding = Encoding(info.width + info.width % 2, info.height + info.height % 2, time_base, rate, crf)
    if (encoding.width, encoding.height) != (info.width, info.height):
        log.warning(
            "%s: %dx%d has an odd side; the output is padded to %dx%d (H.264 in yuv420p needs even sizes)",
            source, info.width, info.height, encoding.width, encoding.height,
        )  # fmt: skip
    if info.quarter_turns:
        log.info("%s: turned upright (display rotation %d degrees)", source, 90 * info.quarter_turns)
    settings = job_settings(
        restorer, **sequence.record(), fps=str(fps) if fps else None, crf=crf, chunk=chunk, av=av.__version__,
        pulldown=[REPEAT_PSNR, BLOCK_LEVELS, WINDOW] if fps else None,
        **({"hints": describe(tracker.keyframes)} if tracker else {}),
    )  # fmt: skip
    work = _Segments(Path(work_dir) if work_dir else output.with_name(output.name + ".work"), chunk)
    work.folder.mkdir(parents=True, exist_ok=True)
    with locked(work.folder):
        try:
            start = work.resume({"settings": settings, "input": [str(source.resolve()), *file_identity(source)]})
            if start:
                log.info("%s: resuming at frame %d", source, start)
            seed = work.seed()
            retimer = Retimer(timeline, start, seed, **work.retime_state()) if timeline else None
            with atomic_path(output, stable=True) as tmp, Muxer(tmp, container_format, source, encoding) as muxer:
                sink = _Sink(work, muxer, encoding, start, progress, info.expected_frames, retimer)
                first = first_needed(start, batch)
                frames = read_frames(source, info, tracker.replay_from(first) if tracker else first)
                run_sequence(restorer, sequence, frames, sink.write, start=start, seed_output=seed, hints=tracker)
                sink.close()
            if retimer is not None and retimer.copies:
                log.info("%s: %d frames that copy the one before left out of the new rate", source, retimer.copies)
        except BaseException as exc:
            if isinstance(exc, VideoError) or not work.count:
                work.remove()  # nothing worth resuming: a bad input, or no finished segment
            raise
        work.remove()
    return VideoReport(sink.written, colorize == "always", info.sound, retimer.copies if retimer else 0)


class _Segments:
    """The work folder: the job record and finished segments (seg_NNNNNN.bin packets + .png last frame; with a
    new frame rate, .json the retimer's history and .kept.png the frame it interpolates from, if not the last)."""

    def __init__(self, folder: Path, chunk: int) -> None:
        self.folder = folder
        self.chunk = chunk
        self.count = 0  # finished segments, from the first

    def resume(self, record: dict[str, Any]) -> int:
        """The first frame to process: after the finished segments when `record` matches the stored one;
        otherwise 0, with the stale segments removed and `record` stored."""
        if read_record(self.folder / RECORD_NAME) == record:
            while self._path(self.count, ".bin").is_file():
                self.count += 1
        else:
            self._clear()
            write_record(self.folder / RECORD_NAME, record)
        return self.count * self.chunk

    def finished(self) -> Iterator[list[StoredPacket]]:
        """The packets of the finished segments, in order."""
        for index in range(self.count):
            yield read_packets(self._path(index, ".bin"))

    def seed(self) -> np.ndarray | None:
        """The last frame written before the first unfinished segment."""
        return load_image(self._path(self.count - 1, ".png")).rgb if self.count else None

    def retime_state(self) -> dict[str, Any]:
        """What the retimer of the last finished segment left for the next (Retimer's `history` and `kept`)."""
        if not self.count:
            return {}
        entries = json.loads(self._path(self.count - 1, ".json").read_text())
        kept = self._path(self.count - 1, ".kept.png")
        history = [Entry(*entry) for entry in entries]
        return {"history": history, "kept": load_image(kept).rgb if kept.is_file() else None}

    def save(
        self, index: int, packets: list[StoredPacket], last: np.ndarray, retime: tuple[list[Entry], np.ndarray] | None
    ) -> None:
        """Store segment `index` (with a retimer's history and its last kept frame, when that is not `last`);
        the .bin file, written last and atomically, marks it finished."""
        save_png_atomic(self._path(index, ".png"), last, stable=True)
        if retime is not None:
            history, kept = retime
            with atomic_path(self._path(index, ".json"), stable=True) as tmp:
                tmp.write_text(json.dumps([[entry.index, entry.pts, entry.matched, entry.repeat] for entry in history]))
            if kept is not last:  # the last unit was a copy (a kept frame's unit has its own output as `kept`)
                save_png_atomic(self._path(index, ".kept.png"), kept, stable=True)
        with atomic_path(self._path(index, ".bin"), stable=True) as tmp:
            write_packets(tmp, packets)
        self.count = index + 1

    def remove(self) -> None:
        """Delete the files this job wrote, and the work folder unless something else is in it."""
        self._clear()
        (self.folder / RECORD_NAME).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()

    def _clear(self) -> None:
        """Delete the segments, and what a killed run left half-written (see atomic_path's `stable`)."""
        for path in [*self.folder.glob("seg_*.*"), *self.folder.glob(".seg_*.partial.tmp")]:
            path.unlink()

    def _path(self, index: int, suffix: str) -> Path:
        return self.folder / f"seg_{index:06d}{suffix}"


class _Sink:
    """Feeds the muxer: first the finished segments' packets, then the frames written, encoded segment by
    segment (each stored when finished). With a Retimer, each input frame's output becomes the frames of its
    Unit, which the retimer hands out a little later."""

    def __init__(
        self,
        segments: _Segments,
        muxer: Muxer,
        encoding: Encoding,
        start: int,
        progress: Progress | None,
        total: int | None,
        retimer: Retimer | None,
    ) -> None:
        self._segments, self._muxer, self._encoding = segments, muxer, encoding
        self._progress, self._total, self._retimer = progress, total, retimer
        self._index = start // segments.chunk
        self._encoder: Any = None
        self._packets: list[StoredPacket] = []
        self._last: np.ndarray | None = None
        self._last_kept: np.ndarray | None = None
        self.done = start  # input frames whose output is encoded
        self.written = 0  # output frames: one packet each (no B-frames, and x264 drops none)
        for packets in segments.finished():
            self._add(packets, store=False)
            self.written += len(packets)
        self._report()

    def write(self, frame: Frame, rgb: np.ndarray) -> None:
        """Take the output for `frame` (its pts in frame.data) and encode what is complete."""
        if self._retimer is None:
            self._encode(Unit(frame.index, rgb, [(frame.data, rgb)], rgb))
            return
        for unit in self._retimer.push(frame.index, frame.data, rgb):
            self._encode(unit)

    def close(self) -> None:
        """Encode what the retimer still holds; flush and store the open segment, if any."""
        for unit in self._retimer.finish() if self._retimer is not None else []:
            self._encode(unit)
        self._close_segment()

    def _encode(self, unit: Unit) -> None:
        """Encode a unit's frames; close the segment after its last input frame."""
        if self._encoder is None:
            self._encoder = new_encoder(self._encoding)
            if bytes(self._encoder.extradata or b"") != self._muxer.extradata:
                raise RuntimeError("libx264 made different stream headers for the segments and the output")
        for pts, rgb in unit.frames:
            self._add(encode(self._encoder, rgb, pts, self._encoding))
        self.written += len(unit.frames)
        self._last, self._last_kept = unit.rgb, unit.kept
        self.done = unit.index + 1
        self._report()
        if self.done % self._segments.chunk == 0:
            self._close_segment()

    def _close_segment(self) -> None:
        if self._encoder is None:
            return
        self._add(flush(self._encoder))
        retime = (self._retimer.history(self.done), self._last_kept) if self._retimer is not None else None
        self._segments.save(self._index, self._packets, self._last, retime)
        self._encoder, self._packets, self._index = None, [], self._index + 1

    def _report(self) -> None:
        if self._progress is not None:
            self._progress(self.done, self._total)

    def _add(self, packets: list[StoredPacket], store: bool = True) -> None:
        for packet in packets:
            self._muxer.mux(packet)
        if store:
            self._packets += packets
