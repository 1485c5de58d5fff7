"""The body cache: rendered bodies kept on disk across processes (.primer-cache/bodies.sqlite3).

A table made by the store (diskstore.open_salted), keyed on everything a body's HTML depends on (body_key), with a
salt for everything else (cache_salt: the renderer's own code, library versions): a cache with another salt is
emptied. Each body is stored as JSON beside its HTML; its formulas are decoded only when asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from primer_site import __version__
from primer_site.diskstore import CacheTables, open_salted
from primer_site.errors import Diagnostic
from primer_site.layout import CACHE_DIR
from primer_site.model import Heading, Link
from primer_site.store import library_version
from primer_site.syntax import markdown
from primer_site.syntax.citations import Citation, CiteItem
from primer_site.syntax.markdown import AssetRef, BodySource, Formula, Label, RenderedBody, SourceLink

_FILE = "bodies.sqlite3"
_FORMAT = 6


@lru_cache(maxsize=4)  # the package versions are looked up on disk: once per process is enough
def cache_salt(raw_html: bool) -> str:
    """Everything besides a body's own text that its HTML depends on (the renderer's own code included)."""
    digest = hashlib.blake2b(digest_size=8)
    for path in markdown.RENDERER_SOURCES:
        digest.update(path.read_bytes())
    renderer = digest.hexdigest()
    parts = [f"format={_FORMAT}", f"primer-site={__version__}", f"renderer={renderer}", f"raw_html={raw_html}"]
    for package in ("markdown-it-py", "mdit-py-plugins"):
        parts.append(f"{package}={library_version(package)}")
    parts.append(f"Pygments={markdown.pygments_version()}")  # as the highlights' salt reads it
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


SERIES_KEY = "series-"  # before the key of a series' description (a post's is hexadecimal): pruned apart


class BodyCache(CacheTables):
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

    def formulas_of(self, keys: list[str]) -> dict[str, tuple[Formula, ...]]:
        """The formulas of the cached bodies of `keys`, nothing else of them decoded."""
        if self.db is None or not keys:
            return {}
        found: dict[str, tuple[Formula, ...]] = {}
        try:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, value in self.db.execute(f"SELECT key, value FROM bodies WHERE key IN ({marks})", chunk):
                    with contextlib.suppress(ValueError, TypeError, IndexError):
                        found[key] = _formulas(json.loads(value)[8])
        except sqlite3.Error:
            return {}
        return found

    def replace_all(
        self, entries: Iterable[tuple[str, RenderedBody]], keep: set[str] | None, series: bool = False
    ) -> bool:
        """Store new entries and drop those no source needs any more: of the posts' bodies (or, with `series`, of
        the series' descriptions), all but `keep`; None: drop none. Whether it was stored."""

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR REPLACE INTO bodies VALUES (?, ?, ?)", ((k, _encode(b), b.html) for k, b in entries)
            )
            if keep is not None:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key TEXT PRIMARY KEY)")
                db.execute("DELETE FROM keep")
                db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
                db.execute(
                    "DELETE FROM bodies WHERE key NOT IN (SELECT key FROM keep) AND (substr(key, 1, ?) = ?) = ?",
                    (len(SERIES_KEY), SERIES_KEY, series),
                )

        return self.write(work)


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


def _formulas(stored: str) -> tuple[Formula, ...]:
    """The formulas _encode stored (a JSON string within the row's JSON: decoded only when asked for)."""
    return tuple(Formula(str(a), bool(b), int(c), int(d)) for a, b, c, d in json.loads(stored))


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
        body = RenderedBody(
            html=html_text,
            headings=tuple(Heading(int(a), str(b), str(c), str(d)) for a, b, c, d in headings),
            ids=frozenset(str(i) for i in ids),
            has_math=bool(has_math),
            word_count=int(words),
            first_paragraph=first,
            links=tuple(SourceLink(str(a), str(b), int(c), str(d)) for a, b, c, d in links),
            others=tuple(Link(str(a), int(b)) for a, b in others),
            formulas=_formulas(formulas) if with_formulas else (),
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
