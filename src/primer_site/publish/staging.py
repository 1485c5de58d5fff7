"""Outputs → the output folder, atomically (the staging writer): the new site is made in a staging folder beside
it, then the two are swapped in one step (swap.py). A failed or killed build leaves the live folder as it was.
Which folders are the build's to replace, and where a symlinked output really is: output.py; what every writer
keeps (the Manifest) and shares: manifest.py; the one writer a build calls, which also updates the dev server's
private folder in place: write.py.

The staging folder is kept between builds (after a swap it holds the previous site), so a build
reconciles it instead of recreating thousands of folders: files whose bytes did not change are
hard-links to the live ones (their modification times stay put, so rsync-style deploys upload only
what changed), other files are replaced, files no longer produced are removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from itertools import chain
from pathlib import Path

from primer_site.errors import Problems, SiteError
from primer_site.model import Output, Unchanged
from primer_site.publish.manifest import Manifest, WriteResult, files_in, output_stamp, unique_outputs
from primer_site.publish.output import (
    MARKER,
    WRITTEN_LIST,
    folder_stamps,
    folders_of,
    foreign_entries,
    foreign_message,
    is_marked,
    live_folder,
    mark,
    read_marker_list,
    read_written,
    record_written,
    staging_folder,
)
from primer_site.publish.swap import recover_output, swap_in
from primer_site.store import Stamp, is_racy, stamp_of


def write_output(
    outputs: Iterable[Output | Unchanged],
    static_files: Mapping[str, Path],
    output: Path,
    finish: Callable[[Path], None] | None = None,
    problems: Problems | None = None,
    swap_on_errors: bool = False,
    previous: Manifest | None = None,
) -> WriteResult:
    """Store each output in the staging folder as it comes, `finish` it there (a search index, say),
    then swap it in. Errors found meanwhile (in `problems`) stop it before the swap, unless `swap_on_errors`
    (`check`'s build into a temporary folder, which reports them).

    `previous`: the manifest of the last build into this folder. Static files and outputs it shows intact are
    hard-linked rather than read; when every output is Unchanged and no file is added or gone, nothing is
    written at all (no staging folder, no swap, no `finish`).

    The caller holds the output's lock (output.locked), from before it read the sources: an older build never
    publishes over a newer one. The staging folder is primer-site's alone: it is walked each time, and whatever it holds that this build did
    not put there is removed, never published. What the live folder may hold is the list in its own marker
    (see output.mark), whatever the cache and the staging folder say.
    """
    problems = problems if problems is not None else Problems()
    output = live_folder(output)
    staging = staging_folder(output)
    if previous is not None and previous.live != str(output):
        previous = None
    items = iter(unique_outputs(outputs, problems))
    waiting: list[Output | Unchanged] = []
    if previous is not None:
        # hold back what is unchanged until something is not: a build that changed nothing writes nothing
        for item in items:
            waiting.append(item)
            if not isinstance(item, Unchanged):
                break
        else:
            result = _nothing_to_write(waiting, static_files, output, previous, problems, swap_on_errors)
            if result is not None:
                return result
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SiteError(f"cannot make {output.parent}: {error.strerror}") from None
    recover_output(output)
    _refuse_foreign(output, staging, previous)
    try:
        staging.mkdir(exist_ok=True)
    except OSError as error:
        raise SiteError(f"cannot make the staging folder {staging}: {error.strerror}") from None
    try:
        return _write_staged(staging, output, waiting, items, static_files, finish, problems, swap_on_errors, previous)
    except OSError as error:  # a full disk, a read-only one, a folder that cannot be renamed
        where = f" ({error.filename})" if error.filename else ""
        raise SiteError(
            f"cannot write the new site beside {output}: {error.strerror or error}{where}; the output folder was "
            "left as it was (free some space, or make the folder writable, and build again)"
        ) from None


def _write_staged(
    staging: Path,
    output: Path,
    waiting: list[Output | Unchanged],
    items: Iterator[Output | Unchanged],
    static_files: Mapping[str, Path],
    finish: Callable[[Path], None] | None,
    problems: Problems,
    swap_on_errors: bool,
    previous: Manifest | None,
) -> WriteResult:
    """write_output's work once the staging folder is there: fill it, finish it, swap it in."""
    folder = _Staging(staging, output, previous)
    sources: dict[str, Stamp] = {}
    taken = time.time()
    for path, file in static_files.items():
        stamp = stamp_of(file)  # before the copy reads it
        if previous is not None and stamp is not None and previous.holds_copy(path, file):
            folder.keep(path)
        else:
            folder.put(path, file)
        if stamp is not None and not is_racy(stamp, taken):  # else the next build copies it again
            sources[path] = stamp
    pages = 0
    digests: dict[str, bytes] = {}
    for item in chain(waiting, items):
        pages += item.path.endswith(".html")
        if isinstance(item, Unchanged):
            folder.keep(item.path)
            digests[item.path] = item.digest
        else:
            folder.put(item.path, item.data)
            digests[item.path] = item.digest or hashlib.blake2b(item.data, digest_size=16).digest()
    if not swap_on_errors:
        problems.raise_if_errors()  # the staging folder is half made; the live site is as it was
    cleared = time.time()  # from here on, each folder holds only what this build put there (and `finish`)
    folder.remove_stale()
    live_files: set[str] = set(folder.wanted)
    if finish is not None:
        finish(staging)
        live_files = files_in(staging)  # and what `finish` wrote (a search index)
    (staging / WRITTEN_LIST).unlink(missing_ok=True)  # the last build's list is never published
    live_files.discard(WRITTEN_LIST)
    mark(staging, live_files)  # the folder's own record of what primer-site wrote in it
    swap_in(staging, output)
    if staging.is_dir() and not is_marked(staging):
        shutil.rmtree(staging)  # what was live was not ours (claim_output let it through: --force)
    if not staging.exists():  # the first build: its folder was renamed into place
        staging.mkdir()
        mark(staging)
    if staging.is_dir() and not staging.is_symlink():
        record_written(staging, live_files)
    live = str(output)
    files = {}
    for path in folder.wanted:
        # a file kept is the very file the last build left (a hard link to it): its stamp is known
        stamp = previous.files.get(path) if previous is not None and path in folder.kept else None
        if stamp is None:
            stamp = output_stamp(os.path.join(live, path))
        if stamp is not None:
            files[path] = stamp
    # changed since `cleared` (by `finish`, or by hand): too recent to trust, listed by the next in-place write
    folders = folder_stamps(output, folders_of(files), cleared)
    manifest = Manifest(live, files, digests, sources, folders)
    return WriteResult(folder.written, folder.unchanged, pages, manifest)


def _refuse_foreign(live: Path, staging: Path, previous: Manifest | None) -> None:
    """Refuse (SiteError, nothing changed) a build into a live folder holding files the last build did not leave
    there: the swap would move them out of the published site, and a later build delete them. Which files the last
    build left: the list in the folder's own marker (so a copy of the folder, or one restored without the staging
    folder and the cache, says the same); from a folder marked by an older primer-site, the list it kept in the
    staging folder, or its manifest. Without any (older still), the marker's word stands: the folder is the
    build's to replace."""
    if not live.is_dir() or not is_marked(live):
        return  # new, or claimed with --force
    written = read_marker_list(live)
    if written is None:
        written = read_written(staging)
    if written is None and previous is not None:
        written = frozenset(previous.files)
    if written is None:
        return
    stray = foreign_entries(live, written)
    if stray:
        raise SiteError(foreign_message(live, stray))


def _nothing_to_write(
    outputs: list[Output | Unchanged],
    static_files: Mapping[str, Path],
    output: Path,
    previous: Manifest,
    problems: Problems,
    swap_on_errors: bool,
) -> WriteResult | None:
    """The result of a build that changes nothing in the live folder, or None if it must write after all."""
    if problems.errors and not swap_on_errors:
        problems.raise_if_errors()
    wanted = {MARKER, *(item.path for item in outputs), *static_files}
    if wanted != previous.files.keys() or not all(previous.intact(path) for path in static_files):
        return None  # a file came or went, or one of the last build's files is not as it left it
    if not all(previous.holds_copy(path, file) for path, file in static_files.items()):
        return None
    stray, clean = previous.foreign()
    if stray:
        return None  # a file put in the folder since: the write stops on it (_refuse_foreign), never leaves it there
    pages = sum(item.path.endswith(".html") for item in outputs)
    # with the folders found clean stamped, for the next look (the build's record keeps this manifest)
    return WriteResult(0, len(outputs) + len(static_files), pages, replace(previous, folders=clean))


class _Staging:
    """The staging folder brought to the new site's state one file at a time.

    It is walked each time (one scandir per folder, which gives each file's inode too): what it holds that the
    build did not put there (a file dropped in it) is removed, never published.
    """

    def __init__(self, staging: Path, live: Path, previous: Manifest | None) -> None:
        self.staging, self.live = staging, live
        self.files: set[str] = set()
        self.dirs: set[str] = {""}
        self.wanted: set[str] = set()
        self.kept: set[str] = set()  # wanted, and the very file that is live (a hard link to it)
        self.inodes: dict[str, int] = {}  # of the files it holds
        self.live_inodes = {path: stamp[2] for path, stamp in previous.files.items()} if previous else {}
        self.written = self.unchanged = 0
        if not is_marked(staging):
            mark(staging)  # first, so that a build killed from here on left a folder it can claim
        self.wanted.add(MARKER)
        self._walk("")

    def _walk(self, relative: str) -> None:
        with os.scandir(os.path.join(self.staging, relative)) as entries:
            for entry in entries:
                path = f"{relative}/{entry.name}" if relative else entry.name
                if entry.is_dir(follow_symlinks=False):
                    self.dirs.add(path)
                    self._walk(path)
                elif entry.is_symlink():
                    os.unlink(entry.path)  # primer-site makes no links: never write through one, nor publish it
                else:
                    self.files.add(path)
                    self.inodes[path] = entry.inode()

    def put(self, path: str, data: bytes | Path) -> None:
        content = data.read_bytes() if isinstance(data, Path) else data
        self.wanted.add(path)
        target = self.staging / path
        parent = path.rpartition("/")[0]
        if parent not in self.dirs:
            self._make_folder(parent)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        current = self.live / path
        if _same_bytes(current, content):
            self.unchanged += 1
            if not _same_inode(current, target):
                target.unlink(missing_ok=True)
                _link_or_copy(current, target)
            return
        self.written += 1
        if path in self.files and _same_bytes(target, content) and not _same_inode(current, target):
            return
        # never write through a hard link: that would change the live site too
        target.unlink(missing_ok=True)
        target.write_bytes(content)

    def keep(self, path: str) -> None:
        """The live site's file at `path` is right as it is: the staging folder gets the same file."""
        self.wanted.add(path)
        self.kept.add(path)
        self.unchanged += 1
        live_inode = self.live_inodes.get(path)
        if live_inode is not None and self.inodes.get(path) == live_inode:
            return  # the walk found a hard link to the live file there
        current, target = self.live / path, self.staging / path
        if _same_inode(current, target):
            return
        parent = path.rpartition("/")[0]
        if parent not in self.dirs:
            self._make_folder(parent)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.unlink(missing_ok=True)
        _link_or_copy(current, target)

    def _make_folder(self, parent: str) -> None:
        parts = parent.split("/")
        for index in range(1, len(parts) + 1):
            prefix = "/".join(parts[:index])
            if prefix not in self.dirs:
                place = self.staging / prefix
                if place.is_symlink() or place.is_file():
                    place.unlink()  # a file where a folder must now be
                place.mkdir(exist_ok=True)
                self.dirs.add(prefix)

    def remove_stale(self) -> None:
        for stale in self.files - self.wanted:
            place = self.staging / stale
            if place.is_file() or place.is_symlink():
                place.unlink()
            folder = place.parent  # and the folders it leaves empty (those the record knows nothing of too)
            while folder != self.staging and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
        needed = {""}
        for path in self.wanted:
            parts = path.split("/")[:-1]
            needed.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        for folder in sorted(self.dirs - needed, key=len, reverse=True):
            shutil.rmtree(self.staging / folder, ignore_errors=True)


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _same_inode(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _link_or_copy(old: Path, new: Path) -> None:
    try:
        os.link(old, new)
    except OSError:
        shutil.copy2(old, new)
