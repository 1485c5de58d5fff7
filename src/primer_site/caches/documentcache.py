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
from datetime import tzinfo
from pathlib import Path
from stat import S_ISREG
from typing import Any

from primer_site.caches.bodycache import body_digest
from primer_site.caches.documentrows import UNUSABLE, Entry, decode_post, decode_series, encode_post, encode_series
from primer_site.diskstore import MARSHAL_SALT, CacheTables, mapped_reads, open_salted
from primer_site.errors import Diagnostic, Problems
from primer_site.layout import CACHE_DIR
from primer_site.salts import code_salt
from primer_site.sources.parse import Document, parse_document
from primer_site.sources.seriesfile import SeriesMeta, parse_series_file
from primer_site.store import Stamp, is_racy, stamp_from

_FILE = "documents.sqlite3"
_FORMAT = 2  # 2: the front matter as a sealed cell (diskstore.sealed), no longer JSON
_COLUMNS = "path TEXT PRIMARY KEY, stamp TEXT NOT NULL, digest TEXT NOT NULL, meta BLOB NOT NULL, body TEXT"


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
        self.known: dict[str, Entry] = {}
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

        found = self._read(relative, parse, problems, stamped, made, encode_post, decode_post)
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
        return self._read(relative, parse, problems, stamped, made, encode_series, decode_series)  # type: ignore[return-value]

    def _read(
        self,
        relative: str,
        parse: Callable[[Problems], object],
        problems: Problems,
        stamped: tuple[Stamp, bool] | None,
        made: Callable[[Problems, bytes], object],
        encode: Callable[[Any, Sequence[Diagnostic]], tuple[bytes, str | None] | None],
        decode: Callable[[Entry, str, Problems], object],
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
            if found is not UNUSABLE:
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
            if found is not UNUSABLE:
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


def _storable(path: str) -> bool:
    """Whether SQLite can hold the path (a name of undecodable bytes carries lone surrogates: parsed each time)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _stamp_text(stamp: Stamp) -> str:
    return ":".join(map(str, stamp))
