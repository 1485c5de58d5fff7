"""What a body points at: links to other sources (`[text](ch03.md#part)`, `[](#eq:kl)`), files beside it
(images, data, in Markdown and in raw HTML) and other URLs, each with its line; hrefs to sources and URLs of files
are replaced with placeholders, filled once the site is assembled (assets.py, assemble.py)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from markdown_it.token import Token

from primer_site.errors import Diagnostic
from primer_site.lazyregex import lazy_compile
from primer_site.model import Link
from primer_site.syntax.figures import SIZE_SLOT
from primer_site.syntax.rawhtml import rewrite_urls
from primer_site.syntax.references import Label

_SCHEME = lazy_compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class SourceLink:
    """A link in the body to another source file: `[text](ch03.md#part)`."""

    target: str  # site-relative source path, e.g. "content/primer-ii/ch03.md"
    fragment: str
    line: int
    written: str  # the href as the author wrote it


@dataclass(frozen=True)
class AssetRef:
    """A reference in the body to a file beside it (`![](attn.svg)`, `[data](results.csv)`, `<img src>`): where
    its URL goes, `\\x00A<n>\\x00` in the HTML, is filled in once the site's files are known (assets.py)."""

    # site-relative path of the file, e.g. "content/primer-ii/attn.svg"; or a root-absolute URL path as written,
    # "/posts/entropy/" (it starts with "/"), which is a file beside the posts if content/ holds one there
    target: str
    written: str  # the URL as the author wrote it
    line: int  # 1-based, in the source file
    suffix: str = ""  # "?query#fragment", kept after the published URL
    image: bool = False  # an <img src>: its width, height and loading go to `\\x00I<n>\\x00`
    given: tuple[tuple[str, str], ...] = ()  # attributes of a raw <img> the author set (width, height, loading…)


ASSET_PLACEHOLDER = "\x00A{}\x00"


def root_absolute(url: str) -> bool:
    """Whether `url` is a path from the site's root, `/posts/entropy/` or `/vol/plot.png` (not `//host/x`): written
    relative to the site, it is published under the base URL's path, as `/primer/posts/entropy/`."""
    return url.startswith("/") and not url.startswith("//")


class _Collector:
    """Gathers a body's links: to other sources (placeholders \\x00L), to files beside it (\\x00A), others."""

    def __init__(self, source: str, labels: dict[str, Label], errors: list[Diagnostic]) -> None:
        self.source, self.labels, self.errors = source, labels, errors
        self.base = posixpath.dirname(source)
        self.sources: list[SourceLink] = []
        self.others: list[Link] = []
        self.assets: list[AssetRef] = []

    def asset(self, url: str, line: int, image: bool = False, given: tuple[tuple[str, str], ...] = ()) -> str | None:
        """The placeholder for `url` if it names a file beside the post (a relative URL that is not a .md file),
        None if it does not; "" for a relative URL that climbs out of the site (an error, reported here)."""
        parts = urlsplit(url)
        if root_absolute(url):  # a path of the site: under its base path in every output, filled in with it
            self.assets.append(AssetRef(parts.path, url, line, url[len(parts.path) :], image, given))
            return ASSET_PLACEHOLDER.format(len(self.assets) - 1)
        if not url or _SCHEME.match(url) or url.startswith(("/", "#", "?")) or not parts.path:
            return None
        if parts.path.endswith(".md"):
            return None
        target = posixpath.normpath(posixpath.join(self.base, unquote(parts.path)))
        if target == ".." or target.startswith("../"):
            self.errors.append(Diagnostic(self.source, line, 0, "error", f"{url!r} is outside the site folder"))
            return ""
        suffix = url[url.index(parts.path) + len(parts.path) :] if parts.path in url else ""
        self.assets.append(AssetRef(target, url, line, suffix, image, given))
        return ASSET_PLACEHOLDER.format(len(self.assets) - 1)

    def link(self, child: Token, empty: bool, line: int) -> None:
        href = str(child.attrGet("href") or "")
        parts = urlsplit(href)
        if href.startswith("#") and len(href) > 1:
            fragment = unquote(href[1:])
            # every same-page #fragment, a reference or not, is checked against the page's ids (as one into another
            # post is) when the site is assembled
            self.sources.append(SourceLink(self.source, fragment, line, href))
            child.attrSet("href", f"\x00L{len(self.sources) - 1}\x00")
            return
        if _SCHEME.match(href) or href.startswith(("/", "#")) or not parts.path.endswith(".md"):
            placeholder = self.asset(href, line)
            if placeholder is None:
                self.others.append(Link(href, line))
            elif placeholder:
                child.attrSet("href", placeholder)
            return
        target = posixpath.normpath(posixpath.join(self.base, unquote(parts.path)))
        self.sources.append(SourceLink(target, unquote(parts.fragment), line, href))
        child.attrSet("href", f"\x00L{len(self.sources) - 1}\x00")

    def image(self, child: Token, line: int) -> None:
        src = str(child.attrGet("src") or "")
        if not (child.children and any(c.content.strip() for c in child.children)):
            self.errors.append(
                Diagnostic(self.source, line, 0, "warning", f"image {src!r} has no alt text: say what it shows")
            )
        placeholder = self.asset(src, line, image=True)
        if placeholder is None:
            self.others.append(Link(src, line))
        elif placeholder:
            child.attrSet("src", placeholder)
            child.meta["slot"] = len(self.assets) - 1

    def raw_html(self, html: str, line: int) -> str:
        """Raw HTML with the URLs of its files replaced by placeholders; its other URLs noted with their lines."""

        def url(value: str, at_line: int, image: bool, given: tuple[tuple[str, str], ...]) -> tuple[str, str]:
            placeholder = self.asset(value, at_line, image, given)
            if not placeholder:
                if placeholder is None:
                    self.others.append(Link(value, at_line))
                return value, ""
            return placeholder, SIZE_SLOT.format(len(self.assets) - 1) if image else ""

        def missing_alt(at_line: int, src: str) -> None:
            message = f'image {src!r} has no alt attribute: say what it shows (alt="" if it shows nothing)'
            self.errors.append(Diagnostic(self.source, at_line, 0, "warning", message))

        return rewrite_urls(html, line, url, missing_alt)


def collect_links(
    tokens: Sequence[Token],
    source: str,
    body_first_line: int,
    labels: dict[str, Label],
    errors: list[Diagnostic] | None = None,
) -> tuple[list[SourceLink], list[Link], list[AssetRef]]:
    """Every link and image with its line; hrefs to other .md files, and URLs of files beside the post (in
    Markdown and in raw HTML), are replaced with placeholders.

    So is a link in the page that is a reference: `[](#eq:kl)` (its text is made from the label), or any link
    to one of the labels: the assemble stage resolves and checks them as it does links to other posts.
    `source` is the body's site-relative path; lines are 1-based lines of that file. Images without alt text
    are warnings, and URLs that climb out of the site errors, appended to `errors`.
    """
    found = _Collector(source, labels, errors if errors is not None else [])
    for token in tokens:
        if token.type == "html_block":
            token.content = found.raw_html(token.content, body_first_line + (token.map[0] if token.map else 0))
            continue
        if token.type != "inline" or not token.children:
            continue
        line = body_first_line + (token.map[0] if token.map else 0)
        for index, child in enumerate(token.children):
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" or child.type.startswith("math"):
                line += child.content.count("\n")
            elif child.type == "html_inline":
                child.content = found.raw_html(child.content, line)
                line += child.content.count("\n")
            elif child.type == "image":
                found.image(child, line)
            elif child.type == "link_open":
                empty = index + 1 < len(token.children) and token.children[index + 1].type == "link_close"
                found.link(child, empty, line)
    return found.sources, found.others, found.assets
