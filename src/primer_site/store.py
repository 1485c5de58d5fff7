"""The store: a file's stamp, and "same inputs, same object" for everything a build keeps in its process.

It imports no stage of the pipeline: the stages say what they keep (a parsed post, a rendered body, the assembled
site) and under which inputs; the store only gives back the very object made from the same inputs, or makes it.
`serve` keeps one Store for all its rebuilds (a warm `build`); a `build` in a new process starts with an empty
one and finds its kept work on disk instead, in .primer-cache/: the last build's record (its inputs' stamps,
`take_inputs`; the stages say what else it holds: buildrecord.py), and SQLite tables the stages fill; both
diskstore.py's. What is kept on disk is salted with primer-site's own code (`code_salt`): another version starts
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
import re
import sys
import time
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import Any, TypeVar

from primer_site import __version__
from primer_site.keptcode import kept_path, read_kept, write_kept

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

_LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "Pygments", "Jinja2", "MarkupSafe", "PyYAML", "nh3", "Pillow")


@dataclass(frozen=True)
class BuildInputs:
    """The stamps of every file a build reads, by site-relative path (the theme's under "theme:")."""

    files: dict[str, Stamp]
    taken: float  # when, in seconds since the epoch

    @property
    def trustworthy(self) -> bool:
        """Whether every stamp tells a changed file from an unchanged one (none changed too recently)."""
        newest = max((max(stamp[1], stamp[3]) for stamp in self.files.values()), default=0)
        return newest / 1e9 < self.taken - RACY_SECONDS  # is_racy of the newest stamp, in one pass


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


@lru_cache(maxsize=1)
def code_salt() -> str:
    """A digest of primer-site's own code (every module and script of the package) and the versions of the
    libraries whose output it passes on: when it changes, nothing a build kept can be trusted."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(__version__.encode())
    # src/primer_site/: its modules and each stage folder's
    digest.update(code_digest(str(Path(__file__).resolve().parent), kept_path(__file__, ".code")))
    for library in _LIBRARIES:
        digest.update(f"{library}={library_version(library)};".encode())
    return digest.hexdigest()


_CODE_HEADER = b"primer-site code digest 1\n"
_CODE_SUFFIXES = (".py", ".js")


def code_digest(package: str, kept: str | None) -> bytes:
    """A digest (16 bytes of BLAKE2b) of the code files in the folder `package` and in each folder in it (.py and
    .js files), by their "/"-separated names and their bytes.

    Kept at `kept` (beside this module's bytecode: keptcode.py) with the stamps of the files it was made from, and
    taken from there while the same files have the same stamps, as Python takes a module's bytecode while its
    source has the stamp recorded in it: a new process stats ~140 files instead of reading and hashing ~1.2 MB
    (~5 ms). Not kept when a file changed too recently for its stamp to be trusted (is_racy), nor where Python
    keeps no bytecode (`kept` None, PYTHONDONTWRITEBYTECODE)."""
    taken = time.time()  # before any stamp is taken: a stamp is trusted against this
    files = _code_files(package)
    stamps = tuple((name, stamp_of(path)) for name, path in files)
    found = read_kept(kept, _CODE_HEADER) if kept is not None else None
    if isinstance(found, tuple) and len(found) == 2 and found[0] == stamps and isinstance(found[1], bytes):
        return found[1]
    digest = hashlib.blake2b(digest_size=16)
    for name, path in files:
        digest.update(name.encode())
        digest.update(Path(path).read_bytes())
    made = digest.digest()
    trusted = all(stamp is not None and not is_racy(stamp, taken) for _, stamp in stamps)
    if kept is not None and trusted and not sys.dont_write_bytecode:
        write_kept(kept, _CODE_HEADER, (stamps, made))
    return made


def _code_files(package: str) -> list[tuple[str, str]]:
    """(name relative to `package`, path) of each code file in `package` and in the folders in it, sorted."""
    found = []
    with os.scandir(package) as entries:
        top = list(entries)
    for entry in top:
        if entry.name.endswith(_CODE_SUFFIXES) and entry.is_file():
            found.append((entry.name, entry.path))
        elif entry.is_dir():
            with os.scandir(entry.path) as inner:
                found.extend(
                    (f"{entry.name}/{item.name}", item.path)
                    for item in inner
                    if item.name.endswith(_CODE_SUFFIXES) and item.is_file()
                )
    return sorted(found)


_KEY_BYTES = 32  # BLAKE2b takes a key of up to 64 bytes (RFC 7693, 2.1); 32 as for BLAKE2b-256's strength


@lru_cache(maxsize=1)  # read once per process: every digest of a build uses it
def cache_key() -> bytes:
    """This user's secret key (32 bytes) for what primer-site keeps in a site's .primer-cache/: the key of every
    digest that vouches for bytes read back from there (`cache_digest`), so that a .primer-cache made by anyone
    else (another user or machine, or committed to the site's repository) never passes for ours and is made again.

    Kept outside any site, in `$XDG_CACHE_HOME/primer-site/key` (an absolute XDG_CACHE_HOME, as the XDG Base
    Directory Specification says) or `$HOME/.cache/primer-site/key`, made once, with mode 0600. When no such file
    can be made or read (no HOME, a read-only home), a key for this process only: then nothing on disk is trusted
    across processes (each build is a full one, its output the same)."""
    path = _key_file()
    if path is not None:
        for _attempt in range(3):
            try:
                return _read_key(path) or _make_key(path)
            except FileExistsError:  # made by another process meanwhile: read it
                continue
            except OSError:
                break
    return os.urandom(_KEY_BYTES)


def cache_digest(data: bytes | memoryview) -> bytes:
    """16 bytes of BLAKE2b keyed with this user's `cache_key` (RFC 7693's keyed mode: a MAC) over `data`."""
    return hashlib.blake2b(data, digest_size=16, key=cache_key()).digest()


def cache_key_id() -> str:
    """A name of `cache_key` that tells nothing of it, for the salts of the cache's tables: a cache kept under
    another key is emptied at once rather than read row by row."""
    return hashlib.blake2b(b"primer-site key id", digest_size=8, key=cache_key()).hexdigest()


def _key_file() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, empty or relative: ignored (the XDG specification)
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base, "primer-site", "key")


def _read_key(path: Path) -> bytes | None:
    """The key in the file at `path`; None if there is none; a file of another length is removed (damaged:
    a key made anew only costs the caches kept under the old one)."""
    try:
        with open(path, "rb") as file:
            key = file.read(_KEY_BYTES + 1)
    except FileNotFoundError:
        return None
    if len(key) == _KEY_BYTES:
        return key
    path.unlink(missing_ok=True)
    return None


def _make_key(path: Path) -> bytes:
    """A new key in the file at `path`, written whole under a name of its own (O_CREAT|O_EXCL, mode 0600), then
    linked to `path`, which fails if `path` exists: of two processes making it at once one wins, and no process
    ever reads a key half written. FileExistsError if another process made it first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(_KEY_BYTES)
    temporary = path.with_name(f".key.{os.getpid()}.{key[:4].hex()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(key)
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return key


_SEPARATORS = re.compile(r"[-_.]+")


@lru_cache(maxsize=64)
def library_version(distribution: str) -> str:
    """The installed version of `distribution` (its name as on PyPI), "?" if none is installed: the version in the
    name of its `{name}-{version}.dist-info` folder, in the first folder of sys.path that has one (the PyPA's
    "Recording installed projects"; names compared normalized, PEP 503), as importlib.metadata finds it. Anything
    else (an .egg-info, a zip file on sys.path) is asked of importlib.metadata, which costs ~0.03 s to import: the
    salts of every build read a few versions."""
    wanted = _SEPARATORS.sub("_", distribution).lower()
    for folder in sys.path:
        names = _folder_names(folder or ".")
        if names is None:  # a zip file, say: importlib.metadata reads those
            return _metadata_version(distribution)
        for name in names:
            stem, dash, rest = name.partition("-")
            if dash and _SEPARATORS.sub("_", stem).lower() == wanted:
                found = rest.removesuffix(".dist-info")
                if name.endswith(".dist-info") and found and "-" not in found:
                    return found
                return _metadata_version(distribution)
            if name.endswith(".egg-info") and _SEPARATORS.sub("_", name.removesuffix(".egg-info")).lower() == wanted:
                return _metadata_version(distribution)
    return "?"


@lru_cache(maxsize=64)
def _folder_names(folder: str) -> tuple[str, ...] | None:
    """The names of the metadata folders in a folder of sys.path: none for a folder that is not there, None for
    anything else than a folder."""
    try:
        return tuple(sorted(n for n in os.listdir(folder) if n.endswith((".dist-info", ".egg-info"))))
    except (FileNotFoundError, NotADirectoryError) as error:
        return () if isinstance(error, FileNotFoundError) else None
    except OSError:
        return None


def _metadata_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "?"
