"""Documents + rendered bodies → Site: URLs, series and chapter order, prev/next, taxonomies, links."""

from __future__ import annotations

import difflib
import html
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from operator import is_
from typing import TypeVar

from markupsafe import Markup

from primer_site.errors import Diagnostic, Problems
from primer_site.math.mathhtml import find_math
from primer_site.model import Collection, Extra, Post, PostLink, ScheduledChapter, Series, Site, Taxon
from primer_site.site.citeformat import retitle_references
from primer_site.site.citing import cited_volume, description_html, resolve_post_citations
from primer_site.site.i18n import REFERENCE_DATE_KEY, Catalogue
from primer_site.site.previews import add_previews
from primer_site.sources.bibliography import Bibliography
from primer_site.sources.config import SiteConfig
from primer_site.sources.notation import add_notation
from primer_site.sources.parse import Document, Macros, SeriesMeta, SeriesNames, post_macros, series_macros
from primer_site.sources.theoremkinds import BUILT_IN as BUILT_IN_THEOREMS
from primer_site.syntax.markdown import RenderedBody, SourceLink, render_title
from primer_site.urls import (
    collision_key,
    expand_permalink,
    output_path,
    page_url,
    slug_from_filename,
    slugify,
    taxon_slug,
)

T = TypeVar("T")
_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER_LINK = re.compile('<a href="\x00L(\\d+)\x00"([^>]*)>(.*?)</a>', re.DOTALL)
_NUMBERED_WORDS = ("equation", "figure", "table")  # labels whose reference text is a catalogue message
_WORDS = (*_NUMBERED_WORDS, "coming_on_title", "chapter", "section", "introduction", "notation_out_on", ":locale")
_LABELLED = {"eq": "equation labelled", "fig": "figure labelled", "tbl": "table labelled"}  # by label prefix
_LABELLED.update({k.label: f"{k.kind} labelled" for k in BUILT_IN_THEOREMS if k.label})


@dataclass(frozen=True)
class Selection:
    """Which posts a build publishes."""

    now: datetime
    drafts: bool = False
    future: bool = False


class AssembleMemo:
    """What the previous assembly in this process made, each thing keyed on what it was made from.

    Held by a caller that rebuilds in one process (the dev server): a thing made from the very same inputs
    (compared by identity, since the model is immutable) comes out as the very same object, with the same
    problems reported again, so that later stages can tell in constant time that nothing in it changed.
    """

    def __init__(self) -> None:
        self.made: dict[tuple[str, str], tuple[tuple, object, tuple[Diagnostic, ...]]] = {}

    def reuse(self, kind: str, name: str, inputs: tuple, make: Callable[[Problems], T], problems: Problems) -> T:
        """`make(problems)`, or what it made last time for (kind, name) if `inputs` are the same."""
        known = self.made.get((kind, name))
        if known is not None and _same(known[0], inputs):
            problems.extend(known[2])
            return known[1]  # type: ignore[return-value]
        found = Problems()
        made = make(found)
        problems.extend(found.items)
        self.made[(kind, name)] = (inputs, made, tuple(found.items))
        return made


def _same(a: object, b: object) -> bool:
    """Whether two inputs are the same: the same object, or equal plain values, or tuples of such."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is tuple:
        if len(a) != len(b):  # type: ignore[arg-type]
            return False
        return all(map(is_, a, b)) or all(map(_same, a, b))  # type: ignore[arg-type]
    return kind in _PLAIN and a == b


# compared by value: small immutable values (a neighbour's PostLink is made anew when its post is, but equal)
_PLAIN = frozenset({str, int, bool, float, type(None), datetime, frozenset, PostLink})


def assemble_site(
    config: SiteConfig,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    series_meta: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    selection: Selection,
    problems: Problems,
    unreadable: frozenset[str] = frozenset(),
    memo: AssembleMemo | None = None,
    bibliographies: dict[str, tuple[tuple[str, ...], Bibliography]] | None = None,
    catalogue: Catalogue | None = None,
) -> Site:
    """Everything the templates need, checked; errors are added to `problems`.

    `bibliographies`: each post's .bib files and their entries (bibliography.post_bibliographies), for its
    citations.

    `unreadable`: posts that exist but failed to parse (already reported): links to them are not errors too.
    `catalogue`: the site's language, for the words made here ("Eq. (10.3)", "Chapter 3"); None: English.
    """
    memo = memo or AssembleMemo()
    key_lines = {d.source: d.key_lines for d in documents}
    body_of = {d.source: b for d, b in zip(documents, bodies, strict=True)}
    names = SeriesNames(series_meta)
    names.clash_errors(problems)

    def made(doc: Document, body: RenderedBody) -> Post:
        meta = names.meta_of(doc.series)
        series = (names.slug_of(doc.series), post_macros(config.macros, meta, doc))
        inputs = (config, doc, body, doc.date > selection.now, series)
        return memo.reuse(
            "post", doc.source, inputs, lambda found: _post(config, doc, body, selection, series, found), problems
        )

    # the messages made here: a memo made with other words is stale
    words = tuple(repr(catalogue.fingerprint_of(k)) for k in _WORDS) if catalogue is not None else ()
    posts = [made(d, b) for d, b in zip(documents, bodies, strict=True)]
    drafts = frozenset(p.source for p in posts if p.draft and not selection.drafts)  # left out: links say why
    posts = [p for p in posts if p.source not in drafts]
    posts = _unique_urls(posts, key_lines, problems)
    by_source = {p.source: p for p in posts}
    published = {p.source for p in posts if selection.future or not p.scheduled}

    def resolved(post: Post) -> Post:
        links = body_of[post.source].links
        if not links:
            return post
        # what resolving reads of each target: its post, its body (ids, labels), whether it is out
        targets = tuple(
            (by_source.get(t), body_of.get(t), t in published, t in unreadable, t in drafts)
            for t in {x.target: 0 for x in links}
        )
        return memo.reuse(
            "links",
            post.source,
            (post, links, targets, post.source in published, words),
            lambda found: _resolve_links(
                post, links, by_source, body_of, published, unreadable, found, drafts, catalogue
            ),
            problems,
        )

    posts = [resolved(p) for p in posts]
    bibliographies = bibliographies or {}
    doc_of = {d.source: d for d in documents}

    def cited(post: Post) -> Post:
        """Citations filled, References appended, the cite-this BibTeX: from the entries it cites."""
        citations = body_of[post.source].citations
        paths, entries = bibliographies.get(post.source, ((), {}))
        keys = {item.key for c in citations for item in c.items}
        seen = tuple(entries.get(k) for k in sorted(keys))
        everything = tuple(sorted(entries)) if None in seen else ()  # an unknown key: the suggestion reads them all
        doc = doc_of[post.source]
        return memo.reuse(
            "citations",
            post.source,
            (config, post, doc, citations, paths, seen, everything, tuple(series_meta)),
            lambda found: resolve_post_citations(post, doc, citations, paths, entries, config, series_meta, found),
            problems,
        )

    posts = [cited(p) for p in posts]
    if catalogue is not None and catalogue.words(("references",)) is not None:  # a References section's heading
        title = str(catalogue.text("references"))
        posts = [
            memo.reuse("references heading", p.source, (p, title), lambda _, p=p: _headed(p, title), problems)
            for p in posts
        ]
    posts = add_previews(posts, published, lambda *made: memo.reuse(*made, problems))
    written = {d.source: d.series for d in documents if d.series}  # each post's `series:`, as written
    series = _series(config, posts, series_meta, series_bodies, selection, key_lines, written, problems, memo)
    notes = {m.slug: m.notes for m in series_meta if m.notes}
    if notes:
        where = {m.slug: (m.source, m.line_of("macros")) for m in series_meta}
        texts = {d.source: (d.body, d.body_first_line) for d in documents}
        later = [p for p in posts if p.source not in published]
        label = out_on = None
        if catalogue is not None:  # the rows' chapter labels and dates in the site's language

            def label(post: Post) -> str:
                return catalogue.chapter_label(post.chapter)

            def out_on(post: Post) -> str:
                day = catalogue.date(post.date, str(catalogue.messages[REFERENCE_DATE_KEY]))
                return catalogue.text("notation_out_on", chapter=label(post) or post.title, date=day)  # Markup

        def noted(one: Series) -> Series:
            """Its notation page's rows: the same object while its inputs are (the dev server's rebuilds)."""
            inputs = (one, notes.get(one.slug), tuple(later), tuple(documents), words)
            make = lambda found: add_notation([one], notes, where, texts, found, later, label, out_on)[0]  # noqa: E731
            return memo.reuse("notation", one.slug, inputs, make, problems) if one.slug in notes else one

        series = [noted(one) for one in series]

    def link(post: Post) -> PostLink:
        """How other chapters point at this one."""
        label = catalogue.chapter_label(post.chapter) if catalogue is not None else post.chapter_label
        return memo.reuse(
            "post link", post.source, (post, label), lambda _: PostLink(post.title, post.url, label), problems
        )

    neighbours = {}
    for one in series:
        chapters = one.posts
        for index, post in enumerate(chapters):
            neighbours[post.source] = (
                link(chapters[index - 1]) if index > 0 else None,
                link(chapters[index + 1]) if index + 1 < len(chapters) else None,
            )

    def placed(post: Post) -> Post:
        previous, following = neighbours.get(post.source, (None, None))
        if previous is None and following is None:
            return post
        return memo.reuse(
            "placed",
            post.source,
            (post, previous, following),
            lambda _: replace(post, previous=previous, next=following),
            problems,
        )

    live = [placed(p) for p in posts if p.source in published]
    live.sort(key=lambda p: (p.date, p.source), reverse=True)
    live_by_source = {p.source: p for p in live}

    def with_chapters(one: Series) -> Series:
        chapters = tuple(live_by_source[p.source] for p in one.posts)
        return memo.reuse("series, placed", one.slug, (one, chapters), lambda _: replace(one, posts=chapters), problems)

    series = [with_chapters(s) for s in series]

    def with_references(one: Series) -> Series:
        citing = [p for p in one.posts if p.references]
        entries = tuple(bibliographies.get(p.source, ((), {}))[1] for p in citing)
        read = tuple(e.get(r.key) for p, e in zip(citing, entries, strict=True) for r in p.references)
        label = (lambda p: catalogue.chapter_label(p.chapter)) if catalogue is not None else None
        return memo.reuse(
            "volume references", one.slug, (one, read, words), lambda _: cited_volume(one, entries, label), problems
        )

    series = [with_references(s) for s in series]
    collections = _collections(config, series, series_meta, series_bodies, problems, memo)
    parts = (
        tuple(live),
        tuple(series),
        tuple(collections),
        _taxa(config, live, "tag", lambda p: p.tags, memo, problems, key_lines),
        _taxa(config, live, "category", lambda p: (p.category,) if p.category else (), memo, problems, key_lines),
    )
    return memo.reuse("site", "", parts, lambda _: Site(*parts), problems)


def _post(
    config: SiteConfig,
    doc: Document,
    body: RenderedBody,
    selection: Selection,
    series: tuple[str | None, Macros],
    problems: Problems,
) -> Post:
    """`series`: the slug of the post's series and the post's macros (parse.SeriesNames, parse.post_macros)."""
    slug = doc.slug or slug_from_filename(doc.source.rsplit("/", 1)[-1].removesuffix(".md"))
    path = expand_permalink(config.permalinks["post"], slug, doc.date)
    summary_html = body.first_paragraph  # or the front matter's summary, its files' URLs in (assets.AssetIndex.fill)
    summary_text = html.unescape(_TAG.sub("", summary_html)).strip()
    return Post(
        source=doc.source,
        title=doc.title,
        date=doc.date,
        slug=slug,
        url=page_url(config.base_path, path),
        output_path=output_path(path),
        body_html=body.html,
        summary_html=summary_html,
        summary_text=summary_text,
        description=doc.description or summary_text,
        headings=body.headings,
        # a summary from the front matter has its own math, found as the pages' math is found (mathhtml)
        has_math=body.has_math or bool(summary_html and find_math(summary_html).elements),
        word_count=body.word_count,
        display_equations=body.display_equations,
        updated=doc.updated,
        series=series[0],
        chapter=doc.chapter,
        tags=_distinct_tags(doc, problems),
        category=doc.category,
        draft=doc.draft,
        scheduled=doc.date > selection.now,
        extra=Extra.of(doc.extra),
        links=body.others,
        macros=series[1],
    )


def _distinct_tags(doc: Document, problems: Problems) -> tuple[str, ...]:
    """The post's tags, one per tag page: a second spelling of a tag ("llm" after "LLM") is left out, with a warning
    at the `tags:` line, since both name the one page and the post would show two chips leading to it."""
    first: dict[str, str] = {}
    for name in doc.tags:
        slug = taxon_slug(name)
        if slug not in first:
            first[slug] = name
        elif first[slug] != name:
            problems.warning(
                f"tags: {first[slug]!r} and {name!r} are one tag (both make the tag page {slug!r}): keep one spelling",
                doc.source,
                doc.key_lines.get("tags", 1),
            )
    return tuple(first.values())


def _unique_urls(posts: list[Post], key_lines: dict[str, dict[str, int]], problems: Problems) -> list[Post]:
    """Two posts writing one page is an error; so is a pair differing only in case (the second is dropped)."""
    seen: dict[str, Post] = {}
    for post in sorted(posts, key=lambda p: p.source):
        key = collision_key(post.output_path)
        if key in seen:
            other = seen[key]
            how = (
                "the same URL" if other.output_path == post.output_path else "URLs that differ only in case or accents"
            )
            problems.error(
                f"slug: {post.url} and {other.source} have {how} (change one 'slug:')",
                post.source,
                key_lines[post.source].get("slug", key_lines[post.source].get("title", 1)),
            )
        else:
            seen[key] = post
    return [p for p in posts if seen.get(collision_key(p.output_path)) is p]


def _headed(post: Post, title: str) -> Post:
    """`post` with its References section's heading (citeformat's REFERENCES_TITLE) in the site's language."""
    body = retitle_references(post.body_html, title)
    return post if body == post.body_html else replace(post, body_html=body)


def _resolve_links(
    post: Post,
    links: Sequence[SourceLink],
    by_source: dict[str, Post],
    body_of: dict[str, RenderedBody],
    published: set[str],
    unreadable: frozenset[str],
    problems: Problems,
    drafts: frozenset[str] = frozenset(),
    catalogue: Catalogue | None = None,
) -> Post:
    """Turn the placeholders for links to other sources into their URLs (or report them).

    A link with no text is a reference: its text is made from what it points at, "Eq. (10.3)", a heading
    ("10.2 Reward modelling" where sections are numbered), or the post's title.
    """
    if not links:
        return post

    def text_of(link: SourceLink, text: str) -> str:
        target = by_source.get(link.target)
        if text or target is None:
            return text
        label = body_of[link.target].label(link.fragment) if link.fragment else None
        if label is not None:
            if catalogue is not None and label.kind in _NUMBERED_WORDS:
                return catalogue.numbered(label.kind, html.escape(label.number))
            return label.reference_html
        return html.escape(link.fragment) if link.fragment else render_title(target.title)

    def resolve(match: re.Match[str]) -> str:
        link = links[int(match.group(1))]
        target = by_source.get(link.target)
        text = text_of(link, match.group(3))
        if target is None and link.target in drafts:
            problems.error(
                f"link to {link.written!r}: {link.target} is a draft (draft: true), left out of this build: publish "
                "it, or build with --drafts to preview",
                post.source,
                link.line,
            )
            return text
        if target is None and link.target in unreadable:
            return text
        if target is None:
            problems.error(f"link to {link.written!r}: no post at {link.target}", post.source, link.line)
            return text
        if link.fragment and link.fragment not in body_of[link.target].ids:
            what = _LABELLED.get(link.fragment.partition(":")[0], "heading or id")
            where = "this post" if link.target == post.source else link.target
            problems.error(f"link to {link.written!r}: {where} has no {what} #{link.fragment}", post.source, link.line)
            return text
        if link.target == post.source:
            same = link.written if link.written.startswith("#") else f"#{link.fragment}"  # the href as written
            return f'<a href="{html.escape(same)}"{match.group(2)}>{text}</a>'
        if link.target not in published:
            # a scheduled chapter: no link to a page that is not there yet; the first build on or after its date
            # makes one. A reference says where and when ("Theorem 10.2, in Chapter 10, out on 12 March 2026").
            when = target.date.strftime("%Y-%m-%d")
            label = body_of[link.target].label(link.fragment) if link.fragment else None
            if label is not None and not match.group(3):
                if catalogue is None:
                    where = html.escape(target.chapter_label) or render_title(target.title)
                    text = f"{text}, in {where}, out on {target.date.day} {target.date:%B %Y}"
                else:
                    where = html.escape(catalogue.chapter_label(target.chapter)) or render_title(target.title)
                    out = catalogue.date(target.date, str(catalogue.messages[REFERENCE_DATE_KEY]))
                    text = str(
                        catalogue.text("scheduled_reference", reference=Markup(text), where=Markup(where), date=out)
                    )
            title = catalogue.text("coming_on_title", date=when) if catalogue is not None else f"Coming on {when}"
            return f'<span class="link-scheduled" title="{title}">{text}</span>'
        href = target.url + (f"#{link.fragment}" if link.fragment else "")
        return f'<a href="{html.escape(href)}"{match.group(2)}>{text}</a>'

    # the summary may be the body's first paragraph, placeholders included
    summary_html = _PLACEHOLDER_LINK.sub(lambda m: text_of(links[int(m.group(1))], m.group(3)), post.summary_html)
    if summary_html == post.summary_html:
        return replace(post, body_html=_PLACEHOLDER_LINK.sub(resolve, post.body_html))
    # a reference's text is in the summary now: in its text form too
    summary_text = html.unescape(_TAG.sub("", summary_html)).strip()
    return replace(
        post,
        body_html=_PLACEHOLDER_LINK.sub(resolve, post.body_html),
        summary_html=summary_html,
        summary_text=summary_text,
        description=summary_text if post.description == post.summary_text else post.description,
    )


def _series(
    config: SiteConfig,
    posts: list[Post],
    metas: Sequence[SeriesMeta],
    bodies: Sequence[RenderedBody],
    selection: Selection,
    key_lines: dict[str, dict[str, int]],
    written: dict[str, str],
    problems: Problems,
    memo: AssembleMemo,
) -> list[Series]:
    """The series: one per series file, and one per series a post names that has no file (`written`: each post's
    `series:` as written; `post.series` is already the slug it names)."""
    meta_by_slug = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "series"}
    members: dict[str, list[Post]] = defaultdict(list)
    titles: dict[str, str] = {}
    for post in posts:
        slug = post.series
        if not slug:
            continue
        if slug not in meta_by_slug:
            _warn_if_misspelt(post, written[post.source], meta_by_slug, key_lines, problems)
        members[slug].append(post)
        titles.setdefault(slug, written[post.source])
    result = []
    for slug in sorted(set(members) | set(meta_by_slug)):
        meta, body = meta_by_slug.get(slug, (None, None))
        chapters = tuple(members.get(slug, ()))
        inputs = (config, meta, body, chapters, titles.get(slug), selection.future)
        result.append(
            memo.reuse(
                "series",
                slug,
                inputs,
                lambda found, slug=slug, meta=meta, body=body, chapters=chapters: _one_series(
                    config, slug, meta, body, chapters, titles.get(slug, ""), selection, key_lines, found
                ),
                problems,
            )
        )
    return result


def _warn_if_misspelt(
    post: Post,
    name: str,
    meta_by_slug: dict[str, tuple[SeriesMeta, RenderedBody]],
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
) -> None:
    """A `series:` naming no series file but close to one's name or title starts a series of its own: say so."""
    names = {slug: slug for slug in meta_by_slug} | {meta.title: meta.slug for meta, _ in meta_by_slug.values()}
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
    if not close:
        close = difflib.get_close_matches(slugify(name), list(meta_by_slug), n=1, cutoff=0.75)
    numbered = re.compile(r"\d+")
    if close and numbered.sub("#", close[0]) == numbered.sub("#", name):
        return  # "Volume 2" beside "Volume 1": another volume, not a typo
    if close:
        slug = names[close[0]]
        problems.warning(
            f"series: {name!r} names no file in series/, so it starts a series of its own: did you mean "
            f"{close[0]!r} ({meta_by_slug[slug][0].source})? (a new series gets its own "
            f"series/{slugify(name)}.md)",
            post.source,
            key_lines[post.source].get("series", 1),
        )


def _one_series(
    config: SiteConfig,
    slug: str,
    meta: SeriesMeta | None,
    body: RenderedBody | None,
    members: Sequence[Post],
    title: str,
    selection: Selection,
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
) -> Series:
    chapters = sorted(members, key=lambda p: (p.chapter, p.source))
    for before, after in pairwise(chapters):
        # compared as numbers: 02 is chapter 2 (and 1.10 is not 1.1)
        if before.chapter is not None and after.chapter is not None and before.chapter.parts == after.chapter.parts:
            same = "" if before.chapter.text == after.chapter.text else f" (written {before.chapter})"
            problems.error(
                f"chapter: {after.chapter} is also the chapter of {before.source}{same} in series {slug!r}",
                after.source,
                key_lines[after.source].get("chapter", 1),
            )
    if meta is not None and meta.planned_chapters is not None:
        _check_planned(meta, chapters, key_lines, problems)
    path = expand_permalink(config.permalinks["series"], slug)
    live = [p for p in chapters if selection.future or not p.scheduled]
    live_sources = {p.source for p in live}  # a set of names: comparing Posts would compare every field
    return Series(
        slug=slug,
        title=meta.title if meta else title,
        url=page_url(config.base_path, path),
        description_html=description_html(body.html, body.citations, meta, problems) if body and meta else "",
        source=meta.source if meta else None,
        collection=meta.collection if meta else None,
        order=meta.order if meta else 0,
        planned_chapters=meta.planned_chapters if meta else None,
        gaps=meta.gaps if meta else (),
        macros=series_macros(config.macros, meta),
        books=config.books.over(meta.books) if meta else config.books,
        posts=tuple(live),
        scheduled=tuple(
            ScheduledChapter(p.chapter, p.title, p.date, p.macros)
            for p in chapters
            if p.source not in live_sources and p.chapter
        ),
    )


def _check_planned(
    meta: SeriesMeta, chapters: list[Post], key_lines: dict[str, dict[str, int]], problems: Problems
) -> None:
    """A chapter past the series' planned `chapters:` is an error at its line: the pages would say "Chapter 5 of 4"."""
    planned = meta.planned_chapters or 0
    for post in chapters:
        if post.chapter is not None and post.chapter.parts[0] > planned:
            problems.error(
                f"chapter: {post.chapter} is past the {planned} chapter{'s' if planned != 1 else ''} planned for "
                f"series {meta.slug!r} ({meta.source}:{meta.line_of('chapters')} says chapters: {planned}): "
                "raise that number, or renumber this chapter",
                post.source,
                key_lines[post.source].get("chapter", 1),
            )


def _collections(
    config: SiteConfig,
    series: list[Series],
    metas: Sequence[SeriesMeta],
    bodies: Sequence[RenderedBody],
    problems: Problems,
    memo: AssembleMemo,
) -> list[Collection]:
    found = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "collection"}
    for one in series:
        if one.collection and one.collection not in found:
            line = next((m.line_of("collection") for m in metas if m.slug == one.slug), 1)
            problems.error(f"collection: no collection {one.collection!r} in series/", one.source or "", line)
    result = []
    series_slugs = {s.slug for s in series}
    for slug, (meta, body) in sorted(found.items()):
        if slug in series_slugs:  # the two would write one page: located here rather than at the output path
            problems.error(
                f"kind: {slug!r} is a collection, but posts name it as their series (rename the file, or their 'series:')",
                meta.source,
                meta.line_of("kind"),
            )
            continue
        volumes = tuple(sorted((s for s in series if s.collection == slug), key=lambda s: (s.order, s.slug)))

        def make(found: Problems, slug: str = slug, meta: SeriesMeta = meta, body=body, volumes=volumes) -> Collection:
            path = expand_permalink(config.permalinks["series"], slug)
            description = description_html(body.html, body.citations, meta, found)
            return Collection(slug, meta.title, page_url(config.base_path, path), description, meta.source, volumes)

        result.append(memo.reuse("collection", slug, (config, meta, body, volumes), make, problems))
    return result


def _taxa(
    config: SiteConfig,
    posts: list[Post],
    kind: str,
    names_of,
    memo: AssembleMemo,
    problems: Problems,
    key_lines: dict[str, dict[str, int]],
) -> tuple[Taxon, ...]:
    """Tags or categories; names that slugify alike ("Café", "cafe") are one taxon."""
    grouped: dict[str, list[Post]] = defaultdict(list)
    spelling: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for post in posts:
        for name in names_of(post):
            slug = taxon_slug(name)
            grouped[slug].append(post)
            spelling[slug][name] += 1
    result = []
    for slug in sorted(grouped):
        name = max(sorted(spelling[slug]), key=lambda n: spelling[slug][n])
        members = tuple(grouped[slug])
        if len(spelling[slug]) > 1:
            _warn_spellings(kind, name, spelling[slug], members, names_of, key_lines, problems)

        def make(_: Problems, name: str = name, slug: str = slug, members: tuple[Post, ...] = members) -> Taxon:
            path = expand_permalink(config.permalinks[kind], slug)
            return Taxon(name, slug, page_url(config.base_path, path), members)

        result.append(memo.reuse(kind, slug, (config, name, members), make, problems))
    return tuple(result)


def _spelling(name: str) -> str:
    """What two spellings of one tag share: "LLM", "llm" and "Llm"; "Café" and "cafe"; "deep learning" and
    "deep-learning". Names that share a slug but not this are two names (an error, not a warning)."""
    return re.sub(r"[\s_-]+", "-", collision_key(name)).strip("-")


def _warn_spellings(
    kind: str,
    shown: str,
    counts: dict[str, int],
    members: tuple[Post, ...],
    names_of,
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
) -> None:
    """Posts spelling one tag (or category) two ways share its page, which shows one spelling: a warning at the first
    post (by path) of each other spelling, naming where the shown one is written."""
    key = "tags" if kind == "tag" else kind
    first_of: dict[str, str] = {}
    for post in sorted(members, key=lambda p: p.source):
        for name in names_of(post):
            if name in counts:
                first_of.setdefault(name, post.source)
    for name in sorted(counts):
        if name == shown:
            continue
        source = first_of[name]
        if _spelling(name) != _spelling(shown):  # not a spelling of one name: two names the slug cannot tell apart
            problems.error(
                f"{key}: {name!r} and {shown!r} ({first_of[shown]}) are different names with one {kind} page "
                f"({taxon_slug(shown)!r}): rename one, or write them alike if they are one {kind}",
                source,
                key_lines.get(source, {}).get(key, 1),
            )
            continue
        problems.warning(
            f"{key}: {name!r} and {shown!r} ({first_of[shown]}) are one {kind}, with one page that shows {shown!r}: "
            "write them alike",
            source,
            key_lines.get(source, {}).get(key, 1),
        )
