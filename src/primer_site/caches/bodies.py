"""The posts' rendered bodies: kept from the last build in this process, read from the body cache, or rendered.

Between parsing and assembling: a body is rendered (markdown.py) only when no earlier build left one for the same
Markdown, and rendering fans out to worker processes.
"""

from __future__ import annotations

from pathlib import Path

from primer_site.caches.cache import BodyCache, body_key, cache_salt
from primer_site.errors import Problems, SiteError
from primer_site.sources.parse import Document, SeriesMeta, series_finder
from primer_site.sources.theoremkinds import DEFAULT, TheoremSettings, parse_theorem_settings
from primer_site.store import Store
from primer_site.syntax.markdown import BodySource, RenderedBody, render_bodies

# source path → (its document, (number_sections, formulas read, theorem settings), its body)
BodyMemo = dict[str, tuple[Document, tuple[bool, bool, TheoremSettings], RenderedBody]]


def series_body(store: Store, meta: SeriesMeta, raw_html: bool) -> RenderedBody | SiteError:
    """A series' description, rendered again only when its file was read again (a new SeriesMeta, unequal to the
    last) or `raw_html` changed."""

    def render() -> RenderedBody | SiteError:
        return render_bodies([BodySource(meta.body, meta.source, meta.body_first_line)], raw_html, 1)[0]

    return store.memo("series body", meta.source, (meta, raw_html), render)


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

    Bodies from the cache come without their formulas, unless `formulas` (the math check) asks for them.
    `theorems`: the site's theorem-like kinds and counters, under each series' own.
    """
    results: list[RenderedBody | SiteError | None] = []
    missing: list[int] = []
    # equations are numbered after the chapter; headings too if the series asks for it
    series_of = series_finder(metas)
    numbered = [bool(meta and meta.number_sections) for meta in (series_of(d.series) for d in documents)]
    settings = [_theorems(theorems, series_of(d.series)) for d in documents]
    for index, doc in enumerate(documents):
        known = memo.get(doc.source)
        same = known is not None and known[1][0] == numbered[index] and known[1][2] == settings[index]
        if same and known is not None and known[0] is doc and (known[1][1] or not formulas):
            results.append(known[2])
        else:
            results.append(None)
            missing.append(index)
    items = [
        BodySource(
            documents[i].body,
            documents[i].source,
            documents[i].body_first_line,
            documents[i].chapter.text if documents[i].chapter else "",
            numbered[i],
            settings[i],
        )
        for i in missing
    ]
    # the cache is pruned to the site's sources only when every one of them was looked up in it
    complete = len(items) == len(documents)
    fresh = _render_with_cache(source, items, raw_html, jobs, use_cache, formulas, complete) if items else []
    for index, body in zip(missing, fresh, strict=True):
        results[index] = body
        if not isinstance(body, SiteError):
            memo[documents[index].source] = (documents[index], (numbered[index], formulas, settings[index]), body)
    return results  # type: ignore[return-value]


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
        cache.replace_all(new, keep=set(keys) if complete else None)
        return results
    finally:
        cache.close()


def keep_rendered(problems: Problems, results: list[RenderedBody | SiteError]) -> list[RenderedBody]:
    """Bodies that rendered; the errors of the others go to `problems`."""
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
