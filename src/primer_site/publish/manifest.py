"""What a writer leaves in the output folder, and what every writer shares: the Manifest (each file's stamp, the
digest of the bytes written, the stamp of each static file's source), the result of a write, and the check that no
two outputs share a path. The staging writer (staging.py) and the in-place one (write.py) both keep a Manifest, with
the store's one stamp (store.Stamp): the next write compares with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from primer_site.errors import Problems, SiteError
from primer_site.model import Output, Unchanged
from primer_site.publish.output import MARKER, foreign_entries_since, read_marker_list
from primer_site.store import Stamp, stamp_from, stamp_of
from primer_site.urls import collision_key, is_inside


@dataclass(frozen=True)
class WriteResult:
    """What writing the output folder did: files written and kept."""

    written: int  # files whose bytes are new
    unchanged: int  # files kept from the previous output
    pages: int = 0  # HTML pages among the outputs
    manifest: Manifest | None = None  # what the live folder holds now
    complete: bool = True  # False: errors were found while writing (a writer that records them: `check`)


@dataclass(frozen=True)
class Manifest:
    """What a build left in the live output folder: each file's stamp, the digest of those it wrote from bytes,
    and the source stamp of each static file it copied. The next build keeps (hard-links) what is still as it
    was instead of reading it again, and leaves the folder alone when nothing at all changed."""

    live: str  # the live folder, absolute
    files: dict[str, Stamp]  # output path → its stamp in the live folder (without the change time: see output_stamp)
    digests: dict[str, bytes]  # output path → digest of the bytes written there
    sources: dict[str, Stamp]  # static output path → its source's (size, mtime ns, inode, ctime ns)
    # folder ("" for the live folder itself) → its stamp at a time it held only these files and their folders
    # (output.folder_stamps): a folder whose stamp is the same has had no entry added or removed since
    folders: dict[str, Stamp] = field(default_factory=dict)

    def intact(self, path: str) -> bool:
        """Whether the live folder still holds, at `path`, the very file the last build left there."""
        known = self.files.get(path)
        return known is not None and output_stamp(os.path.join(self.live, path)) == known

    def all_intact(self) -> bool:
        """Whether the live folder still holds every file the last build left there, as it left it (one lstat per
        file: asked of every file of the site by a build in a new process)."""
        live, lstat = self.live + os.sep, os.lstat
        try:
            return all(stamp_from(lstat(live + path), False) == known for path, known in self.files.items())
        except (OSError, ValueError):  # gone, or not to be stat'ed: not as it was left (as output_stamp says)
            return False

    def finished_there(self) -> bool:
        """Whether the live folder still has every file the last build's finishing step made there (the PDFs, the
        search index: in its marker's list, not in the manifest); if not, the staging folder is made and finished."""
        live = Path(self.live)
        listed = read_marker_list(live)
        return listed is None or all((live / path).is_file() for path in listed - self.files.keys())

    def left_as_is(self) -> bool:
        """Whether the live folder holds what the last write left there: every file intact, its marker listing
        exactly those files (then the next write may update it in place; whether anything else was put there is
        `foreign`'s to say, once there is something to write)."""
        listed = read_marker_list(Path(self.live))
        return listed is not None and listed == self.files.keys() and self.all_intact()

    def foreign(self) -> tuple[list[str], dict[str, Stamp]]:
        """What the live folder holds besides what primer-site wrote there: the files of this Manifest and those its
        marker lists (the finishing step's too: the search index, the PDFs, as staging._refuse_foreign reads it),
        as output.foreign_entries finds it, listing only the folders whose stamp moved since `folders`
        (output.foreign_entries_since); and the stamps of the folders found holding only what they should."""
        live = Path(self.live)
        listed = read_marker_list(live)
        written = self.files.keys() if listed is None else listed | self.files.keys()
        return foreign_entries_since(live, written, self.folders)

    def copied(self) -> frozenset[str]:
        """The paths of the files the write copied from a source (static files): those not written from bytes,
        less the folder's marker."""
        return frozenset(self.files.keys() - self.digests.keys() - {MARKER})

    def holds(self, path: str, digest: bytes) -> bool:
        """Whether the live file at `path` is intact and holds bytes of this digest."""
        return self.digests.get(path) == digest and self.intact(path)

    def holds_copy(self, path: str, source: Path) -> bool:
        """Whether the live file at `path` is an intact copy of `source` as it is now."""
        return self.sources.get(path) == stamp_of(source) and self.intact(path)

    def to_plain(self) -> tuple:
        """The Manifest as marshal's plain data (stamps as tuples, digests as bytes), for the build's record."""
        return (self.live, self.files, self.digests, self.sources, self.folders)

    @classmethod
    def from_plain(cls, data: tuple) -> Manifest:
        """A Manifest from to_plain's data (read back under its digest); ValueError or TypeError for any other."""
        live, files, digests, sources, folders = data
        if type(live) is not str or not all(type(part) is dict for part in (files, digests, sources, folders)):
            raise ValueError("not a manifest")
        return cls(live, files, digests, sources, folders)


def output_stamp(path: str) -> Stamp | None:
    # of an output file, the link itself, without its change time: hard-linking it into the staging folder
    # changes that
    return stamp_of(path, follow_links=False, change_time=False)


def unique_outputs(outputs: Iterable[Output | Unchanged], problems: Problems) -> Iterator[Output | Unchanged]:
    """The outputs, as they come, less any a second time at one path (or one that a case-insensitive
    host takes for it), which is reported; a path out of the output folder stops the build."""
    seen: set[str] = set()
    for item in outputs:
        if not is_inside(item.path):
            raise SiteError(f"refusing to write outside the output folder: {item.path}")
        key = collision_key(item.path)
        if key in seen:
            problems.error(f"two pages would be written to {item.path} (check permalinks and slugs)", "site.yaml")
            continue
        seen.add(key)
        yield item


def files_in(folder: Path) -> set[str]:
    """Every file under `folder`, relative to it, `/`-separated."""
    found = set()
    for dirpath, _, filenames in os.walk(folder):
        relative = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        found.update(name if relative == "." else f"{relative}/{name}" for name in filenames)
    return found
