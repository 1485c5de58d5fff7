"""The posts' rendered bodies: kept from the last build in this process, read from the body cache, or rendered.

Between parsing and assembling: a body is rendered (markdown.py) only when no earlier build left one for the same
Markdown, and rendering fans out to worker processes. The body cache (.primer-cache/bodies.sqlite3, a table made
by the store: diskstore.open_salted) is keyed on everything a body's HTML depends on, with a salt for everything
else (the renderer's own code, library versions): a cache with another salt is emptied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from itertools import compress
from operator import is_, is_not
from pathlib import Path

from primer_site import __version__
from primer_site.diskstore import CacheTables, open_salted
from primer_site.errors import Diagnostic, Problems, SiteError
from primer_site.layout import CACHE_DIR
from primer_site.model import Heading, Link
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta, series_finder
from primer_site.sources.theoremkinds import DEFAULT, TheoremSettings, parse_theorem_settings
from primer_site.store import Store
from primer_site.syntax import markdown
from primer_site.syntax.citations import Citation, CiteItem
from primer_site.syntax.markdown import AssetRef, BodySource, Formula, Label, RenderedBody, SourceLink, render_bodies


class BodyMemo(dict[str, tuple[Document, tuple[bool, bool, TheoremSettings], RenderedBody]]):
    """What the last builds in this process rendered: source path → (its document, (number_sections, formulas
    read, theorem settings), its body); and the last post_bodies call's documents, shared reads, results in order,
    the indexes of those that failed and its series finder (`last`), so that the next finds the documents that changed by identity,
    in C, without a look at each."""

    last: tuple[list[Document], tuple, Rendered, list[int], Callable] | None = None


def series_descriptions(
    store: Store, metas: list[SeriesMeta], raw_html: bool, source: Path, use_cache: bool
) -> list[RenderedBody | SiteError]:
    """Each series' description: the last build's in this process while its file was not read again (a new
    SeriesMeta, unequal to the last) and `raw_html` is the same; else from the body cache when `use_cache` and its
    Markdown is unchanged (a build in a new process renders none it rendered before); else rendered."""
    cache: BodyCache | None = None
    looked: dict[str, None] = {}  # the cache keys looked up
    new: list[tuple[str, RenderedBody]] = []

    def make(meta: SeriesMeta) -> RenderedBody | SiteError:
        nonlocal cache
        item = BodySource(meta.body, meta.source, meta.body_first_line)
        if not use_cache:
            return render_bodies([item], raw_html, 1)[0]
        if cache is None:
            cache = BodyCache(source, cache_salt(raw_html))
        key = _SERIES_KEY + body_key(item)
        looked[key] = None
        found = cache.get_many([key]).get(key)
        if found is None:
            found = render_bodies([item], raw_html, 1)[0]
            if not isinstance(found, SiteError):
                new.append((key, found))
        return found

    try:
        made = [store.memo("series body", m.source, (m, raw_html), lambda m=m: make(m)) for m in metas]
        if cache is not None:  # pruned to the site's series only when every one of them was looked up
            cache.replace_all(new, keep=set(looked) if len(looked) == len(metas) else None, series=True)
    finally:
        if cache is not None:
            cache.close()
    return made


def post_bodies(
    memo: BodyMemo,
    source: Path,
    documents: list[Document],
    metas: list[SeriesMeta],
    raw_html: bool,
    jobs: int,
    use_cache: bool,
    formulas: bool,
    theorems: TheoremSettings = DEFAULT,
) -> list[RenderedBody | SiteError]:
    """Each document's rendered body, or the SiteError that stopped it: from `memo` (the last build in this
    process) when the document is the same object, else from the body cache in SOURCE/.primer-cache/ when
    `use_cache` and its Markdown is unchanged, else rendered (in up to `jobs` worker processes).

    Bodies come without their formulas, unless `formulas` (the math check) asks for them: those from the cache,
    and those rendered now once the cache holds them (a checked build reads them there: bodies.StoredFormulas).
    `theorems`: the site's theorem-like kinds and counters, under each series' own.
    """
    shared = (tuple(metas), formulas, theorems)  # what every body's rendering reads besides its own document
    last, memo.last = memo.last, None
    indexes_all = range(len(documents))
    results: list[RenderedBody | SiteError | None]
    reads_same = last is not None and _same_reads(last[1], shared)
    series_of = last[4] if last is not None and reads_same else series_finder(metas)
    if last is not None and reads_same and len(last[0]) == len(documents):
        # the last call's results where the document is the very same object (a body that failed: again)
        results = list(last[2])
        look = sorted({*compress(indexes_all, map(is_not, documents, last[0])), *last[3]})
    else:
        results = [None] * len(documents)
        look = indexes_all
    missing: list[int] = []
    # equations are numbered after the chapter; headings too if the series asks for it
    numbered: dict[int, bool] = {}
    settings: dict[int, TheoremSettings] = {}
    for index in look:
        doc = documents[index]
        meta = series_of(doc.series)
        numbered[index] = bool(meta and meta.number_sections)
        settings[index] = _theorems(theorems, meta)
        known = memo.get(doc.source)
        same = known is not None and known[1][0] == numbered[index] and known[1][2] == settings[index]
        if same and known is not None and known[0] is doc and (known[1][1] or not formulas):
            results[index] = known[2]
        else:
            results[index] = None
            missing.append(index)
    items = [body_source(documents[i], numbered[i], settings[i]) for i in missing]
    # the cache is pruned to the site's sources only when every one of them was looked up in it
    complete = len(items) == len(documents)
    fresh = _render_with_cache(source, items, raw_html, jobs, use_cache, formulas, complete) if items else []
    for index, body in zip(missing, fresh, strict=True):
        results[index] = body
        if not isinstance(body, SiteError):
            memo[documents[index].source] = (documents[index], (numbered[index], formulas, settings[index]), body)
    failed = [i for i, body in zip(missing, fresh, strict=True) if isinstance(body, SiteError)]
    made = Rendered(results)
    looked = set(look)
    old = [i for i in last[2].noisy if i not in looked] if look is not indexes_all else []
    made.noisy = sorted({*old, *(i for i in look if isinstance(made[i], SiteError) or made[i].errors)})
    memo.last = (list(documents), shared, made, failed, series_of)  # type: ignore[assignment]
    return made


def _same_reads(last: tuple, now: tuple) -> bool:
    """Whether two calls' shared reads are the same: the very same series files, and equal flags and settings."""
    (metas, formulas, theorems), (new_metas, new_formulas, new_theorems) = last, now
    return (
        len(metas) == len(new_metas)
        and all(map(is_, metas, new_metas))
        and formulas == new_formulas
        and theorems == new_theorems
    )


def body_source(document: Document, numbered: bool, theorems: TheoremSettings) -> BodySource:
    """What a document's body is rendered from (its cache key is made of it: body_key)."""
    chapter = document.chapter.text if document.chapter else ""
    return BodySource(document.body, document.source, document.body_first_line, chapter, numbered, theorems)


class StoredFormulas:
    """The formulas of the bodies a build took from the body cache without them (a checked build in a new process
    reads formulas only for the posts whose check it cannot take from the last build's verdicts: mathcheck.py).

    `memo`: what post_bodies made this build (source path → (document, (number_sections, _, theorems), body)),
    which says what each body was rendered from, hence its key in the cache."""

    def __init__(self, site: Path, raw_html: bool, memo: BodyMemo) -> None:
        self.site, self.raw_html, self.memo = site, raw_html, memo
        self.salt = cache_salt(raw_html)  # the renderer's code and settings: part of what a body's formulas are
        self.read = 0  # bodies whose formulas were read from the cache (a test counts them)

    def key_of(self, document: Document) -> str | None:
        """The cache key of `document`'s body as this build made or found it; None if it has none (it did not
        render)."""
        known = self.memo.get(document.source)
        if known is None or known[0] is not document:
            return None
        numbered, _, theorems = known[1]
        return body_key(body_source(document, numbered, theorems))

    def formulas(self, keys: list[str]) -> dict[str, tuple[Formula, ...]]:
        """The stored formulas of the bodies of `keys` (those the cache holds)."""
        cache = BodyCache(self.site, self.salt)
        try:
            found = cache.formulas_of(keys)
        finally:
            cache.close()
        self.read += len(found)
        return found


def _theorems(site: TheoremSettings, series: SeriesMeta | None) -> TheoremSettings:
    """A series' `theorems:` read over the site's (checked, and reported, when the series file was read)."""
    if series is None or series.theorems is None:
        return site
    return parse_theorem_settings(series.theorems, lambda message: None, site)


def _render_with_cache(
    source: Path,
    items: list[BodySource],
    raw_html: bool,
    jobs: int,
    use_cache: bool,
    formulas: bool = True,
    complete: bool = True,
) -> list[RenderedBody | SiteError]:
    """Bodies from the cache where their source is unchanged; the rest rendered (and stored).

    `complete`: `items` are all the site's posts, so entries for any other source can be dropped.
    """
    if not use_cache:
        return render_bodies(items, raw_html, jobs)
    cache = BodyCache(source, cache_salt(raw_html))
    try:
        keys = [body_key(item) for item in items]
        cached = cache.get_many(keys, formulas)
        missing = [i for i, key in enumerate(keys) if key not in cached]
        fresh = render_bodies([items[i] for i in missing], raw_html, jobs)
        results: list[RenderedBody | SiteError] = [cached.get(key) for key in keys]  # type: ignore[misc]
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
        new = [(keys[i], r) for i, r in zip(missing, fresh, strict=True) if not isinstance(r, SiteError)]
        stored = cache.replace_all(new, keep=set(keys) if complete else None)
        if not formulas and stored:  # kept in the cache, where the check reads those it needs: not for the build
            for index, result in zip(missing, fresh, strict=True):
                if not isinstance(result, SiteError) and result.formulas:
                    results[index] = replace(result, formulas=())
        return results
    finally:
        cache.close()


class Rendered(list):
    """post_bodies' results, in order, with the indexes of those that failed or report problems (`noisy`): the
    others need no look of their own."""

    noisy: list[int]


def keep_rendered(problems: Problems, results: list[RenderedBody | SiteError]) -> list[RenderedBody]:
    """Bodies that rendered; the errors of the others go to `problems`."""
    if isinstance(results, Rendered):  # only the noisy ones looked at, in C for the rest
        bodies = list(results)
        for index in results.noisy:
            result = results[index]
            if isinstance(result, SiteError):
                problems.absorb(result)
                bodies[index] = EMPTY_BODY
            else:
                problems.extend(result.errors)
        return bodies
    bodies = []
    for result in results:
        if isinstance(result, SiteError):
            problems.absorb(result)
            bodies.append(EMPTY_BODY)
        else:
            problems.extend(result.errors)
            bodies.append(result)
    return bodies


EMPTY_BODY = RenderedBody("", (), frozenset(), False, 0, "", ())


# ------------------------------------------------------------------------------------ the body cache

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


_SERIES_KEY = "series-"  # before the key of a series' description (a post's is hexadecimal): pruned apart


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
                    (len(_SERIES_KEY), _SERIES_KEY, series),
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
