"""content/ → the sorted source paths of posts, and of the files beside them; series/ → series metadata files;
static/ → static files by output path. Editors' backups and other litter are no source: see IGNORED_NAMES."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from primer_site.errors import Problems
from primer_site.layout import CONTENT_DIR, SERIES_DIR
from primer_site.store import Stamp, is_racy, stamp_from

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


def _split_patterns(patterns: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...], tuple[str, ...], tuple]:
    """IGNORED_NAMES as fnmatchcase reads them, in shapes a name is checked against in a call or two, not a regular
    expression's 2 µs (this runs for every file on every preview rebuild): (exact names, prefixes of "X*",
    suffixes of "*X", (prefix, suffix) of "X*Y"). A pattern of another shape is refused here, at import."""
    exact, prefixes, suffixes, both = set(), [], [], []
    for pattern in patterns:
        if any(c in pattern for c in "?[]") or pattern.count("*") > 1:
            raise ValueError(f"IGNORED_NAMES: {pattern!r} is not a name, X*, *X or X*Y")
        head, star, tail = pattern.partition("*")
        if not star:
            exact.add(pattern)
        elif not tail:
            prefixes.append(head)
        elif not head:
            suffixes.append(tail)
        else:
            both.append((head, tail))
    return frozenset(exact), tuple(prefixes), tuple(suffixes), tuple(both)


_EXACT, _PREFIXES, _SUFFIXES, _BOTH = _split_patterns(IGNORED_NAMES)
_BOTH_HEADS = tuple(head for head, _ in _BOTH)


def is_ignored_name(name: str) -> bool:
    """Whether a file or folder name (one part of a path) is an editor's or the system's litter: IGNORED_NAMES,
    matched as fnmatch.fnmatchcase matches them."""
    return (
        name in _EXACT
        or name.startswith(_PREFIXES)
        or name.endswith(_SUFFIXES)
        or (
            name.startswith(_BOTH_HEADS)
            and any(len(name) >= len(h) + len(t) and name.startswith(h) and name.endswith(t) for h, t in _BOTH)
        )
    )


def is_ignored_path(relative: str) -> bool:
    """Whether a "/"-separated path (relative to the site folder) has an ignored name in any of its parts."""
    return any(is_ignored_name(part) for part in relative.split("/"))


@dataclass(frozen=True)
class Look:
    """What the walk saw of one file, from its folder's listing (os.scandir): whether it is a symbolic link
    itself (free: the listing says), and its stamp following links (one stat; None: it cannot be stat'ed), and
    whether that stat found a regular file (the document cache reads the file at that stamp: no second stat)."""

    link: bool
    stamp: Stamp | None  # store.stamp_of's shape, taken as the walk passed
    regular: bool = False


@dataclass(frozen=True)
class Sources:
    """The files of a site folder, by kind."""

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


def _real_path_problem(real: str, site_real: str, allow_outside: bool, readable: bool = False) -> str | None:
    """link_problem for a file whose real path (os.path.realpath) is `real`. `readable`: known to be readable (it
    is not asked again)."""
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
    if (
        not readable and not os.access(real, os.R_OK) and os.path.exists(real)
    ):  # a broken link: "not a regular file", elsewhere
        return "cannot be read (permission denied): a file the build cannot read is never published"
    return None


def linked_within(
    source: Path,
    sources: Sources,
    allow_outside: bool,
    problems: Problems,
    looks: dict[str, Look] | None = None,
    readable: dict[str, Stamp] | None = None,
    taken: float = 0.0,
) -> Sources:
    """`sources` without the files that link outside the site folder (or to /proc, /sys, /dev, or that cannot be
    read: link_problem), each an error at its path.

    `looks`: what the walk saw of each file (discover_sources), so that a file is not stat'ed again to learn
    whether it is a link. `readable`: the files that are no link found readable at a stamp, kept by the caller
    from one build to the next and updated here: a file whose stamp is still that one is not asked again (its
    mode, owner or ACL changing changes its change time), unless the stamp was too recent to trust when it was
    recorded (store.is_racy against `taken`, seconds since the epoch before the walk: none is recorded then)."""
    site_real = os.path.realpath(source)
    # the real path of each folder, resolved once: a file that is no link is at its folder's real path, under its
    # own name (this runs for every file on every rebuild of the preview; realpath costs a stat per path part)
    real_folders: dict[str, str] = {}

    base = os.fspath(source)

    def problem_of(path: str) -> str | None:
        full = f"{base}/{path}"
        look = looks.get(path) if looks is not None else None
        if look.link if look is not None else os.path.islink(full):
            return link_problem(full, site_real, allow_outside)
        folder, _, name = path.rpartition("/")
        real_folder = real_folders.get(folder)
        if real_folder is None:
            try:
                real_folder = real_folders[folder] = os.path.realpath(f"{base}/{folder}")
            except OSError:  # a folder reached through a link into /proc/1/cwd: as link_problem says it
                return link_problem(full, site_real, allow_outside)
        stamp = look.stamp if look is not None and readable is not None else None
        known = stamp is not None and readable.get(path) == stamp  # type: ignore[union-attr]
        problem = _real_path_problem(f"{real_folder.rstrip('/')}/{name}", site_real, allow_outside, known)
        if stamp is not None and not known and problem is None and not is_racy(stamp, taken):
            readable[path] = stamp  # type: ignore[index]
        return problem

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


def discover_sources(
    source: Path,
    problems: Problems,
    allow_outside: bool = False,
    looks: dict[str, Look] | None = None,
    between: Callable[[], None] | None = None,
    stamped: Mapping[str, Stamp] | None = None,
) -> Sources:
    """The site's sources. A folder linked out of the site (unless `allow_outside`), or to /proc, /sys or /dev, is
    an error and is not walked (link_problem): `ln -s / content/root` must not walk the whole file system.

    `looks`, if given, is filled with what the walk saw of every file it lists (Look: one stat each), so that the
    build looks at each file once per build (the preview's rebuilds look at every file, every time). `between`:
    called before each folder is listed (the preview's verification: it raises to stop the walk when more changes
    came). `stamped`: stamps of the site's files by site-relative path, taken a moment before (store.take_inputs,
    following links): a listed file that is no link is given its stamp there, not stat'ed again (its kind is the
    listing's, free), so that a build in a new process looks at each source file once."""
    others: list[str] = []
    posts = _markdown_files(source, CONTENT_DIR, problems, allow_outside, others, looks, between, stamped)
    series = _markdown_files(source, SERIES_DIR, problems, allow_outside, None, looks, between, stamped)
    return Sources(posts=posts, series=series, assets=tuple(sorted(others)))


def _markdown_files(
    source: Path,
    folder: str,
    problems: Problems,
    allow_outside: bool,
    others: list[str] | None = None,
    looks: dict[str, Look] | None = None,
    between: Callable[[], None] | None = None,
    stamped: Mapping[str, Stamp] | None = None,
) -> tuple[str, ...]:
    """Every .md file below `folder`, following symlinks once (loops are reported, not walked); the other files'
    paths go to `others`, if given, and what was seen of every file to `looks`. Ignored names (is_ignored_name)
    are left out, folders with all they hold. Walked as os.walk(followlinks=True) walks, top-down, each folder's
    subfolders in name order, from os.scandir's entries, which say without a call which entries are links."""
    root = source / folder
    if not root.is_dir():
        return ()
    found: list[str] = []
    seen_dirs: set[tuple[int, int]] = set()
    site_real = os.path.realpath(source)
    stack = [(str(root), folder)]
    while stack:
        dirpath, relative = stack.pop()
        if between is not None:
            between()
        try:
            with os.scandir(dirpath) as listing:
                entries = list(listing)
        except OSError as error:
            where = Path(error.filename).relative_to(source).as_posix() if error.filename else folder
            problems.error(f"cannot read folder: {error.strerror}", where)
            continue
        stat = os.stat(dirpath)
        if (stat.st_dev, stat.st_ino) in seen_dirs:
            problems.error("symlink loop: this folder is already part of the site", relative)
            continue
        seen_dirs.add((stat.st_dev, stat.st_ino))
        folders = []
        # plain strings, not Path objects: this runs for every file on every rebuild of the preview
        for entry in entries:
            name = entry.name
            if is_ignored_name(name):
                continue
            try:
                is_folder = entry.is_dir()  # following a link, as os.walk(followlinks=True)
            except OSError:
                is_folder = False
            if is_folder:
                if not entry.is_symlink() or _walkable(
                    dirpath, name, f"{relative}/{name}", site_real, allow_outside, problems
                ):
                    folders.append(name)
                continue
            path = f"{relative}/{name}"
            if name.endswith(".md"):
                found.append(path)
            elif others is not None:
                others.append(path)
            else:
                continue
            if looks is None:
                continue
            stamp = stamped.get(path) if stamped is not None and not entry.is_symlink() else None
            if stamp is not None:  # a FIFO is no regular file (a read of it would wait): the listing says which
                looks[path] = Look(False, stamp, entry.is_file(follow_symlinks=False))
                continue
            try:
                info = entry.stat()
            except OSError:  # a broken link: reported as unreadable where it is read
                looks[path] = Look(entry.is_symlink(), None, False)
            else:
                looks[path] = Look(entry.is_symlink(), stamp_from(info), S_ISREG(info.st_mode))
        stack.extend((os.path.join(dirpath, name), f"{relative}/{name}") for name in sorted(folders, reverse=True))
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
