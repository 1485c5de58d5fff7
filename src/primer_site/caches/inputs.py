"""What a build is made from — every source file, the settings, primer-site's own code — so that a build made
from exactly the same can stop at once: its output would be the same bytes.

Files are compared by their stamp (store.stamp_of, judged by store.is_racy), taken when the build starts, before
anything is read: a file saved while the build runs has a new stamp for the next build.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from primer_site import __version__, store
from primer_site.store import Stamp, stamp_of

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
        return newest / 1e9 < self.taken - store.RACY_SECONDS  # is_racy of the newest stamp, in one pass


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
    package = Path(__file__).resolve().parents[1]  # src/primer_site/: its modules and each stage folder's
    code = [path for pattern in ("*.py", "*.js", "*/*.py", "*/*.js") for path in package.glob(pattern)]
    for path in sorted(code):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    for library in _LIBRARIES:
        try:
            digest.update(f"{library}={version(library)};".encode())
        except PackageNotFoundError:
            digest.update(f"{library}=?;".encode())
    return digest.hexdigest()
