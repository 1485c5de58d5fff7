"""Parsed posts kept in .primer-cache/documents.sqlite3, so that a build in a new process reads again only the
files that changed: 5,000 front matters take a second to parse, and a few milliseconds to load.

A post is taken from the cache when its file's stamp (size, modification and change times, inode) is the one
recorded, and the stamp was recorded long enough after the file's last change to be trusted (git's racy-clean
rule, as in store.py); otherwise the file is read, and the post is taken from the cache if its bytes have the
recorded digest, else parsed from those very bytes (read once: a save between a parse and a second read would
record the new file's digest with the old post). With it is kept what the parse reported (warnings too) and the
summary's HTML.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import Any
from zoneinfo import ZoneInfo

from primer_site.caches.bodycache import body_digest
from primer_site.diskstore import (
    DAMAGED,
    MARSHAL_SALT,
    CacheTables,
    maker,
    mapped_reads,
    open_salted,
    sealed,
    unsealed,
)
from primer_site.errors import Diagnostic, Problems
from primer_site.layout import CACHE_DIR
from primer_site.model import ChapterNumber
from primer_site.sources.parse import Document, parse_document
from primer_site.sources.seriesfile import SeriesMeta, parse_series_file
from primer_site.store import Stamp, code_salt, is_racy, stamp_from
from primer_site.syntax.inline import remember_inline, render_inline

_FILE = "documents.sqlite3"
_FORMAT = 2  # 2: the front matter as a sealed cell (diskstore.sealed), no longer JSON
_COLUMNS = "path TEXT PRIMARY KEY, stamp TEXT NOT NULL, digest TEXT NOT NULL, meta BLOB NOT NULL, body TEXT"

_Entry = tuple[str, str, bytes, "str | None"]  # a row: (stamp, digest, meta, body)


class DocumentCache(CacheTables):
    """Parsed posts of one site by path; every failure to use the cache means "parse the file"."""

    def __init__(
        self, site: Path, paths: Sequence[str], zone: tzinfo, preload: bool = True, taken: float | None = None
    ) -> None:
        """`paths`: the posts the build will ask for, loaded at once if `preload` (else each when asked: the dev
        server's rebuilds ask for the few files that changed). `taken`: seconds since the epoch before any stamp
        given to `document` was taken (store.is_racy); now if None."""
        self.site, self.zone = site, zone
        self.salt = f"format={_FORMAT};{MARSHAL_SALT};{code_salt()};zone={zone!r}"
        self.db: sqlite3.Connection | None = None
        self.known: dict[str, _Entry] = {}
        self.new: list[tuple[str, str, str, bytes, str | None]] = []
        self.taken = time.time() if taken is None else taken
        self.decoded = 0  # rows decoded into posts (a test counts them)
        # source → (the post taken from a row, its body's digest): post_bodies hashes no body it finds here
        self.digests: dict[str, tuple[Document, str]] = {}
        try:
            (site / CACHE_DIR).mkdir(exist_ok=True)
            self.db = open_salted(site / CACHE_DIR / _FILE, self.salt, "documents", _COLUMNS, durable=False)
            if preload:
                self._load(paths)
        except (OSError, sqlite3.Error):
            self.db, self.known = None, {}
        self.loaded = preload

    def _load(self, paths: Sequence[str]) -> None:
        assert self.db is not None
        if len(paths) > 1:  # the whole table in one query: it holds about the site's posts (pruned every build)
            wanted = set(paths)
            query = "SELECT path, stamp, digest, meta, body FROM documents"
            with mapped_reads(self.db):
                self.known = {row[0]: row[1:] for row in self.db.execute(query) if row[0] in wanted}
            return
        paths = [path for path in paths if _storable(path)]
        for start in range(0, len(paths), 500):
            chunk = list(paths[start : start + 500])
            marks = ",".join("?" * len(chunk))
            query = f"SELECT path, stamp, digest, meta, body FROM documents WHERE path IN ({marks})"
            for path, stamp, digest, meta, body in self.db.execute(query, chunk):
                self.known[path] = (stamp, digest, meta, body)

    def document(
        self,
        relative: str,
        parse: Callable[[Problems], Document | None],
        problems: Problems,
        stamped: tuple[Stamp, bool] | None = None,
    ) -> Document | None:
        """The post at `relative` (site-relative): from the cache if its file is as recorded, else parsed from the
        bytes whose digest is stored with it. `parse(problems)` reads the file itself: it is called for a file
        this cannot read (gone, not a regular file, unreadable), to report why as a build without a cache does.
        `stamped`: (its stamp, whether it is a regular file) from a stat the caller made after `taken` and before
        this (the walk's: discover.Look), so that each post is stat'ed once per build; else it is stat'ed here."""

        def made(into: Problems, data: bytes) -> tuple[Document, str] | None:
            document = parse_document(self.site, relative, self.zone, into, data)
            return None if document is None else (document, body_digest(document.body))

        found = self._read(relative, parse, problems, stamped, made, _encode, _decode)
        if not isinstance(found, tuple):
            return found  # type: ignore[return-value]
        document, digest = found
        self.digests[relative] = (document, digest)
        return document

    def series_file(
        self,
        relative: str,
        parse: Callable[[Problems], SeriesMeta | None],
        problems: Problems,
        stamped: tuple[Stamp, bool] | None = None,
    ) -> SeriesMeta | None:
        """The series file at `relative`, as `document` reads a post: a new process parses none that did not
        change (250 series files at 5,000 posts: ~50 ms of YAML)."""
        made = lambda into, data: parse_series_file(self.site, relative, into, data)  # noqa: E731
        return self._read(relative, parse, problems, stamped, made, _encode_series, _decode_series)  # type: ignore[return-value]

    def _read(
        self,
        relative: str,
        parse: Callable[[Problems], object],
        problems: Problems,
        stamped: tuple[Stamp, bool] | None,
        made: Callable[[Problems, bytes], object],
        encode: Callable[[Any, Sequence[Diagnostic]], tuple[bytes, str | None] | None],
        decode: Callable[[_Entry, str, Problems], object],
    ) -> object:
        """`document` for a file of either kind: `made(problems, its bytes)` parses it, `encode` gives its row's
        meta cell and body, `decode` reads them back."""
        path = f"{self.site}/{relative}"
        if stamped is None:
            try:
                info = os.stat(path)  # before the read: a save after it shows as a new stamp next time
            except (OSError, ValueError):
                return parse(problems)
            stamped = stamp_from(info), S_ISREG(info.st_mode)
        stamp, regular = stamped
        if not regular:  # a FIFO would block the read
            return parse(problems)
        if not self.loaded and self.db is not None and relative not in self.known:
            with contextlib.suppress(sqlite3.Error):  # not cached, then
                self._load([relative])
        known = self.known.get(relative)
        if known is not None and known[0] == _stamp_text(stamp):
            self.decoded += 1
            found = decode(known, relative, problems)
            if found is not _UNUSABLE:
                return found
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError:
            return parse(problems)
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        if known is not None and digest == known[1]:
            self.decoded += 1
            found = decode(known, relative, problems)
            if found is not _UNUSABLE:
                self.new.append((relative, self._trusted(stamp), digest, known[2], known[3]))
                return found
        found_problems = Problems()
        result = made(found_problems, data)
        problems.extend(found_problems.items)
        encoded = encode(result, found_problems.items)
        if encoded is not None and _storable(relative):
            meta, body = encoded
            self.new.append((relative, self._trusted(stamp), digest, meta, body))
        return result

    def _trusted(self, stamp: Stamp) -> str:
        """The stamp to record: itself if the file last changed long enough before this build began, else one no
        stamp equals (the next build then reads the file and compares its digest)."""
        text = _stamp_text(stamp)
        return "racy:" + text if is_racy(stamp, self.taken) else text

    def close(self, keep: Sequence[str] | None = None) -> None:  # type: ignore[override]
        """Store what was parsed (and, with `keep`, the site's paths: drop every other entry)."""

        held = None  # how many of `keep` the table holds once the new rows are in, if known
        if keep is not None and self.loaded:  # every row of `keep`'s paths was loaded
            wanted = set(keep)
            held = len(wanted.intersection(self.known).union(p for p, *_ in self.new if p in wanted))

        def work(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?)", self.new)
            if held is not None and db.execute("SELECT count(*) FROM documents").fetchone()[0] <= held:
                return  # every row is one of `keep`'s: nothing to drop (one count, not a table of `keep`)
            if keep is not None:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (path TEXT PRIMARY KEY)")
                db.execute("DELETE FROM keep")
                db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((p,) for p in keep if _storable(p)))
                db.execute("DELETE FROM documents WHERE path NOT IN (SELECT path FROM keep)")

        self.write(work)
        super().close()


_UNUSABLE = object()


def _storable(path: str) -> bool:
    """Whether SQLite can hold the path (a name of undecodable bytes carries lone surrogates: parsed each time)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stamp_text(stamp: Stamp) -> str:
    return ":".join(map(str, stamp))


def _encode(parsed: tuple[Document, str] | None, diagnostics: Sequence[Diagnostic]) -> tuple[bytes, str | None] | None:
    """The post and its body's digest as a sealed cell of plain tuples (diskstore.sealed; its body apart), or None
    if a value in `extra` has no plain form (it is parsed again)."""
    found = tuple((d.path, d.line, d.column, d.severity, d.message) for d in diagnostics)
    if parsed is None:
        return sealed((found,)), None
    document, digest = parsed
    try:
        extra = tuple((key, _value(value)) for key, value in document.extra)
    except TypeError:
        return None
    summary = None
    if document.summary:  # its HTML too: rendering 5,000 summaries costs more than parsing their front matter
        html, block = render_inline(document.summary, raw_html=False)
        summary = (str(html), bool(block))
    meta = (
        found,
        document.title,
        _moment(document.date),
        document.body_first_line,
        dict(document.key_lines),
        document.summary,
        summary,
        document.description,
        document.series,
        document.chapter.text if document.chapter else None,
        tuple(document.tags),
        document.category,
        document.slug,
        bool(document.draft),
        _moment(document.updated) if document.updated else None,
        extra,
        tuple((str(name), str(tex)) for name, tex in document.macros),
        tuple(document.bibliography),
        tuple(document.authors),
        document.doi,
        digest,
    )
    try:
        return sealed(meta), document.body
    except ValueError:  # a value marshal cannot hold (a str subclass from YAML, say): parsed again next time
        return None


_DOCUMENT = maker(Document)


def _decode(entry: _Entry, source: str, problems: Problems) -> tuple[Document, str] | object | None:
    """The post an entry holds and its body's digest (bodycache.body_digest), or None for a file that did not
    parse, its problems added; _UNUSABLE if damaged. The cell's digest vouches for its types: each field is taken
    as stored."""
    meta = unsealed(entry[2])
    if meta is DAMAGED or not isinstance(meta, tuple) or not meta or not isinstance(meta[0], tuple):
        return _UNUSABLE  # damaged, or a series file's row
    try:
        diagnostics = [Diagnostic(*d) for d in meta[0]]
        if len(meta) == 1:
            problems.extend(diagnostics)
            return None
        (
            _,
            title,
            moment,
            first_line,
            key_lines,
            summary,
            summary_html,
            description,
            series,
            chapter,
            tags,
            category,
            slug,
            draft,
            updated,
            extra,
            macros,
            bibliography,
            authors,
            doi,
            digest,
        ) = meta
        if not isinstance(entry[3], str):
            return _UNUSABLE
        if summary_html is not None:
            remember_inline(summary, False, summary_html)
        document = _DOCUMENT(
            source,
            title,
            _unmoment(moment),
            entry[3],
            first_line,
            key_lines,
            summary,
            description,
            series,
            ChapterNumber(chapter) if chapter is not None else None,
            tags,
            category,
            slug,
            draft,
            _unmoment(updated) if updated is not None else None,
            tuple((key, _unvalue(value)) for key, value in extra) if extra else (),
            macros,
            bibliography,
            authors,
            doi,
        )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return _UNUSABLE
    problems.extend(diagnostics)
    return document, digest


def _encode_series(meta: SeriesMeta | None, diagnostics: Sequence[Diagnostic]) -> tuple[bytes, None] | None:
    """A series file as a sealed cell of plain tuples (its body within), or None if its `theorems:` has a value
    with no plain form (it is parsed again)."""
    found = tuple((d.path, d.line, d.column, d.severity, d.message) for d in diagnostics)
    if meta is None:
        return sealed(("series", found)), None
    try:
        theorems = _value(meta.theorems) if meta.theorems is not None else None
        fields = (
            meta.source,
            meta.slug,
            meta.title,
            meta.kind,
            meta.collection,
            int(meta.order),
            meta.planned_chapters,
            tuple(meta.gaps),
            meta.body,
            int(meta.body_first_line),
            dict(meta.key_lines),
            tuple(map(tuple, meta.macros)),
            bool(meta.number_sections),
            theorems,
            tuple(meta.bibliography),
            tuple(meta.authors),
            tuple(map(tuple, meta.notes)),
            tuple(map(tuple, meta.books)),
        )
        return sealed(("series", found, fields)), None
    except (TypeError, ValueError):  # no plain form (a value marshal cannot hold): parsed each time
        return None


_SERIES = maker(SeriesMeta)


def _decode_series(entry: _Entry, source: str, problems: Problems) -> SeriesMeta | object | None:
    """The series file an entry holds (None for one that did not parse), its problems added; _UNUSABLE if damaged."""
    meta = unsealed(entry[2])
    if meta is DAMAGED or not isinstance(meta, tuple) or not meta or meta[0] != "series":
        return _UNUSABLE
    try:
        diagnostics = [Diagnostic(*d) for d in meta[1]]
        if len(meta) == 2:
            problems.extend(diagnostics)
            return None
        fields = list(meta[2])
        if fields[0] != source:
            return _UNUSABLE
        if fields[13] is not None:
            fields[13] = _unvalue(fields[13])
        found = _SERIES(*fields)
    except (ValueError, TypeError, KeyError, IndexError):
        return _UNUSABLE
    problems.extend(diagnostics)
    return found


def _moment(value: datetime) -> list[Any]:
    return [value.replace(tzinfo=None).isoformat(), *_zone(value.tzinfo)]


def _zone(zone: tzinfo | None) -> list[Any]:
    if isinstance(zone, ZoneInfo):
        return ["zone", zone.key]
    if isinstance(zone, timezone):
        offset = zone.utcoffset(None)
        named = repr(zone) != repr(timezone(offset))  # a name given, not the one made from the offset
        return ["offset", offset.total_seconds(), zone.tzname(None) if named else None]
    if zone is None:
        return ["naive"]
    raise TypeError(f"time zone {zone!r}")


def _unmoment(data: list[Any]) -> datetime:
    naive = datetime.fromisoformat(str(data[0]))
    kind = data[1]
    if kind == "zone":
        return naive.replace(tzinfo=_zone_named(str(data[2])))
    if kind == "offset":
        offset = timedelta(seconds=float(data[2]))
        name = data[3]
        if name is None:
            zone = timezone(offset)  # as parsed: an offset with no name of its own
        else:
            zone = UTC if offset == timedelta(0) and name == "UTC" else timezone(offset, str(name))
        return naive.replace(tzinfo=zone)
    if kind == "naive":
        return naive
    raise ValueError(f"time zone kind {kind!r}")


@lru_cache(maxsize=64)
def _zone_named(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def _value(value: Any) -> Any:
    """A YAML value of `extra` as JSON that tells its type apart (TypeError for one with no JSON form)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, float) else {"f": repr(value)}
    if isinstance(value, datetime):
        return {"t": _moment(value)}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, list):
        return {"l": [_value(item) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"m": [[key, _value(item)] for key, item in value.items()]}
    raise TypeError(type(value).__name__)


def _unvalue(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    (kind, value), *_ = data.items()
    if kind == "f":
        return float(value)
    if kind == "t":
        return _unmoment(value)
    if kind == "d":
        return date.fromisoformat(value)
    if kind == "l":
        return [_unvalue(item) for item in value]
    if kind == "m":
        return {str(key): _unvalue(item) for key, item in value}
    raise ValueError(f"value kind {kind!r}")
