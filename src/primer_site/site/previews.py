"""What a reference to another page shows on hover: the target's own HTML, written into the referring page.

A reader of chapter 10 who meets "by Theorem 3.2" sees the theorem in a popup (static/js/previews.js) without
leaving the page and without a request: the build copies each element a post's body links to in another post
(an equation, figure, table, theorem-like block, or a heading with the paragraph after it) into one
`<div class="previews" hidden>` of the page, each copy in a `<div data-preview="URL#id">`: hidden, so without
JavaScript nothing of it shows, kept out of the search index, and not in feeds (they show the body only). Not a
<template>: a page typeset at build time has its copies typeset too, as they are in the page's document.
References within the page need no copy: the script reads the element itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from html import escape, unescape

from primer_site.frozen import replaced
from primer_site.lazyregex import lazy_compile
from primer_site.model import Post

# a link of a body to an element of another page: href="/posts/ch03/#thm:shift"
_LINK = re.compile(r'<a href="(/[^"#]*)#([^"]+)"')
_LINK_START = '<a href="/'  # how every _LINK match begins
_ID = lazy_compile(r'<([a-z][a-z0-9]*)\b[^>]*?\sid="([^"]*)"')
_ANCHOR = lazy_compile(r' <a class="anchor" [^>]*>#</a>')  # a heading's "#" link: of no use in a preview
_LAZY = lazy_compile(r"<img(?![^>]*\sloading=)")  # an image of a hidden copy loads when shown, not with the page
_IDS = lazy_compile(r'\s(?:id|aria-labelledby|aria-describedby)="[^"]*"')
_FRAGMENT_HREF = lazy_compile(r'(\shref)="#([^"]*)"')
_FOLLOWING = lazy_compile(r"\s*<(p|ul|ol)\b")
PREVIEWED = lazy_compile(r"^(?:h[2-6]|figure|div|span|details|section)$")


def element_index(body: str) -> dict[str, tuple[str, int]]:
    """Every element with an id in a body's HTML: id → (tag, where its start tag begins); one pass. A row of a
    numbered align is its whole display (the row's anchor is an empty span at the display's start)."""
    index: dict[str, tuple[str, int]] = {}
    display: tuple[str, int] = ("", 0)
    for m in _ID.finditer(body):
        if 'class="equation equation-rows"' in m.group(0):
            display = (m.group(1), m.start())
        row = 'class="row-anchor"' in m.group(0)
        index[unescape(m.group(2))] = display if row else (m.group(1), m.start())
    return index


def element_html(body: str, tag: str, start: int) -> str:
    """The element of `tag` starting at `start`, to its matching end tag (same-name tags nested inside counted);
    a heading with the block after it, which says what its section is about. "" if it never ends."""
    pattern = re.compile(rf"<(/?){tag}\b[^>]*>")
    depth = 0
    for match in pattern.finditer(body, start):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            end = match.end()
            if tag[0] == "h" and tag[1:].isdigit():
                following = _FOLLOWING.match(body, end)
                if following:
                    end = following.start(1) - 1 + len(element_html(body, following.group(1), following.start(1) - 1))
            return body[start:end]
    return ""


def previews_html(post: Post, by_url: Mapping[str, Post], index_of: Callable[[Post], dict]) -> str:
    """The hidden `<div class="previews">` for a post's links to elements of other posts ("" if it has none).

    `index_of(target)` is element_index of the target's body (made once per target by the caller). Copies lose
    their ids (one id per page) and their own `#x` links point into their page. A copy from a post whose TeX
    macros differ from `post`'s carries the target's as `data-macros` (JSON), which math.js and the build's
    typesetting give the math inside it, as on the target's own page: another series' `\\E` stays defined.
    """
    found: dict[str, str] = {}
    for match in _LINK.finditer(post.body_html):
        url, fragment = match.group(1), unescape(match.group(2))
        key = f"{url}#{fragment}"
        target = by_url.get(url)
        if key in found or target is None or target is post:
            continue
        where = index_of(target).get(fragment)
        if where is None or not PREVIEWED.match(where[0]):
            continue
        copy = element_html(target.body_html, *where)
        copy = _LAZY.sub('<img loading="lazy"', _IDS.sub("", _ANCHOR.sub("", copy)))
        page = escape(url)
        copy = _FRAGMENT_HREF.sub(lambda m, page=page: f'{m.group(1)}="{page}#{m.group(2)}"', copy)
        macros = "" if target.macros == post.macros else f' data-macros="{escape(json.dumps(dict(target.macros)))}"'
        found[key] = f'<div data-preview="{escape(key)}"{macros}>{copy}</div>'
    if not found:
        return ""
    return '<div class="previews" hidden data-pagefind-ignore>\n' + "\n".join(found.values()) + "\n</div>\n"


def _linked_urls(body: str) -> tuple[str, ...]:
    """The URLs of other pages whose elements `body` links to, each once, in order."""
    if _LINK_START not in body:  # most bodies: str's search runs ~1.4x faster than the pattern's own over them
        return ()
    return tuple(dict.fromkeys(m.group(1) for m in _LINK.finditer(body)))


def add_previews(
    posts: list[Post],
    published: set[str],
    reuse: Callable[..., Post],
    by_url: Mapping[str, Post] | None = None,
    read: dict[str, tuple[str, ...]] | None = None,
) -> list[Post]:
    """Each post with its previews_html; `reuse(kind, name, inputs, make)` keeps a post made from the same
    inputs the same object (the assemble stage's memo). Each target's ids are indexed once.

    `by_url`: the published posts by URL, when the caller has them (`posts` may then be a few of the site's: an
    edit's readers); `read`, when given, gets each post's source → the sources of the posts its previews read."""
    if by_url is None:
        by_url = {p.url: p for p in posts if p.source in published}
    indexes: dict[str, dict[str, tuple[str, int]]] = {}

    def index_of(target: Post) -> dict[str, tuple[str, int]]:
        if target.source not in indexes:
            indexes[target.source] = element_index(target.body_html)
        return indexes[target.source]

    def previewed(post: Post) -> Post:
        # the body's links, scanned again only when the body changed (a preview rebuild meets every post)
        urls = reuse("preview links", post.source, (post.body_html,), lambda _: _linked_urls(post.body_html))
        if not urls:  # most posts: no link to another page's element
            if read is not None:
                read[post.source] = ()
            return post
        targets = tuple(by_url.get(url) for url in urls)
        if read is not None:
            read[post.source] = tuple(t.source for t in targets if t is not None)
        if not any(targets):
            return post

        def make(_: object) -> Post:
            return replaced(post, previews_html=previews_html(post, by_url, index_of))

        return reuse("previews", post.source, (post, targets), make)

    return [previewed(p) for p in posts]
