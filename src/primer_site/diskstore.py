"""The store on disk, in the site's .primer-cache/: what a `build` in a new process finds of the builds before it
(`serve` keeps the same in memory: store.py). It imports no stage: the stages say what a record holds and how a
table's rows read.

- The last good build's record per output folder: diskrecords.py.
- SQLite tables made afresh under another salt (`open_salted`): the parsed documents (documentcache.py), the
  rendered bodies (bodycache.py), KaTeX's answers for formulas (`FormulaCache`) and the math check's verdicts
  (`VerdictTable`, mathsources.py). SQLite holding JSON, text and sealed cells (`sealed`: marshal's plain data
  behind its digest), never pickle: a foreign or corrupt file can only be ignored and rebuilt, never run.
"""

from __future__ import annotations

import contextlib
import gc
import json
import marshal
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from primer_site.layout import CACHE_DIR
from primer_site.salts import cache_digest, cache_key_id, code_salt

FORMULAS_FILE = "formulas.sqlite3"
_FORMULAS_FORMAT = 3


_MAPPED_BYTES = 1 << 30  # how much of a table's file SQLite may read through a memory map (`mapped_reads`)


@contextlib.contextmanager
def mapped_reads(db: sqlite3.Connection) -> Iterator[None]:
    """SQLite reads the file through a memory map (PRAGMA mmap_size) for the time of a bulk read, rather than a
    read call per page: half the time to read a table of large rows whole (the bodies' HTML: 13 MB at 1,000
    posts). The map is let go afterwards: its pages count in the process's resident memory while it is held."""
    db.execute(f"PRAGMA mmap_size = {_MAPPED_BYTES}")
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA mmap_size = 0")


def open_salted(
    path: Path, salt: str, table: str, columns: str, durable: bool = True, more: dict[str, str] | None = None
) -> sqlite3.Connection:
    """The database at `path` with `table` (and the `more` tables: name → columns), made afresh if it was filled
    under another salt. SQLite holding JSON and text, never pickle: a foreign or corrupt file can only be
    ignored and rebuilt, never run.

    `durable`: each commit waits for the disk (SQLite's default), which costs more than a small write.
    """
    tables = {table: columns, **(more or {})}
    salt = f"{salt};key={cache_key_id()}"  # tables kept under another user's key: emptied, not read
    for attempt in range(2):
        try:
            db = sqlite3.connect(path, isolation_level=None)
            if not durable:
                db.execute("PRAGMA synchronous = OFF")  # a cache: what a power cut loses is only made again
            db.execute("CREATE TABLE IF NOT EXISTS meta (salt TEXT NOT NULL)")
            for name, fields in tables.items():
                db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({fields})")
            row = db.execute("SELECT salt FROM meta").fetchone()
            if row is None or row[0] != salt:  # made by another version: its tables may be shaped otherwise
                for name, fields in tables.items():
                    db.execute(f"DROP TABLE {name}")
                    db.execute(f"CREATE TABLE {name} ({fields})")
                db.execute("DELETE FROM meta")
                db.execute("INSERT INTO meta VALUES (?)", (salt,))
            return db
        except sqlite3.DatabaseError:
            if attempt:
                raise
            path.unlink(missing_ok=True)  # not a database: start afresh
    raise AssertionError("unreachable")


class CacheTables:
    """A cache's SQLite connection (`db`, None when it cannot be opened: then nothing is cached), written in
    transactions: a write that fails is rolled back and dropped, since losing it costs only work made again."""

    db: sqlite3.Connection | None = None

    def write(self, work: Callable[[sqlite3.Connection], object]) -> bool:
        """Run `work` on the connection between BEGIN and COMMIT; an SQLite error rolls it back. Whether it was
        committed."""
        if self.db is None:
            return False
        try:
            self.db.execute("BEGIN")
            work(self.db)
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            return False
        return True

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def sealed(value: object) -> bytes:
    """`value`, plain data (tuples, lists, dicts, str, bytes, int, float, bool, None), as a table's cell: marshal's
    bytes behind their digest (16 bytes of BLAKE2b keyed with this user's key: salts.cache_digest, so that a cell
    written by anyone else never passes for ours). A tenth of JSON's decoding time for the same rows; `unsealed`
    reads it back. The table's salt must name `marshal.version` (MARSHAL_SALT): the format moves with Python."""
    data = marshal.dumps(value)
    return cache_digest(data) + data


MARSHAL_SALT = f"marshal={marshal.version}"
DAMAGED = object()  # what `unsealed` gives for a cell that is not exactly what `sealed` made


def unsealed(cell: object) -> object:
    """What `sealed` made `cell` from, or DAMAGED for anything else (another type, changed bytes, a cell sealed
    under another key): marshal is never given bytes but this user's own (it would allocate what a crafted cell
    declares, say 2^31 items, before reading any)."""
    if not isinstance(cell, bytes):
        return DAMAGED
    data = memoryview(cell)[16:]
    if cache_digest(data) != cell[:16]:
        return DAMAGED
    try:
        return marshal.loads(data)
    except (ValueError, EOFError, TypeError, MemoryError):
        return DAMAGED


@contextlib.contextmanager
def without_collection(lasting: Callable[[], bool] | None = None) -> Iterator[None]:
    """The cyclic garbage collector paused (then restored as it was) while a cache's rows become objects: they
    are acyclic and live on, yet each thousand of them made starts a pass over the young ones, and the passes over
    the older generations grow with them (a fifth of the read stage's CPU at 1,000 posts).

    `lasting()`, asked at the end: whether what was made lives to the end of the process (a build in a new process
    keeps what it reads: processmemory.read_for_good), and then it is frozen (gc.freeze) before the collector runs again:
    else the first object made after the pause starts a pass over every one made during it (at 1,000 posts,
    ~50,000 objects of the bodies read: 8-11 ms of a one-edit build). Asked at the end: a read that made nothing
    (a cold build's) freezes nothing, so the garbage of what came before is collected as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if lasting is not None and lasting():
            gc.freeze()
    finally:
        if enabled:
            gc.enable()


FormulaKey = tuple[str, bool, str]  # (TeX, display, id of its macros): katexworker.FormulaKey


class FormulaCache(CacheTables):
    """KaTeX's answers by formula: (error or None, MathML or None), and the HTML of those a page typesets at build
    time (in a table of its own: the whole-site lookups of the math check never read it). Every failure to read
    it means "not cached".

    The salt names the KaTeX version (and what else the answers depend on): another KaTeX starts it afresh.
    """

    def __init__(self, site: Path, salt: str) -> None:
        self.path = site / CACHE_DIR / FORMULAS_FILE
        self.db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.db = open_salted(
                self.path,
                f"format={_FORMULAS_FORMAT};{salt}",
                "formulas",
                "tex TEXT NOT NULL, display INTEGER NOT NULL, macros TEXT NOT NULL, error TEXT, mathml TEXT, "
                "PRIMARY KEY (tex, display, macros)",
                durable=False,  # written on the dev server's rebuilds: a save must not wait for the disk
                more={
                    "html": "tex TEXT NOT NULL, display INTEGER NOT NULL, macros TEXT NOT NULL, html TEXT NOT NULL, fonts TEXT NOT NULL, "
                    "PRIMARY KEY (tex, display, macros)"
                },
            )
        except (OSError, sqlite3.Error):
            self.db = None

    def get_many(
        self, keys: Collection[FormulaKey], with_mathml: Collection[FormulaKey]
    ) -> dict[FormulaKey, tuple[str | None, str | None]]:
        """The stored answers of `keys`; their MathML only for `with_mathml` (a check needs none)."""
        if self.db is None or not keys:
            return {}
        wanted = keys if isinstance(keys, (set, frozenset, dict)) else set(keys)
        found: dict[FormulaKey, tuple[str | None, str | None]] = {}
        rows: dict[int, FormulaKey] = {}
        try:
            # one pass over the table: it holds about the site's formulas, and most of them are asked for
            for rowid, tex, display, macros, error, has_mathml in self.db.execute(
                "SELECT rowid, tex, display, macros, error, mathml IS NOT NULL FROM formulas"
            ):
                key = (tex, bool(display), macros)
                if key in wanted:
                    found[key] = (error, None)
                    if has_mathml and key in with_mathml:
                        rows[rowid] = key
            ids = list(rows)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for rowid, mathml in self.db.execute(
                    f"SELECT rowid, mathml FROM formulas WHERE rowid IN ({marks})", chunk
                ):
                    key = rows[rowid]
                    found[key] = (found[key][0], mathml)
        except sqlite3.Error:
            return {}
        return found

    def get_html(
        self, keys: Collection[FormulaKey]
    ) -> dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]]:
        """(error, MathML, HTML, fonts) of each of `keys` stored with its HTML, or with an error; looked up by key
        (a page's formulas are a few of the site's)."""
        if self.db is None or not keys:
            return {}
        found: dict[FormulaKey, tuple[str | None, str | None, str | None, tuple[str, ...]]] = {}
        try:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (tex TEXT, display INTEGER, macros TEXT)")
            self.db.execute("DELETE FROM wanted")
            self.db.executemany("INSERT INTO wanted VALUES (?, ?, ?)", ((t, int(d), m) for t, d, m in keys))
            for tex, display, macros, error, mathml, html, fonts in self.db.execute(
                "SELECT w.tex, w.display, w.macros, f.error, f.mathml, h.html, h.fonts FROM wanted w "
                "JOIN formulas f ON f.tex = w.tex AND f.display = w.display AND f.macros = w.macros "
                "LEFT JOIN html h ON h.tex = w.tex AND h.display = w.display AND h.macros = w.macros"
            ):
                if error is not None or (html is not None and mathml is not None):
                    found[(tex, bool(display), macros)] = (error, mathml, html, tuple(json.loads(fonts or "[]")))
        except (sqlite3.Error, ValueError, TypeError):
            return {}
        return found

    def put_html(self, entries: Iterable[tuple[FormulaKey, str, tuple[str, ...]]]) -> None:
        """Store formulas' HTML and the fonts it uses (their error and MathML go in with put_many)."""
        rows = ((tex, int(d), macros, html, json.dumps(fonts)) for (tex, d, macros), html, fonts in entries)
        self.write(lambda db: db.executemany("INSERT OR REPLACE INTO html VALUES (?, ?, ?, ?, ?)", rows))

    def put_many(self, entries: Iterable[tuple[FormulaKey, str | None, str | None]]) -> None:
        rows = ((tex, int(display), macros, error, mathml) for (tex, display, macros), error, mathml in entries)
        self.write(lambda db: db.executemany("INSERT OR REPLACE INTO formulas VALUES (?, ?, ?, ?, ?)", rows))

    def keep_only(self, keys: Collection[FormulaKey]) -> None:
        """Drop the answers for every formula but `keys` (those of a build that asked about all the site's)."""
        if self.db is None:
            return
        try:
            stale = [
                (rowid,)
                for rowid, tex, display, macros in self.db.execute("SELECT rowid, tex, display, macros FROM formulas")
                if (tex, bool(display), macros) not in keys
            ]
        except sqlite3.Error:
            return
        if stale:
            self.write(lambda db: _drop_rows(db, stale))


def _drop_rows(db: sqlite3.Connection, stale: list[tuple[int]]) -> None:
    """Drop these formulas' rows, and the HTML of formulas no longer there."""
    db.executemany("DELETE FROM formulas WHERE rowid = ?", stale)
    db.execute(
        "DELETE FROM html WHERE NOT EXISTS (SELECT 1 FROM formulas f "
        "WHERE f.tex = html.tex AND f.display = html.display AND f.macros = html.macros)"
    )


VERDICTS_FILE = "checks.sqlite3"
_VERDICTS_FORMAT = 1


class VerdictTable(CacheTables):
    """The math check's verdict on each file, kept for the next build in a new process: by path, the identity of
    what was checked (a digest of everything the verdict depends on but KaTeX and primer-site's code, which are
    the salt) and the problems found, as JSON rows [line, column, severity, message]. Every failure to read it
    means "check again"."""

    def __init__(self, site: Path, salt: str) -> None:
        self.db: sqlite3.Connection | None = None
        path = site / CACHE_DIR / VERDICTS_FILE
        try:
            path.parent.mkdir(exist_ok=True)
            columns = "path TEXT PRIMARY KEY, identity TEXT NOT NULL, problems TEXT NOT NULL"
            salted = f"format={_VERDICTS_FORMAT};code={code_salt()};{salt}"
            self.db = open_salted(path, salted, "verdicts", columns, durable=False)
        except (OSError, sqlite3.Error):
            self.db = None

    def load(self) -> dict[str, tuple[str, list]]:
        """Every kept verdict: path → (identity, its problems as stored)."""
        if self.db is None:
            return {}
        try:
            return {
                path: (identity, json.loads(problems))
                for path, identity, problems in self.db.execute("SELECT path, identity, problems FROM verdicts")
            }
        except (sqlite3.Error, ValueError):
            return {}

    def keep(self, verdicts: Iterable[tuple[str, str, list]], paths: Collection[str]) -> None:
        """Store the (path, identity, problems) of `verdicts`; drop those of files not in `paths`."""
        rows = [(path, identity, json.dumps(problems)) for path, identity, problems in verdicts]

        def work(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", rows)
            gone = [(path,) for (path,) in db.execute("SELECT path FROM verdicts") if path not in paths]
            db.executemany("DELETE FROM verdicts WHERE path = ?", gone)

        self.write(work)
