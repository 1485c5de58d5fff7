"""Documents + rendered bodies → Site: URLs, series and chapter order, prev/next, taxonomies, links."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise

from .config import SiteConfig, merge_macros
from .errors import Problems
from .markdown import RenderedBody, SourceLink, render_inline, render_title
from .model import Collection, Post, PostLink, ScheduledChapter, Series, Site, Taxon
from .parse import Document, SeriesMeta
from .urls import collision_key, expand_permalink, output_path, page_url, slug_from_filename, slugify

_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER_LINK = re.compile('<a href="\x00L(\\d+)\x00"([^>]*)>(.*?)</a>', re.DOTALL)
_LABELLED = {"eq": "equation labelled", "fig": "figure labelled", "tbl": "table labelled"}  # by label prefix
_NUMBERED = ("equation", "figure", "table")  # what a reference names by its number


@dataclass(frozen=True)
class Selection:
    """Which posts a build publishes."""

    now: datetime
    drafts: bool = False
    future: bool = False


class AssembleMemo:
    """Posts made by the previous assembly, reused while their inputs are the same objects.

    Held by a caller that rebuilds in one process (the dev server): an unchanged post comes out as
    the very same Post, so later stages can tell in constant time that its pages need no work.
    """

    def __init__(self) -> None:
        self.config: SiteConfig | None = None
        self.made: dict[str, tuple[Document, RenderedBody, bool, Post]] = {}
        self.resolved: dict[str, tuple[Post, tuple, tuple, Post]] = {}
        self.links: dict[str, tuple[Post, PostLink]] = {}
        self.placed: dict[str, tuple[Post, PostLink | None, PostLink | None, Post]] = {}

    def post(self, config: SiteConfig, doc: Document, body: RenderedBody, selection: Selection) -> Post:
        if config is not self.config:
            self.config, self.made, self.resolved, self.placed, self.links = config, {}, {}, {}, {}
        scheduled = doc.date > selection.now
        known = self.made.get(doc.source)
        if known and known[0] is doc and known[1] is body and known[2] == scheduled:
            return known[3]
        made = _post(config, doc, body, selection)
        self.made[doc.source] = (doc, body, scheduled, made)
        return made

    def resolve(
        self,
        post: Post,
        links: Sequence[SourceLink],
        by_source: dict[str, Post],
        body_of: dict[str, RenderedBody],
        published: set[str],
        unreadable: frozenset[str],
        problems: Problems,
    ) -> Post:
        """The post with its links resolved; reused while every link's target resolves the same way."""
        if not links:
            return post
        facts = tuple(
            (
                by_source[link.target].url if link.target in by_source else None,
                by_source[link.target].date if link.target in by_source else None,
                link.target in published,
                link.target in unreadable,
                bool(link.fragment) and link.target in body_of and link.fragment in body_of[link.target].ids,
                # what a reference's text is made of: the equation's number, the heading, the title
                body_of[link.target].label(link.fragment) if link.fragment and link.target in body_of else None,
                by_source[link.target].title if link.target in by_source else None,
            )
            for link in links
        )
        known = self.resolved.get(post.source)
        if known and known[0] is post and known[1] == facts:
            problems.extend(known[2])  # the same links give the same errors
            return known[3]
        found = Problems()
        resolved = _resolve_links(post, links, by_source, body_of, published, unreadable, found)
        problems.extend(found.items)
        self.resolved[post.source] = (post, facts, tuple(found.items), resolved)
        return resolved

    def link(self, post: Post) -> PostLink:
        """How other chapters point at this one (kept while the post is the same object)."""
        known = self.links.get(post.source)
        if known is not None and known[0] is post:
            return known[1]
        made = PostLink(post.title, post.url, post.chapter_label)
        self.links[post.source] = (post, made)
        return made

    def place(self, post: Post, previous: PostLink | None, following: PostLink | None) -> Post:
        known = self.placed.get(post.source)
        if known and known[0] is post and known[1] == previous and known[2] == following:
            return known[3]
        placed = post if previous is None and following is None else replace(post, previous=previous, next=following)
        self.placed[post.source] = (post, previous, following, placed)
        return placed


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
) -> Site:
    """Everything the templates need, checked; errors are added to `problems`.

    `unreadable`: posts that exist but failed to parse (already reported): links to them are not errors too.
    """
    memo = memo or AssembleMemo()
    key_lines = {d.source: d.key_lines for d in documents}
    body_of = {d.source: b for d, b in zip(documents, bodies, strict=True)}
    posts = [memo.post(config, d, b, selection) for d, b in zip(documents, bodies, strict=True)]
    posts = [p for p in posts if selection.drafts or not p.draft]
    posts = _unique_urls(posts, key_lines, problems)
    by_source = {p.source: p for p in posts}
    published = {p.source for p in posts if selection.future or not p.scheduled}
    posts = [
        memo.resolve(p, body_of[p.source].links, by_source, body_of, published, unreadable, problems) for p in posts
    ]

    series = _series(config, posts, series_meta, series_bodies, selection, key_lines, problems)
    neighbours = {}
    for one in series:
        chapters = one.posts
        for index, post in enumerate(chapters):
            neighbours[post.source] = (
                memo.link(chapters[index - 1]) if index > 0 else None,
                memo.link(chapters[index + 1]) if index + 1 < len(chapters) else None,
            )
    live = [memo.place(p, *neighbours.get(p.source, (None, None))) for p in posts if p.source in published]
    live.sort(key=lambda p: (p.date, p.source), reverse=True)
    live_by_source = {p.source: p for p in live}
    series = [replace(s, posts=tuple(live_by_source[p.source] for p in s.posts)) for s in series]
    collections = _collections(config, series, series_meta, series_bodies, problems)
    return Site(
        posts=tuple(live),
        series=tuple(series),
        collections=tuple(collections),
        tags=_taxa(config, live, "tag", lambda p: p.tags),
        categories=_taxa(config, live, "category", lambda p: (p.category,) if p.category else ()),
    )


def _post(config: SiteConfig, doc: Document, body: RenderedBody, selection: Selection) -> Post:
    slug = doc.slug or slug_from_filename(doc.source.rsplit("/", 1)[-1].removesuffix(".md"))
    path = expand_permalink(config.permalinks["post"], slug, doc.date)
    if doc.summary:
        summary_html, _ = render_inline(doc.summary, raw_html=False)  # front matter is text: Markdown, no raw HTML
    else:
        summary_html = body.first_paragraph
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
        has_math=body.has_math or "math" in summary_html,
        word_count=body.word_count,
        display_equations=body.display_equations,
        updated=doc.updated,
        series=doc.series,
        chapter=doc.chapter,
        tags=doc.tags,
        category=doc.category,
        draft=doc.draft,
        scheduled=doc.date > selection.now,
        extra=doc.extra,
        links=body.others,
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


def _resolve_links(
    post: Post,
    links: Sequence[SourceLink],
    by_source: dict[str, Post],
    body_of: dict[str, RenderedBody],
    published: set[str],
    unreadable: frozenset[str],
    problems: Problems,
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
            return label.reference_html
        return html.escape(link.fragment) if link.fragment else render_title(target.title)

    def resolve(match: re.Match[str]) -> str:
        link = links[int(match.group(1))]
        target = by_source.get(link.target)
        text = text_of(link, match.group(3))
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
            return f'<a href="#{html.escape(link.fragment)}"{match.group(2)}>{text}</a>'
        if link.target not in published:
            # a scheduled chapter: the link appears on the first build after it falls due
            when = target.date.strftime("%Y-%m-%d")
            label = body_of[link.target].label(link.fragment) if link.fragment else None
            if label is not None and label.kind in _NUMBERED and post.source in published:
                # "Eq. (10.3)" or "Figure 10.2" would name what no reader can see yet
                problems.error(
                    f"link to {link.written!r}: {label.kind} {link.fragment} is in {link.target}, not published "
                    f"until {when} (build with --future to preview)",
                    post.source,
                    link.line,
                )
            return f'<span class="link-scheduled" title="Coming on {when}">{text}</span>'
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
    problems: Problems,
) -> list[Series]:
    meta_by_slug = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "series"}
    slug_by_title = {m.title: m.slug for m, _ in meta_by_slug.values()}
    members: dict[str, list[Post]] = defaultdict(list)
    titles: dict[str, str] = {}
    for post in posts:
        if not post.series:
            continue
        slug = post.series if post.series in meta_by_slug else slug_by_title.get(post.series, slugify(post.series))
        members[slug].append(post)
        titles.setdefault(slug, post.series)
    result = []
    for slug in sorted(set(members) | set(meta_by_slug)):
        chapters = sorted(members.get(slug, []), key=lambda p: (p.chapter, p.source))
        for before, after in pairwise(chapters):
            if before.chapter == after.chapter:
                problems.error(
                    f"chapter: {after.chapter} is also the chapter of {before.source} in series {slug!r}",
                    after.source,
                    key_lines[after.source].get("chapter", 1),
                )
        meta, body = meta_by_slug.get(slug, (None, None))
        path = expand_permalink(config.permalinks["series"], slug)
        live = [p for p in chapters if selection.future or not p.scheduled]
        live_sources = {p.source for p in live}  # a set of names: comparing Posts would compare every field
        result.append(
            Series(
                slug=slug,
                title=meta.title if meta else titles[slug],
                url=page_url(config.base_path, path),
                description_html=body.html if body else "",
                source=meta.source if meta else None,
                collection=meta.collection if meta else None,
                order=meta.order if meta else 0,
                planned_chapters=meta.planned_chapters if meta else None,
                gaps=meta.gaps if meta else (),
                macros=merge_macros(config.macros, meta.macros if meta else ()),
                posts=tuple(live),
                scheduled=tuple(
                    ScheduledChapter(p.chapter, p.title, p.date)
                    for p in chapters
                    if p.source not in live_sources and p.chapter
                ),
            )
        )
    return result


def _collections(
    config: SiteConfig,
    series: list[Series],
    metas: Sequence[SeriesMeta],
    bodies: Sequence[RenderedBody],
    problems: Problems,
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
        volumes = sorted((s for s in series if s.collection == slug), key=lambda s: (s.order, s.slug))
        path = expand_permalink(config.permalinks["series"], slug)
        result.append(
            Collection(slug, meta.title, page_url(config.base_path, path), body.html, meta.source, tuple(volumes))
        )
    return result


def _taxa(config: SiteConfig, posts: list[Post], kind: str, names_of) -> tuple[Taxon, ...]:
    """Tags or categories; names that slugify alike ("Café", "cafe") are one taxon."""
    grouped: dict[str, list[Post]] = defaultdict(list)
    spelling: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for post in posts:
        for name in names_of(post):
            slug = slugify(name)
            grouped[slug].append(post)
            spelling[slug][name] += 1
    result = []
    for slug in sorted(grouped):
        name = max(sorted(spelling[slug]), key=lambda n: spelling[slug][n])
        path = expand_permalink(config.permalinks[kind], slug)
        result.append(Taxon(name, slug, page_url(config.base_path, path), tuple(grouped[slug])))
    return tuple(result)
