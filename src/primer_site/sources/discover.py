"""content/ → the sorted source paths of posts, and of the files beside them; series/ → series metadata files;
static/ → static files by output path. Editors' backups and other litter are no source: see IGNORED_NAMES."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from primer_site.errors import Problems
from primer_site.layout import CONTENT_DIR, SERIES_DIR

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


# Never published, even under follow_links_outside: the kernel's views of processes, devices and itself
# (/proc/self/environ is the build's own environment, a CI's tokens included).
NEVER_PUBLISHED = ("/proc", "/sys", "/dev")
_UNDER_NEVER_PUBLISHED = tuple(folder + "/" for folder in NEVER_PUBLISHED)  # one startswith for every source


def link_problem(path: str, site_real: str, allow_outside: bool) -> str | None:
    """Why the file at `path` (absolute, perhaps reached through symbolic links) may not be read into the site,
    or None. `site_real`: the site folder's real path (os.path.realpath); `allow_outside`: site.yaml's
    follow_links_outside. A file whose real path is under /proc, /sys or /dev, or that cannot be read, never is."""
    try:
        real = os.path.realpath(path)
    except OSError as error:  # a link into /proc/1/cwd: EACCES
        return f"cannot be read ({error.strerror}): a file the build cannot read is never published"
    return _real_path_problem(real, site_real, allow_outside)


def _real_path_problem(real: str, site_real: str, allow_outside: bool) -> str | None:
    """link_problem for a file whose real path (os.path.realpath) is `real`."""
    if real in NEVER_PUBLISHED or real.startswith(_UNDER_NEVER_PUBLISHED):
        return f"links to {real}: a file under /proc, /sys or /dev is never published (remove the link)"
    if real == site_real or site_real.startswith(real.rstrip("/") + "/"):
        return f"is a symbolic link to {real}, which holds the site: a symlink loop (remove the link)"
    if not allow_outside and not real.startswith(site_real + "/"):
        return (
            f"is a symbolic link to {real}, outside the site folder: nothing outside the site is published unless "
            "site.yaml says `follow_links_outside: true` (or put the file itself here)"
        )
    # access first: one call for the usual readable file
    if not os.access(real, os.R_OK) and os.path.exists(real):  # a broken link: "not a regular file", elsewhere
        return "cannot be read (permission denied): a file the build cannot read is never published"
    return None


def linked_within(source: Path, sources: Sources, allow_outside: bool, problems: Problems) -> Sources:
    """`sources` without the files that link outside the site folder (or to /proc, /sys, /dev, or that cannot be
    read: link_problem), each an error at its path."""
    site_real = os.path.realpath(source)
    # the real path of each folder, resolved once: a file that is no link is at its folder's real path, under its
    # own name (this runs for every file on every rebuild of the preview; realpath costs a stat per path part)
    real_folders: dict[str, str] = {}

    def problem_of(path: str) -> str | None:
        full = os.path.join(source, path)
        if os.path.islink(full):
            return link_problem(full, site_real, allow_outside)
        folder, _, name = full.rpartition("/")
        real_folder = real_folders.get(folder)
        if real_folder is None:
            try:
                real_folder = real_folders[folder] = os.path.realpath(folder)
            except OSError:  # a folder reached through a link into /proc/1/cwd: as link_problem says it
                return link_problem(full, site_real, allow_outside)
        return _real_path_problem(f"{real_folder.rstrip('/')}/{name}", site_real, allow_outside)

    def kept(paths: tuple[str, ...]) -> tuple[str, ...]:
        good = []
        for path in paths:
            problem = problem_of(path)
            if problem is None:
                good.append(path)
            else:
                problems.error(problem, path)
        return tuple(good)

    return Sources(posts=kept(sources.posts), series=kept(sources.series), assets=kept(sources.assets))


def discover_sources(source: Path, problems: Problems, allow_outside: bool = False) -> Sources:
    """The site's sources. A folder linked out of the site (unless `allow_outside`), or to /proc, /sys or /dev, is
    an error and is not walked (link_problem): `ln -s / content/root` must not walk the whole file system."""
    others: list[str] = []
    posts = _markdown_files(source, CONTENT_DIR, problems, allow_outside, others)
    series = _markdown_files(source, SERIES_DIR, problems, allow_outside)
    return Sources(posts=posts, series=series, assets=tuple(sorted(others)))


def _markdown_files(
    source: Path, folder: str, problems: Problems, allow_outside: bool, others: list[str] | None = None
) -> tuple[str, ...]:
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
    site_real = os.path.realpath(source)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=on_error):
        stat = os.stat(dirpath)
        relative = os.path.relpath(dirpath, base).replace(os.sep, "/")
        if (stat.st_dev, stat.st_ino) in seen_dirs:
            problems.error("symlink loop: this folder is already part of the site", relative)
            dirnames[:] = []
            continue
        seen_dirs.add((stat.st_dev, stat.st_ino))
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not is_ignored_name(d) and _walkable(dirpath, d, f"{relative}/{d}", site_real, allow_outside, problems)
        )
        # plain strings, not Path objects: this runs for every file on every rebuild of the preview
        names = [name for name in filenames if not is_ignored_name(name)]
        found.extend(f"{relative}/{name}" for name in names if name.endswith(".md"))
        if others is not None:
            others.extend(f"{relative}/{name}" for name in names if not name.endswith(".md"))
    return tuple(sorted(found))


def _walkable(dirpath: str, name: str, shown: str, site_real: str, allow_outside: bool, problems: Problems) -> bool:
    """Whether the folder `name` in `dirpath` may be walked: not a link that link_problem refuses (reported at
    `shown`)."""
    full = os.path.join(dirpath, name)
    if not os.path.islink(full):
        return True
    problem = link_problem(full, site_real, allow_outside)
    if problem is not None:
        problems.error(problem, shown)
    return problem is None


def discover_static(folders: list[Path], site: Path | None = None, allow_outside: bool = False) -> dict[str, Path]:
    """Static files by output path; a later folder (the site's) overrides an earlier one (the theme's).

    A file in a folder under `site` (the site folder) that links outside it is an error unless `allow_outside`
    (link_problem); the theme's folder is the theme's own, outside every site, and trusted.

    A folder that is a symlink is followed, once: a loop is an error, not a walk without end. Ignored names
    (is_ignored_name) are left out, folders with all they hold."""
    found: dict[str, Path] = {}
    problems = Problems()
    site_real = os.path.realpath(site) if site is not None else None
    for folder in folders:
        inside = site_real is not None and os.path.abspath(folder).startswith(os.path.abspath(site) + os.sep)
        seen_dirs: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            stat = os.stat(dirpath)
            if (stat.st_dev, stat.st_ino) in seen_dirs:
                where = Path(dirpath).relative_to(folder).as_posix()
                problems.error("symlink loop: this folder is already part of the site", f"{folder.name}/{where}")
                dirnames[:] = []
                continue
            seen_dirs.add((stat.st_dev, stat.st_ino))
            where = Path(dirpath).relative_to(folder).as_posix()
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not is_ignored_name(d)
                and (
                    not inside
                    or _walkable(
                        dirpath,
                        d,
                        f"{folder.name}/{where}/{d}".replace("/./", "/"),
                        site_real or "",
                        allow_outside,
                        problems,
                    )
                )
            )
            for name in sorted(filenames):
                if not is_ignored_name(name):
                    path = Path(dirpath, name)
                    relative = path.relative_to(folder).as_posix()
                    if not path.is_file():  # copying a FIFO would wait for ever, /dev/zero never end
                        problems.error(
                            "not a regular file (a FIFO, a device, a socket or a broken link)",
                            f"{folder.name}/{relative}",
                        )
                    elif inside and (problem := link_problem(str(path), site_real or "", allow_outside)):
                        problems.error(problem, f"{folder.name}/{relative}")
                        continue
                    found[relative] = path
    problems.raise_if_errors()
    return found
