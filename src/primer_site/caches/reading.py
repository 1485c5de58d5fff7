"""The read stage: the site's source files found, and its posts and series files parsed.

From the store when a file did not change (the dev server keeps one between rebuilds: store.py), from the
document cache in .primer-cache/ in a new process (documentcache.py), or read and parsed (parse.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from primer_site.caches.documentcache import DocumentCache
from primer_site.errors import Diagnostic, Problems
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import Look, Sources, discover_sources, linked_within
from primer_site.sources.parse import Document, parse_document
from primer_site.sources.seriesfile import SeriesMeta, parse_series_file
from primer_site.store import Stamp, Store


def read_sources(
    source: Path,
    use_cache: bool,
    memory: Store,
    incremental: bool,
    config: SiteConfig,
    told: set[str],
    problems: Problems,
) -> tuple[Sources, list[Document], list[SeriesMeta]]:
    """The site's source files, and its posts and series files parsed (those that parse): from the dev server's
    memory when unchanged (`incremental`: the memory is the dev server's, kept for the next build), from the
    document cache in .primer-cache/, or read. `told`: the site-relative paths the watcher says changed: read again
    whatever their stamps say (every other file is looked at by its stamp).

    Each file is looked at once: the walk's stat (discover.Look) gives its stamp, and whether it is a link; a file
    that is no link and was readable at that stamp at the last build is not asked again (discover.linked_within).
    """
    taken = time.time()  # before the walk stamps anything: a stamp is trusted against this (store.is_racy)
    looks: dict[str, Look] = {}
    sources = discover_sources(source, problems, config.follow_links_outside, looks)
    readable = memory.slot("readable", dict) if incremental else None  # the preview's: kept for the next build
    # nothing outside is read
    sources = linked_within(source, sources, config.follow_links_outside, problems, looks, readable, taken)
    if readable is not None and len(readable) > len(looks):  # files gone: keep only what the site still has
        readable = {path: stamp for path, stamp in readable.items() if path in looks}
        memory.put("readable", readable)

    def stamped(relative: str) -> tuple[float, Stamp] | None:
        """The walk's stamp of a file, for the store (None: it could not stat it; the store tries and says why)."""
        look = looks.get(relative)
        stamp = look.stamp if look is not None else None
        return (taken, stamp) if stamp is not None else None

    # parsed posts kept across processes: a new process parses only the files that changed
    document_cache = (
        DocumentCache(source, sources.posts, config.zone, preload=not memory.holds("post")) if use_cache else None
    )

    def parse(relative: str, found: Problems) -> Document | None:
        if document_cache is None:
            return parse_document(source, relative, config.zone, found)
        return document_cache.document(
            relative, lambda into: parse_document(source, relative, config.zone, into), found
        )

    def document(relative: str) -> Document | None:
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
            stamped=stamped(relative),
        )

    def series_file(relative: str) -> SeriesMeta | None:
        return read_file(
            memory,
            "series",
            f"{source}/{relative}",
            relative,
            lambda found: parse_series_file(source, relative, found),
            problems,
            again=relative in told,
            stamped=stamped(relative),
        )

    documents = [d for d in map(document, sources.posts) if d]
    if document_cache is not None:
        # the entries of posts that are gone dropped (a table of every path, each build): in the preview, only when
        # the site's posts are other than at its last build (the cache is this process's between the two)
        pruned = memory.peek("document cache pruned") if incremental else None
        document_cache.close(keep=None if pruned == sources.posts else sources.posts)
        if incremental:
            memory.put("document cache pruned", sources.posts)
    metas = [m for m in map(series_file, sources.series) if m]
    return sources, documents, metas


T = TypeVar("T")


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
