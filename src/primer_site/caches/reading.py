"""The read stage: the site's source files found, and its posts and series files parsed.

From the store when a file did not change (the dev server keeps one between rebuilds: store.py), from the
document cache in .primer-cache/ in a new process (documentcache.py), or read and parsed (parse.py).

The preview reads in two steps, one engine ("look first, verify after"): a first look (`read_sources` with
`first_look`) stats only the paths the watcher reported and takes every other file as the last read saw it, so that
the edit is served at once; then `sources_as_read` looks at every file by its stamp, as a build does, and says
whether anything the first look did not look at changed (a post that is a link to a file elsewhere, an event the
watcher missed): then the preview builds again. The watcher's paths say where to look first, never that nothing
else changed.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from primer_site.caches.documentcache import DocumentCache
from primer_site.errors import Diagnostic, Problems
from primer_site.layout import CONTENT_DIR, SERIES_DIR
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import Look, Sources, discover_sources, linked_within
from primer_site.sources.parse import Document, parse_document
from primer_site.sources.seriesfile import SeriesMeta, parse_series_file
from primer_site.store import BuildInputs, Stamp, Store, stamp_from

_VIEW = "source view"  # the store's slot for the last read's SourceView
BODY_DIGESTS = "body digests"  # the store's slot for DocumentCache.digests of the last read that used the cache
_LISTED = (CONTENT_DIR + "/", SERIES_DIR + "/")  # the folders the read lists (static/, templates/: their stages')
_BETWEEN_FILES = 64  # files looked at between two calls of read_sources' `between`

T = TypeVar("T")


@dataclass
class SourceView:
    """What the last read in this process saw of the site's source files: the preview's next first look starts
    from it, and `sources_as_read` compares a full look with it."""

    sources: Sources
    looks: dict[str, Look]  # every listed file's Look (discover.Look), as last seen
    folders: frozenset[str]  # every folder above a listed file: a reported path that is one is listed again
    config: SiteConfig  # what the read was made with
    use_cache: bool
    documents: list[Document]  # what it gave: a full look that gives these very objects found nothing new
    metas: list[SeriesMeta]
    problems: tuple[Diagnostic, ...]  # what it reported
    complete: bool  # every file was looked at by its stamp (False: a first look, not yet verified)


def read_sources(
    source: Path,
    use_cache: bool,
    memory: Store,
    incremental: bool,
    config: SiteConfig,
    told: set[str] | frozenset[str],
    problems: Problems,
    first_look: bool = False,
    between: Callable[[], None] | None = None,
    stamped: BuildInputs | None = None,
    read_before: Mapping[str, Stamp] | None = None,
) -> tuple[Sources, list[Document], list[SeriesMeta]]:
    """The site's source files, and its posts and series files parsed (those that parse): from the dev server's
    memory when unchanged (`incremental`: the memory is the dev server's, kept for the next build), from the
    document cache in .primer-cache/, or read. `told`: the site-relative paths the watcher says changed: read again
    whatever their stamps say (every other file is looked at by its stamp).

    Each file is looked at once: the walk's stat (discover.Look) gives its stamp, and whether it is a link; a file
    that is no link and was readable at that stamp at the last build is not asked again (discover.linked_within).

    `first_look` (the preview, `incremental` only): look only at `told`, and take every other file as the last read
    in this process saw it, without listing a folder or stat'ing a file: the work follows the change, not the
    site's size. Not possible (then every file is looked at, as without it) when there is no last read with the
    same settings, when it reported a problem in the listing, or when a told path under content/ or series/ is a
    folder, a file made or removed, or no regular file: the listing itself may have changed. The caller verifies
    afterwards with `sources_as_read`. `between`: called before each folder is listed and every so many files
    are looked at; it may raise to stop the read (what the store keeps stays right: each entry is a file's own).
    `stamped`: the stamps of the site's files a build in a new process took a moment before (store.take_inputs, for
    the last build's record): the walk takes each file's stamp from there (discover_sources), and the read is as if
    made when they were taken. `read_before`: the stamps of the files the last good build read, by the same reader
    (buildrecord.PreviousBuild.read_before; all trusted): a file that is no link and has its stamp there was readable then, and is not asked
    again (as the preview's own builds do: discover.linked_within's `readable`).
    """
    # before the walk stamps anything: a stamp is trusted against this (store.is_racy)
    taken = stamped.taken if stamped is not None else time.time()
    view: SourceView | None = memory.peek(_VIEW) if incremental else None
    looks = _looked_first(source, view, config, use_cache, told, taken) if first_look and view is not None else None
    # the preview's, kept for the next build; else a copy of the record's (linked_within adds what it finds now)
    readable = memory.slot("readable", dict) if incremental else dict(read_before) if read_before is not None else None
    before = len(problems.items)
    if looks is None:
        looks = {}
        known = stamped.files if stamped is not None else None
        sources = discover_sources(source, problems, config.follow_links_outside, looks, between, known)
        # nothing outside is read
        sources = linked_within(source, sources, config.follow_links_outside, problems, looks, readable, taken)
        if view is not None and sources == view.sources:
            sources = view.sources  # the very listing: what is kept for it stands (build._forget_gone)
        if readable is not None and len(readable) > len(looks):  # files gone: keep only what the site still has
            readable = {path: stamp for path, stamp in readable.items() if path in looks}
            memory.put("readable", readable)
        listed_cleanly, looked = len(problems.items) == before, None
    else:
        assert view is not None
        sources, listed_cleanly, looked = view.sources, True, told

    def walk_stamp(relative: str) -> tuple[float, Stamp] | None:
        """The walk's stamp of a file, for the store (None: it could not stat it; the store tries and says why)."""
        look = looks.get(relative)
        stamp = look.stamp if look is not None else None
        return (taken, stamp) if stamp is not None else None

    # parsed posts kept across processes: a new process parses only the files that changed (not opened by a first
    # look, which serves an edit at once: a new process parses the few posts edited meanwhile itself)
    document_cache = (
        DocumentCache(
            source, (*sources.posts, *sources.series), config.zone, preload=not memory.holds("post"), taken=taken
        )
        if use_cache and looked is None
        else None
    )

    def walked(relative: str) -> tuple[Stamp, bool] | None:
        """The walk's stat of a file, after `taken`: the cache does not stat it again."""
        look = looks.get(relative)
        return (look.stamp, look.regular) if look is not None and look.stamp is not None else None

    def parse(relative: str, found: Problems) -> Document | None:
        if document_cache is None:
            return parse_document(source, relative, config.zone, found)
        made = lambda into: parse_document(source, relative, config.zone, into)  # noqa: E731
        return document_cache.document(relative, made, found, walked(relative))

    def parse_series(relative: str, found: Problems) -> SeriesMeta | None:
        if document_cache is None:
            return parse_series_file(source, relative, found)
        made = lambda into: parse_series_file(source, relative, into)  # noqa: E731
        return document_cache.series_file(relative, made, found, walked(relative))

    looked_at = [0]

    def document(relative: str) -> Document | None:
        if between is not None:
            looked_at[0] += 1
            if looked_at[0] % _BETWEEN_FILES == 0:
                between()
        if not incremental:  # nothing to keep for a next build in this process
            return parse(relative, problems)
        return read_file(
            memory,
            "post",
            f"{source}/{relative}",
            relative,
            lambda found: parse(relative, found),
            problems,
            again=relative in told,
            also=config.zone,  # dates are read in the site's time zone
            stamped=walk_stamp(relative),
        )

    def series_file(relative: str) -> SeriesMeta | None:
        return read_file(
            memory,
            "series",
            f"{source}/{relative}",
            relative,
            lambda found: parse_series(relative, found),
            problems,
            again=relative in told,
            stamped=walk_stamp(relative),
        )

    try:
        if looked is None:
            documents = [d for d in map(document, sources.posts) if d]
            metas = [m for m in map(series_file, sources.series) if m]
        else:
            documents = _as_last_read(memory, "post", sources.posts, looked, document, problems)
            metas = _as_last_read(memory, "series", sources.series, looked, series_file, problems)
    except BaseException:
        if document_cache is not None:
            document_cache.close()  # what it parsed is kept; nothing is pruned
        raise
    if document_cache is not None:
        # the entries of posts that are gone dropped (a table of every path, each build): in the preview, only when
        # the site's posts are other than at its last build (the cache is this process's between the two)
        memory.put(BODY_DIGESTS, document_cache.digests)  # for post_bodies: the bodies' digests, kept in the cache
        pruned = memory.peek("document cache pruned") if incremental else None
        kept = (*sources.posts, *sources.series)
        document_cache.close(keep=None if pruned == kept else kept)
        if incremental:
            memory.put("document cache pruned", kept)
    if incremental:
        if listed_cleanly:
            folders = view.folders if view is not None and view.sources is sources else _folders_of(sources)
            found = tuple(problems.items[before:])
            complete = looked is None
            memory.put(_VIEW, SourceView(sources, looks, folders, config, use_cache, documents, metas, found, complete))
        else:  # a listing with problems is listed again next time
            memory.put(_VIEW, None)
    return sources, documents, metas


class Interrupted(Exception):
    """Raised by a verification's `between` (sources_as_read) to stop it: more changes came."""


def sources_as_read(source: Path, memory: Store, more_changes: Callable[[], bool] = lambda: False) -> bool | None:
    """The verification after a first look (read_sources): every source file looked at by its stamp, as a build
    does (a full listing, each file's stamp, links' targets, the racy rule), and whether the last read gave what
    that gives: the same listing, the very same parsed objects and the same problems. False: something the first
    look did not look at changed; the store now holds it, and a build reads it from there. True at once when the
    last read looked at every file (or there was none: the next build lists everything). None: stopped because
    `more_changes()` said the watcher has more (asked before each folder and every few files): the rebuild they
    start looks first, then verifies, so nothing is left unverified once the changes stop."""
    view: SourceView | None = memory.peek(_VIEW)
    if view is None or view.complete:
        return True
    problems = Problems()

    def between() -> None:
        if more_changes():
            raise Interrupted

    try:
        sources, documents, metas = read_sources(
            source, view.use_cache, memory, True, view.config, frozenset(), problems, between=between
        )
    except Interrupted:
        return None
    return (
        sources == view.sources
        and _same_objects(documents, view.documents)
        and _same_objects(metas, view.metas)
        and tuple(problems.items) == view.problems
    )


def _same_objects(made: list, kept: list) -> bool:
    return len(made) == len(kept) and all(a is b for a, b in zip(made, kept, strict=True))


def _looked_first(
    source: Path, view: SourceView, config: SiteConfig, use_cache: bool, told: set[str] | frozenset[str], taken: float
) -> dict[str, Look] | None:
    """The last read's looks with each told file under content/ or series/ looked at anew; None when the listing
    must be made again (see read_sources' `first_look`). Only the told paths are stat'ed."""
    if (view.config is not config and view.config != config) or view.use_cache != use_cache:
        return None
    looks = view.looks
    fresh: dict[str, Look] = {}
    for relative in told:
        if not relative.startswith(_LISTED):
            continue  # static/, templates/, site.yaml, i18n/: looked at whole by their own stages, every build
        full = f"{source}/{relative}"
        try:
            info = os.stat(full)
        except (OSError, ValueError):
            info = None
        if relative not in looks:
            series_only = relative.startswith(_LISTED[1]) and not relative.endswith(".md")
            if info is not None and stat.S_ISREG(info.st_mode) and series_only:
                continue  # no series file: the listing leaves it out
            if info is not None or os.path.lexists(full) or relative in view.folders:
                return None  # a file or folder made, or one removed that held sources: list again
            continue  # made and removed between two builds (an editor's temporary file): no source
        if info is None or not stat.S_ISREG(info.st_mode):
            return None  # removed, or no regular file any more
        fresh[relative] = Look(os.path.islink(full), stamp_from(info), True)
    if not fresh:
        return looks
    # a told file that links elsewhere is checked as the listing would check it: listed again if it is refused
    check = Problems()
    # as discover sorts them: .md files under content/ are posts, under series/ series files, the rest assets
    posts = sorted(p for p in fresh if p.startswith(_LISTED[0]) and p.endswith(".md"))
    series = sorted(p for p in fresh if p.startswith(_LISTED[1]))
    assets = sorted(p for p in fresh if p.startswith(_LISTED[0]) and not p.endswith(".md"))
    told_sources = Sources(posts=tuple(posts), series=tuple(series), assets=tuple(assets))
    linked_within(source, told_sources, config.follow_links_outside, check, fresh, None, taken)
    if check.items:
        return None
    looks.update(fresh)
    return looks


def _folders_of(sources: Sources) -> frozenset[str]:
    """Every folder above a listed file (site-relative), the top ones included."""
    folders: set[str] = set()
    for paths in (sources.posts, sources.series, sources.assets):
        for path in paths:
            folder = path.rpartition("/")[0]
            while folder and folder not in folders:
                folders.add(folder)
                folder = folder.rpartition("/")[0]
    return frozenset(folders)


def _as_last_read(
    memory: Store,
    kind: str,
    paths: tuple[str, ...],
    looked: set[str] | frozenset[str],
    read: Callable[[str], T | None],
    problems: Problems,
) -> list[T]:
    """What each of `paths` gave at the last read (its problems reported again), or `read(path)` for the looked
    ones and any the store holds nothing for; those that parsed. A first look's loop: one look-up per file
    unchanged, no file-system call."""
    made = []
    last = memory.last
    for relative in paths:
        kept = None if relative in looked else last(kind, relative)
        if kept is None:
            result = read(relative)
        else:
            result, found = kept
            if found:
                problems.extend(found)
        if result:
            made.append(result)
    return made


def read_file(
    store: Store,
    kind: str,
    path: str,
    key: str,
    parse: Callable[[Problems], T],
    problems: Problems,
    again: bool = False,
    also: Hashable = None,
    stamped: tuple[float, Stamp] | None = None,
) -> T:
    """`parse(problems)` for the file at `path`, or what it gave last time (its problems reported again) while the
    file's stamp is the same and trusted (store.Store.read) and `also` (what else the parse read) is equal.
    `again`: parse it whatever the stamp says (the watcher saw it change). `stamped`: (when, its stamp) as the
    caller took them before reading it (store.Store.read)."""

    def make() -> tuple[T, tuple[Diagnostic, ...]]:
        found = Problems()
        return parse(found), tuple(found.items)

    result, found = store.read(kind, path, key, make, again, also, stamped)
    problems.extend(found)
    return result
