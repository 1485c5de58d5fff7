"""The posts' rendered bodies: kept from the last build in this process, read from the body cache, or rendered.

Between parsing and assembling: a body is rendered (markdown.py) only when no earlier build left one for the same
Markdown, and rendering fans out to worker processes. The body cache on disk, its keys and salt, are bodycache.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from itertools import compress
from operator import is_, is_not
from pathlib import Path

from primer_site.caches.bodycache import SERIES_KEY, BodyCache, body_digest, body_key, cache_salt, key_of_parts
from primer_site.caches.highlights import HighlightTable
from primer_site.errors import Problems, SiteError
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta, series_finder
from primer_site.sources.theoremkinds import DEFAULT, TheoremSettings, parse_theorem_settings
from primer_site.store import Store
from primer_site.syntax.markdown import BodySource, Formula, RenderedBody, render_bodies


class BodyMemo(dict[str, tuple[Document, tuple[bool, bool, TheoremSettings], RenderedBody]]):
    """What the last builds in this process rendered: source path → (its document, (number_sections, formulas
    read, theorem settings), its body); and the last post_bodies call's documents, shared reads, results in order,
    the indexes of those that failed and its series finder (`last`), so that the next finds the documents that changed by identity,
    in C, without a look at each."""

    last: tuple[list[Document], tuple, Rendered, list[int], Callable] | None = None
    # the body cache keys the last call worked out: source path → (document, number_sections, theorem settings,
    # key), so that the math check (StoredFormulas.key_of) does not hash each body a second time
    keys: dict[str, tuple[Document, bool, TheoremSettings, str]] = {}  # noqa: RUF012 (replaced, never filled in place)


def series_descriptions(
    store: Store, metas: list[SeriesMeta], raw_html: bool, source: Path, use_cache: bool
) -> list[RenderedBody | SiteError]:
    """Each series' description: the last build's in this process while its file was not read again (a new
    SeriesMeta, unequal to the last) and `raw_html` is the same; else from the body cache when `use_cache` and its
    Markdown is unchanged (a build in a new process renders none it rendered before); else rendered."""
    cache: BodyCache | None = None
    looked: dict[str, None] = {}  # the cache keys looked up
    new: list[tuple[str, RenderedBody]] = []
    found_at_once: dict[str, RenderedBody] = {}
    keys: dict[int, str] = {}  # by id of each of `metas` (alive throughout)
    if use_cache and metas and not store.holds("series body"):  # a new process: every one looked up, in one query
        cache = BodyCache(source, cache_salt(raw_html))
        keys = {id(m): SERIES_KEY + body_key(BodySource(m.body, m.source, m.body_first_line)) for m in metas}
        found_at_once = cache.get_many(list(keys.values()))

    def make(meta: SeriesMeta) -> RenderedBody | SiteError:
        nonlocal cache
        item = BodySource(meta.body, meta.source, meta.body_first_line)
        if not use_cache:
            return render_bodies([item], raw_html, 1)[0]
        if cache is None:
            cache = BodyCache(source, cache_salt(raw_html))
        key = keys.get(id(meta)) or SERIES_KEY + body_key(item)
        looked[key] = None
        found = found_at_once.get(key) or cache.get_many([key]).get(key)
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
    digests: Mapping[str, tuple[Document, str]] | None = None,
    lasting: bool = False,
) -> list[RenderedBody | SiteError]:
    """Each document's rendered body, or the SiteError that stopped it: from `memo` (the last build in this
    process) when the document is the same object, else from the body cache in SOURCE/.primer-cache/ when
    `use_cache` and its Markdown is unchanged, else rendered (in up to `jobs` worker processes).

    Bodies come without their formulas, unless `formulas` (the math check) asks for them: those from the cache,
    and those rendered now once the cache holds them (a checked build reads them there: bodies.StoredFormulas).
    `theorems`: the site's theorem-like kinds and counters, under each series' own. `digests`: source path →
    (document, its body's digest) as the document cache kept them (DocumentCache.digests): a body whose document
    is that very object is not hashed again for its key. `lasting`: what is read from the cache lives to the end of
    the process (a build in a new process: BodyCache.get_many).
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
    theorem_keys: dict[int, str] = {}  # each settings' text worked out once, not once per body (id: kept alive)
    for kept in settings.values():
        if id(kept) not in theorem_keys:
            theorem_keys[id(kept)] = kept.key
    digests = digests or {}

    def key_of(index: int) -> str:
        """body_key of the document's body_source, without making it: a body the cache holds needs none."""
        doc = documents[index]
        kept = digests.get(doc.source)
        digest = kept[1] if kept is not None and kept[0] is doc else None
        return document_key(doc, numbered[index], theorem_keys[id(settings[index])], digest)

    keys = list(map(key_of, missing)) if use_cache else []
    memo.keys = {
        documents[i].source: (documents[i], numbered[i], settings[i], key)
        for i, key in zip(missing, keys, strict=False)
    }
    # what a body is rendered from: made only for those the cache does not hold
    item_of = lambda index: body_source(documents[index], numbered[index], settings[index])  # noqa: E731
    # the cache is pruned to the site's sources only when every one of them was looked up in it
    complete = len(missing) == len(documents)
    fresh = (
        _render_with_cache(source, missing, item_of, raw_html, jobs, use_cache, formulas, complete, keys, lasting)
        if missing
        else []
    )
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
    return BodySource(document.body, *_placed(document), numbered, theorems)


def document_key(document: Document, numbered: bool, theorems_key: str, digest: str | None = None) -> str:
    """body_key(body_source(document, numbered, theorems)), without the BodySource made (a body the cache holds
    needs none): `theorems_key` is the settings' key, `digest` the body's body_digest if known."""
    return key_of_parts(
        *_placed(document), numbered, theorems_key, body_digest(document.body) if digest is None else digest
    )


def _placed(document: Document) -> tuple[str, int, str]:
    """Where a body is, as its BodySource says it (source, first line, chapter's text): one home for both."""
    return document.source, document.body_first_line, document.chapter.text if document.chapter else ""


class StoredFormulas:
    """The formulas of the bodies a build took from the body cache without them (a checked build in a new process
    reads formulas only for the posts whose check it cannot take from the last build's verdicts: mathsources.py).

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
        kept = self.memo.keys.get(document.source)
        if kept is not None and kept[0] is document and kept[1] == numbered and kept[2] == theorems:
            return kept[3]  # worked out by post_bodies this build
        return document_key(document, numbered, theorems.key)

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
    indexes: list[int],
    item_of: Callable[[int], BodySource],
    raw_html: bool,
    jobs: int,
    use_cache: bool,
    formulas: bool,
    complete: bool,
    keys: list[str],
    lasting: bool = False,
) -> list[RenderedBody | SiteError]:
    """The bodies of the documents at `indexes`: from the cache where their source is unchanged, the rest rendered
    from `item_of(index)` (and stored).

    `complete`: these are all the site's posts, so entries for any other source can be dropped. `keys`: their
    body_key (with `use_cache`). `lasting`: as post_bodies'.
    """
    if not use_cache:
        return render_bodies(list(map(item_of, indexes)), raw_html, jobs)
    cache = BodyCache(source, cache_salt(raw_html))
    try:
        cached = cache.get_many(keys, formulas, lasting)
        missing = [i for i, key in enumerate(keys) if key not in cached]
        items = [item_of(indexes[i]) for i in missing]
        fresh = _render_highlighting(items, source, raw_html, jobs, complete and not cached)
        results: list[RenderedBody | SiteError] = [cached.get(key) for key in keys]  # type: ignore[misc]
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
        new = [(keys[i], r) for i, r in zip(missing, fresh, strict=True) if not isinstance(r, SiteError)]
        wanted = set(keys) if complete else None
        held = len(cached) + len(new) if wanted is not None and len(wanted) == len(keys) else None
        stored = cache.replace_all(new, keep=wanted, held=held)
        if not formulas and stored:  # kept in the cache, where the check reads those it needs: not for the build
            for index, result in zip(missing, fresh, strict=True):
                if not isinstance(result, SiteError) and result.formulas:
                    results[index] = replace(result, formulas=())
        return results
    finally:
        cache.close()


def _render_highlighting(
    items: list[BodySource], source: Path, raw_html: bool, jobs: int, every_post: bool
) -> list[RenderedBody | SiteError]:
    """render_bodies, with the code blocks an earlier build kept (caches/highlights.py); keeps those made now."""
    if not items:
        return []
    table = HighlightTable(source)
    try:
        highlights = table.highlights()
        fresh = render_bodies(items, raw_html, jobs, highlights)
        table.keep(highlights, every_post)
        return fresh
    finally:
        table.close()


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
