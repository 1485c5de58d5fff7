"""The series and collections of a site: members, chapter order, planned chapters, and their pages' URLs."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from primer_site.errors import Problems
from primer_site.model import Collection, Post, ScheduledChapter, Series
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.citing import description_html
from primer_site.sources.config import SiteConfig
from primer_site.sources.seriesfile import SeriesMeta, series_macros
from primer_site.syntax.markdown import RenderedBody
from primer_site.urls import expand_permalink, page_url, slugify


@dataclass(frozen=True)
class Selection:
    """Which posts a build publishes."""

    now: datetime
    drafts: bool = False
    future: bool = False


@dataclass
class SeriesGroups:
    """Which posts each series has: `files`: slug → (series file, its description) of the series files;
    `members`: slug → its posts, in the order given; `titles`: slug → the `series:` first written for it."""

    files: dict[str, tuple[SeriesMeta, RenderedBody]]
    members: dict[str, list[Post]]
    titles: dict[str, str]

    def slugs(self) -> list[str]:
        """Every series, by slug: one per series file, and one per series a post names that has no file."""
        return sorted(set(self.members) | set(self.files))


def group_series(
    posts: list[Post],
    metas: Sequence[SeriesMeta],
    bodies: Sequence[RenderedBody],
    key_lines: dict[str, dict[str, int]],
    written: dict[str, str],
    problems: Problems,
) -> SeriesGroups:
    """The posts of each series (`written`: each post's `series:` as written; `post.series` is already the slug it
    names); a `series:` naming no file but close to one's name is a warning."""
    meta_by_slug = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "series"}
    members: dict[str, list[Post]] = defaultdict(list)
    titles: dict[str, str] = {}
    close: dict[str, tuple[str, str] | None] = {}  # each name written once looked up, not once per post naming it
    for post in posts:
        slug = post.series
        if not slug:
            continue
        if slug not in meta_by_slug:
            name = written[post.source]
            if name not in close:
                close[name] = _close_series(name, meta_by_slug)
            if close[name] is not None:
                _warn_misspelt(post, name, close[name], meta_by_slug, key_lines, problems)
        members[slug].append(post)
        titles.setdefault(slug, written[post.source])
    return SeriesGroups(meta_by_slug, members, titles)


def make_series(
    config: SiteConfig,
    slug: str,
    groups: SeriesGroups,
    chapters: tuple[Post, ...],
    selection: Selection,
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
    memo: AssembleMemo,
) -> Series:
    """The series `slug` of `groups`, of `chapters` (its members, in the order grouped)."""
    meta, body = groups.files.get(slug, (None, None))
    title = groups.titles.get(slug)
    return memo.reuse(
        "series",
        slug,
        (config, meta, body, chapters, title, selection.future),
        lambda found: _one_series(config, slug, meta, body, chapters, title or "", selection, key_lines, found),
        problems,
    )


def _close_series(name: str, meta_by_slug: dict[str, tuple[SeriesMeta, RenderedBody]]) -> tuple[str, str] | None:
    """The series file `name` (a `series:` naming no file) is close to, by name or title: (what it is close to, that
    series' slug); None if none is, or if it reads as another volume ("Volume 2" beside "Volume 1")."""
    names = {slug: slug for slug in meta_by_slug} | {meta.title: meta.slug for meta, _ in meta_by_slug.values()}
    import difflib  # a misspelling's suggestion only: a build that meets none never loads it

    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.75)
    if not close:
        close = difflib.get_close_matches(slugify(name), list(meta_by_slug), n=1, cutoff=0.75)
    numbered = re.compile(r"\d+")
    if not close or numbered.sub("#", close[0]) == numbered.sub("#", name):
        return None
    return close[0], names[close[0]]


def _warn_misspelt(
    post: Post,
    name: str,
    close: tuple[str, str],
    meta_by_slug: dict[str, tuple[SeriesMeta, RenderedBody]],
    key_lines: dict[str, dict[str, int]],
    problems: Problems,
) -> None:
    """A `series:` naming no series file but close to one's name or title (`close`: _close_series) starts a series
    of its own: say so."""
    shown, slug = close
    problems.warning(
        f"series: {name!r} names no file in series/, so it starts a series of its own: did you mean "
        f"{shown!r} ({meta_by_slug[slug][0].source})? (a new series gets its own "
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
    chapters = sorted(members, key=_chapter_order)
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


def _chapter_order(post: Post) -> tuple:
    """Where a post goes among its series' chapters: by chapter number (ChapterNumber.order, the rule its __lt__
    follows), then by path; a plain tuple, so that a sort makes no call in Python per comparison. Every post of a
    series has a chapter (parse.py refuses one without)."""
    chapter = post.chapter
    if chapter is None:
        return (None, post.source)
    return (*chapter.order, post.source)


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


def assemble_collections(
    config: SiteConfig,
    series: list[Series],
    metas: Sequence[SeriesMeta],
    bodies: Sequence[RenderedBody],
    problems: Problems,
    memo: AssembleMemo,
) -> list[Collection]:
    found = {m.slug: (m, b) for m, b in zip(metas, bodies, strict=True) if m.kind == "collection"}
    meta_of = {m.slug: m for m in reversed(metas)}  # the first file of a slug, as a scan in order finds it
    for one in series:
        if one.collection and one.collection not in found:
            line = meta_of[one.slug].line_of("collection") if one.slug in meta_of else 1
            problems.error(f"collection: no collection {one.collection!r} in series/", one.source or "", line)
    result = []
    series_slugs = {s.slug for s in series}
    volumes_of: dict[str, list[Series]] = defaultdict(list)  # one pass over the series, not one per collection
    for one in series:
        if one.collection:
            volumes_of[one.collection].append(one)
    for slug, (meta, body) in sorted(found.items()):
        if slug in series_slugs:  # the two would write one page: located here rather than at the output path
            problems.error(
                f"kind: {slug!r} is a collection, but posts name it as their series (rename the file, or their 'series:')",
                meta.source,
                meta.line_of("kind"),
            )
            continue
        volumes = tuple(sorted(volumes_of.get(slug, ()), key=lambda s: (s.order, s.slug)))

        def make(found: Problems, slug: str = slug, meta: SeriesMeta = meta, body=body, volumes=volumes) -> Collection:
            path = expand_permalink(config.permalinks["series"], slug)
            description = description_html(body.html, body.citations, meta, found)
            return Collection(slug, meta.title, page_url(config.base_path, path), description, meta.source, volumes)

        result.append(memo.reuse("collection", slug, (config, meta, body, volumes), make, problems))
    return result
