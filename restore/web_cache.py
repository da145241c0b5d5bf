"""The web UI's last few restored photos, so that colourizing one again (new hints, another vibrance) skips the
restore model, which takes most of the time."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from restore.options import ProcessOptions
from restore.pipeline import Restorer

KEEP = 2  # photos kept: each is its full-size RGB (120 MB for 40 megapixels)


class RestoredPhotos:
    """restore_image() results by upload path and settings, the KEEP most recently used; safe across threads."""

    def __init__(self, restorer: Restorer, keep: int = KEEP) -> None:
        self.restorer = restorer
        self.keep = keep
        self._photos: OrderedDict[tuple[str, int | None, float, bool, bool], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def restore(self, path: str, rgb: np.ndarray, options: ProcessOptions, *, keep_hues: bool = True) -> np.ndarray:
        """`rgb`, the photo uploaded at `path` (uploads never change), restored with these options' tile,
        strength and scratches (and keep_hues, as Restorer.restore_image)."""
        key = (path, options.tile, options.strength, options.scratches, keep_hues)
        with self._lock:
            if key in self._photos:
                self._photos.move_to_end(key)
                return self._photos[key]
        restored = self.restorer.restore_image(
            rgb, tile=options.tile, strength=options.strength, scratches=options.scratches, keep_hues=keep_hues
        )
        restored.flags.writeable = False  # shared by later jobs
        with self._lock:
            self._photos[key] = restored
            while len(self._photos) > self.keep:
                self._photos.popitem(last=False)
        return restored
