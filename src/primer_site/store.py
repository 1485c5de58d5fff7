"""The store: a file's stamp, and "same inputs, same object" for everything a build keeps in its process.

It imports no stage of the pipeline: the stages say what they keep (a parsed post, a rendered body, the assembled
site) and under which inputs; the store only gives back the very object made from the same inputs, or makes it.
`serve` keeps one Store for all its rebuilds (a warm `build`); a `build` in a new process starts with an empty
one and finds its kept work on disk instead, in .primer-cache/: the last build's record (its inputs' stamps,
`take_inputs`; the stages say what else it holds: buildrecord.py), and SQLite tables the stages fill; both
diskstore.py's. What is kept on disk is salted with primer-site's own code (salts.code_salt): another version starts
afresh.

Stamps. Every stamp primer-site takes of a file is `stamp_of`'s: (size, modification time in ns, inode, change
time in ns). The change time cannot be set back by any tool (`cp -p`, `rsync -t` and `tar x` set back only the
modification time), but two writes within one tick of the file system's clock can leave the whole stamp the same,
so a file changed within RACY_SECONDS of the moment the stamp was taken is not trusted (git's "racy clean" rule,
Documentation/technical/racy-git.txt): `is_racy`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

Stamp = tuple[int, int, int, int]  # size in bytes, mtime ns, inode, ctime ns (0 for an output file: see stamp_of)
RACY_SECONDS = 2.0

T = TypeVar("T")


def stamp_of(path: str | os.PathLike[str], follow_links: bool = True, change_time: bool = True) -> Stamp | None:
    """The stamp of the file at `path`; None if it cannot be stat'ed. Take it before reading the file, never after:
    a save between the two then shows as a new stamp next time.

    `change_time=False` for a file primer-site hard-links (an output file kept from one build to the next): linking
    changes a file's change time, so its stamp carries 0 there. `follow_links=False`: the stamp of a link itself.
    """
    try:
        info = os.stat(path, follow_symlinks=follow_links)
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return None
    return stamp_from(info, change_time)


def stamp_from(info: os.stat_result, change_time: bool = True) -> Stamp:
    """`stamp_of` from a stat already made (to test the file's type with the same call)."""
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns if change_time else 0


def is_racy(stamp: Stamp, taken: float) -> bool:
    """Whether the file changed too close to `taken` (seconds since the epoch, a moment before the stamp was
    taken) for the stamp to tell a later save within the same clock tick: then it must not be trusted."""
    return max(stamp[1], stamp[3]) / 1e9 >= taken - RACY_SECONDS


def all_trusted(stamps: Iterable[Stamp], taken: float) -> bool:
    """Whether no stamp of `stamps` is_racy against `taken`: is_racy of the newest change among them, in one pass."""
    newest = max((max(stamp[1], stamp[3]) for stamp in stamps), default=0)
    return not is_racy((0, newest, 0, newest), taken)


def _regular_file_digest(path: str | os.PathLike[str]) -> bytes | None:
    """The BLAKE2b digest of a regular file's bytes; None if `path` cannot be read or is not a regular file.

    Opened without blocking and its type asked of the open file, not of a stat before it: a FIFO put where a post
    or series file was would make `open` wait for a writer for ever (the reader reports it: frontmatter.read_source).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return None
    with open(fd, "rb") as file:
        if not S_ISREG(os.fstat(fd).st_mode):
            return None
        try:
            return hashlib.file_digest(file, "blake2b").digest()
        except OSError:
            return None


_ABSENT: Stamp = (-1, 0, 0, 0)  # a file that is not there (a site without site.yaml): as stable as any stamp


class Store:
    """What the builds of one process keep for the next: one entry per (kind, key), given back while its inputs
    are the same (`memo`), and one object per named slot that a stage fills itself (`slot`).

    Kinds and slot names are the stages' words ("post", "series", "assemble"…); the store knows none of them.
    """

    def __init__(self) -> None:
        self._memos: dict[tuple[str, Hashable], tuple[Hashable, Any]] = {}
        self._slots: dict[str, Any] = {}

    def memo(self, kind: str, key: Hashable, inputs: Hashable, make: Callable[[], T]) -> T:
        """What `make()` gave for `key` when its inputs were equal to `inputs`, the very object; else `make()`,
        kept for next time in place of the old one (one entry per key: memory stays the size of the site)."""
        found = self._memos.get((kind, key))
        if found is not None and (found[0] is inputs or found[0] == inputs):
            return found[1]
        made = make()
        self._memos[(kind, key)] = (inputs, made)
        return made

    def read(
        self,
        kind: str,
        path: str | os.PathLike[str],
        key: str,
        make: Callable[[], T],
        again: bool = False,
        also: Hashable = None,
        stamped: tuple[float, Stamp] | None = None,
    ) -> T:
        """`make()` for a file (it reads `path`), or what it gave last time if the file is the same: its stamp, and
        while the stamp is too recent to trust (is_racy) the digest of its bytes too, as git does for a racy
        entry. `again`: make it whatever the file says (the watcher saw it change). `also`: what else `make`
        depends on, compared as the stamp is. `stamped`: (when, in seconds since the epoch, the file's stamp)
        as the caller took them, before anything read the file (a walk of its folder): not taken again."""
        taken, stamp = stamped if stamped is not None else (time.time(), stamp_of(path))
        if stamp is None and not os.path.lexists(path):
            stamp = _ABSENT
        inputs: Hashable = (stamp, also)
        if stamp is None:
            inputs = object()  # equal to nothing kept: an unreadable file is read again, and reported again
        elif again:
            # made again whatever is kept, and kept with the digest of its bytes, as a racy entry is: a later look
            # at the same bytes (the preview's verification, at once) finds it the same (_settled)
            self._memos.pop((kind, key), None)
            inputs = self._digested(path, stamp, also)
        elif stamp != _ABSENT and is_racy(stamp, taken):
            inputs = self._digested(path, stamp, also)
        else:
            inputs = self._settled(kind, key, path, inputs)
        return self.memo(kind, key, inputs, make)

    @staticmethod
    def _digested(path: str | os.PathLike[str], stamp: Stamp, also: Hashable) -> Hashable:
        """A file's inputs with the digest of its bytes (a racy stamp's); equal to nothing if it cannot be read."""
        if stamp == _ABSENT:
            return (stamp, also)
        digest = _regular_file_digest(path)
        return object() if digest is None else (stamp, also, digest)

    def last(self, kind: str, key: Hashable) -> Any:
        """What the entry of (kind, key) holds, whatever its inputs (None if there is none): what the last build
        made, for a caller that knows its inputs did not change (a first look: caches/reading.read_sources)."""
        found = self._memos.get((kind, key))
        return found[1] if found is not None else None

    def _settled(self, kind: str, key: Hashable, path: str | os.PathLike[str], inputs: Hashable) -> Hashable:
        """The inputs of a file whose stamp is now old enough to trust. An entry kept while that same stamp was
        racy holds the digest of the bytes it was made from: the file's digest, taken once more, says whether
        the entry still stands (it is then kept under the trusted inputs), as git re-reads a racily clean entry.
        Without this, every file saved in the 2 s before a build is made again at the next one."""
        found = self._memos.get((kind, key))
        if found is None or not isinstance(found[0], tuple) or len(found[0]) != 3 or found[0][:2] != inputs:
            return inputs
        digest = _regular_file_digest(path)
        if digest is not None and digest == found[0][2]:
            self._memos[(kind, key)] = (inputs, found[1])
        return inputs

    def holds(self, kind: str) -> bool:
        """Whether any entry of `kind` is kept."""
        return any(k[0] == kind for k in self._memos)

    def keys(self, kind: str) -> set[Hashable]:
        """The keys of the entries of `kind` kept."""
        return {k[1] for k in self._memos if k[0] == kind}

    def forget(self, kind: str, keep: Collection[Hashable]) -> None:
        """Drop the entries of `kind` whose key is not in `keep` (files that are gone: a preview that runs all day
        keeps only what its site still has)."""
        self._memos = {k: v for k, v in self._memos.items() if k[0] != kind or k[1] in keep}

    def forget_kind(self, kind: str) -> None:
        """Drop every entry of `kind` (what they were made with changed: the site's time zone, say)."""
        self._memos = {k: v for k, v in self._memos.items() if k[0] != kind}

    def slot(self, name: str, make: Callable[[], T]) -> T:
        """The object kept under `name`, made by `make()` the first time it is asked for."""
        found = self._slots.get(name)
        if found is None:
            found = self._slots[name] = make()
        return found

    def put(self, name: str, value: Any) -> None:
        """Keep `value` under `name` (in place of what was there: close that first if it runs anything)."""
        self._slots[name] = value

    def peek(self, name: str) -> Any:
        """The object kept under `name`, or None."""
        return self._slots.get(name)

    def let_go(self, *names: str) -> None:
        """Keep nothing more (with `names`: those slots only), for a store that lives for one build only, whose later
        stages ask it for none of that: what they were given stays alive where it is referenced; what only the
        store held is freed now, not at the end of the build."""
        if names:
            for name in names:
                self._slots.pop(name, None)
            return
        self._memos.clear()
        self._slots.clear()

    def close(self) -> None:
        """End what the kept objects run (a KaTeX process): each slot's `close()`, where it has one. The store can
        be used again afterwards (those objects start again when next asked)."""
        for value in self._slots.values():
            closer = getattr(value, "close", None)
            if callable(closer):
                closer()


# ------------------------------------------------------------------------ what a build is made from


@dataclass(frozen=True)
class BuildInputs:
    """The stamps of every file a build reads, by site-relative path (the theme's under "theme:")."""

    files: dict[str, Stamp]
    taken: float  # when, in seconds since the epoch

    @property
    def trustworthy(self) -> bool:
        """Whether every stamp tells a changed file from an unchanged one (none changed too recently)."""
        return all_trusted(self.files.values(), self.taken)


def take_inputs(source: Path, folders: Iterable[str], files: Iterable[str], theme: Path | None) -> BuildInputs:
    """The stamps of `files` and of every file below `folders` (site-relative), and below the theme's folder.

    Folders are walked as the build walks them (following links); a file that cannot be stamped is left out, which
    makes the record differ from any other (the build then reads it and reports why).
    """
    taken = time.time()
    found: dict[str, Stamp] = {}
    for name in files:
        _stamp_into(found, name, os.path.join(source, name))
    for folder in folders:
        _walk_into(found, os.path.join(source, folder), folder)
    if theme is not None:
        for folder in ("templates", "static", "i18n"):
            _walk_into(found, os.path.join(theme, folder), f"theme:{folder}")
    return BuildInputs(found, taken)


def _walk_into(found: dict[str, Stamp], root: str, label: str) -> None:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        relative = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = label if relative == "." else f"{label}/{relative}"
        for name in filenames:
            _stamp_into(found, f"{prefix}/{name}", os.path.join(dirpath, name))


def _stamp_into(found: dict[str, Stamp], name: str, path: str) -> None:
    stamp = stamp_of(path)
    if stamp is not None:
        found[name] = stamp
