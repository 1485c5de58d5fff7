"""Site → machine-read outputs: Atom feeds (site, series, tags), JSON Feed, sitemap.xml, robots.txt.

Feed readers run no JavaScript, so full-content feeds carry math as MathML: KaTeX's own (katex.py), made with
the macros of the post's page, cleaned by an allow-list sanitizer, with the TeX kept as its annotation.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import unquote

from primer_site.caches.dependencies import RecordedMemo
from primer_site.errors import Diagnostic
from primer_site.lazyregex import lazy_compile
from primer_site.math.katex import MATHML, FormulaRequests, FormulaResult
from primer_site.math.katexworker import FormulaKey
from primer_site.math.mathhtml import find_math
from primer_site.model import Post, Site
from primer_site.sources.config import SiteConfig
from primer_site.sources.dates import rfc3339
from primer_site.syntax.inline import plain_title

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
_ROOT_RELATIVE = lazy_compile(r'(\s(?:href|src))="(/[^"]*)"')
_FRAGMENT = lazy_compile(r'(\shref)="(#[^"]*)"')
_SRCSET = lazy_compile(r'(\ssrcset)="([^"]*)"')  # "/a-480w.png 480w, /a.png 960w": each candidate made absolute

# A post is in the feed of each of its tags: listing every tag in every entry would grow as tags
# squared (3,000 tags: 9 million elements). No real post needs more than this many in a feed.
FEED_CATEGORIES = 32


@cache
def _etree() -> ModuleType:  # xml.etree.ElementTree
    """ElementTree, with Atom as the default namespace: loaded (~3 ms) with the first feed or sitemap made, which a
    build whose feeds and sitemap are kept makes none of."""
    import xml.etree.ElementTree as ET

    ET.register_namespace("", ATOM)
    return ET


@dataclass(frozen=True)
class Feed:
    """One Atom feed: where it is written, what it is called, and its entries newest first."""

    path: str  # output path, e.g. "series/llm-primer-ii/feed.xml"
    title: str
    page_url: str  # the HTML page the feed mirrors (site-relative, under the base path)
    posts: tuple[Post, ...]


def site_feeds(site: Site, config: SiteConfig) -> list[Feed]:
    """Every Atom feed of the site: the whole site, each series, each tag."""
    limit = config.feed_limit
    feeds = [Feed("feed.xml", config.title, config.base_path, site.posts[:limit])]
    for series in site.series:
        newest = tuple(sorted(series.posts, key=lambda p: (p.date, p.source), reverse=True))
        feeds.append(
            Feed(
                _beside(series.url, config), f"{plain_title(series.title)} · {config.title}", series.url, newest[:limit]
            )
        )
    for tag in site.tags:
        feeds.append(Feed(_beside(tag.url, config), f"{tag.name} · {config.title}", tag.url, tag.posts[:limit]))
    return feeds


def _beside(page_url: str, config: SiteConfig) -> str:
    path = unquote(page_url)[len(config.base_path) :]
    return f"{path}feed.xml"


def full_content_posts(site: Site, config: SiteConfig) -> list[Post]:
    """Every post whose body some feed carries (none with summary feeds), each once, newest first."""
    if config.feed_content != "full":
        return []
    seen: dict[str, Post] = {post.source: post for post in site.posts[: config.feed_limit]}  # feed.json
    for feed in site_feeds(site, config):
        for post in feed.posts:
            seen.setdefault(post.source, post)
    return sorted(seen.values(), key=lambda p: (p.date, p.source), reverse=True)


@dataclass(frozen=True)
class FeedFormulas:
    """What full-content feeds ask KaTeX: each post's macros id, and the posts that hold each formula."""

    macros: Mapping[str, str]  # post source → macros id (FormulaRequests.macros_id)
    uses: Mapping[FormulaKey, tuple[Post, ...]]


BodyFormulas = dict[str, tuple[tuple[str, bool], ...]]  # a body's HTML → (TeX, display) of its math elements


def request_feed_math(
    posts: Sequence[Post], site: Site, config: SiteConfig, requests: FormulaRequests, known: BodyFormulas | None = None
) -> FeedFormulas:
    """Ask for the MathML of every formula in the bodies of `posts` (full_content_posts), with their page's macros.

    The TeX is what the page gives KaTeX: the text of its math element. `known`: the formulas found in bodies
    by the previous build (the dev server's), left holding this build's.
    """
    macros: dict[str, str] = {}
    uses: dict[FormulaKey, list[Post]] = {}
    found: BodyFormulas = {}
    for post in posts:
        macros[post.source] = macros_id = requests.macros_id(post.macros)  # as its page gives KaTeX
        formulas = (known or found).get(post.body_html)
        if formulas is None:
            formulas = tuple((m.tex, m.display) for m in find_math(post.body_html).elements)
        found[post.body_html] = formulas
        for tex, display in formulas:
            key = requests.add(tex, display, macros_id, MATHML)
            holders = uses.setdefault(key, [])
            if not holders or holders[-1] is not post:
                holders.append(post)
    if known is not None:
        known.clear()
        known.update(found)
    return FeedFormulas(macros, {key: tuple(holders) for key, holders in uses.items()})


@dataclass(frozen=True)
class FeedMath:
    """The MathML full-content feeds show for each formula: KaTeX's, cleaned (mathmlsanitizer.clean_mathml)."""

    macros: Mapping[str, str]  # post source → macros id
    mathml: Mapping[FormulaKey, str]
    katex_version: str = ""
    # each post's feed HTML, made once per build: a post is in the feeds of its series, its tags and the site
    bodies: RecordedMemo = field(default_factory=RecordedMemo, compare=False, repr=False)

    @classmethod
    def of(cls, formulas: FeedFormulas, answers: Mapping[FormulaKey, FormulaResult], katex_version: str) -> FeedMath:
        """From KaTeX's answers. A formula without MathML (KaTeX rejected it, or did not run) is its escaped TeX:
        the build reports why and stops, so that this feed is never written (it is still rendered, as every page
        of a failed build is, for the template errors it may add)."""
        mathml = {}
        for key in formulas.uses:
            answer = answers.get(key)
            made = answer.mathml if answer is not None else None
            mathml[key] = made if made is not None else f"<code>{html.escape(key[0])}</code>"
        return cls(formulas.macros, mathml, katex_version)

    def element(self, post: Post, tex: str, display: bool) -> str:
        """The <math> element of a formula of `post`; KeyError if it was not asked for (a bug)."""
        return self.mathml[(tex, display, self.macros[post.source])]

    def depends(self, posts: Sequence[Post]) -> tuple:
        """What these posts' MathML depends on besides their bodies: for knowing when a feed must be made again."""
        return (self.katex_version, tuple(self.macros.get(post.source) for post in posts))


def feed_math_errors(
    formulas: FeedFormulas,
    answers: Mapping[FormulaKey, FormulaResult],
    locate: Callable[[Post, str, bool], list[tuple[int, int]]],
) -> list[Diagnostic]:
    """Each formula a feed would carry that KaTeX rejects, at its file, line and column (`locate` finds them)."""
    found = []
    for key, posts in formulas.uses.items():
        error = answers[key].error
        if error is None:
            continue
        tex, display, _ = key
        for post in posts:
            for line, column in locate(post, tex, display):
                found.append(Diagnostic(post.source, line, column, "error", f"math: {' '.join(error.split())}"))
    return found


def robots_txt(config: SiteConfig) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {absolute('/', config)}sitemap.xml\n".encode()


def absolute(url: str, config: SiteConfig) -> str:
    """An absolute URL for a site-relative one ("/primer/posts/x/" → "https://host/primer/posts/x/")."""
    if url == "/":
        url = config.base_path
    return config.origin + url


def atom_feed(feed: Feed, config: SiteConfig, math: FeedMath | None = None) -> bytes:
    """The feed's Atom XML; `math`: the MathML of its posts' formulas, needed for full content."""
    ET = _etree()
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", absolute(feed.page_url, config))
    _text(root, "title", feed.title)
    if config.description:
        _text(root, "subtitle", config.description)
    _text(root, "updated", _stamp(max((_updated(p) for p in feed.posts), default=datetime(2000, 1, 1, tzinfo=UTC))))
    _link(root, "self", absolute(config.base_path.rstrip("/") + "/" + feed.path, config), "application/atom+xml")
    _link(root, "alternate", absolute(feed.page_url, config), "text/html")
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", config.author or config.title)
    _text(root, "generator", "primer-site")
    for post in feed.posts:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "id", absolute(post.url, config))
        _text(entry, "title", plain_title(post.title))  # feed readers show titles as text
        _text(entry, "published", _stamp(post.date))
        _text(entry, "updated", _stamp(_updated(post)))
        _link(entry, "alternate", absolute(post.url, config), "text/html")
        for tag in post.tags[:FEED_CATEGORIES]:
            ET.SubElement(entry, f"{{{ATOM}}}category", {"term": tag})
        _text(entry, "summary", post.summary_text)
        if config.feed_content == "full":
            content = ET.SubElement(entry, f"{{{ATOM}}}content", {"type": "html"})
            content.text = feed_html(post, config, math)
    ET.indent(root)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def json_feed(posts: Sequence[Post], config: SiteConfig, math: FeedMath | None = None) -> bytes:
    """The JSON Feed 1.1 of `posts`; `math` as for atom_feed."""
    items = []
    for post in posts:
        item = {
            "id": absolute(post.url, config),
            "url": absolute(post.url, config),
            "title": plain_title(post.title),
            "summary": post.summary_text,
            "date_published": _stamp(post.date),
            "date_modified": _stamp(_updated(post)),
        }
        if config.feed_content == "full":
            item["content_html"] = feed_html(post, config, math)
        if post.tags:
            item["tags"] = list(post.tags[:FEED_CATEGORIES])
        items.append(item)
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": config.title,
        "home_page_url": absolute("/", config),
        "feed_url": absolute("/", config) + "feed.json",
        "description": config.description,
        "language": config.language,
        "authors": [{"name": config.author or config.title}],
        "items": items,
    }
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def sitemap(site: Site, config: SiteConfig) -> bytes:
    ET = _etree()
    root = ET.Element("urlset", {"xmlns": "http://www.sitemaps.org/schemas/sitemap/0.9"})

    def add(url: str, modified: datetime | None) -> None:
        entry = ET.SubElement(root, "url")
        ET.SubElement(entry, "loc").text = absolute(url, config)
        if modified is not None:
            ET.SubElement(entry, "lastmod").text = _stamp(modified)

    newest = max((_updated(p) for p in site.posts), default=None)
    add("/", newest)
    for series in site.series:
        add(series.url, max((_updated(p) for p in series.posts), default=None))
    for collection in site.collections:
        add(collection.url, max((_updated(p) for s in collection.series for p in s.posts), default=None))
    for taxon in (*site.tags, *site.categories):
        add(taxon.url, max((_updated(p) for p in taxon.posts), default=None))
    for post in sorted(site.posts, key=lambda p: p.url):
        add(post.url, _updated(post))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def feed_html(post: Post, config: SiteConfig, math: FeedMath | None) -> str:
    """A post's body for a feed reader: absolute links, math as MathML (`math` must hold its formulas).

    Made once per build for each post (it is in the feeds of its series, its tags and the site): what making it
    read is recorded again in each feed that uses it.
    """
    if math is None:
        return _feed_html(post, config, math)
    return math.bodies.get(post.source, lambda: _feed_html(post, config, math))


def _feed_html(post: Post, config: SiteConfig, math: FeedMath | None) -> str:
    body = post.body_html
    elements = find_math(body).elements  # math elements as the page's math.js finds them (mathhtml)
    if elements:
        if math is None:
            raise ValueError(f"{post.source}: a full-content feed needs the MathML of its formulas")
        # before the links: the TeX is text in which a quote is not escaped, and could look like an attribute
        ends = [0, *(m.close for m in elements)]
        parts = [body[at : m.tag] + math.element(post, m.tex, m.display) for at, m in zip(ends, elements, strict=False)]
        body = "".join(parts) + body[ends[-1] :]
    body = _ROOT_RELATIVE.sub(lambda m: f'{m.group(1)}="{config.origin}{m.group(2)}"', body)
    body = _SRCSET.sub(lambda m: f'{m.group(1)}="{_absolute_srcset(m.group(2), config)}"', body)
    return _FRAGMENT.sub(lambda m: f'{m.group(1)}="{absolute(post.url, config)}{m.group(2)}"', body)


def _absolute_srcset(value: str, config: SiteConfig) -> str:
    candidates = (c.strip() for c in value.split(","))
    return ", ".join(config.origin + c if c.startswith("/") and not c.startswith("//") else c for c in candidates if c)


def _updated(post: Post) -> datetime:
    return post.updated if post.updated and post.updated > post.date else post.date


def _stamp(value: datetime) -> str:
    return rfc3339(value)  # whole-minute offsets (dates.rfc3339)


def _text(parent: ET.Element, tag: str, text: str) -> None:
    _etree().SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def _link(parent: ET.Element, rel: str, href: str, kind: str) -> None:
    _etree().SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href, "type": kind})
