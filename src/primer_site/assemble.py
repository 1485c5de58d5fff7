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

from .config import SiteConfig, merge_macros
from .errors import Diagnostic, Problems
from .markdown import RenderedBody, SourceLink, render_title
from .model import Collection, Post, PostLink, ScheduledChapter, Series, Site, Taxon
from .parse import Document, SeriesMeta
from .urls import collision_key, expand_permalink, output_path, page_url, slug_from_filename, slugify, taxon_slug

T = TypeVar("T")
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
) -> Site:
    """Everything the templates need, checked; errors are added to `problems`.

    `unreadable`: posts that exist but failed to parse (already reported): links to them are not errors too.
    """
    memo = memo or AssembleMemo()
    key_lines = {d.source: d.key_lines for d in documents}
    body_of = {d.source: b for d, b in zip(documents, bodies, strict=True)}

    def made(doc: Document, body: RenderedBody) -> Post:
        inputs = (config, doc, body, doc.date > selection.now)
        return memo.reuse(
            "post", doc.source, inputs, lambda found: _post(config, doc, body, selection, found), problems
        )

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
            (post, links, targets, post.source in published),
            lambda found: _resolve_links(post, links, by_source, body_of, published, unreadable, found, drafts),
            problems,
        )

    posts = [resolved(p) for p in posts]
    series = _series(config, posts, series_meta, series_bodies, selection, key_lines, problems, memo)

    def link(post: Post) -> PostLink:
        """How other chapters point at this one."""
        return memo.reuse(
            "post link", post.source, (post,), lambda _: PostLink(post.title, post.url, post.chapter_label), problems
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
    collections = _collections(config, series, series_meta, series_bodies, problems, memo)
    parts = (
        tuple(live),
        tuple(series),
        tuple(collections),
        _taxa(config, live, "tag", lambda p: p.tags, memo, problems, key_lines),
        _taxa(config, live, "category", lambda p: (p.category,) if p.category else (), memo, problems, key_lines),
    )
    return memo.reuse("site", "", parts, lambda _: Site(*parts), problems)


def _post(config: SiteConfig, doc: Document, body: RenderedBody, selection: Selection, problems: Problems) -> Post:
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
        has_math=body.has_math or "math" in summary_html,
        word_count=body.word_count,
        display_equations=body.display_equations,
        updated=doc.updated,
        series=doc.series,
        chapter=doc.chapter,
        tags=_distinct_tags(doc, problems),
        category=doc.category,
        draft=doc.draft,
        scheduled=doc.date > selection.now,
        extra=doc.extra,
        links=body.others,
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


def _resolve_links(
    post: Post,
    links: Sequence[SourceLink],
    by_source: dict[str, Post],
    body_of: dict[str, RenderedBody],
    published: set[str],
    unreadable: frozenset[str],
    problems: Problems,
    drafts: frozenset[str] = frozenset(),
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
            # a scheduled chapter: the link appears on the first build after it falls due
            when = target.date.strftime("%Y-%m-%d")
            label = body_of[link.target].label(link.fragment) if link.fragment else None
            if label is not None and label.kind in _NUMBERED and target.date > post.date:
                # "Eq. (10.3)" or "Figure 10.2" would name what no reader can see yet: now, or on the day this
                # scheduled post goes live (that day's build would fail, with no one watching): an error now
                hint = (
                    "build with --future to preview"
                    if post.source in published
                    else f"this post goes live first, on {post.date:%Y-%m-%d}: change a date or the reference"
                )
                problems.error(
                    f"link to {link.written!r}: {label.kind} {link.fragment} is in {link.target}, not published "
                    f"until {when} ({hint})",
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
    memo: AssembleMemo,
) -> list[Series]:
    meta_by_slug = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "series"}
    slug_by_title = {m.title: m.slug for m, _ in meta_by_slug.values()}
    members: dict[str, list[Post]] = defaultdict(list)
    titles: dict[str, str] = {}
    for post in posts:
        if not post.series:
            continue
        slug = post.series if post.series in meta_by_slug else slug_by_title.get(post.series, slugify(post.series))
        if slug not in meta_by_slug:
            _warn_if_misspelt(post, meta_by_slug, key_lines, problems)
        members[slug].append(post)
        titles.setdefault(slug, post.series)
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
    meta_by_slug: dict[str, tuple[SeriesMeta, RenderedBody]],
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
) -> None:
    """A `series:` naming no series file but close to one's name or title starts a series of its own: say so."""
    names = {slug: slug for slug in meta_by_slug} | {meta.title: meta.slug for meta, _ in meta_by_slug.values()}
    close = difflib.get_close_matches(post.series or "", list(names), n=1, cutoff=0.75)
    if not close:
        close = difflib.get_close_matches(slugify(post.series or ""), list(meta_by_slug), n=1, cutoff=0.75)
    numbered = re.compile(r"\d+")
    if close and numbered.sub("#", close[0]) == numbered.sub("#", post.series or ""):
        return  # "Volume 2" beside "Volume 1": another volume, not a typo
    if close:
        slug = names[close[0]]
        problems.warning(
            f"series: {post.series!r} names no file in series/, so it starts a series of its own: did you mean "
            f"{close[0]!r} ({meta_by_slug[slug][0].source})? (a new series gets its own "
            f"series/{slugify(post.series or '')}.md)",
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
        description_html=body.html if body else "",
        source=meta.source if meta else None,
        collection=meta.collection if meta else None,
        order=meta.order if meta else 0,
        planned_chapters=meta.planned_chapters if meta else None,
        gaps=meta.gaps if meta else (),
        macros=merge_macros(config.macros, meta.macros if meta else ()),
        posts=tuple(live),
        scheduled=tuple(
            ScheduledChapter(p.chapter, p.title, p.date) for p in chapters if p.source not in live_sources and p.chapter
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

        def make(_: Problems, slug: str = slug, meta: SeriesMeta = meta, body=body, volumes=volumes) -> Collection:
            path = expand_permalink(config.permalinks["series"], slug)
            return Collection(slug, meta.title, page_url(config.base_path, path), body.html, meta.source, volumes)

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
