"""Documents + rendered bodies → Site: URLs, series and chapter order, prev/next, taxonomies, links.

The parts live in their own modules: the memo (assemblememo), the maker of each part (assemblyparts), links
between posts (postlinks), series and collections (series), tags and categories (taxonomies); this one puts them
together in order, and keeps what an edit's reassembly starts from (reassemble).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from operator import attrgetter
from typing import TypeVar

from primer_site.errors import Diagnostic, Problems
from primer_site.model import Post, PostLink, Site
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.assemblyparts import Assembly
from primer_site.site.i18n import Catalogue
from primer_site.site.postreads import PostReads, link_targets
from primer_site.site.previews import add_previews
from primer_site.site.reassemble import AssemblyState, TaxaState, keep, reassemble
from primer_site.site.series import Selection, group_series
from primer_site.site.taxonomies import NAMES_OF, group_taxa
from primer_site.sources.bibliography import Bibliography
from primer_site.sources.config import SiteConfig
from primer_site.sources.notation import scheduled_of
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.syntax.markdown import RenderedBody
from primer_site.urls import collision_key

__all__ = ["AssembleMemo", "Selection", "assemble_site"]  # the memo and the selection: build.py's words for them

T = TypeVar("T")


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

    With a `memo` that assembled this site before (the dev server's), an edit that leaves every whole-site input
    as it was remakes only the posts it reaches and the parts that hold them (reassemble.py); the site is the same
    value either way (tests/test_reassemble.py).
    """
    memo = memo or AssembleMemo(keeps=False)  # held by no one: nothing of this assembly is for a later one
    parts = Assembly(config, documents, bodies, series_meta, series_bodies, selection, unreadable, memo)
    parts.set_language(catalogue, bibliographies or {})
    last, memo.last = memo.last, None  # an assembly that fails half way leaves none to start from
    site = reassemble(parts, last, problems) if last is not None else None
    if site is None:
        site, last = _assemble_whole(parts, problems)
    memo.last = last
    return site


def _assemble_whole(a: Assembly, problems: Problems) -> tuple[Site, AssemblyState | None]:
    """Every part of the site, each through the memo; and what an edit's reassembly starts from (None: the memo
    keeps nothing)."""
    noted: dict[tuple[str, str], tuple[Diagnostic, ...]] = {}
    keeps = a.memo.keeps  # else no later assembly starts from this one
    reported = Problems()  # without keeping: every part's problems, in the order they are made (as `noted` keeps them)
    note: Callable[[tuple[str, str], Callable[[Problems], T]], T] = (
        partial(keep, noted) if keeps else lambda _, make: make(reported)
    )
    documents, bodies = a.documents, a.bodies
    key_lines = {d.source: d.key_lines for d in documents}
    body_of = {d.source: b for d, b in zip(documents, bodies, strict=True)}
    doc_of = {d.source: d for d in documents}
    note(("names", ""), a.names.clash_errors)
    made = [
        note(("post", d.source), lambda f, d=d, b=b: a.made(d, b, f)) for d, b in zip(documents, bodies, strict=True)
    ]
    drafts = frozenset(p.source for p in made if p.draft and not a.selection.drafts)  # left out: links say why
    posts = [p for p in made if p.source not in drafts]
    posts = note(("urls", ""), lambda f: _unique_urls(posts, key_lines, f))
    by_source = {p.source: p for p in posts}
    published = {p.source for p in posts if a.selection.future or not p.scheduled}
    reads = a.memo.reads = PostReads()  # recorded in every assembly: a new process keys its posts on them too
    resolved = {}
    for post in posts:
        body = body_of[post.source]
        reads.links.read(post.source, link_targets(body.links))
        resolved[post.source] = note(
            ("links", post.source),
            lambda f, p=post, b=body: a.resolved(p, b, by_source, body_of, published, drafts, f),
        )
    cited = {
        s: note(("citations", s), lambda f, p=p, s=s: a.cited(p, doc_of[s], body_of[s], f)) for s, p in resolved.items()
    }
    headed = {s: note(("heading", s), lambda f, p=p: a.headed(p, f)) for s, p in cited.items()}
    by_url = {p.url: p for p in headed.values() if p.source in published}
    read: dict[str, tuple[str, ...]] = {}
    final_posts = note(
        ("previews", ""), lambda f: add_previews(list(headed.values()), published, a.reuse(f), by_url, read)
    )
    for source, targets in read.items():
        reads.previews.read(source, targets)
    final = {p.source: p for p in final_posts}
    written = {d.source: d.series for d in documents if d.series}  # each post's `series:`, as written
    groups = note(
        ("series", ""),
        lambda f: group_series(final_posts, a.metas, a.series_bodies, key_lines, written, f),
    )
    slugs = groups.slugs()
    chapters = {slug: tuple(groups.members.get(slug, ())) for slug in slugs}
    raw = [
        note(("series", slug), lambda f, slug=slug: a.one_series(groups, slug, chapters[slug], key_lines, f))
        for slug in slugs
    ]
    later = [p.source for p in final_posts if p.source not in published]
    notes = a.notes()
    if notes:
        later_of = scheduled_of(raw, [final[s] for s in later])
        noted_series = [
            note(("notation", one.slug), lambda f, one=one: a.noted(one, notes, later_of, doc_of, f)) for one in raw
        ]
    else:
        noted_series = raw
    neighbours: dict[str, tuple[PostLink | None, PostLink | None]] = {}
    a.neighbours(noted_series, neighbours)
    placed = {s: a.placed(final[s], neighbours.get(s)) for s in published}
    live = sorted(placed.values(), key=lambda p: (p.date, p.source), reverse=True)
    placed_series = [a.with_chapters(one, placed) for one in noted_series]
    whole_series = [
        note(("volume references", one.slug), lambda f, one=one: a.with_references(one, f)) for one in placed_series
    ]
    collections = note(("collections", ""), lambda f: a.collections(whole_series, f))
    taxa = {}
    for kind, names_of in NAMES_OF.items():
        grouped = note((kind, ""), lambda f, k=kind, n=names_of: group_taxa(live, k, n, f, key_lines))
        made_taxa = tuple(
            note((kind, slug), lambda f, g=grouped, slug=slug: a.taxon(g, slug, f)) for slug in grouped.slugs
        )
        taxa[kind] = TaxaState(grouped, made_taxa)
    parts = (tuple(live), tuple(whole_series), tuple(collections), taxa["tag"].made, taxa["category"].made)
    site = a.memo.reuse("site", "", parts, lambda _: Site(*parts), problems)
    for found in noted.values():
        problems.extend(found)
    problems.extend(reported.items)
    if not keeps:
        return site, None
    state = AssemblyState(
        a.inputs(),
        list(documents),
        list(bodies),
        sorted(map(attrgetter("date"), documents)),
        made,
        doc_of,
        body_of,
        key_lines,
        by_source,
        published,
        drafts,
        reads,
        resolved,
        cited,
        headed,
        by_url,
        final,
        groups,
        {slug: i for i, slug in enumerate(slugs)},
        raw,
        later,
        noted_series,
        neighbours,
        placed,
        live,
        {p.source: i for i, p in enumerate(live)},
        placed_series,
        whole_series,
        collections,
        taxa,
        noted,
        parts,
        site,
    )
    return site, state


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
