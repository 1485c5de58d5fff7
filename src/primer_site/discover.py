"""content/ → the sorted source paths of posts, and of the files beside them; series/ → series metadata files;
static/ → static files by output path. Editors' backups and other litter are no source: see IGNORED_NAMES."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import Problems

CONTENT_DIR = "content"
SERIES_DIR = "series"

# Names that are never a source, never published and never a reason to rebuild (the watcher uses this list too):
# editors' swap, backup, lock and temp files, unfinished downloads, and the file-system's own litter. Jekyll and
# Hugo skip the same kinds of name by default. Matched against each part of a path, so a folder named so is skipped
# with everything in it.
IGNORED_NAMES = (
    ".*",  # hidden: .x.swp, .#x (Emacs lock), .goutputstream-*, .DS_Store, .git, ...
    "*~",  # Emacs, Vim (backupext), nano, gedit backups
    "#*#",  # Emacs auto-save
    "*.swp",  # Vim swap files (.swp, .swo, .swx, ... are hidden, but Vim's `directory` option can unhide them)
    "*.swx",
    "*.swo",
    "*.tmp",
    "*.bak",
    "*.part",  # a browser's or rsync's unfinished download
    "*.crdownload",
    "4913",  # Vim checks that it may write a folder by creating this file
    "*___jb_tmp___",  # JetBrains IDEs' safe write: NAME___jb_tmp___ then NAME___jb_old___
    "*___jb_old___",
    "Thumbs.db",  # Windows Explorer's thumbnail cache
    "desktop.ini",
)


# the patterns as one expression, as fnmatchcase reads each: this runs for every file on every preview rebuild
_IGNORED = re.compile("|".join(fnmatch.translate(pattern) for pattern in IGNORED_NAMES))


def is_ignored_name(name: str) -> bool:
    """Whether a file or folder name (one part of a path) is an editor's or the system's litter: IGNORED_NAMES."""
    return _IGNORED.match(name) is not None


def is_ignored_path(relative: str) -> bool:
    """Whether a "/"-separated path (relative to the site folder) has an ignored name in any of its parts."""
    return any(is_ignored_name(part) for part in relative.split("/"))


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
    paths go to `others`, if given. Ignored names (is_ignored_name) are left out, folders with all they hold."""
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
        dirnames[:] = sorted(d for d in dirnames if not is_ignored_name(d))
        # plain strings, not Path objects: this runs for every file on every rebuild of the preview
        names = [name for name in filenames if not is_ignored_name(name)]
        found.extend(f"{relative}/{name}" for name in names if name.endswith(".md"))
        if others is not None:
            others.extend(f"{relative}/{name}" for name in names if not name.endswith(".md"))
    return tuple(sorted(found))


def discover_static(folders: list[Path]) -> dict[str, Path]:
    """Static files by output path; a later folder (the site's) overrides an earlier one (the theme's).

    A folder that is a symlink is followed, once: a loop is an error, not a walk without end. Ignored names
    (is_ignored_name) are left out, folders with all they hold."""
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
            dirnames[:] = sorted(d for d in dirnames if not is_ignored_name(d))
            for name in sorted(filenames):
                if not is_ignored_name(name):
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
