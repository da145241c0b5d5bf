"""Films in pieces: scan a film once, encode pieces of it on workers, join them with the sound copied.

The driver decodes the film once (scan_film) for each frame's time, the scene cuts (when the temporal filter
runs) and whether a piece can seek straight to its first frame. Each piece (restore.cluster.pieces) is
encoded by a fresh H.264 encoder, configured as `revive video` configures its own, into the work folder as
piece_START-END.bin (its packets, restore.video_io.write_packets; written atomically, so a file there is a
finished piece). join() muxes the pieces in order, with the input's sound and other streams copied unchanged
(restore.video_io.Muxer), into a temporary file renamed to OUTPUT when complete.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.logging
import numpy as np

from restore.atomic import atomic_path
from restore.cluster.pieces import Piece, run_piece
from restore.errors import ReviveError, VideoError
from restore.pipeline import Restorer
from restore.resume import read_record, write_record
from restore.sequence import Frame, SequenceOptions, first_needed
from restore.temporal import TemporalSettings, gray, scene_change
from restore.video_io import (
    Encoding,
    Muxer,
    VideoInfo,
    _open,
    encode,
    flush,
    new_encoder,
    read_frames,
    read_packets,
    write_packets,
)

RECORD_NAME = "batch.json"
PLAN_NAME = "plan.json"


@dataclass(frozen=True)
class FilmPlan:
    """What the scan found: each frame's pts (as restore.video_io.read_frames gives them), the frames that
    start a new shot (only when looked for), and whether the demuxed packet times are those frame times, so
    that a piece can seek to its first frame instead of decoding the film from the start."""

    pts: list[int]
    cuts: list[int]
    seekable: bool


@dataclass(frozen=True)
class FilmJob:
    """What every piece of one film shares."""

    source: Path
    info: VideoInfo
    encoding: Encoding
    options: SequenceOptions
    folder: Path  # the work folder, seen at the same path by the driver and every worker
    seekable: bool


def scan_film(source: Path, info: VideoInfo, find_cuts: bool) -> FilmPlan:
    """Decode `source` once (VideoError if it cannot be); see FilmPlan. A cut is where the temporal filter
    (restore.temporal.ChromaStabilizer) would see one: the same test on the same frames."""
    threshold = TemporalSettings().cut_threshold
    pts: list[int] = []
    cuts: list[int] = []
    previous = None
    with _ffmpeg_errors() as errors:
        for frame in read_frames(source, info):
            pts.append(frame.data)
            if find_cuts:
                current = gray(frame.rgb)
                if previous is not None and scene_change(previous, current) > threshold:
                    cuts.append(frame.index)
                previous = current
    if errors and len(pts) < info.frames:
        message = errors[0][2].strip()
        raise VideoError(source, f"truncated or damaged: {len(pts)} of {info.frames} frames decode ({message})")
    if not pts:
        raise VideoError(source, "its video stream has no frames")
    with _open(source) as container:
        stream = container.streams.video[0]
        packet_times = sorted(packet.pts for packet in container.demux(stream) if packet.pts is not None)
    return FilmPlan(pts, cuts, packet_times == pts)


@contextlib.contextmanager
def _ffmpeg_errors() -> Iterator[list[tuple[int, str, str]]]:
    """What FFmpeg logs in the block from threads of its own, and every line even when it repeats the line
    before (PyAV drops those, from an earlier run too). read_frames finds a truncated film by the errors logged
    in its own thread; a decoder thread's, or a repeat's, would be missed, and the film taken as shorter."""
    skip = av.logging.get_skip_repeated()
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture(local=False) as errors:
            yield errors
    finally:
        av.logging.set_skip_repeated(skip)


def encode_piece(restorer: Restorer, job: FilmJob, piece: Piece, pts: Sequence[int]) -> bytes:
    """Process and encode `piece` into its file in the work folder; returns the encoder's stream headers
    (extradata), which must be the output stream's. `pts`: the times of frames first_needed(piece.warm,
    batch) to piece.end - 1."""
    encoder = new_encoder(job.encoding)
    packets = []

    def write(frame: Frame, rgb: np.ndarray) -> None:
        packets.extend(encode(encoder, rgb, frame.data, job.encoding))

    first = first_needed(piece.warm, job.options.batch)
    run_piece(restorer, job.options, decode_range(job, first, pts), piece, write)
    packets += flush(encoder)
    if len(packets) != piece.end - piece.start:  # one packet a frame: no B-frames, and x264 drops none
        raise VideoError(job.source, f"frames {piece.start}-{piece.end - 1} gave {len(packets)} packets")
    with atomic_path(piece_path(job.folder, piece)) as tmp:
        write_packets(tmp, packets)
    return bytes(encoder.extradata or b"")


def decode_range(job: FilmJob, first: int, pts: Sequence[int]) -> Iterator[Frame]:
    """Frames first to first + len(pts) - 1 as read_frames gives them: by seeking to the keyframe before the
    first one when the film allows it (and the seek lands there), else by decoding from the start."""
    end = first + len(pts)
    if job.seekable and first:
        frames = _seek(job, first, pts)
        try:
            head = next(frames, None)
        except VideoError:  # the seek went wrong before the first frame: decode from the start instead
            head = None
        if head is not None and head.index == first:
            yield head
            yield from frames
            return
        frames.close()
    frames = read_frames(job.source, job.info, first)
    try:
        for frame in frames:
            if frame.index >= end:
                return
            yield frame
    finally:
        frames.close()


def _seek(job: FilmJob, first: int, pts: Sequence[int]) -> Iterator[Frame]:
    index_of = {time: first + offset for offset, time in enumerate(pts)}
    expected = None
    with _open(job.source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            container.seek(pts[0], stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts < pts[0] and expected is None:
                    continue  # from the keyframe to the first frame wanted
                index = index_of.get(frame.pts)
                if index is None or (expected is not None and index != expected):
                    raise VideoError(job.source, f"seeking gave a frame at pts {frame.pts} out of order")
                rgb = np.rot90(frame.to_ndarray(format="rgb24"), job.info.quarter_turns)
                yield Frame(index, np.ascontiguousarray(rgb), frame.pts)
                if index == first + len(pts) - 1:
                    return
                expected = index + 1
        except av.error.FFmpegError as exc:
            raise VideoError(job.source, f"cannot decode it ({exc})") from None
    raise VideoError(job.source, f"it ends before frame {first + len(pts) - 1}")


def piece_path(folder: Path, piece: Piece) -> Path:
    """Where `piece`'s packets are stored."""
    return folder / f"piece_{piece.start:09d}-{piece.end:09d}.bin"


def join(job: FilmJob, pieces: Sequence[Piece], output: Path, container_format: str, extradata: bytes) -> None:
    """Mux the finished `pieces` (in order, covering the film) into `output`, the other streams copied."""
    with atomic_path(output, stable=True) as tmp, Muxer(tmp, container_format, job.source, job.encoding) as muxer:
        if muxer.extradata != extradata:
            raise ReviveError("libx264 made different stream headers for the pieces and the output")
        for piece in pieces:
            for packet in read_packets(piece_path(job.folder, piece)):
                muxer.mux(packet)


class WorkFolder:
    """A film job's work folder: its record (settings and input), the scan's plan and the finished pieces."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def resume(self, record: dict[str, Any]) -> FilmPlan | None:
        """The stored plan when `record` is the stored one; otherwise None, with the old pieces removed and
        `record` stored."""
        if read_record(self.folder / RECORD_NAME) == record:
            plan = read_record(self.folder / PLAN_NAME)
            if plan is not None:
                return FilmPlan(**plan)
        self._clear()
        write_record(self.folder / RECORD_NAME, record)
        return None

    def save_plan(self, plan: FilmPlan) -> None:
        """Store the scan's result for a rerun."""
        write_record(self.folder / PLAN_NAME, {"pts": plan.pts, "cuts": plan.cuts, "seekable": plan.seekable})

    def finished(self, piece: Piece) -> bool:
        """Whether `piece` was encoded (by this run or an earlier one with the same record)."""
        return piece_path(self.folder, piece).is_file()

    def remove(self) -> None:
        """Delete what this job wrote, and the folder unless something else is in it."""
        self._clear()
        for name in (RECORD_NAME, PLAN_NAME):
            (self.folder / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.folder.rmdir()

    def _clear(self) -> None:
        """Delete the pieces, the plan and what killed workers left half-written (restore.atomic)."""
        for path in [*self.folder.glob("piece_*.bin"), *self.folder.glob(".piece_*.tmp")]:
            path.unlink()
        (self.folder / PLAN_NAME).unlink(missing_ok=True)
