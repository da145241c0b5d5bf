"""PyAV plumbing for restore.video: read the input video, encode H.264, and write the output file.

Frames are decoded to RGB upright: a rotation in the display matrix is applied to the pixels, and the output
has none. Output video is H.264 (libx264) in yuv420p with BT.709 colour tags, which browsers play; yuv420p
needs even sizes, so an odd width or height is padded by one pixel (the edge repeated). B-frames are off so
that decode order is display order: separately encoded segments then join into one stream exactly.
The input's audio (and subtitle and data streams, where the output container takes them) is copied packet by
packet, unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from restore.errors import VideoError, first_line
from restore.sequence import Frame

log = logging.getLogger(__name__)

PIXEL_FORMAT = "yuv420p"
BT709 = 1  # the H.264 VUI code for BT.709 primaries, transfer and matrix
# A stored packet: pts, dts, duration (in the video's time base), keyframe flag, payload.
StoredPacket = tuple[int, int, int, bool, bytes]
_PACKET_HEADER = struct.Struct("<qqq?I")


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about an input video."""

    width: int  # upright frame size
    height: int
    quarter_turns: int  # counter-clockwise quarter turns that make the stored frames upright
    time_base: Fraction
    rate: Fraction | None  # average frame rate
    frames: int  # frame count from the container, 0 when it does not say
    duration: float | None  # seconds
    start_pts: int = 0  # the first frame's pts
    sound: bool = False  # it has an audio stream (the output gets it, copied)

    @property
    def expected_frames(self) -> int | None:
        """The frame count, else an estimate from the duration and rate, else None."""
        if self.frames or not (self.duration and self.rate):
            return self.frames or None
        return round(self.duration * self.rate)


@dataclass(frozen=True)
class Encoding:
    """H.264 settings of the output; width and height are even."""

    width: int
    height: int
    time_base: Fraction
    rate: Fraction | None
    crf: int = 18


def probe(path: Path) -> VideoInfo:
    """Open `path`, check it has a decodable video stream and describe it. VideoError if it cannot be used."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise VideoError(path, f"cannot decode its first frame ({_reason(exc)})") from None
        if first is None:
            raise VideoError(path, "its video stream has no frames")
        turns = round((first.rotation or 0) / 90) % 4
        width, height = (first.height, first.width) if turns % 2 else (first.width, first.height)
        if stream.duration is not None:
            duration: float | None = float(stream.duration * stream.time_base)
        else:
            duration = container.duration / av.time_base if container.duration else None
        start = first.pts if first.pts is not None else 0
        sound = bool(container.streams.audio)
        return VideoInfo(
            width, height, turns, stream.time_base, stream.average_rate, stream.frames, duration, start, sound
        )


def read_frames(path: Path, info: VideoInfo, first: int = 0) -> Iterator[Frame]:
    """Decode every frame as upright RGB with its pts, yielding frames `first` onwards.

    The decoder is flushed at the end, so no frame is lost. A container that promises more frames than
    decode, with an error logged by FFmpeg, is reported as truncated (VideoError).
    """
    with _open(path) as container, _decoder_errors() as errors:  # the level is back before the container closes
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        previous_pts = None
        index = -1
        for index, frame in enumerate(_decode(container, stream, path)):
            pts = _pts(frame, index, info, previous_pts)
            previous_pts = pts
            if index < first:
                continue
            rgb = np.rot90(frame.to_ndarray(format="rgb24"), info.quarter_turns)
            if rgb.shape[:2] != (info.height, info.width):
                raise VideoError(path, f"the frame size changes at frame {index}; that is not supported")
            yield Frame(index, np.ascontiguousarray(rgb), pts)
    if errors and index + 1 < info.frames:
        message = errors[0][2].strip()
        raise VideoError(path, f"truncated or damaged: {index + 1} of {info.frames} frames decode ({message})")


@contextlib.contextmanager
def _decoder_errors() -> Iterator[list[tuple[int, str, str]]]:
    """The errors FFmpeg logs in the block, with PyAV's log level raised to ERROR for it only.

    The level must be back (normally at None: no Python callback) before the container closes. Closing frees
    the decoder, which joins its frame threads while holding the GIL; at ERROR a frame thread still decoding
    logs through PyAV's Python callback, which waits for the GIL: a deadlock (PyAV-Org/PyAV#751, #909). It
    hung `revive batch` in CI when a film's first piece stopped reading before the film's end.
    """
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture() as errors:
            yield errors
    finally:
        av.logging.set_level(level)


def sample_frames(path: Path, info: VideoInfo, count: int) -> Iterator[np.ndarray]:
    """Up to `count` RGB frames spread over the video (by seeking), for decisions about the whole video."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        for k in range(count if info.duration else 1):
            offset = round(info.duration * (2 * k + 1) / (2 * count) * av.time_base) if info.duration else 0
            try:
                container.seek(offset)
                frame = next(container.decode(stream), None)
            except av.error.FFmpegError:
                continue  # a file that cannot seek still gets checked, frame by frame, when decoded
            if frame is not None:
                yield frame.to_ndarray(format="rgb24")


def new_encoder(encoding: Encoding) -> av.CodecContext:
    """An open libx264 encoder for one segment, configured exactly like the output stream."""
    context = av.CodecContext.create("libx264", "w")
    _configure(context, encoding)
    context.flags |= av.codec.context.Flags.global_header  # parameter sets in extradata, as in the output
    context.open()
    return context


def encode(encoder: av.CodecContext, rgb: np.ndarray, pts: int, encoding: Encoding) -> list[StoredPacket]:
    """Encode one RGB frame (padded to the even size) at `pts`; returns the packets the encoder emits."""
    pad_y, pad_x = encoding.height - rgb.shape[0], encoding.width - rgb.shape[1]
    if pad_y or pad_x:
        rgb = cv2.copyMakeBorder(rgb, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format=PIXEL_FORMAT, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    frame.pts, frame.time_base = pts, encoding.time_base
    return [_stored(packet) for packet in encoder.encode(frame)]


def flush(encoder: av.CodecContext) -> list[StoredPacket]:
    """The packets an encoder still holds."""
    return [_stored(packet) for packet in encoder.encode(None)]


def write_packets(path: Path, packets: list[StoredPacket]) -> None:
    """Store packets in a file (header + payload each); see read_packets."""
    with open(path, "wb") as fh:
        for pts, dts, duration, keyframe, data in packets:
            fh.write(_PACKET_HEADER.pack(pts, dts, duration, keyframe, len(data)))
            fh.write(data)


def read_packets(path: Path) -> list[StoredPacket]:
    """The packets write_packets stored."""
    packets = []
    with open(path, "rb") as fh:
        while header := fh.read(_PACKET_HEADER.size):
            pts, dts, duration, keyframe, size = _PACKET_HEADER.unpack(header)
            packets.append((pts, dts, duration, keyframe, fh.read(size)))
    return packets


class Muxer:
    """The output file: an H.264 stream fed with encoded packets, and the input's other streams copied."""

    def __init__(self, path: Path, container_format: str, source: Path, encoding: Encoding) -> None:
        self._encoding = encoding
        self._templates: dict[int, av.stream.Stream] = {}  # input stream index -> output stream
        self._input = _open(source)
        options = {"movflags": "+faststart"} if container_format in ("mp4", "mov") else {}
        try:
            self._output = av.open(str(path), "w", format=container_format, options=options)
        except BaseException:
            self._input.close()
            raise
        try:
            self._video = self._output.add_stream("libx264", rate=encoding.rate)
            _configure(self._video.codec_context, encoding)
            self._video.time_base = encoding.time_base
            copies = self._copy_streams(source)
            self._pending = (p for p in self._input.demux(*copies) if p.dts is not None) if copies else iter(())
            self._next = next(self._pending, None)
            self._output.start_encoding()
        except BaseException:
            self.close()
            raise
        self.extradata = bytes(self._video.codec_context.extradata or b"")

    def mux(self, packet: StoredPacket) -> None:
        """Write one video packet, after the copied packets that come before it."""
        pts, dts, duration, keyframe, data = packet
        self._copy_until(float(dts * self._encoding.time_base))
        out = av.Packet(data)
        out.pts, out.dts, out.duration, out.time_base = pts, dts, duration, self._encoding.time_base
        out.is_keyframe = keyframe
        out.stream = self._video
        self._output.mux(out)

    def __enter__(self) -> Muxer:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        """Complete the file (the rest of the copied streams, the index) unless the block failed; close."""
        try:
            if exc_type is None:
                self._copy_until(float("inf"))
        finally:
            self.close()

    def close(self) -> None:
        """Close both files (idempotent)."""
        self._output.close()
        self._input.close()

    def _copy_streams(self, source: Path) -> list[av.stream.Stream]:
        """Output streams for the input's audio, subtitle and data streams that the container can hold."""
        copies = []
        for stream in self._input.streams:
            if stream.type not in ("audio", "subtitle", "data"):
                continue
            codec = stream.codec_context.name if stream.codec_context is not None else None
            try:
                if codec is not None and codec not in self._output.supported_codecs:
                    raise ValueError(f"{codec} cannot be stored in a {self._output.format.name} file")
                self._templates[stream.index] = self._output.add_stream_from_template(stream)
            except (ValueError, av.error.FFmpegError) as exc:
                if stream.type == "audio":
                    raise VideoError(source, f"its sound: {_reason(exc)}; write a .mkv file instead") from None
                log.warning("%s: %s stream #%d left out (%s)", source, stream.type, stream.index, _reason(exc))
                continue
            copies.append(stream)
        return copies

    def _copy_until(self, seconds: float) -> None:
        while self._next is not None and float(self._next.dts * self._next.time_base) <= seconds:
            packet, self._next = self._next, next(self._pending, None)
            packet.stream = self._templates[packet.stream.index]
            self._output.mux(packet)


def _configure(context: av.CodecContext, encoding: Encoding) -> None:
    context.width, context.height, context.pix_fmt = encoding.width, encoding.height, PIXEL_FORMAT
    context.time_base = encoding.time_base
    if encoding.rate:
        context.framerate = encoding.rate
    context.colorspace = context.color_primaries = context.color_trc = BT709
    context.color_range = ColorRange.MPEG
    context.options = {"crf": str(encoding.crf), "preset": "medium", "bf": "0"}


def _reason(exc: Exception) -> str:
    """FFmpeg's message without the errno and file name that PyAV adds."""
    return getattr(exc, "strerror", None) or first_line(exc)


def _stored(packet: av.Packet) -> StoredPacket:
    return (packet.pts, packet.dts, packet.duration or 0, packet.is_keyframe, bytes(packet))


def _open_leniently(path: Path) -> av.container.InputContainer:
    """Open without failing on metadata that is not UTF-8 (PyAV <= 18 needs `metadata_errors`; PyAV 19, for
    Python 3.12+, no longer takes the argument)."""
    try:
        return av.open(str(path), metadata_errors="ignore")
    except TypeError:
        return av.open(str(path))


def _open(path: Path) -> av.container.InputContainer:
    try:
        return _open_leniently(path)
    except OSError:
        raise  # missing file, permission: reported by the caller as for photos
    except av.error.FFmpegError as exc:
        if path.stat().st_size == 0:
            raise VideoError(path, "empty file (0 bytes)") from None
        raise VideoError(path, f"cannot read it ({_reason(exc)}); it may be truncated or not a video") from None


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        kinds = ", ".join(sorted({stream.type for stream in container.streams})) or "nothing"
        raise VideoError(path, f"no video stream (it has {kinds})")
    return container.streams.video[0]


def _decode(container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path) -> Iterator:
    try:
        yield from container.decode(stream)
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"cannot decode it ({_reason(exc)}); it may be truncated or damaged") from None


def _pts(frame: av.VideoFrame, index: int, info: VideoInfo, previous: int | None) -> int:
    """The frame's pts; made up from the frame rate when missing, nudged forward when not increasing."""
    pts = frame.pts
    if pts is None:
        pts = round(index / (info.rate or 25) / info.time_base)
    if previous is not None and pts <= previous:
        pts = previous + 1
    return pts
