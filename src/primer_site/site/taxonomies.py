"""Tags and categories: a post's tags, one per tag page, and the taxa that group the posts."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from primer_site.errors import Problems
from primer_site.model import Post, Taxon
from primer_site.site.assemblememo import AssembleMemo
from primer_site.sources.config import SiteConfig
from primer_site.sources.parse import Document
from primer_site.urls import collision_key, expand_permalink, page_url, taxon_slug

# the names a post is listed under, of each kind of taxon (its taxa's pages)
NAMES_OF = {"tag": lambda p: p.tags, "category": lambda p: (p.category,) if p.category else ()}


def distinct_tags(doc: Document, problems: Problems) -> tuple[str, ...]:
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


def assemble_taxa(
    config: SiteConfig,
    posts: list[Post],
    kind: str,
    names_of,
    memo: AssembleMemo,
    problems: Problems,
    key_lines: dict[str, dict[str, int]],
) -> tuple[Taxon, ...]:
    """Tags or categories; names that slugify alike ("Café", "cafe") are one taxon."""
    groups = group_taxa(posts, kind, names_of, problems, key_lines)
    return tuple(make_taxon(config, groups, slug, tuple(groups.members[slug]), memo, problems) for slug in groups.slugs)


@dataclass
class TaxaGroups:
    """The tags (or categories) of a list of posts: `slugs` in order, each one's `shown` name (its most written
    spelling) and `members` (its posts, in the list's order)."""

    kind: str
    slugs: list[str]
    shown: dict[str, str]
    members: dict[str, list[Post]]


def group_taxa(
    posts: list[Post], kind: str, names_of, problems: Problems, key_lines: dict[str, dict[str, int]]
) -> TaxaGroups:
    """The posts of each tag or category; a name spelt two ways is a warning (or an error: _warn_spellings)."""
    grouped: dict[str, list[Post]] = defaultdict(list)
    spelling: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for post in posts:
        for name in names_of(post):
            slug = taxon_slug(name)
            grouped[slug].append(post)
            spelling[slug][name] += 1
    slugs = sorted(grouped)
    shown = {}
    for slug in slugs:
        name = shown[slug] = max(sorted(spelling[slug]), key=lambda n: spelling[slug][n])
        if len(spelling[slug]) > 1:
            _warn_spellings(kind, name, spelling[slug], tuple(grouped[slug]), names_of, key_lines, problems)
    return TaxaGroups(kind, slugs, shown, dict(grouped))


def make_taxon(
    config: SiteConfig, groups: TaxaGroups, slug: str, members: tuple[Post, ...], memo: AssembleMemo, problems: Problems
) -> Taxon:
    """The taxon `slug` of `groups`, of `members` (its posts, newest first)."""
    name, kind = groups.shown[slug], groups.kind

    def make(_: Problems) -> Taxon:
        path = expand_permalink(config.permalinks[kind], slug)
        return Taxon(name, slug, page_url(config.base_path, path), members)

    return memo.reuse(kind, slug, (config, name, members), make, problems)


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
