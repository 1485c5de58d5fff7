"""A volume as one page: each chapter's rendered body made to live beside the others on the print page.

Every id of a chapter gets the chapter's prefix ("ch-<slug>--"), so that ids stay unique on the page; every link
into a chapter of the volume ("#eq:kl" in the chapter itself, "/posts/ch03/#thm:a" from another) becomes a link
within the page; images load eagerly, since a printed page is laid out whole.

Tags are found by the standard library's HTML tokenizer (html.parser, which follows the HTML standard's
tokenization for start tags, comments and raw-text elements); a start tag that must change has its attributes
rewritten by rawhtml's attribute scan, so that every other byte, and the case of names SVG and MathML need
(viewBox), is kept.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from html.parser import HTMLParser

from .rawhtml import _ATTRIBUTE, _unquote

# Attributes whose value is an id, or a space-separated list of ids (HTML standard, "Attributes" index; WAI-ARIA
# 1.2's ID reference attributes).
_ID_ATTRIBUTES = (
    "id", "for", "form", "list", "popovertarget", "aria-activedescendant", "aria-errormessage",
)  # fmt: skip
_ID_LIST_ATTRIBUTES = (
    "headers", "itemref", "aria-labelledby", "aria-describedby", "aria-controls", "aria-owns", "aria-details",
    "aria-flowto",
)  # fmt: skip
# SVG's presentation attributes that name an element by `url(#id)` (SVG 2, "Presentation attributes"), and style.
_FUNC_IRI_ATTRIBUTES = (
    "fill", "stroke", "clip-path", "mask", "filter", "marker-start", "marker-mid", "marker-end", "style",
)  # fmt: skip
_FUNC_IRI = re.compile(r"""url\(\s*+(['"]?)#([^'")\s]++)\1\s*+\)""")  # possessive: linear
_URL_ATTRIBUTES = ("href", "xlink:href")


_REWRITTEN = {*_ID_ATTRIBUTES, *_ID_LIST_ATTRIBUTES, *_URL_ATTRIBUTES, "loading"}


def chapter_prefix(slug: str) -> str:
    """The id of a chapter's section on the print page; its own ids are "<prefix>--<id>"."""
    return f"ch-{slug}"


def print_body(body_html: str, slug: str, urls: Sequence[str], slugs: Sequence[str]) -> str:
    """`body_html` of the chapter `slug`, for the print page: its ids prefixed, links into any of the volume's
    chapters on the page (their page URLs and slugs, in the same order) made in-page, images eager."""
    return _print_body(body_html, slug, tuple(urls), tuple(slugs))


@lru_cache(maxsize=256)  # the preview re-renders the page when one chapter changes: the others are not redone
def _print_body(body_html: str, slug: str, urls: tuple[str, ...], slugs: tuple[str, ...]) -> str:
    rewriter = _Rewriter(chapter_prefix(slug), _targets(urls, slugs))
    rewriter.feed(body_html)
    rewriter.close()
    return "".join(rewriter.pieces)


def document_body(body_html: str, urls: Sequence[str], documents: Sequence[str]) -> str:
    """`body_html` of a chapter for a book of one document per chapter (the EPUB): its ids kept, each link into
    one of the volume's chapters (their page URLs, and their documents' names in the same order) made a link to
    that document ("/posts/ch03/#thm:a" → "ch03.xhtml#thm:a"), images eager."""
    rewriter = _DocumentRewriter(dict(zip(urls, documents, strict=True)))
    rewriter.feed(body_html)
    rewriter.close()
    return "".join(rewriter.pieces)


def print_href(href: str, urls: Sequence[str], slugs: Sequence[str]) -> str:
    """A link as the print page has it: in-page when it points into one of the volume's chapters."""
    return _in_page(href, _targets(urls, slugs)) or href


def _targets(urls: Sequence[str], slugs: Sequence[str]) -> dict[str, str]:
    return {url: chapter_prefix(slug) for url, slug in zip(urls, slugs, strict=True)}


def _in_page(href: str, targets: dict[str, str]) -> str | None:
    page, _, fragment = href.partition("#")
    target = targets.get(page)
    if target is None:
        return None  # a link out of the volume is kept as it is
    return f"#{target}--{fragment}" if fragment else f"#{target}"


class _Rewriter(HTMLParser):
    """Copies HTML through, rewriting the start tags that carry ids, links into the volume, or lazy loading."""

    def __init__(self, prefix: str, targets: dict[str, str]) -> None:
        super().__init__(convert_charrefs=False)
        self.prefix, self.targets = prefix, targets
        self.pieces: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        text = self.get_starttag_text() or ""
        names = {name for name, _ in attrs}
        if names & _REWRITTEN or any(
            value and "url(" in value for name, value in attrs if name in _FUNC_IRI_ATTRIBUTES
        ):
            text = self._rewrite(text, tag)
        self.pieces.append(text)

    handle_startendtag = handle_starttag

    def _rewrite(self, text: str, tag: str) -> str:
        # the tag's name, then its attributes as the tokenizer reads them, then its end ("/>" or ">")
        head = len(tag) + 1
        end = len(text) - (2 if text.endswith("/>") else 1)
        pieces = [text[:head]]
        for match in _ATTRIBUTE.finditer(text, head, end):
            name, value = match.group(2).lower(), match.group(4)
            if name == "loading":
                continue  # lazy loading would leave images out of a printed page
            new = None if value is None else self._value(name, html.unescape(_unquote(value)))
            if new is None:
                pieces.append(match.group(0))
            else:
                pieces.append(f'{match.group(1)}{match.group(2)}{match.group(3)}"{html.escape(new)}"')
        pieces.append(text[end:])
        return "".join(pieces)

    def _value(self, name: str, value: str) -> str | None:
        """The attribute's new value, or None to keep it as written."""
        if name in _ID_ATTRIBUTES:
            return self._id(value)
        if name in _ID_LIST_ATTRIBUTES:
            return " ".join(self._id(one) for one in value.split())
        if name in _FUNC_IRI_ATTRIBUTES:
            new = _FUNC_IRI.sub(lambda m: f"url({m.group(1)}#{self._id(m.group(2))}{m.group(1)})", value)
            return new if new != value else None
        if name in _URL_ATTRIBUTES:
            return self._href(value)
        return None

    def _id(self, value: str) -> str:
        return f"{self.prefix}--{value}"

    def _href(self, value: str) -> str | None:
        if value.startswith("#"):
            return "#" + self._id(value[1:]) if len(value) > 1 else None
        return _in_page(value, self.targets)

    def handle_endtag(self, tag: str) -> None:
        self.pieces.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.pieces.append(data)

    def handle_entityref(self, name: str) -> None:
        self.pieces.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.pieces.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.pieces.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.pieces.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.pieces.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.pieces.append(f"<![{data}]>")


class _DocumentRewriter(_Rewriter):
    """The print page's rewriting for a book of one document per chapter: ids are kept (each chapter is a document
    of its own), and a link into a chapter names that chapter's document."""

    def __init__(self, documents: dict[str, str]) -> None:
        super().__init__("", {})
        self.documents = documents

    def _id(self, value: str) -> str:
        return value

    def _href(self, value: str) -> str | None:
        if value.startswith("#"):
            return None
        page, _, fragment = value.partition("#")
        document = self.documents.get(page)
        if document is None:
            return None  # a link out of the volume is kept as it is
        return f"{document}#{fragment}" if fragment else document
