"""What to do to each photo or frame: one options object, checked in one place, and the defaults it relies on.

The CLI, the web UI, the frame and video pipelines and the cluster build a `ProcessOptions` once and pass it
along; `Restorer.process` also takes its fields as keyword arguments, checked the same way.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

COLORIZE_MODES = ("auto", "always", "never")
DEFAULT_RENDER_SIZE = 512  # px, the colorize model's longest side when neither caller nor manifest gives one
PAPER_TEMPERATURE = 0.38  # the annealed-mean temperature of Zhang et al. 2016, training's default
TEMPERATURE_RANGE = (0.05, 1.0)  # what the exported models accept: vivid to the plain mean


@dataclass(frozen=True)
class ProcessOptions:
    """restore: run the restore model; colorize: "auto" (black-and-white, toned or hinted photos only),
    "always" or "never"; render_size: the colorize model's longest side; temperature: the colour decoding's;
    tile: restore tile size, 0 = whole image; strength: share of the restoration kept, 0 to 1; scratches: also
    inpaint the cracks, tears and scratches the restore model's damage map finds (off by default: the map also
    takes some thin bright lines, rails or polka dots, for scratches). None means the model's default
    (render_size, temperature) or the Restorer's (tile)."""

    restore: bool = True
    colorize: str = "auto"
    render_size: int | None = None
    temperature: float | None = None
    tile: int | None = None
    strength: float = 1.0
    scratches: bool = False

    def __post_init__(self) -> None:
        if self.colorize not in COLORIZE_MODES:
            raise ValueError(f"colorize must be one of {', '.join(COLORIZE_MODES)}, not {self.colorize!r}")
        if self.render_size is not None and self.render_size < 1:
            raise ValueError(f"render_size must be > 0, not {self.render_size}")
        if self.temperature is not None and not 0 < self.temperature < float("inf"):
            raise ValueError(f"temperature must be > 0, not {self.temperature}")
        if self.tile is not None and self.tile < 0:
            raise ValueError(f"tile must be >= 0, not {self.tile}")
        if not 0 <= self.strength <= 1:
            raise ValueError(f"strength must be between 0 and 1, not {self.strength}")
        if self.scratches and not self.restore:
            raise ValueError("filling scratches needs restoring")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ProcessOptions:
        """From a `revive` command's --no-restore, --colorize, --render-size, --temperature, --tile, --strength and
        --scratches."""
        return cls(
            restore=args.restore,
            colorize=args.colorize,
            render_size=args.render_size,
            temperature=args.temperature,
            tile=args.tile,
            strength=args.strength,
            scratches=args.scratches,
        )

    def changed(self, **changes: object) -> ProcessOptions:
        """A copy with `changes` (checked again)."""
        return dataclasses.replace(self, **changes)

    def check_work(self) -> None:
        """ValueError when these options leave nothing to do."""
        if not self.restore and self.colorize == "never":
            raise ValueError("no restoring and no colourizing leaves nothing to do")


def process_options(options: ProcessOptions | None, changes: dict[str, object]) -> ProcessOptions:
    """`options` (default: ProcessOptions()) with keyword `changes`, as Restorer.process takes them."""
    base = options or ProcessOptions()
    return base.changed(**changes) if changes else base
