"""Persistent caches in .primer-cache/: rendered post bodies, and KaTeX's answers for formulas (SQLite tables
made by the store: store.open_salted).

Each is keyed on what its values depend on, with a salt for everything else (the renderer's code, the KaTeX
version): a cache with another salt is emptied.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Collection, Iterable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import __version__, markdown
from .citations import Citation, CiteItem
from .errors import Diagnostic
from .layout import CACHE_DIR
from .markdown import AssetRef, BodySource, Formula, Label, RenderedBody, SourceLink
from .model import Heading, Link
from .store import open_salted

_FILE = "bodies.sqlite3"
_FORMAT = 6
FORMULAS_FILE = "formulas.sqlite3"
_FORMULAS_FORMAT = 3


@lru_cache(maxsize=4)  # the package versions are looked up on disk: once per process is enough
def cache_salt(raw_html: bool) -> str:
    """Everything besides a body's own text that its HTML depends on (the renderer's own code included)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in markdown.RENDERER_SOURCES:
        digest.update(path.read_bytes())
    renderer = digest.hexdigest()
    parts = [f"format={_FORMAT}", f"primer-site={__version__}", f"renderer={renderer}", f"raw_html={raw_html}"]
    for package in ("markdown-it-py", "mdit-py-plugins", "Pygments"):
        try:
            parts.append(f"{package}={version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package}=?")
    return ";".join(parts)


def body_key(item: BodySource) -> str:
    digest = hashlib.blake2b(digest_size=20)
    for part in (
        item.source,
        str(item.first_line),
        item.chapter,
        str(item.number_sections),
        item.theorems.key,
        item.body,
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


class BodyCache:
    """Rendered bodies by key; every failure to read it means "not cached"."""

    def __init__(self, site: Path, salt: str) -> None:
        self.path = site / CACHE_DIR / _FILE
        self.salt = salt
        self.db: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(exist_ok=True)
            self.db = self._open()
        except (OSError, sqlite3.Error):
            self.db = None  # a read-only site, say: build without a cache

    def _open(self) -> sqlite3.Connection:
        # a cache: a write lost to a power cut costs a render, so no commit waits for the disk
        # the HTML in a column of its own: JSON would escape every quote of it, and decoding that is slow
        columns = "key TEXT PRIMARY KEY, value TEXT NOT NULL, html TEXT NOT NULL"
        return open_salted(self.path, self.salt, "bodies", columns, durable=False)

    def get_many(self, keys: list[str], formulas: bool = True) -> dict[str, RenderedBody]:
        """The cached bodies of `keys`; without their formulas unless asked (the math check needs them)."""
        if self.db is None or not keys:
            return {}
        found: dict[str, RenderedBody] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                query = f"SELECT key, value, html FROM bodies WHERE key IN ({marks})"
                for key, value, html in self.db.execute(query, chunk):
                    body = _decode(value, html, formulas)
                    if body is not None:
                        found[key] = body
        except sqlite3.Error:
            return {}
        return found

    def replace_all(self, entries: Iterable[tuple[str, RenderedBody]], keep: set[str] | None) -> None:
        """Store new entries and drop those no source needs any more (all but `keep`; None: drop none)."""
        if self.db is None:
            return
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO bodies VALUES (?, ?, ?)", ((k, _encode(b), b.html) for k, b in entries)
            )
            if keep is not None:
                self.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                self.db.execute("DELETE FROM keep")
                self.db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
                self.db.execute("DELETE FROM bodies WHERE key NOT IN (SELECT key FROM keep)")
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


FormulaKey = tuple[str, bool, str]  # (TeX, display, id of its macros): katex.FormulaKey


class FormulaCache:
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
        if self.db is None:
            return
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO html VALUES (?, ?, ?, ?, ?)",
                ((tex, int(d), macros, html, json.dumps(fonts)) for (tex, d, macros), html, fonts in entries),
            )
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def put_many(self, entries: Iterable[tuple[FormulaKey, str | None, str | None]]) -> None:
        if self.db is None:
            return
        try:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO formulas VALUES (?, ?, ?, ?, ?)",
                ((tex, int(display), macros, error, mathml) for (tex, display, macros), error, mathml in entries),
            )
            self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

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
            if stale:
                self.db.execute("BEGIN")
                self.db.executemany("DELETE FROM formulas WHERE rowid = ?", stale)
                self.db.execute(
                    "DELETE FROM html WHERE NOT EXISTS (SELECT 1 FROM formulas f "
                    "WHERE f.tex = html.tex AND f.display = html.display AND f.macros = html.macros)"
                )
                self.db.execute("COMMIT")
        except sqlite3.Error:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def _encode(body: RenderedBody) -> str:
    """The body but its HTML, as JSON (the HTML is stored beside it)."""
    return json.dumps(
        [
            "",
            [[h.level, h.id, h.text, h.html] for h in body.headings],
            sorted(body.ids),
            body.has_math,
            body.word_count,
            body.first_paragraph,
            [[link.target, link.fragment, link.line, link.written] for link in body.links],
            [[link.href, link.line] for link in body.others],
            # a string within the JSON: only a build that checks math pays for reading it
            json.dumps([[f.tex, f.display, f.line, f.column] for f in body.formulas], ensure_ascii=False),
            [list(position) for position in body.stray_dollars],
            [[label.id, label.kind, label.number, label.html, label.name] for label in body.labels],
            [[d.path, d.line, d.column, d.severity, d.message] for d in body.errors],
            body.display_equations,
            [[a.target, a.written, a.line, a.suffix, a.image, [list(g) for g in a.given]] for a in body.assets],
            [
                [[[i.key, i.prefix, i.suffix, i.year_only] for i in c.items], c.in_text, c.written, c.line, c.column]
                for c in body.citations
            ],
        ],
        ensure_ascii=False,
    )


def _decode(value: str, html_text: str, with_formulas: bool = True) -> RenderedBody | None:
    """The stored body, or None for anything that is not exactly what _encode wrote."""
    try:
        (
            _,
            headings,
            ids,
            has_math,
            words,
            first,
            links,
            others,
            formulas,
            stray,
            labels,
            errors,
            displays,
            assets,
            citations,
        ) = json.loads(value)
        formulas = json.loads(formulas) if with_formulas else ()
        body = RenderedBody(
            html=html_text,
            headings=tuple(Heading(int(a), str(b), str(c), str(d)) for a, b, c, d in headings),
            ids=frozenset(str(i) for i in ids),
            has_math=bool(has_math),
            word_count=int(words),
            first_paragraph=first,
            links=tuple(SourceLink(str(a), str(b), int(c), str(d)) for a, b, c, d in links),
            others=tuple(Link(str(a), int(b)) for a, b in others),
            formulas=tuple(Formula(str(a), bool(b), int(c), int(d)) for a, b, c, d in formulas),
            stray_dollars=tuple((int(a), int(b)) for a, b in stray),
            labels=tuple(Label(*map(str, label)) for label in labels),
            errors=tuple(Diagnostic(str(a), int(b), int(c), str(d), str(e)) for a, b, c, d, e in errors),
            display_equations=int(displays),
            assets=tuple(
                AssetRef(str(a), str(b), int(c), str(d), bool(e), tuple((str(n), str(v)) for n, v in f))
                for a, b, c, d, e, f in assets
            ),
            citations=tuple(
                Citation(
                    tuple(CiteItem(str(k), str(p), str(s), bool(y)) for k, p, s, y in a),
                    bool(b),
                    str(c),
                    int(d),
                    int(e),
                )
                for a, b, c, d, e in citations
            ),
        )
    except (ValueError, TypeError):
        return None
    return body if isinstance(body.html, str) and isinstance(body.first_paragraph, str) else None
