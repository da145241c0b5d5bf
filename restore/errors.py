"""Exceptions for the failures a user can cause or fix; anything else is a bug."""

from __future__ import annotations


class ReviveError(Exception):
    """Base class of the errors Revive reports as one line, without a traceback."""


class ImageError(ReviveError):
    """An input image that cannot be read: missing decoder, truncated, too large, not an image."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        """Pickle by (path, reason), so that the error can travel from a worker process to the driver."""
        return type(self), (self.path, self.reason)


class VideoError(ImageError):
    """An input video that cannot be used: no video stream, truncated, undecodable, unsupported track."""


class HintsError(ImageError):
    """A colour-hints file that cannot be used: unreadable, malformed, or a point outside the photo."""


class WeightsError(ReviveError):
    """Missing, malformed or corrupt model weights or manifest."""


class DeviceError(ReviveError):
    """The requested execution device cannot be used."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
