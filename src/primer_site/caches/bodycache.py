"""The body cache: rendered bodies kept on disk across processes (.primer-cache/bodies.sqlite3).

A table made by the store (diskstore.open_salted), keyed on everything a body's HTML depends on (body_key), with a
salt for everything else (cache_salt: the renderer's own code, library versions): a cache with another salt is
emptied. Each body is stored as sealed plain tuples (diskstore.sealed) beside its HTML, and its formulas in a
cell of their own, read only when asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import starmap
from pathlib import Path

from primer_site import __version__, errors, model
from primer_site.caches.fingerprints import known_long_digests, long_digest
from primer_site.diskstore import (
    DAMAGED,
    MARSHAL_SALT,
    CacheTables,
    mapped_reads,
    open_salted,
    sealed,
    unsealed,
    without_collection,
)
from primer_site.errors import Diagnostic
from primer_site.frozen import maker
from primer_site.layout import CACHE_DIR
from primer_site.model import Heading, Link
from primer_site.salts import library_version
from primer_site.syntax import markdown
from primer_site.syntax.citations import Citation, CiteItem
from primer_site.syntax.markdown import AssetRef, BodySource, Formula, Label, RenderedBody, SourceLink

_FILE = "bodies.sqlite3"
_FORMAT = 8


# the row's layout (_encode, _decode) and the types it is read back into: a field moved there without a new _FORMAT
# must not read old rows wrongly
_ROW_SOURCES = (Path(__file__), Path(str(model.__file__)), Path(str(errors.__file__)))


@lru_cache(maxsize=4)  # the package versions are looked up on disk: once per process is enough
def cache_salt(raw_html: bool) -> str:
    """Everything besides a body's own text that its HTML depends on (the renderer's own code included)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in (*markdown.RENDERER_SOURCES, *_ROW_SOURCES):
        digest.update(path.read_bytes())
    renderer = digest.hexdigest()
    parts = [
        f"format={_FORMAT}",
        MARSHAL_SALT,
        f"primer-site={__version__}",
        f"renderer={renderer}",
        f"raw_html={raw_html}",
    ]
    for package in ("markdown-it-py", "mdit-py-plugins"):
        parts.append(f"{package}={library_version(package)}")
    parts.append(f"Pygments={markdown.pygments_version()}")  # as the highlights' salt reads it
    return ";".join(parts)


def body_digest(body: str) -> str:
    """A digest of a post's Markdown body: part of its body key (body_key), kept with the parsed post in the
    document cache so that a new process does not hash every body again (8 MB at 1,000 posts)."""
    return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


def body_key(item: BodySource, theorems_key: str | None = None, digest: str | None = None) -> str:
    """The body cache's key of what `item` renders to. `theorems_key`: `item.theorems.key`, and `digest`:
    `body_digest(item.body)`, if worked out already."""
    return key_of_parts(
        item.source,
        item.first_line,
        item.chapter,
        item.number_sections,
        item.theorems.key if theorems_key is None else theorems_key,
        body_digest(item.body) if digest is None else digest,
    )


def key_of_parts(source: str, first_line: int, chapter: str, numbered: bool, theorems_key: str, digest: str) -> str:
    """body_key of a BodySource with these fields, its theorem settings' key and its body's digest given (a
    document's without a BodySource made for it: bodies.document_key)."""
    parts = (source, str(first_line), chapter, str(numbered), theorems_key, digest, "")  # each part, then a NUL
    # one text hashed once: the bytes of each part encoded and followed by a NUL (UTF-8 encodes part by part)
    return hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()


_ONE_PASS = 500  # more keys than this (a query's worth) are read in one pass over the table (BodyCache.get_many)

SERIES_KEY = "series-"  # before the key of a series' description (a post's is hexadecimal): pruned apart
# every key that starts with SERIES_KEY, and no other, is at or past SERIES_KEY and before this (the keys' order is
# their bytes'): the rows of one kind are a range of the key's index, not a scan of the whole table
_PAST_SERIES = SERIES_KEY[:-1] + chr(ord(SERIES_KEY[-1]) + 1)
_SERIES_ROWS = "key >= ? AND key < ?"


class BodyCache(CacheTables):
    """Rendered bodies by key; every failure to read it means "not cached"."""

    def __init__(self, site: Path, salt: str) -> None:
        self.path = site / CACHE_DIR / _FILE
        self.salt = salt
        self.db: sqlite3.Connection | None = None
        # after a pass over the whole table (get_many): the keys it asked for, and the table's other keys then
        self.passed: tuple[set[str], list[str]] | None = None
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.db = self._open()
        except (OSError, sqlite3.Error):
            self.db = None  # a read-only site, say: build without a cache

    def _open(self) -> sqlite3.Connection:
        # a cache: a write lost to a power cut costs a render, so no commit waits for the disk
        # the HTML in a column of its own, read as it is; the formulas too: only a build that checks math reads them
        columns = "key TEXT PRIMARY KEY, value BLOB NOT NULL, formulas BLOB NOT NULL, html TEXT NOT NULL"
        return open_salted(self.path, self.salt, "bodies", columns, durable=False)

    def get_many(self, keys: list[str], formulas: bool = True, lasting: bool = False) -> dict[str, RenderedBody]:
        """The cached bodies of `keys`; without their formulas unless asked (the math check needs them). Many keys
        (every post's, in a new process) are read in one pass over the table, as the document cache reads its rows
        (documentcache.py): it holds about the site's bodies (pruned every build), and one scan costs less than a
        look-up by key for each. `lasting`: the bodies live to the end of the process, and no collection need walk
        them (diskstore.without_collection)."""
        if self.db is None or not keys:
            return {}
        found: dict[str, RenderedBody] = {}
        columns = "key, value, html, formulas" if formulas else "key, value, html"
        try:
            with without_collection(lambda: lasting and bool(found)), mapped_reads(self.db):
                if len(keys) > _ONE_PASS:
                    wanted, others = set(keys), []
                    # the rows asked for; every other key noted on the way (append gives None: not a row asked for)
                    query = self.db.execute(f"SELECT {columns} FROM bodies")
                    self._decoded(
                        (row for row in query if row[0] in wanted or (type(row[0]) is str and others.append(row[0]))),
                        found,
                    )
                    self.passed = (wanted, others)
                    return found
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    self._decoded(self.db.execute(f"SELECT {columns} FROM bodies WHERE key IN ({marks})", chunk), found)
        except sqlite3.Error:
            return {}
        return found

    def _decoded(self, rows: Iterable[tuple], into: dict[str, RenderedBody]) -> None:
        """The bodies of `rows` (key, value, html[, formulas]) that decode, into `into` by key."""
        digests: list[tuple[str, bytes]] = []
        for key, value, html, *stored in rows:
            body = _decode(value, html, stored[0] if stored else None, digests)
            if body is not None:
                into[key] = body
        known_long_digests(digests)  # each HTML hashed once: its check here is its whole fingerprint's digest too

    def formulas_of(self, keys: list[str]) -> dict[str, tuple[Formula, ...]]:
        """The formulas of the cached bodies of `keys`, nothing else of them decoded."""
        if self.db is None or not keys:
            return {}
        found: dict[str, tuple[Formula, ...]] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, stored in self.db.execute(f"SELECT key, formulas FROM bodies WHERE key IN ({marks})", chunk):
                    with contextlib.suppress(ValueError, TypeError):
                        found[key] = _formulas(stored)
        except sqlite3.Error:
            return {}
        return found

    def replace_all(
        self,
        entries: Iterable[tuple[str, RenderedBody]],
        keep: set[str] | None,
        series: bool = False,
        held: int | None = None,
    ) -> bool:
        """Store new entries and drop those no source needs any more: of the posts' bodies (or, with `series`, of
        the series' descriptions), all but `keep`; None: drop none. Whether it was stored. `held`: how many keys of
        `keep` the table holds once the entries are in (those found in it and those stored now), if known: then
        nothing is dropped unless it holds more rows of that kind (one count, not a table of `keep` to compare).

        After get_many's pass over the whole table for keys all in `keep` (a new process), the rows to drop are
        those it saw and `keep` lacks, dropped by key: no count, nor a table of `keep` (a row stored meanwhile by
        another build is left for the next prune)."""
        # the rows of the kind: the series' a range of the key's index (a prune of 50 series' rows read none of the
        # posts', ~1,000 pages at 1,000 posts, every build), the posts' every other row
        kind = _SERIES_ROWS if series else f"NOT ({_SERIES_ROWS})"
        bounds = (SERIES_KEY, _PAST_SERIES)
        seen = self.passed if keep is not None and self.passed is not None and self.passed[0] <= keep else None
        stale = [(k,) for k in seen[1] if k.startswith(SERIES_KEY) == series and k not in keep] if seen else []

        def work(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?, ?)", _rows(entries))
            if seen is not None:
                db.executemany("DELETE FROM bodies WHERE key = ?", stale)
                return
            if keep is not None and held is not None:
                (rows,) = db.execute(f"SELECT count(*) FROM bodies WHERE {kind}", bounds).fetchone()
                if rows <= held:
                    return  # every row of the kind is one of `keep`'s
            if keep is not None:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM keep")
                db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
                db.execute(f"DELETE FROM bodies WHERE {kind} AND key NOT IN (SELECT key FROM keep)", bounds)

        return self.write(work)


def _rows(entries: Iterable[tuple[str, RenderedBody]]) -> Iterator[tuple[str, bytes, bytes, str]]:
    """The table's rows of `entries`, but those of a body marshal cannot hold (a str subclass, say: ValueError):
    not stored, rendered again next time (as documentrows.encode_post does)."""
    for key, body in entries:
        try:
            yield (key, *_encode(body), body.html)
        except ValueError:
            continue


def _encode(body: RenderedBody) -> tuple[bytes, bytes]:
    """The body but its HTML and formulas, and its formulas, as two sealed cells (diskstore.sealed: marshal's plain
    tuples, each field of the type the body declares): a build that checks no math never reads the second. The HTML
    is a column of its own, read as it is: the first cell ends with its digest (fingerprints.long_digest), so that a
    changed HTML cell is never taken for the body's."""
    fields = (
        tuple((h.level, h.id, h.text, h.html) for h in body.headings),
        tuple(sorted(body.ids)),
        bool(body.has_math),
        int(body.word_count),
        str(body.first_paragraph),
        tuple((link.target, link.fragment, link.line, link.written) for link in body.links),
        tuple((link.href, link.line) for link in body.others),
        tuple((int(line), int(column)) for line, column in body.stray_dollars),
        tuple((label.id, label.kind, label.number, label.html, label.name) for label in body.labels),
        tuple((d.path, d.line, d.column, d.severity, d.message) for d in body.errors),
        int(body.display_equations),
        tuple((a.target, a.written, a.line, a.suffix, a.image, tuple(map(tuple, a.given))) for a in body.assets),
        tuple(
            (tuple((i.key, i.prefix, i.suffix, i.year_only) for i in c.items), c.in_text, c.written, c.line, c.column)
            for c in body.citations
        ),
        long_digest(body.html),
    )
    return sealed(fields), sealed(tuple((f.tex, f.display, f.line, f.column) for f in body.formulas))


def _formulas(stored: bytes) -> tuple[Formula, ...]:
    """The formulas _encode stored (a cell of their own: decoded only when asked for); ValueError if damaged."""
    found = unsealed(stored)
    if found is DAMAGED:
        raise ValueError("a damaged cell")
    return tuple(starmap(Formula, found))  # type: ignore[arg-type]


_BODY = maker(RenderedBody)
# the parts every body has several of (4 headings and 4 labels a post, say), made as the body is
_HEADING, _LABEL, _SOURCE_LINK, _LINK = maker(Heading), maker(Label), maker(SourceLink), maker(Link)


def _decode(
    value: bytes, html_text: str, formulas: bytes | None = None, digests: list[tuple[str, bytes]] | None = None
) -> RenderedBody | None:
    """The stored body (its formulas from their cell if given, else none), or None for anything that is not
    exactly what _encode wrote: an HTML cell whose digest is not the one sealed with the body, too. The cell's
    digest vouches for its types: each field is taken as stored. `digests` gets the HTML and its digest."""
    fields = unsealed(value)
    if fields is DAMAGED or not isinstance(html_text, str):
        return None
    try:
        (
            headings,
            ids,
            has_math,
            words,
            first,
            links,
            others,
            stray,
            labels,
            errors,
            displays,
            assets,
            citations,
            html_digest,
        ) = fields  # type: ignore[misc]
        if long_digest(html_text) != html_digest:
            return None
        if digests is not None:
            digests.append((html_text, html_digest))
        return _BODY(  # an empty part without a call (most bodies have no citation, say): the seal vouches its type
            html_text,
            tuple(starmap(_HEADING, headings)) if headings else (),
            frozenset(ids),
            has_math,
            words,
            first,
            tuple(starmap(_SOURCE_LINK, links)) if links else (),
            tuple(starmap(_LINK, others)) if others else (),
            _formulas(formulas) if formulas is not None else (),
            stray,
            tuple(starmap(_LABEL, labels)) if labels else (),
            tuple(starmap(Diagnostic, errors)) if errors else (),
            displays,
            tuple(starmap(AssetRef, assets)) if assets else (),
            tuple(
                Citation(tuple(starmap(CiteItem, items)), in_text, written, line, column)
                for items, in_text, written, line, column in citations
            )
            if citations
            else (),
        )
    except (ValueError, TypeError):
        return None
