"""Site → the pages and generated files it has: for each, its output path, its template (or maker) and the
context it is given. Renders nothing.

A context names model objects by key (Ref), so that the spec of a page is plain data that can be compared
with the last build's, in this process or from the cache: a page whose spec and recorded dependencies are
unchanged is not rendered again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

from primer_site.caches.fingerprints import Ref
from primer_site.math.mathhtml import shows_math
from primer_site.model import Post, Series, Site
from primer_site.rendering.feeds import site_feeds
from primer_site.sources.config import SiteConfig
from primer_site.syntax.inline import title_has_math
from primer_site.urls import output_path, page_url, paginated_path

# Data outputs and what makes each (render.py holds the makers).
ATOM_FEED, JSON_FEED, SITEMAP, ROBOTS = "atom", "json-feed", "sitemap", "robots"
EPUB = "epub"  # a volume as an EPUB (epub.py)


class PageSpec(NamedTuple):
    """One output: where it goes, what makes it, and the context it is given (names → plain values or Refs).

    A named tuple, like the two below: a site has thousands, made and compared with the last build's each time.
    """

    path: str  # relative to the output folder, "/"-separated: "posts/x/index.html"
    template: str  # the template rendering it; "" for a generated file
    maker: str = ""  # a generated file's maker (ATOM_FEED, …)
    source: str = ""  # the site-relative source it shows, for locating template errors
    context: tuple[tuple[str, Any], ...] = ()
    math: str = ""  # which of SHOWS_MATH tells whether the page needs KaTeX ("" for none)


class PagerSpec(NamedTuple):
    """One page of a paginated listing, its entries by key."""

    number: int
    count: int
    items: tuple[Ref, ...]
    first_url: str
    base_path: str


@dataclass(frozen=True)
class Pager:
    """One page of a paginated listing, as templates see it."""

    number: int
    count: int
    items: tuple[Post, ...]
    first_url: str
    base_path: str

    def url_of(self, number: int) -> str:
        return page_url(self.base_path, paginated_path(self.first_url, number))

    @property
    def previous_url(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.count else None


class FeedSpec(NamedTuple):
    """An Atom feed, its entries by key (feeds.Feed with Refs)."""

    path: str
    title: str
    page_url: str
    posts: tuple[Ref, ...]


def page_specs(site: Site, config: SiteConfig) -> list[PageSpec]:
    """Every output of the site, in a fixed order."""
    return list(_specs(site, config))


def _specs(site: Site, config: SiteConfig) -> Iterator[PageSpec]:
    for post in site.posts:
        yield _page("post.html", post.output_path, config, post.source, "post", post=_ref("post", post.source))
        if post.bibtex:  # "cite this chapter": its BibTeX entry, beside the page
            yield _page("cite.bib", post.cite_bib_path, config, post.source, post=_ref("post", post.source))
    yield from _listing("index.html", "/", site.posts, config, kind="home")
    for one in site.series:
        path = output_path(_site_path(one.url, config))
        yield _page("series.html", path, config, one.source or "", "series", series=_ref("series", one.slug))
        if one.references:  # every work its published chapters cite
            path = output_path(_site_path(one.references_url, config))
            yield _page(
                "references.html", path, config, one.source or "", "references", series=_ref("series", one.slug)
            )
        if one.notation:  # its notation index, beside it
            notation = output_path(_site_path(one.url, config) + "notation/")
            yield _page(
                "notation.html", notation, config, one.source or "", "notation", series=_ref("series", one.slug)
            )
        if one.posts:  # the whole volume on one page (book.py)
            path = output_path(_site_path(one.print_url, config))
            yield _page("print.html", path, config, one.source or "", "print", series=_ref("series", one.slug))
        if one.posts and one.books.epub:  # /series/<slug>/<slug>.epub, beside its page
            path = _site_path(one.book_url("epub"), config).lstrip("/")
            yield PageSpec(path, "", EPUB, one.source or "", (("series", _ref("series", one.slug)),))
    for collection in site.collections:
        path = output_path(_site_path(collection.url, config))
        context = {"collection": _ref("collection", collection.slug)}
        yield _page("collection.html", path, config, collection.source or "", "collection", **context)
    series_index = config.permalinks["series"].split("{slug}")[0]
    yield _page("series_index.html", output_path(series_index), config)
    for kind, taxa in (("tag", site.tags), ("category", site.categories)):
        for taxon in taxa:
            first = _site_path(taxon.url, config)
            yield from _listing("taxon.html", first, taxon.posts, config, kind=kind, taxon=_ref(kind, taxon.slug))
        index = config.permalinks[kind].split("{slug}")[0]
        keys = tuple(_ref(kind, t.slug) for t in taxa)
        yield _page("taxon_index.html", output_path(index), config, kind=kind, taxa=keys)
    yield _page("404.html", "404.html", config)
    for feed in site_feeds(site, config):
        posts = tuple(_ref("post", p.source) for p in feed.posts)
        spec = FeedSpec(feed.path, feed.title, feed.page_url, posts)
        yield PageSpec(feed.path, "", ATOM_FEED, context=(("feed", spec),))
    newest = tuple(_ref("post", p.source) for p in site.posts[: config.feed_limit])
    yield PageSpec("feed.json", "", JSON_FEED, context=(("posts", newest),))
    yield PageSpec("sitemap.xml", "", SITEMAP)
    yield PageSpec("robots.txt", "", ROBOTS)


def _ref(kind: str, name: str) -> Ref:
    return Ref(f"{kind}:{name}")


def _page(template: str, path: str, config: SiteConfig, source: str = "", math: str = "", **context: Any) -> PageSpec:
    page_url = page_url_of(path, config)
    items = (("page_path", path), ("page_url", page_url), *sorted(context.items()))
    return PageSpec(path, template, source=source, context=items, math=math)


def _listing(
    template: str, first: str, posts: Sequence[Post], config: SiteConfig, **context: Any
) -> Iterator[PageSpec]:
    size = config.paginate
    count = max(1, math.ceil(len(posts) / size))
    for number in range(1, count + 1):
        items = tuple(_ref("post", p.source) for p in posts[(number - 1) * size : number * size])
        pager = PagerSpec(number, count, items, first, config.base_path)
        path = output_path(paginated_path(first, number))
        yield _page(template, path, config, "", "listing", pager=pager, **context)


def page_url_of(path: str, config: SiteConfig) -> str:
    """The URL a page is served at: "posts/x/index.html" → "/base/posts/x/"."""
    return page_url(config.base_path, "/" + path.removesuffix("index.html"))


def _site_path(url: str, config: SiteConfig) -> str:
    """A page's URL without the base path: "/primer/posts/x/" → "/posts/x/"."""
    return "/" + unquote(url)[len(config.base_path) :]


# Whether a page shows math, and so loads KaTeX: worked out from what the page shows, through the recording
# proxies of the page's context, so that what it read is a dependency of the page like any other read.


def _post_shows_math(context: dict[str, Any]) -> bool:
    post = context["post"]
    titles = (post.title, *(link.title for link in (post.previous, post.next) if link))
    return _shows_math(post.body_html, post.previews_html) or _titles_show_math(*titles)


def _listing_shows_math(context: dict[str, Any]) -> bool:
    items = context["pager"].items
    return _shows_math(*(p.summary_html for p in items)) or _titles_show_math(*(p.title for p in items))


def _series_shows_math(context: dict[str, Any]) -> bool:
    one: Series = context["series"]
    return _shows_math(one.description_html, *(p.summary_html for p in one.posts)) or _titles_show_math(
        *(p.title for p in one.posts), *(s.title for s in one.scheduled)
    )


def _collection_shows_math(context: dict[str, Any]) -> bool:
    return _shows_math(context["collection"].description_html)


def _references_shows_math(context: dict[str, Any]) -> bool:
    return _shows_math(*(item.reference.html for item in context["series"].references))


def _print_shows_math(context: dict[str, Any]) -> bool:
    one: Series = context["series"]
    return _shows_math(*(p.body_html for p in one.posts)) or _titles_show_math(*(p.title for p in one.posts))


SHOWS_MATH = {
    "print": _print_shows_math,
    "references": _references_shows_math,
    "post": _post_shows_math,
    "listing": _listing_shows_math,
    "series": _series_shows_math,
    "collection": _collection_shows_math,
    "notation": lambda context: True,  # its symbols
}


def _shows_math(*fragments: str) -> bool:
    return any(shows_math(fragment) for fragment in fragments)  # any element math.js typesets (mathhtml)


def _titles_show_math(*titles: str) -> bool:
    """Whether titles shown through the title_html filter hold math."""
    return any(title_has_math(title) for title in titles)
