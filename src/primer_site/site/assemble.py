"""Documents + rendered bodies → Site: URLs, series and chapter order, prev/next, taxonomies, links.

The parts live in their own modules: the memo (assemblememo), links between posts (postlinks), series and
collections (series), tags and categories (taxonomies); this one puts them together in order.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from primer_site.errors import Problems
from primer_site.math.mathhtml import find_math
from primer_site.model import Extra, Post, PostLink, Series, Site
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.citeformat import retitle_references
from primer_site.site.citing import cited_volume, resolve_post_citations
from primer_site.site.i18n import REFERENCE_DATE_KEY, Catalogue
from primer_site.site.postlinks import NUMBERED_WORDS, TAG, resolve_links
from primer_site.site.previews import add_previews
from primer_site.site.series import Selection, assemble_collections, assemble_series
from primer_site.site.taxonomies import assemble_taxa, distinct_tags
from primer_site.sources.bibliography import Bibliography
from primer_site.sources.config import SiteConfig
from primer_site.sources.notation import add_notation, scheduled_of
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import Macros, SeriesMeta, SeriesNames, post_macros
from primer_site.syntax.markdown import RenderedBody
from primer_site.urls import collision_key, expand_permalink, output_path, page_url, slug_from_filename

__all__ = ["AssembleMemo", "Selection", "assemble_site"]  # the memo and the selection: build.py's words for them

_WORDS = (*NUMBERED_WORDS, "coming_on_title", "chapter", "section", "introduction", "notation_out_on", ":locale")


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
        # the very same tuple while what it is merged from is the same: the post's inputs then compare by identity
        macros = memo.reuse(
            "macros",
            doc.source,
            (config.macros, meta, doc.macros),
            lambda _: post_macros(config.macros, meta, doc),
            problems,
        )
        series = (names.slug_of(doc.series), macros)
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
            lambda found: resolve_links(
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
        meta = names.meta_of(doc.series)
        return memo.reuse(
            "citations",
            post.source,
            (config, post, doc, citations, paths, seen, everything, meta),
            lambda found: resolve_post_citations(post, doc, citations, paths, entries, config, meta, found),
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
    series = assemble_series(config, posts, series_meta, series_bodies, selection, key_lines, written, problems, memo)
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

        later_of = scheduled_of(series, later)

        def noted(one: Series) -> Series:
            """Its notation page's rows: the same object while its inputs are (the dev server's rebuilds): the
            series, its notes, its chapters not out yet and its chapters' documents (whose text is searched for
            uses), never every post's: a site of many series with notes stays linear."""
            ahead = later_of.get(one.slug, [])
            read = tuple(doc_of[p.source] for p in one.posts)
            inputs = (one, notes.get(one.slug), tuple(ahead), read, words)
            make = lambda found: add_notation([one], notes, where, texts, found, ahead, label, out_on)[0]  # noqa: E731
            return memo.reuse("notation", one.slug, inputs, make, problems) if one.slug in notes else one

        series = [noted(one) for one in series]

    chapter_labels: dict[object, str] = {}  # "Chapter 3" once per number, not once per post and neighbour
    links_to: dict[str, PostLink] = {}  # each chapter's link made once, not once per neighbour

    def link(post: Post) -> PostLink:
        """How other chapters point at this one."""
        if (known := links_to.get(post.source)) is None:
            known = links_to[post.source] = _link(post)
        return known

    def _link(post: Post) -> PostLink:
        if catalogue is None:
            label = post.chapter_label
        elif (label := chapter_labels.get(post.chapter)) is None:
            label = chapter_labels[post.chapter] = catalogue.chapter_label(post.chapter)
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
    collections = assemble_collections(config, series, series_meta, series_bodies, problems, memo)
    parts = (
        tuple(live),
        tuple(series),
        tuple(collections),
        assemble_taxa(config, live, "tag", lambda p: p.tags, memo, problems, key_lines),
        assemble_taxa(
            config, live, "category", lambda p: (p.category,) if p.category else (), memo, problems, key_lines
        ),
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
    summary_text = html.unescape(TAG.sub("", summary_html)).strip()
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
        tags=distinct_tags(doc, problems),
        category=doc.category,
        draft=doc.draft,
        scheduled=doc.date > selection.now,
        extra=Extra.of(doc.extra),
        links=body.others,
        macros=series[1],
    )


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
