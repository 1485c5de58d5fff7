"""The one writer: a build's outputs → the output folder, for `build`, `check` and `serve` alike.

A SiteWriter knows what it last left in the folder (a Manifest, with the store's one stamp) and writes the next
site the one way that fits:
- staged (staging.py): the new site is made beside the live one and swapped in whole; what the Manifest shows
  intact is hard-linked, not read; a build that changes nothing writes nothing. Every build in a new process,
  and the dev server's first.
- in place: the dev server's private folder, which only this writer writes, updated a file at a time (each file
  replaced in one rename) where a rebuild must take milliseconds.

Errors are the writer's to act on, never the caller's: by default any error stops the write before the live
folder changes (SiteError, the previous output exactly as it was); a writer that `records` errors (`check`, into
a temporary folder) writes the site anyway and leaves them in `problems`, so that one run reports them all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

from primer_site.errors import Problems, SiteError
from primer_site.model import Output, Unchanged
from primer_site.publish.manifest import Manifest, WriteResult, files_in, output_stamp, unique_outputs
from primer_site.publish.output import MARKER, live_folder, mark
from primer_site.publish.staging import write_output
from primer_site.store import Stamp, is_racy, stamp_of
from primer_site.urls import is_inside

Outputs = Iterable[Output | Unchanged]


@dataclass
class SiteOutputs:
    """What a build hands its writer.

    `pages`: as rendered, in order; when `in_place` (the writer's `in_place` when the render pass began), only
    the pages made again (every other page is as the last write left it). `every_page`: every page's output path, asked only by the in-place
    writer (to know which files are gone); `same_paths`: whether those paths are the last build's (then they
    cannot collide anew). `guard`: the build's path checks over outputs (outputpaths.guard_pages), run on
    every path when they changed. `finish`: run on the folder once its files are there (a search index)."""

    pages: Outputs
    generated: Sequence[Output | Unchanged]
    static_files: Mapping[str, Path]
    in_place: bool = False
    every_page: Callable[[], Sequence[str]] = lambda: ()
    same_paths: Callable[[], bool] = lambda: False
    guard: Callable[[Outputs], Outputs] = lambda outputs: outputs
    finish: Callable[[Path], None] | None = None


class SiteWriter:
    """Writes each build's outputs into `output` (absolute), remembering what it left there for the next.

    `previous`: the Manifest of the last write into the folder (from the last build's record on disk, or this
    writer's own); `records`: errors are left in `problems` and the site written anyway (check).
    """

    def __init__(self, output: Path, previous: Manifest | None = None, records: bool = False) -> None:
        self.output = output
        self.previous = previous if previous is not None and previous.live == str(live_folder(output)) else None
        self.records = records
        self._own = False  # the last write into the folder was this writer's: it may update it in place
        self._published: frozenset[str] = frozenset()  # the static files of that write

    @property
    def in_place(self) -> bool:
        """Whether the next write updates the folder in place (then the render pass yields only what it made)."""
        return self._own and self.previous is not None and not self.records and self.output.is_dir()

    def intact(self) -> Callable[[str], bool] | None:
        """What the render pass asks of each page it would keep: whether the folder still holds it as this
        writer last left it (None: nothing is kept from the folder, or the writer keeps its folder itself)."""
        return self.previous.intact if self.previous is not None and not self.in_place else None

    def holds(self, path: str, digest: bytes) -> bool:
        """Whether the folder holds, intact, the bytes of `digest` at `path` as last written."""
        return self.previous is not None and not self.in_place and self.previous.holds(path, digest)

    def write(self, outputs: SiteOutputs, problems: Problems) -> WriteResult:
        """Write the site, or raise SiteError with every problem found and leave the folder as it was."""
        before = len(problems.errors)
        if problems.errors and not self.records:
            for _ in outputs.guard(outputs.pages):  # rendered anyway: template errors join this build's report
                pass
            problems.raise_if_errors()
        if outputs.in_place:  # as the render pass was told: it yielded only the pages it made
            result = self._write_in_place(outputs, problems)
        else:
            result = write_output(
                chain(outputs.guard(outputs.pages), outputs.generated),
                outputs.static_files,
                self.output,
                outputs.finish,
                problems,
                swap_on_errors=self.records,
                previous=self.previous,
            )
        self.previous, self._own = result.manifest, True
        self._published = frozenset(outputs.static_files)
        return replace(result, complete=len(problems.errors) == before)

    def _write_in_place(self, outputs: SiteOutputs, problems: Problems) -> WriteResult:
        """Only the files whose bytes changed are written, once every page rendered without error and no two
        outputs share a path."""
        assert self.previous is not None
        made = list(outputs.guard(outputs.pages))
        problems.raise_if_errors()
        paths = outputs.every_page()
        published = frozenset(outputs.static_files)
        if not outputs.same_paths() or published != self._published:  # new paths: check they do not collide
            everything = [Unchanged(path, b"") for path in paths]
            for _ in outputs.guard(everything):
                pass
            placeholders = (Unchanged(path, b"") for path in outputs.static_files)
            for _ in unique_outputs(chain(everything, outputs.generated, placeholders), problems):
                pass
            problems.raise_if_errors()
        manifest, written = update_in_place(
            [*made, *outputs.generated], paths, outputs.static_files, self.output, self.previous
        )
        if outputs.finish is not None and written:
            outputs.finish(self.output)  # the preview's search index follows its pages, made afresh in place
            mark(self.output, files_in(self.output))
        pages = sum(1 for path in paths if path.endswith(".html"))
        return WriteResult(written, len(manifest.files) - 1 - written, pages, manifest)


def update_in_place(
    outputs: Sequence[Output | Unchanged],
    paths: Sequence[str],
    static_files: Mapping[str, Path],
    output: Path,
    previous: Manifest,
) -> tuple[Manifest, int]:
    """Update a folder this process wrote last time, in place: `outputs` (pages rendered again, generated files)
    where their bytes changed, static files whose source's stamp changed (or is too recent to trust: is_racy),
    and `paths` (every page: the rest unchanged) to know which files are gone. Each file is replaced in one
    rename. Returns the folder's new Manifest and the number of files written."""
    live = str(output)
    files = dict(previous.files)
    digests = {path: previous.digests[path] for path in paths if path in previous.digests}
    sources: dict[str, Stamp] = {}
    written = 0

    def place(path: str, put: Callable[[Path], None]) -> None:
        nonlocal written
        if not is_inside(path):
            raise SiteError(f"refusing to write outside the output folder: {path}")
        target = output / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        put(temporary)
        os.replace(temporary, target)
        stamp = output_stamp(target)
        if stamp is not None:
            files[path] = stamp
        written += 1

    for item in outputs:
        if isinstance(item, Unchanged):  # as the last write left it
            digests[item.path] = item.digest
            continue
        digest = item.digest or hashlib.blake2b(item.data, digest_size=16).digest()
        digests[item.path] = digest
        if previous.digests.get(item.path) != digest or item.path not in files:
            place(item.path, lambda temporary, data=item.data: temporary.write_bytes(data))
    taken = time.time()
    for path, file in static_files.items():
        stamp = stamp_of(file)  # before the copy reads it
        trusted = stamp is not None and not is_racy(stamp, taken)
        if not (trusted and previous.sources.get(path) == stamp and path in files):
            place(path, lambda temporary, file=file: shutil.copy2(file, temporary))
        if trusted:
            sources[path] = stamp  # type: ignore[assignment]
    wanted = {MARKER, *paths, *(item.path for item in outputs), *static_files}
    for path in files.keys() - wanted:
        del files[path]
        _remove(output, path)
    if files.keys() != previous.files.keys():
        mark(output, files.keys())  # the folder's own record of what is ours follows it
        stamp = output_stamp(os.path.join(live, MARKER))
        if stamp is not None:
            files[MARKER] = stamp
    return Manifest(live, files, digests, sources), written


def _remove(output: Path, path: str) -> None:
    """Remove a file no longer made, and the folders it leaves empty."""
    (output / path).unlink(missing_ok=True)
    folder = (output / path).parent
    while folder != output and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
