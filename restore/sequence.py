"""Run the models over a sequence of frames (a video, a frame folder): overlapped, batched, temporally stable.

Three threads overlap the work: one reads (decodes) frames, this one runs the models on batches of frames,
and one stabilizes the colour over time (restore.temporal) and writes (encodes) the results. Queues between
them hold at most two batches, so memory stays bounded however long the sequence is.

Resuming at frame `start` re-reads from frame first_needed(start, batch): batches stay aligned to multiples of
the batch size, so the models see the same batches as in an uninterrupted run, and frame start - 1 with the
output written for it re-seeds the temporal filter. The results are then the same as without the break.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

from restore.color import GRAY_CHROMA_THRESHOLD, chroma_level
from restore.options import ProcessOptions
from restore.pipeline import Restorer
from restore.temporal import ChromaStabilizer

T = TypeVar("T")
Progress = Callable[[int, "int | None"], None]  # progress(frames done, frames in all or None if unknown)
SAMPLE_FRAMES = 9  # frames looked at to decide whether a whole sequence needs colour
# Batching 4 frames per model run measured ~20% faster on a 2-core CPU at 256x192 and no faster at 432x320
# (README, "Video"): small frames leave the cores idle between layers.
AUTO_BATCH, AUTO_BATCH_PIXELS = 4, 100_000
_STOP = object()


@dataclass(frozen=True)
class SequenceOptions:
    """What to do to every frame of a sequence: ProcessOptions with `colorize` decided ("always" or "never"),
    the temporal filter switch and the number of frames per model run."""

    process: ProcessOptions = ProcessOptions(colorize="always")
    temporal: bool = True
    batch: int = 1

    @classmethod
    def build(cls, options: ProcessOptions, colorize: str, *, temporal: bool, batch: int) -> SequenceOptions:
        """From per-frame `options` and the sequence's colorize decision."""
        return cls(options.changed(colorize=colorize), temporal, batch)

    def __post_init__(self) -> None:
        if self.process.colorize not in ("always", "never"):
            raise ValueError(f"a sequence is colourized 'always' or 'never', not {self.process.colorize!r}")
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, not {self.batch}")

    @property
    def stabilized(self) -> bool:
        """Whether the temporal filter runs, carrying colour from frame to frame."""
        return self.temporal and self.process.colorize == "always"

    def record(self) -> dict[str, Any]:
        """The options as one flat dict, for a job's record (restore.resume.job_settings)."""
        return {**asdict(self.process), "temporal": self.temporal, "batch": self.batch}


@dataclass(frozen=True)
class Frame:
    """Input frame `index` (0-based) as HxWx3 uint8 RGB; `data` rides along to the writer (alpha, pts)."""

    index: int
    rgb: np.ndarray
    data: Any = None


def decide_colorize(mode: str, samples: Iterable[np.ndarray]) -> str:
    """Colourize a whole sequence "always" or "never"? "auto" takes the median colourfulness of sample
    frames spread over it (see color.chroma_level; `samples` is only read then), so that colour never
    switches on and off between shots and a black or colourless frame cannot decide for the rest."""
    if mode != "auto":
        return mode
    levels = [chroma_level(sample) for sample in samples]
    return "always" if not levels or float(np.median(levels)) < GRAY_CHROMA_THRESHOLD else "never"


def sample_indices(count: int, samples: int = SAMPLE_FRAMES) -> list[int]:
    """Up to `samples` frame indices spread evenly over a sequence of `count` frames."""
    return sorted({(2 * k + 1) * count // (2 * samples) for k in range(min(samples, count))})


def auto_batch(height: int, width: int) -> int:
    """Frames per model run when none is given: AUTO_BATCH for frames of up to AUTO_BATCH_PIXELS, else 1."""
    return AUTO_BATCH if height * width <= AUTO_BATCH_PIXELS else 1


def first_needed(start: int, batch: int) -> int:
    """The first frame to read when resuming at `start` (see the module docstring)."""
    return max(0, min(start - 1, start - start % batch))


def run_sequence(
    restorer: Restorer,
    options: SequenceOptions,
    frames: Iterable[Frame],
    write: Callable[[Frame, np.ndarray], None],
    *,
    start: int = 0,
    seed_output: np.ndarray | None = None,
    hints: Callable[[Frame], np.ndarray | None] | None = None,
) -> None:
    """Process `frames` (in order, from index first_needed(start, options.batch)) and call `write(frame, rgb)`
    in order for each frame from `start` on, from the writer thread. `seed_output` is the frame written for
    frame start - 1 by an earlier run. `hints`, called on every frame read (restore.hint_track.HintTracker; the
    frames may then start earlier), gives each frame's colour hints or None."""
    stabilizer = ChromaStabilizer() if options.stabilized else None
    model_start = start - start % options.batch

    def finish(item: tuple[Frame, np.ndarray]) -> None:
        frame, rgb = item
        write(frame, rgb if stabilizer is None else stabilizer(frame.rgb, rgb))

    with _Writer(finish, depth=2 * options.batch) as writer:

        def run(batch: list[Frame], maps: list[np.ndarray | None]) -> None:
            outputs = restorer.process_batch([frame.rgb for frame in batch], options.process, hints=maps)
            for frame, rgb in zip(batch, outputs, strict=True):
                if frame.index >= start:
                    writer.put((frame, rgb))

        batch: list[Frame] = []
        maps: list[np.ndarray | None] = []
        for frame in _prefetch(frames, depth=2 * options.batch):
            if frame.index == start - 1 and seed_output is not None and stabilizer is not None:
                stabilizer.seed(frame.rgb, seed_output)  # the writer is idle: nothing was queued yet
            hint = hints(frame) if hints is not None else None
            if frame.index >= model_start:
                batch.append(frame)
                maps.append(hint)
            if len(batch) == options.batch:
                run(batch, maps)
                batch, maps = [], []
        if batch:
            run(batch, maps)


class _Writer:
    """Calls `handle(item)` in a background thread for each put() item, in order. The first error stops the
    handling and is raised by the next put() or on leaving the `with` block, which waits for the queue."""

    def __init__(self, handle: Callable[[Any], None], depth: int) -> None:
        self._handle = handle
        self._queue: queue.Queue[Any] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="revive-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        if exc_type is None:
            self._raise()

    def put(self, item: Any) -> None:
        """Queue `item`; waits while the queue is full."""
        self._raise()
        self._queue.put(item)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if self._error is None:  # after an error, drain without handling, so put() never blocks
                try:
                    self._handle(item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def _prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    """Iterate `items` in a background thread, at most `depth` items ahead; its errors are raised here."""
    results: queue.Queue[Any] = queue.Queue(depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer(item):
                    return
            offer(_STOP)
        except BaseException as exc:  # re-raised in the consumer's thread
            offer(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's own cleanup (closing a file) runs in its thread

    thread = threading.Thread(target=produce, name="revive-reader", daemon=True)
    thread.start()
    try:
        while (item := results.get()) is not _STOP:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
