"""The read stage: the site's source files found, and its posts and series files parsed.

From the dev server's memory when a file did not change (rebuildmemory.py), from the document cache in
.primer-cache/ in a new process (documentcache.py), or read and parsed (parse.py).
"""

from __future__ import annotations

from pathlib import Path

from .config import SiteConfig
from .discover import Sources, discover_sources, linked_within
from .documentcache import DocumentCache
from .errors import Problems
from .parse import Document, SeriesMeta, parse_document, parse_series_file
from .rebuildmemory import BuildMemory


def read_sources(
    source: Path,
    use_cache: bool,
    memory: BuildMemory,
    incremental: bool,
    config: SiteConfig,
    told: set[str],
    problems: Problems,
) -> tuple[Sources, list[Document], list[SeriesMeta]]:
    """The site's source files, and its posts and series files parsed (those that parse): from the dev server's
    memory when unchanged (`incremental`: the memory is the dev server's, kept for the next build), from the
    document cache in .primer-cache/, or read. `told`: the site-relative paths the watcher says changed: read again
    whatever their stamps say (every other file is looked at by its stamp)."""
    sources = discover_sources(source, problems, config.follow_links_outside)
    sources = linked_within(source, sources, config.follow_links_outside, problems)  # nothing outside is read

    # parsed posts kept across processes: a new process parses only the files that changed
    document_cache = (
        DocumentCache(source, sources.posts, config.zone, preload=not any(k == "post" for k, _ in memory.files))
        if use_cache
        else None
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
        return memory.read(  # type: ignore[return-value]
            "post",
            f"{source}/{relative}",
            relative,
            lambda found: parse(relative, found),
            problems,
            unchanged=False if relative in told else None,
        )

    def series_file(relative: str) -> SeriesMeta | None:
        return memory.read(  # type: ignore[return-value]
            "series",
            f"{source}/{relative}",
            relative,
            lambda found: parse_series_file(source, relative, found),
            problems,
            unchanged=False if relative in told else None,
        )

    documents = [d for d in map(document, sources.posts) if d]
    if document_cache is not None:
        document_cache.close(keep=sources.posts)
    metas = [m for m in map(series_file, sources.series) if m]
    return sources, documents, metas
