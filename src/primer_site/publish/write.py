"""The one writer: a build's outputs → the output folder, for `build`, `check` and `serve` alike.

A SiteWriter knows what it last left in the folder (a Manifest, with the store's one stamp) and writes the next
site the one way that fits:
- staged (staging.py): the new site is made beside the live one and swapped in whole; what the Manifest shows
  intact is hard-linked, not read; a build that changes nothing writes nothing. The first build into a folder,
  one into a folder that is not as the last build left it (a file edited or added by hand), one with a finishing
  step (PDFs, a search index), and one that changes most of the folder.
- in place (inplace.py): a folder exactly as the last write left it (the dev server's private folder, or one a
  build in a new process finds as its record says: Manifest.left_as_is), updated by writing only what changed,
  each file by one rename, all or nothing, where a rebuild must take milliseconds.

Errors are the writer's to act on, never the caller's: by default any error stops the write before the live
folder changes (SiteError, the previous output exactly as it was); a writer that `records` errors (`check`, into
a temporary folder) writes the site anyway and leaves them in `problems`, so that one run reports them all.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

from primer_site.errors import Problems, SiteError
from primer_site.model import Output, Unchanged
from primer_site.publish.inplace import InPlaceUpdate
from primer_site.publish.manifest import Manifest, WriteResult, files_in, unique_outputs
from primer_site.publish.output import MARKER, foreign_message, live_folder, mark, marker_bytes, staging_folder
from primer_site.publish.staging import write_output
from primer_site.store import Stamp, is_racy, stamp_of

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

    def __init__(
        self, output: Path, previous: Manifest | None = None, records: bool = False, as_left: bool = False
    ) -> None:
        self.output = output
        self.previous = previous if previous is not None and previous.live == str(live_folder(output)) else None
        self.records = records
        # the last write into the folder was this writer's, or `as_left`: the folder was just found exactly as
        # `previous` says (Manifest.left_as_is): it may be updated in place
        self._own = as_left and self.previous is not None
        self._found = self._own  # the folder was found, not written by this writer: look for files put there
        # the static files of that write: a folder found as `previous` says holds those `previous` copied
        self._published: frozenset[str] = self.previous.copied() if self._found else frozenset()  # type: ignore[union-attr]

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
        self.previous, self._own, self._found = result.manifest, True, False
        self._published = frozenset(outputs.static_files)
        return replace(result, complete=len(problems.errors) == before)

    def _write_in_place(self, outputs: SiteOutputs, problems: Problems) -> WriteResult:
        """Only the files whose bytes changed are written, once every page rendered without error and no two
        outputs share a path; all at once, or none (inplace.py). A write that would change most of the folder,
        or that a folder in the way blocks, is staged instead."""
        previous = self.previous
        assert previous is not None
        live = Path(previous.live)
        update = InPlaceUpdate(live, staging_folder(live))
        try:
            digests = _stage_outputs(update, chain(outputs.guard(outputs.pages), outputs.generated), previous)
            problems.raise_if_errors()
            paths = outputs.every_page()
            published = frozenset(outputs.static_files)
            if not outputs.same_paths() or published != self._published:  # new paths: check they do not collide
                # what the guard lets through: a page it refused is reported once, not again as a collision
                everything = list(outputs.guard([Unchanged(path, b"") for path in paths]))
                placeholders = (Unchanged(path, b"") for path in outputs.static_files)
                for _ in unique_outputs(chain(everything, outputs.generated, placeholders), problems):
                    pass
                problems.raise_if_errors()
            sources = _stage_copies(update, outputs.static_files, previous)
            if update.blocked or 2 * len(update.temporaries) > len(previous.files):
                return self._staged_instead(update, outputs, digests, paths, problems)
            manifest, written = _commit(update, previous, paths, digests, outputs.static_files, sources, self._found)
        except OSError as error:  # a full disk, a read-only one: the folder is as it was (InPlaceUpdate.commit)
            where = f" ({error.filename})" if error.filename else ""
            raise SiteError(
                f"cannot write the new site into {live}: {error.strerror or error}{where}; the output folder was "
                "left as it was (free some space, or make the folder writable, and build again)"
            ) from None
        finally:
            update.discard()
        if outputs.finish is not None and written:
            outputs.finish(self.output)  # the preview's search index follows its pages, made afresh in place
            mark(self.output, files_in(self.output))
        pages = sum(1 for path in paths if path.endswith(".html"))
        return WriteResult(written, len(manifest.files) - 1 - written, pages, manifest)

    def _staged_instead(
        self,
        update: InPlaceUpdate,
        outputs: SiteOutputs,
        digests: dict[str, bytes],
        paths: Sequence[str],
        problems: Problems,
    ) -> WriteResult:
        """The site written staged after all, from the files made for the in-place write (read back one at a time)
        and the live folder's (hard-linked): it is exactly as the last write left it."""
        assert self.previous is not None
        made = {path: update.temporaries[path] for path in digests if path in update.temporaries}
        known = self.previous.digests

        def items() -> Iterator[Output | Unchanged]:
            for path in chain(paths, (item.path for item in outputs.generated)):
                digest = digests.get(path) or known[path]
                yield Output(path, made[path].read_bytes(), digest) if path in made else Unchanged(path, digest)

        return write_output(
            items(), outputs.static_files, self.output, outputs.finish, problems, previous=self.previous
        )


def _stage_outputs(
    update: InPlaceUpdate, outputs: Iterable[Output | Unchanged], previous: Manifest
) -> dict[str, bytes]:
    """Stage the outputs whose bytes are not those the live folder holds; the digest of every output's bytes."""
    digests = {}
    for item in outputs:
        if isinstance(item, Unchanged):  # as the last write left it
            digests[item.path] = item.digest
            continue
        digest = item.digest or hashlib.blake2b(item.data, digest_size=16).digest()
        digests[item.path] = digest
        if previous.digests.get(item.path) != digest or item.path not in previous.files:
            update.stage(item.path, item.data)
    return digests


def _stage_copies(update: InPlaceUpdate, static_files: Mapping[str, Path], previous: Manifest) -> dict[str, Stamp]:
    """Stage the static files whose source's stamp changed (or is too recent to trust: is_racy); the stamps of the
    sources to keep."""
    sources: dict[str, Stamp] = {}
    taken = time.time()
    for path, file in static_files.items():
        stamp = stamp_of(file)  # before the copy reads it
        trusted = stamp is not None and not is_racy(stamp, taken)
        same = trusted and previous.sources.get(path) == stamp and path in previous.files
        if not same and not (path in previous.files and _same_bytes(file, Path(previous.live, path))):
            update.stage(path, file)
        if trusted:
            sources[path] = stamp  # type: ignore[assignment]
    return sources


def _commit(
    update: InPlaceUpdate,
    previous: Manifest,
    paths: Sequence[str],
    digests: dict[str, bytes],
    static_files: Mapping[str, Path],
    sources: dict[str, Stamp],
    found: bool,
) -> tuple[Manifest, int]:
    """Put the staged files in place and remove those no longer made (only files the last write made): `paths`
    are every page, `digests` every page made again and generated file; `found`: the folder was found as the last
    build left it, not written by this writer (then files put there by hand stop the write, as staged). The
    folder's new Manifest and the number of files written."""
    wanted = {MARKER, *paths, *digests, *static_files}
    removed = previous.files.keys() - wanted
    folders = previous.folders
    if found:
        stray, folders = previous.foreign()
        if stray:
            # as the staging writer does (staging._refuse_foreign): a file put in the folder by hand is never
            # published, nor left there by a build that writes nothing (a build without the record stops on it)
            raise SiteError(foreign_message(Path(previous.live), stray))
    kept = {path: stamp for path, stamp in previous.files.items() if path not in removed}
    written = len(update.temporaries)
    if kept.keys() | update.temporaries.keys() != previous.files.keys():
        # the folder's own record of what is ours follows it, in the same transaction
        update.stage(MARKER, marker_bytes(kept.keys() | update.temporaries.keys()))
    # the folders' stamps are kept as they were taken: those this write changes will not match them, so the next
    # write lists them (then stamps them anew)
    kept.update(update.commit(removed))
    known = {path: previous.digests[path] for path in paths if path in previous.digests}
    return Manifest(previous.live, kept, {**known, **digests}, sources, folders), written


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes (a static file whose stamp cannot tell: as the staging writer does)."""
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False
