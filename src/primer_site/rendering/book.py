"""A volume as one page: each chapter's rendered body made to live beside the others on the print page.

Every id of a chapter gets the chapter's prefix ("ch-<slug>--"), so that ids stay unique on the page; every link
into a chapter of the volume ("#eq:kl" in the chapter itself, "/posts/ch03/#thm:a" from another) becomes a link
within the page; images load eagerly, since a printed page is laid out whole.

Tags are found by the HTML standard's tokenizer rules (§13.2.5, as math/htmltokenizer.py writes them: start tags,
comments and bogus comments, raw-text and RCDATA elements, CDATA sections in SVG and MathML); a start tag that must
change has its attributes rewritten by rawhtml's attribute scan, and every other byte is copied as written (the
case of names SVG and MathML need, viewBox, too). One regex skips text, end tags, comments and the start tags that
carry none of the rewritten attributes, so Python sees only the tags that change something.

Where this reading differs from the standard library's html.parser (which the rewrite used before): end tags are
kept as written (html.parser wrote them lowercased, without their attributes or spaces); the text of every raw-text
element (<xmp>, <iframe>, <noscript>…) and RCDATA element (<textarea>, <title>) is copied, not read as tags
(html.parser treats only <script> and <style> so); inside <svg> and <math>, <style> and <script> are read as
markup and <![CDATA[…]]> is a section up to "]]>" (html.parser read <style> and <script> there as raw text, and
wrote a CDATA section back with one "]" less); a character reference
without its ";" and a bogus comment are kept as written (html.parser added a ";", and rewrote some comments).
As find_math, the scan does not follow the tree builder's own changes to foreign content (an HTML element such as
<p> inside <svg> ending it, integration points such as <foreignObject>).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from functools import lru_cache
from html.parser import HTMLParser

from primer_site.lazyregex import lazy_compile
from primer_site.math.htmltokenizer import (
    ATTRIBUTE,
    FOREIGN,
    RAW_TEXT,
    RCDATA,
    TOKEN,
    attribute_values,
    raw_text_end,
    skip_comment,
)
from primer_site.syntax.rawhtml import _ATTRIBUTE, _unquote

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
_FUNC_IRI = lazy_compile(r"""url\(\s*+(['"]?)#([^'")\s]++)\1\s*+\)""")  # possessive: linear
_URL_ATTRIBUTES = ("href", "xlink:href")


_REWRITTEN = {*_ID_ATTRIBUTES, *_ID_LIST_ATTRIBUTES, *_URL_ATTRIBUTES, "loading"}

# What the scan reads in Python (_scan): the start tags that carry a rewritten attribute (or `url(` in a
# presentation attribute) or change how the rest is read (raw text, RCDATA, <svg>, <math>), the end tags of <svg>
# and <math> inside them, and CDATA sections inside them. The rest is skipped by one regex, which tokenizes it by
# the same rules as htmltokenizer.TOKEN; possessive and atomic throughout: linear.
_W = "\t\n\f\r "
_NAMES = "|".join(sorted(_REWRITTEN | set(_FUNC_IRI_ATTRIBUTES), key=lambda name: (-len(name), name))).replace(
    ":", "\\:"
)
_FUNC_NAMES = "|".join(sorted(_FUNC_IRI_ATTRIBUTES, key=len, reverse=True))
_NO_URL = r"(?:[^{stop}u&]++|u(?!rl\())*+"  # no "url(", and no reference that could spell it
_DOUBLE, _SINGLE, _BARE = (_NO_URL.format(stop=stop) for stop in ('"', "'", _W + ">"))
_QUIET_ATTRIBUTE = (
    rf"(?>[{_W}/]*+(?:(?!(?i:{_NAMES})[{_W}/=>])[^{_W}/>][^{_W}/=>]*+"
    rf"(?>[{_W}]*+=[{_W}]*+(?>\"[^\"]*+\"|'[^']*+'|[^{_W}>]*+))?"
    rf"|(?i:{_FUNC_NAMES})(?=[{_W}/=>])(?>[{_W}]*+=[{_W}]*+"
    rf"(?>\"{_DOUBLE}\"|'{_SINGLE}'|(?![\"']){_BARE}(?=[{_W}>]|\Z))"
    rf"|(?![{_W}]*+=))))"
)
# the common case first, faster to skip: <p class="…"> and </p>, as templates and Markdown write tags (a body's
# skip costs half as much)
_PLAIN_TAG = rf'[a-z][a-z0-9]*+(?> (?:(?!(?:{_NAMES})=)[a-z-]++="[^"]*+"|(?:{_FUNC_NAMES})="{_DOUBLE}"))*+>'
_STOPS = "|".join(sorted({*RAW_TEXT, *RCDATA, "plaintext", *FOREIGN}))
_SKIP = re.compile(
    rf"(?:[^<]++|</[a-z][a-z0-9]*+>|<(?!(?i:{_STOPS})[{_W}/>])(?:{_PLAIN_TAG}|[A-Za-z][^{_W}/>]*+{_QUIET_ATTRIBUTE}*+[{_W}/]*+>)"
    rf"|</[A-Za-z][^{_W}/>]*+(?:{ATTRIBUTE})*+[{_W}/]*+>"
    rf"|<!--(?:-?>|.*?(?:--!?>|\Z))|<!(?!--)[^>]*+(?:>|\Z)|<\?[^>]*+(?:>|\Z)|</(?![A-Za-z])[^>]*+(?:>|\Z)"
    rf"|<(?![A-Za-z!?/]))*+",
    re.DOTALL,
)
# inside <svg> or <math> (foreign content, §13.2.6.5): raw-text names are markup, their end tags count, and a
# CDATA section runs to "]]>"
_FOREIGN = "|".join(sorted(FOREIGN))
_SKIP_FOREIGN = lazy_compile(
    rf"(?:[^<]++|</(?!(?:{_FOREIGN})>)[a-z][a-z0-9]*+>|<(?!(?i:{_FOREIGN})[{_W}/>])(?:{_PLAIN_TAG}|[A-Za-z][^{_W}/>]*+{_QUIET_ATTRIBUTE}*+[{_W}/]*+>)"
    rf"|</(?!(?i:{_FOREIGN})[{_W}/>])[A-Za-z][^{_W}/>]*+(?:{ATTRIBUTE})*+[{_W}/]*+>"
    rf"|<!--(?:-?>|.*?(?:--!?>|\Z))|<!\[CDATA\[.*?(?:\]\]>|\Z)|<!(?!--|\[CDATA\[)[^>]*+(?:>|\Z)"
    rf"|<\?[^>]*+(?:>|\Z)|</(?![A-Za-z])[^>]*+(?:>|\Z)|<(?![A-Za-z!?/]))*+",
    re.DOTALL,
)


def chapter_prefix(slug: str) -> str:
    """The id of a chapter's section on the print page; its own ids are "<prefix>--<id>"."""
    return f"ch-{slug}"


def print_body(body_html: str, slug: str, urls: Sequence[str], slugs: Sequence[str]) -> str:
    """`body_html` of the chapter `slug`, for the print page: its ids prefixed, links into any of the volume's
    chapters on the page (their page URLs and slugs, in the same order) made in-page, images eager."""
    return _print_body(body_html, slug, tuple(urls), tuple(slugs))


@lru_cache(maxsize=256)  # the preview re-renders the page when one chapter changes: the others are not redone
def _print_body(body_html: str, slug: str, urls: tuple[str, ...], slugs: tuple[str, ...]) -> str:
    return _scan(body_html, _Rewriter(chapter_prefix(slug), _targets(urls, slugs)))


def document_body(body_html: str, urls: Sequence[str], documents: Sequence[str]) -> str:
    """`body_html` of a chapter for a book of one document per chapter (the EPUB): its ids kept, each link into
    one of the volume's chapters (their page URLs, and their documents' names in the same order) made a link to
    that document ("/posts/ch03/#thm:a" → "ch03.xhtml#thm:a"), images eager."""
    return _scan(body_html, _DocumentRewriter(dict(zip(urls, documents, strict=True))))


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


def _scan(body: str, rewriter: _Rewriter) -> str:
    """`body` with each start tag that carries a rewritten attribute as `rewriter._rewrite` gives it back, every
    other byte as written. Work: one regex match per run of quiet markup, Python only for the tags that change
    something (see _SKIP)."""
    pieces: list[str] = []
    done = pos = 0
    foreign: list[str] = []  # the open <svg> and <math> elements, innermost last
    while True:
        pos = (_SKIP_FOREIGN.match(body, pos) if foreign else _SKIP.match(body, pos)).end()
        token = TOKEN.match(body, pos)
        if token is None:
            if pos >= len(body):
                break
            pos += 1  # not reached: _SKIP takes every "<" TOKEN does not
            continue
        pos = token.end()
        name = token.group("start")
        if name is None:
            name = token.group("end")
            if name is not None:
                name = name.lower()
                if name in foreign:  # §13.2.6.5: an end tag in foreign content closes up to its element
                    del foreign[len(foreign) - 1 - foreign[::-1].index(name) :]
            elif token.group("eof") is not None:
                break  # a tag with no ">": the rest of the body is inside it, copied as written
            else:
                pos = skip_comment(body, token, bool(foreign))
            continue
        name = name.lower()
        if _rewrites(token.group("attributes")):
            pieces.append(body[done : token.start()])
            pieces.append(rewriter._rewrite(token.group(0), name))
            done = pos
        if name in FOREIGN:
            if body[pos - 2] != "/":  # <svg/> opens nothing (§13.2.6.4.7, self-closing flag acknowledged)
                foreign.append(name)
        elif not foreign and (name in RAW_TEXT or name in RCDATA or name == "plaintext"):
            pos = raw_text_end(body, name, pos)
    if not pieces:
        return body
    pieces.append(body[done:])
    return "".join(pieces)


def _rewrites(attributes: str) -> bool:
    """Whether a start tag with `attributes` (their text, as TOKEN reads it) has one the rewrite changes: a name
    in _REWRITTEN, or `url(` in the value of one of _FUNC_IRI_ATTRIBUTES (references decoded)."""
    for name, value in attribute_values(attributes):
        if name in _REWRITTEN or (name in _FUNC_IRI_ATTRIBUTES and "url(" in value):
            return True
    return False


class _Rewriter(HTMLParser):
    """Copies HTML through, rewriting the start tags that carry ids, links into the volume, or lazy loading.

    print_body and document_body call only its `_rewrite` (from _scan); it stays an HTMLParser for pdfpage.py, which
    rewrites a whole page once per PDF."""

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
