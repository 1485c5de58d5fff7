"""The in-place writer's transaction: a live folder that is exactly as the last write left it, brought to the new
site by writing only the files that changed, each by one rename.

Nothing in the live folder is touched until every new file is ready: the new bytes are first written into the
staging folder beside it (same file system, primer-site's own), as temporaries. Then, file by file, the live file
is hard-linked there first (the undo) and the temporary renamed over it; files no longer made are removed last,
each after its undo link. An error at any step puts back every file and folder as it was, so a failed write leaves
the live folder byte for byte as it was. A build killed midway leaves only temporaries and undo links in the
staging folder, which the next staged build removes (staging._Staging walks it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from primer_site.errors import SiteError
from primer_site.publish.manifest import output_stamp
from primer_site.publish.output import is_marked, mark
from primer_site.store import Stamp
from primer_site.urls import is_inside

_TEMPORARY = ".in-place-new-"  # the names of the temporaries and undo links in the staging folder
_UNDO = ".in-place-old-"


class InPlaceUpdate:
    """The files of one in-place write, staged in `scratch` (the staging folder beside `live`) until `commit`.

    `blocked`: a file cannot be put where it goes by a rename (a folder stands at its path, or a file where its
    folder must be): the caller writes the site staged instead."""

    def __init__(self, live: Path, scratch: Path) -> None:
        self.live, self.scratch = live, scratch
        self.temporaries: dict[str, Path] = {}  # output path → the temporary holding its new bytes, in order
        self.blocked = False
        self._folders: dict[str, bool] = {}  # relative folder → whether the live folder has a folder there
        if not scratch.is_dir() or scratch.is_symlink():
            scratch.unlink(missing_ok=True)
            scratch.mkdir()
        if not is_marked(scratch):
            mark(scratch)  # the staging folder's marker: what makes it primer-site's to clean

    def stage(self, path: str, data: bytes | Path) -> None:
        """Ready the new bytes of `path` (bytes, or a file to copy) without touching the live folder."""
        if not is_inside(path):
            raise SiteError(f"refusing to write outside the output folder: {path}")
        temporary = self.scratch / f"{_TEMPORARY}{len(self.temporaries)}"
        temporary.unlink(missing_ok=True)  # a leftover of a killed build
        if isinstance(data, Path):
            shutil.copy2(data, temporary)
        else:
            temporary.write_bytes(data)
        self.temporaries[path] = temporary
        target = self.live / path
        if (target.is_dir() and not target.is_symlink()) or not self._folder_fits(path.rpartition("/")[0]):
            self.blocked = True

    def _folder_fits(self, folder: str) -> bool:
        """Whether `folder` (relative) is a folder in the live folder, or can be made there."""
        if not folder:
            return True
        if folder not in self._folders:
            place = self.live / folder
            fits = (not place.exists() and not place.is_symlink()) or (place.is_dir() and not place.is_symlink())
            self._folders[folder] = fits and self._folder_fits(folder.rpartition("/")[0])
        return self._folders[folder]

    def discard(self) -> None:
        """Drop the temporaries: the live folder was never touched."""
        for temporary in self.temporaries.values():
            temporary.unlink(missing_ok=True)
        self.temporaries.clear()

    def commit(self, removed: Iterable[str]) -> dict[str, Stamp]:
        """Put every staged file in place, then remove `removed` (files the last write made, no longer made) and
        the folders they leave empty; the new stamps of the files put. OSError after the live folder is put back
        as it was."""
        done: list[tuple[Path, Path | None]] = []  # (live file, its undo link; None: there was none)
        made: list[Path] = []  # folders made, in order
        emptied: list[Path] = []  # folders removed, in order
        times: dict[Path, tuple[int, int]] = {}  # each folder changed → its times before (put back on undo)
        written = list(self.temporaries)
        try:
            for path, temporary in self.temporaries.items():
                target = self.live / path
                self._make_folders(target.parent, made, times)
                _note_times(target.parent, times)
                done.append((target, self._undo_of(target, len(done))))
                os.replace(temporary, target)
            for path in sorted(removed):
                target = self.live / path
                _note_times(target.parent, times)
                undo = self._undo_of(target, len(done))
                done.append((target, undo))
                if undo is not None:
                    target.unlink()
            for path in sorted(removed):
                folder = (self.live / path).parent
                while folder != self.live and folder.is_dir() and not any(folder.iterdir()):
                    _note_times(folder.parent, times)
                    folder.rmdir()
                    emptied.append(folder)
                    folder = folder.parent
        except OSError:
            self._undo(done, made, emptied, times)
            raise
        finally:
            self.discard()
        for _, undo in done:
            if undo is not None:
                undo.unlink(missing_ok=True)
        stamps = {}
        for path in written:
            stamp = output_stamp(os.path.join(self.live, path))
            if stamp is not None:
                stamps[path] = stamp
        return stamps

    def _undo_of(self, target: Path, number: int) -> Path | None:
        """A hard link to the live file at `target` in the staging folder, or None if there is no file there."""
        if not target.is_file() or target.is_symlink():
            return None
        undo = self.scratch / f"{_UNDO}{number}"
        undo.unlink(missing_ok=True)
        os.link(target, undo)
        return undo

    def _make_folders(self, folder: Path, made: list[Path], times: dict[Path, tuple[int, int]]) -> None:
        missing = []
        while folder != self.live and not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for each in reversed(missing):
            _note_times(each.parent, times)
            each.mkdir()
            made.append(each)

    def _undo(
        self,
        done: list[tuple[Path, Path | None]],
        made: list[Path],
        emptied: list[Path],
        times: dict[Path, tuple[int, int]],
    ) -> None:
        """Put the live folder back as it was before `commit` began (best effort: each step is tried)."""
        for folder in reversed(emptied):
            with contextlib.suppress(OSError):
                folder.mkdir()
        for target, undo in reversed(done):
            with contextlib.suppress(OSError):
                if undo is not None:
                    os.replace(undo, target)
                    undo.unlink(missing_ok=True)  # a rename onto a link to the same file leaves both names
                else:
                    target.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        for folder, (accessed, modified) in times.items():
            with contextlib.suppress(OSError):
                os.utime(folder, ns=(accessed, modified))


def _note_times(folder: Path, times: dict[Path, tuple[int, int]]) -> None:
    """Keep `folder`'s access and modification times the first time it is about to change."""
    if folder not in times:
        info = folder.stat()
        times[folder] = (info.st_atime_ns, info.st_mtime_ns)
