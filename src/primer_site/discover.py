"""content/ → the sorted source paths of posts, and of the files beside them; series/ → series metadata files;
static/ → static files by output path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import Problems

CONTENT_DIR = "content"
SERIES_DIR = "series"


@dataclass(frozen=True)
class Sources:
    posts: tuple[str, ...]  # paths relative to the site folder, "/"-separated, sorted
    series: tuple[str, ...]
    assets: tuple[str, ...] = ()  # every other file under content/: published beside the posts


def discover_sources(source: Path, problems: Problems) -> Sources:
    others: list[str] = []
    posts = _markdown_files(source, CONTENT_DIR, problems, others)
    return Sources(posts=posts, series=_markdown_files(source, SERIES_DIR, problems), assets=tuple(sorted(others)))


def _markdown_files(source: Path, folder: str, problems: Problems, others: list[str] | None = None) -> tuple[str, ...]:
    """Every .md file below `folder`, following symlinks once (loops are reported, not walked); the other files'
    paths go to `others`, if given. Names starting with "." are left out."""
    root = source / folder
    if not root.is_dir():
        return ()
    found: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()

    def on_error(error: OSError) -> None:
        where = Path(error.filename).relative_to(source) if error.filename else folder
        problems.error(f"cannot read folder: {error.strerror}", where.as_posix())

    base = str(source)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        stat = os.stat(dirpath)
        relative = os.path.relpath(dirpath, base).replace(os.sep, "/")
        if (stat.st_dev, stat.st_ino) in seen_dirs:
            problems.error("symlink loop: this folder is already part of the site", relative)
            dirnames[:] = []
            continue
        seen_dirs.add((stat.st_dev, stat.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        # plain strings, not Path objects: this runs for every file on every rebuild of the preview
        found.extend(f"{relative}/{name}" for name in filenames if name.endswith(".md") and not name.startswith("."))
        if others is not None:
            others.extend(
                f"{relative}/{name}" for name in filenames if not name.endswith(".md") and not name.startswith(".")
            )
    return tuple(sorted(found))


def discover_static(folders: list[Path]) -> dict[str, Path]:
    """Static files by output path; a later folder (the site's) overrides an earlier one (the theme's).

    A folder that is a symlink is followed, once: a loop is an error, not a walk without end."""
    found: dict[str, Path] = {}
    problems = Problems()
    for folder in folders:
        seen_dirs: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            stat = os.stat(dirpath)
            if (stat.st_dev, stat.st_ino) in seen_dirs:
                where = Path(dirpath).relative_to(folder).as_posix()
                problems.error("symlink loop: this folder is already part of the site", f"{folder.name}/{where}")
                dirnames[:] = []
                continue
            seen_dirs.add((stat.st_dev, stat.st_ino))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith("."):
                    path = Path(dirpath, name)
                    relative = path.relative_to(folder).as_posix()
                    if not path.is_file():  # copying a FIFO would wait for ever, /dev/zero never end
                        problems.error(
                            "not a regular file (a FIFO, a device, a socket or a broken link)",
                            f"{folder.name}/{relative}",
                        )
                    found[relative] = path
    problems.raise_if_errors()
    return found
