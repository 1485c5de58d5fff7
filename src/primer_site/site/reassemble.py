"""A warm assembly after an edit: only the posts the edit reaches, and the parts that hold them, are made again.

The dev server assembles the whole site once (assemble._assemble_whole), keeping what each stage made, by post, and
who read whom (a post's links and previews read other posts: postreads.PostReads, recorded as they were made, never
listed by hand). The next assembly finds what changed by identity, in C (the model is immutable and an unchanged
file gives back the very same Document and RenderedBody), and makes again only:

- the changed posts; the posts whose links or previews read one of them; their series (a series also gives its
  chapters their neighbours), the series' collections, the tags and categories that list them;
- through the same makers and the same memo as the whole assembly, so a part is the same value either way
  (tests/test_reassemble.py: a seeded sequence of edits, each reassembled and assembled cold, compared whole).

Everything else is the very object of the last assembly, with the problems it reported. An edit that changes what
the site's shape rests on falls back to the whole assembly: a whole-site input (site.yaml, the series files, the
words of the site's language, the bibliographies' files or the selection, "now" crossing a post's date), a post
added or removed, or a changed post's URL, date, draft or series, tags, category, chapter or front-matter lines.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import compress
from operator import attrgetter, is_, is_not, ne
from typing import Any, TypeVar

from primer_site.errors import Diagnostic, Problems
from primer_site.model import Collection, Post, PostLink, Series, Site, Taxon
from primer_site.site.assemblyparts import Assembly
from primer_site.site.postreads import PostReads, link_targets
from primer_site.site.previews import add_previews
from primer_site.site.series import SeriesGroups
from primer_site.site.taxonomies import NAMES_OF, TaxaGroups
from primer_site.sources.notation import scheduled_of
from primer_site.sources.parse import Document
from primer_site.syntax.markdown import RenderedBody
from primer_site.urls import taxon_slug

T = TypeVar("T")

Noted = dict[tuple[str, str], tuple[Diagnostic, ...]]  # (stage, post source or part's name) → what it reported


def keep(noted: Noted, key: tuple[str, str], make: Callable[[Problems], T]) -> T:
    """`make(problems)`, its problems kept in `noted` under `key` (none: the key is dropped), to report them again
    when an assembly after an edit keeps what it made."""
    found = Problems()
    made = make(found)
    if found.items:
        noted[key] = tuple(found.items)
    else:
        noted.pop(key, None)
    return made


@dataclass
class TaxaState:
    """One kind of taxa (tags or categories) as made: the groups, the taxa, and each member's place, found once."""

    groups: TaxaGroups
    made: tuple[Taxon, ...]
    places: dict[str, dict[str, int]] | None = None  # taxon slug → member source → index in its members

    def place(self, slug: str, source: str) -> int:
        if self.places is None:
            self.places = {}
        if slug not in self.places:
            self.places[slug] = {p.source: i for i, p in enumerate(self.groups.members[slug])}
        return self.places[slug][source]


@dataclass
class AssemblyState:
    """What the last assembly in this process was made from and made, stage by stage, by post (by source) or by
    series (in the site's order of slugs); kept in the assemble memo (AssembleMemo.last)."""

    inputs: tuple  # Assembly.inputs()
    documents: list[Document]
    bodies: list[RenderedBody]
    dates: list[datetime]  # every document's date, sorted: whether "now" crossed one
    made: list[Post]  # by document
    doc_of: dict[str, Document]
    body_of: dict[str, RenderedBody]
    key_lines: dict[str, dict[str, int]]
    by_source: dict[str, Post]  # the posts made, but drafts and a second post with one URL
    published: set[str]
    drafts: frozenset[str]
    reads: PostReads  # a post's links read their targets' posts and bodies; its previews, their posts as headed
    resolved: dict[str, Post]
    cited: dict[str, Post]
    headed: dict[str, Post]
    by_url: dict[str, Post]  # the published posts as headed
    final: dict[str, Post]  # with their previews
    groups: SeriesGroups
    series_at: dict[str, int]  # slug → index in the series lists
    raw: list[Series]
    later: list[str]  # the posts not out yet, in order
    noted_series: list[Series]
    neighbours: dict[str, tuple[PostLink | None, PostLink | None]]
    placed: dict[str, Post]  # the published posts with their neighbours
    live: list[Post]  # newest first
    live_at: dict[str, int]
    placed_series: list[Series]
    whole_series: list[Series]
    collections: list[Collection]
    taxa: dict[str, TaxaState]
    noted: Noted
    parts: tuple  # the Site's fields
    site: Site


# what the site's shape rests on, of a post: a change of one of these assembles the whole site again
_SHAPE = attrgetter("draft", "scheduled", "output_path", "url", "series", "date", "tags", "category", "chapter")


def reassemble(a: Assembly, s: AssemblyState, problems: Problems) -> Site | None:
    """The site after an edit, from `s` (the last assembly's state, updated in place); None if the edit reaches
    what the site's shape rests on (the caller assembles it whole)."""
    inputs, was = a.inputs(), s.inputs
    config, metas, series_bodies, selection, unreadable, words, heading, bib_keys, bib_values = inputs
    if not (
        config is was[0]
        and _same_items(metas, was[1])
        and _same_items(series_bodies, was[2])
        and (selection.drafts, selection.future) == (was[3].drafts, was[3].future)
        and unreadable == was[4]
        and words == was[5]
        and heading == was[6]
        and bib_keys == was[7]
    ):
        return None
    if selection.now != was[3].now and _crossed(s.dates, was[3].now, selection.now):
        return None
    documents, bodies = a.documents, a.bodies
    count = len(documents)
    if count != len(s.documents) or count != len(bodies):
        return None
    positions = range(count)
    changed = sorted(
        {*compress(positions, map(is_not, documents, s.documents)), *compress(positions, map(is_not, bodies, s.bodies))}
    )
    fresh: dict[int, tuple[Post, Problems]] = {}
    for i in changed:
        doc, before = documents[i], s.documents[i]
        if doc.source != before.source or doc.key_lines != before.key_lines or doc.series != before.series:
            return None
        found = Problems()
        post = a.made(doc, bodies[i], found)
        if _SHAPE(post) != _SHAPE(s.made[i]):
            return None
        fresh[i] = (post, found)
    # from here on the state is updated in place (the caller drops it if anything raises)
    noted = s.noted
    s.inputs, s.documents, s.bodies = inputs, list(documents), list(bodies)
    sources = set()
    for i, (post, found) in fresh.items():
        source = post.source
        sources.add(source)
        _note(noted, ("post", source), found)
        s.made[i] = post
        s.doc_of[source], s.body_of[source] = documents[i], bodies[i]
        if source in s.by_source:
            s.by_source[source] = post
    kept = s.by_source
    touched = sources & kept.keys()

    # links: the changed posts, and the posts whose links read one of them
    resolve = touched | (s.reads.links.of(sources) & kept.keys())
    for source in sorted(resolve):
        post, body = kept[source], s.body_of[source]
        if source in touched:
            s.reads.links.read(source, link_targets(body.links))
        s.resolved[source] = keep(
            noted,
            ("links", source),
            lambda f, p=post, b=body: a.resolved(p, b, kept, s.body_of, s.published, s.drafts, f),
        )
    # citations (a post's bibliography may have changed alone) and their heading
    cite = resolve | (set(compress(bib_keys, map(ne, bib_values, was[8]))) & kept.keys())
    headed = set()
    for source in sorted(cite):
        post = s.cited[source] = keep(
            noted,
            ("citations", source),
            lambda f, p=s.resolved[source], x=source: a.cited(p, s.doc_of[x], s.body_of[x], f),
        )
        post = keep(noted, ("heading", source), lambda f, p=post: a.headed(p, f))
        if post is not s.headed[source]:
            s.headed[source] = post
            headed.add(source)
            if source in s.published:
                s.by_url[post.url] = post
    # previews: the changed posts, and the posts whose previews read one of them
    again = sorted(headed | s.reads.previews.of(headed))
    read: dict[str, tuple[str, ...]] = {}
    previewed = add_previews([s.headed[x] for x in again], s.published, a.reuse(Problems()), s.by_url, read)
    for source, targets in read.items():
        s.reads.previews.read(source, targets)
    final = {p.source for p in previewed if p is not s.final[p.source]}
    for post in previewed:
        s.final[post.source] = post

    # their series: members, notation, neighbours, chapters as placed, volume references
    series = {slug for slug in (s.final[x].series for x in final) if slug is not None}
    for slug in sorted(series):
        members = s.groups.members[slug]
        for index, post in enumerate(members):
            if post.source in final:
                members[index] = s.final[post.source]
        at = s.series_at[slug]
        s.raw[at] = keep(
            noted,
            ("series", slug),
            lambda f, slug=slug, members=members: a.one_series(s.groups, slug, tuple(members), s.key_lines, f),
        )
    notes = a.notes()
    if notes:
        if any(x not in s.published for x in final):  # a chapter not out yet: any series' notation may name it
            series |= notes.keys()
        later_of = scheduled_of([s.raw[s.series_at[slug]] for slug in series], [s.final[x] for x in s.later])
        for slug in sorted(series):
            at = s.series_at[slug]
            s.noted_series[at] = keep(
                noted, ("notation", slug), lambda f, one=s.raw[at]: a.noted(one, notes, later_of, s.doc_of, f)
            )
    touched_series = [s.noted_series[s.series_at[slug]] for slug in sorted(series)]
    a.neighbours(touched_series, s.neighbours)
    live = set()
    for source in (final | {p.source for one in touched_series for p in one.posts}) & s.published:
        post = a.placed(s.final[source], s.neighbours.get(source))
        if post is not s.placed[source]:
            s.placed[source] = s.live[s.live_at[source]] = post
            live.add(source)
    whole = False
    for slug in sorted(series):
        at = s.series_at[slug]
        s.placed_series[at] = a.with_chapters(s.noted_series[at], s.placed)
        one = keep(noted, ("volume references", slug), lambda f, at=at: a.with_references(s.placed_series[at], f))
        if one is not s.whole_series[at]:
            s.whole_series[at], whole = one, True
    if whole:
        s.collections = keep(noted, ("collections", ""), lambda f: a.collections(s.whole_series, f))

    # the tags and categories listing them
    taxa_changed = False
    for kind, state in s.taxa.items():
        names_of = NAMES_OF[kind]
        remade: set[str] = set()
        for source in live:
            post = s.placed[source]
            for name in names_of(post):
                slug = taxon_slug(name)
                state.groups.members[slug][state.place(slug, source)] = post
                remade.add(slug)
        if remade:
            made = list(state.made)
            for index, slug in enumerate(state.groups.slugs):
                if slug in remade:
                    made[index] = keep(noted, (kind, slug), lambda f, g=state.groups, slug=slug: a.taxon(g, slug, f))
            state.made, taxa_changed = tuple(made), True

    old = s.parts
    parts = (
        tuple(s.live) if live else old[0],
        tuple(s.whole_series) if whole else old[1],
        tuple(s.collections) if whole else old[2],
        s.taxa["tag"].made if taxa_changed else old[3],
        s.taxa["category"].made if taxa_changed else old[4],
    )
    if not all(map(is_, parts, old)):
        s.site = Site(*parts)
        a.memo.put("site", "", parts, s.site)
        s.parts = parts
    for found in noted.values():
        problems.extend(found)
    return s.site


def _note(noted: Noted, key: tuple[str, str], found: Problems) -> None:
    if found.items:
        noted[key] = tuple(found.items)
    else:
        noted.pop(key, None)


def _same_items(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """The very same objects, in the same order."""
    return len(a) == len(b) and all(map(is_, a, b))


def _crossed(dates: list[datetime], before: datetime, now: datetime) -> bool:
    """Whether "now" moving from `before` to `now` passed a post's date (in either direction): a post published or
    scheduled changes the site's shape."""
    low, high = sorted((before, now))
    return bisect_right(dates, high) != bisect_right(dates, low)
