"""Site → machine-read outputs: Atom feeds (site, series, tags), JSON Feed, sitemap.xml, robots.txt.

Feed readers run no JavaScript, so math goes out as MathML, with the TeX kept as its annotation.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import unquote

from .config import SiteConfig
from .markdown import plain_title
from .model import Post, Site

ATOM = "http://www.w3.org/2005/Atom"
_MATH = re.compile(r'<(span|div) class="math (inline|display)">(.*?)</\1>', re.DOTALL)
_ROOT_RELATIVE = re.compile(r'(\s(?:href|src))="(/[^"]*)"')
_FRAGMENT = re.compile(r'(\shref)="(#[^"]*)"')
_SRCSET = re.compile(r'(\ssrcset)="([^"]*)"')  # "/a-480w.png 480w, /a.png 960w": each candidate made absolute

# A post is in the feed of each of its tags: listing every tag in every entry would grow as tags
# squared (3,000 tags: 9 million elements). No real post needs more than this many in a feed.
FEED_CATEGORIES = 32

ET.register_namespace("", ATOM)


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


def robots_txt(config: SiteConfig) -> bytes:
    return f"User-agent: *\nAllow: /\n\nSitemap: {absolute('/', config)}sitemap.xml\n".encode()


def absolute(url: str, config: SiteConfig) -> str:
    """An absolute URL for a site-relative one ("/primer/posts/x/" → "https://host/primer/posts/x/")."""
    if url == "/":
        url = config.base_path
    return config.origin + url


def atom_feed(feed: Feed, config: SiteConfig) -> bytes:
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
            content.text = feed_html(post, config)
    ET.indent(root)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    )


def json_feed(posts: Sequence[Post], config: SiteConfig) -> bytes:
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
            item["content_html"] = feed_html(post, config)
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


def feed_html(post: Post, config: SiteConfig) -> str:
    """A post's body for a feed reader: absolute links, math as MathML."""
    body = _MATH.sub(lambda m: mathml(html.unescape(m.group(3)), m.group(2) == "display"), post.body_html)
    body = _ROOT_RELATIVE.sub(lambda m: f'{m.group(1)}="{config.origin}{m.group(2)}"', body)
    body = _SRCSET.sub(lambda m: f'{m.group(1)}="{_absolute_srcset(m.group(2), config)}"', body)
    return _FRAGMENT.sub(lambda m: f'{m.group(1)}="{absolute(post.url, config)}{m.group(2)}"', body)


def _absolute_srcset(value: str, config: SiteConfig) -> str:
    candidates = (c.strip() for c in value.split(","))
    return ", ".join(config.origin + c if c.startswith("/") and not c.startswith("//") else c for c in candidates if c)


@lru_cache(maxsize=4096)
def mathml(tex: str, display: bool) -> str:
    """MathML for a formula, its TeX kept as the annotation; TeX in <code> where it cannot convert."""
    from latex2mathml.converter import convert

    try:
        converted = convert(tex, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many kinds on TeX it does not know
        return f'<code class="tex">{html.escape(tex)}</code>'
    opening, _, rest = converted.partition(">")
    inner = rest.rsplit("</math>", 1)[0]
    annotation = f'<annotation encoding="application/x-tex">{html.escape(tex, quote=False)}</annotation>'
    return f"{opening}><semantics>{inner}{annotation}</semantics></math>"


def _updated(post: Post) -> datetime:
    return post.updated if post.updated and post.updated > post.date else post.date


def _stamp(value: datetime) -> str:
    return value.isoformat()


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def _link(parent: ET.Element, rel: str, href: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href, "type": kind})
