"""The salts and keys of what primer-site keeps on disk: a digest of its own code and of the libraries whose output it
passes on (`code_salt`: when it changes, nothing kept can be trusted), the package's code digest kept beside its
bytecode (`code_digest`), this user's secret key and the digests keyed with it (`cache_key`, `cache_digest`: what
vouches for bytes read back from .primer-cache/), and an installed library's version (`library_version`).

A base module, split from store.py (which keeps the stamps, the in-process Store and the build's inputs): it
imports no stage of the pipeline.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from functools import lru_cache
from pathlib import Path

from primer_site import __version__
from primer_site.keptcode import kept_path, read_kept, write_kept
from primer_site.store import all_trusted, stamp_of

_LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "Pygments", "Jinja2", "MarkupSafe", "PyYAML", "nh3", "Pillow")


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
    (~5 ms). Not kept when a file changed too recently for its stamp to be trusted (store.is_racy), nor where Python
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
    stamped = [stamp for _, stamp in stamps if stamp is not None]
    trusted = len(stamped) == len(stamps) and all_trusted(stamped, taken)
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
