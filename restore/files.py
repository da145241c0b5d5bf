"""Turn command-line inputs (files and folders) into (source, output) pairs without clashes.

Naming rule: a file argument becomes OUTDIR/<stem>.png; a file found in a folder argument keeps its path
inside that folder (OUTDIR/<sub/folders>/<stem>.png). Inputs that would still share an output name
keep their folders relative to their common parent instead (OUTDIR/a/x.png, OUTDIR/b/x.png), and
same-named files of different types keep their extension (x.jpg.png, x.tif.png). No output may be an
input file.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from restore.io_image import IMAGE_EXTENSIONS

# (path as given, one-line reason)
Problem = tuple[str, str]


@dataclass(frozen=True)
class Job:
    """One image to process and the file its result goes to."""

    source: Path
    output: Path


def plan_jobs(
    inputs: Sequence[str | os.PathLike[str]], outdir: Path, suffix: str = ".png"
) -> tuple[list[Job], list[Problem]]:
    """Expand `inputs` (folders recursively, images only, natural order) and name their outputs."""
    found, problems = _find_sources(inputs, outdir)
    jobs: list[Job] = []
    taken: dict[str, Path] = {}
    input_ids = {_identity(source) for source, _ in found}
    input_paths = {_absolute(source) for source, _ in found}
    for source, output in _name_outputs(found, outdir, suffix):
        key = _absolute(output)
        if key in input_paths or (output.exists() and _identity(output) in input_ids):
            problems.append((str(source), f"refusing to write {output}: that is an input file"))
        elif key in taken:
            problems.append((str(source), f"{output} is also the output of {taken[key]}; process it separately"))
        else:
            taken[key] = source
            jobs.append(Job(source, output))
    return jobs, problems


def natural_key(text: str) -> list[str | int]:
    """Sort key that orders "img2" before "img10"."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", text)]


def _find_sources(
    inputs: Sequence[str | os.PathLike[str]], outdir: Path
) -> tuple[list[tuple[Path, Path]], list[Problem]]:
    """(source, path relative to its argument) for every image, first occurrence wins."""
    found: list[tuple[Path, Path]] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for arg in inputs:
        path = Path(arg)
        if path.is_dir():
            images = sorted(_walk_images(path, outdir, problems), key=lambda p: natural_key(p.as_posix()))
            if not images:
                problems.append((str(path), "no images found in this folder"))
            pairs = [(path / rel, rel) for rel in images]
        elif path.exists():
            pairs = [(path, Path(path.name))]
        else:
            problems.append((str(path), "No such file or directory"))
            pairs = []
        for source, rel in pairs:
            if _absolute(source) not in seen:
                seen.add(_absolute(source))
                found.append((source, rel))
    return found, problems


def _walk_images(folder: Path, outdir: Path, problems: list[Problem]) -> Iterable[Path]:
    """Image files under `folder` as relative paths, skipping hidden entries and `outdir` itself."""
    skip = _absolute(outdir)

    def on_error(exc: OSError) -> None:
        problems.append((str(exc.filename), exc.strerror or str(exc)))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = [d for d in dirs if not d.startswith(".") and _absolute(Path(root, d)) != skip]
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                yield Path(root, name).relative_to(folder)


def _name_outputs(found: list[tuple[Path, Path]], outdir: Path, suffix: str) -> list[tuple[Path, Path]]:
    groups: dict[Path, list[Path]] = defaultdict(list)
    for source, rel in found:
        groups[outdir / rel.with_suffix(suffix)].append(source)
    named = {}
    for output, sources in groups.items():
        if len(sources) == 1:
            named[sources[0]] = output
            continue
        common = Path(os.path.commonpath([_absolute(s.parent) for s in sources]))
        rels = [Path(_absolute(s)).relative_to(common) for s in sources]
        stems_clash = len({rel.with_suffix("") for rel in rels}) < len(rels)
        for source, rel in zip(sources, rels, strict=True):
            named[source] = outdir / (rel.parent / (rel.name + suffix) if stems_clash else rel.with_suffix(suffix))
    return [(source, named[source]) for source, _ in found]


def _absolute(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _identity(path: Path) -> tuple[int, int] | str:
    """(device, inode) of an existing file, so hard links and case-insensitive names compare equal."""
    try:
        stat = path.stat()
    except OSError:
        return _absolute(path)
    return (stat.st_dev, stat.st_ino)
