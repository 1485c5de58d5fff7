"""Headings: their attributes (`## Preface {#preface .unnumbered}`), their ids, and their text and HTML as the
table of contents and references show them.

Attributes are pandoc's ("Extension: header_attributes", read the same way by kramdown, Hugo and MkDocs'
attr_list): an identifier `#id`, classes `.name`, `-` for `.unnumbered`, and `key=value` pairs, in braces at the
end of the heading. A pair is written as the attribute `data-KEY` (`data-` kept if it is there), as pandoc's HTML
writer writes a key that is no HTML attribute; MkDocs' `data-toc-label` is the entry in the table of contents. The same syntax after a code fence's backticks (pandoc's "fenced_code_attributes",
```` ```{.lua file=init.lua} ````, and knitr's ```` ```{r} ````) is read by `fence_language`.

A heading without an id of its own gets GitHub's: its text (a formula's TeX included, as GitHub keeps it) in
lower case, what is neither a word character, a space nor a hyphen dropped, spaces made hyphens; a repeated id
gets `-1`, `-2`… in document order (GitHub's html-pipeline TocFilter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any, NamedTuple

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from primer_site.lazyregex import lazy_compile
from primer_site.syntax.mathsyntax import MATH

# `{…}` at the end of a heading's text, after a space (or alone): pandoc's header attributes
_TRAILING = lazy_compile(r"(?:^|[ \t]+)\{([^{}\n]*)\}[ \t]*$")
_ATTRIBUTE = lazy_compile(
    r"""\s*(?:#([^\s"'{}]+)|\.([^\s"'{}=.#][^\s"'{}=]*)|(-)(?=\s|$)|([\w-]+)=("[^"]*"|'[^']*'|[^\s"'{}]+)|([\w+-]+))"""
)
# The classes that mean something to a heading (pandoc's): no section number, no entry in the table of contents
UNNUMBERED, UNLISTED = "unnumbered", "unlisted"


class Attributes(NamedTuple):
    """What `{#id .class key=value}` says: pandoc's Attr, plus the bare words knitr reads as a language."""

    id: str
    classes: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    words: tuple[str, ...]  # `{r}`, `{r echo=FALSE}`: knitr's chunk engine; pandoc refuses these


def read_attributes(inside: str) -> Attributes | None:
    """The attributes between the braces of `{…}`, or None if it is not an attribute list (then it is text).

    The last `#id` wins, as in pandoc; `-` is `.unnumbered`; a quoted value keeps its spaces.
    """
    ident, classes, pairs, words = "", [], [], []
    pos = 0
    while pos < len(inside):
        found = _ATTRIBUTE.match(inside, pos)
        if found is None:
            if inside[pos:].strip():
                return None
            break
        pos = found.end()
        if found.group(1):
            ident = found.group(1)
        elif found.group(2):
            classes.append(found.group(2))
        elif found.group(3):
            classes.append(UNNUMBERED)
        elif found.group(4):
            value = found.group(5)
            pairs.append((found.group(4), value[1:-1] if value[:1] in "\"'" else value))
        else:
            words.append(found.group(6))
    return Attributes(ident, tuple(classes), tuple(pairs), tuple(words))


def fence_language(info: str) -> str:
    """A code fence's language from its info string: ```` ```python ````, ```` ```{.python .numberLines} ```` (the
    first class, pandoc), ```` ```{r echo=FALSE} ```` (the first bare word, knitr); "" for none."""
    info = info.strip()
    if not info.startswith("{"):
        return info.split(maxsplit=1)[0] if info else ""
    closing = info.find("}")
    attributes = read_attributes(info[1:closing]) if closing > 0 else None
    if attributes is None:
        return ""
    return next(iter(attributes.words), "") or next(iter(attributes.classes), "")


def heading_ids_plugin(md: MarkdownIt) -> None:
    """Read heading attributes and give every heading an id (after the inline rule: ids are made from its text)."""
    md.core.ruler.after("inline", "heading_ids", _heading_ids)


def _heading_ids(state: StateCore) -> None:
    tokens = state.tokens
    headings = [(token, tokens[index + 1]) for index, token in enumerate(tokens) if token.type == "heading_open"]
    for opening, inline in headings:
        _read_heading_attributes(opening, inline, state.env)
    taken = {str(opening.attrGet("id")) for opening, _ in headings if opening.attrGet("id")}
    counts: dict[str, int] = {}
    for opening, inline in headings:
        if opening.attrGet("id"):
            continue
        base = heading_slug(heading_text(inline.children or ()))
        number = counts.get(base, 0)
        slug = base if number == 0 else f"{base}-{number}"
        while slug in taken:  # each step moves past a heading id already given: linear over the headings
            number += 1
            slug = f"{base}-{number}"
        counts[base] = number + 1
        taken.add(slug)
        opening.attrSet("id", slug)


def _read_heading_attributes(opening: Token, inline: Token, env: Any) -> None:
    children = inline.children or []
    while len(children) > 1 and children[-1].type == children[-2].type == "text":
        # markdown-it splits text at `&`, `\\`…, and joins the pieces only later (text_join): join them here
        children[-2].content += children.pop().content
    last = children[-1] if children else None
    if last is None or last.type != "text" or not last.content.endswith(("}", " ", "\t")):
        return
    found = _TRAILING.search(last.content)
    attributes = read_attributes(found.group(1)) if found else None
    if found is None or attributes is None or attributes.words:
        return  # not pandoc's attributes (bare words are knitr's, for fences): the braces are the heading's text
    last.content = last.content[: found.start()]
    if not last.content:
        children.pop()
    while children and children[-1].type == "text" and not children[-1].content.strip():
        children.pop()  # `## Title {#id}` left "Title " behind
    if children and children[-1].type == "text":
        children[-1].content = children[-1].content.rstrip(" \t")
    if attributes.id:
        opening.attrSet("id", attributes.id)
    shown = [name for name in attributes.classes if name not in (UNNUMBERED, UNLISTED)]
    if shown:
        opening.attrSet("class", " ".join(shown))
    for key, value in attributes.pairs:
        # pandoc's HTML writer: a key that is no HTML attribute is written as data-KEY (so never an event handler)
        opening.attrSet(key if key.startswith("data-") else f"data-{key}", value)
    opening.meta[UNNUMBERED] = UNNUMBERED in attributes.classes
    opening.meta[UNLISTED] = UNLISTED in attributes.classes


def heading_text(children: Sequence[Token]) -> str:
    """A heading's text, as GitHub reads it for its id and a search engine for its words: text, code, and each
    formula's TeX (without its delimiters)."""
    return "".join(
        child.content.strip() if child.type in MATH else child.content
        for child in children
        if child.type in ("text", "code_inline") or child.type in MATH
    )


def heading_slug(text: str) -> str:
    """GitHub's heading ids (what authors expect to link to), without dangling dashes; "section" if nothing is left."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-").strip("-")
    return slug or "section"


def inline_html(md: MarkdownIt, children: Sequence[Token], env: Any, links: bool = True) -> str:
    """Inline tokens as HTML for a place apart from the body (a summary, the table of contents, a reference's
    text): without footnote references, whose targets are not there, and, unless `links`, without the links'
    own tags (their text kept), since the place is itself a link."""
    kept = [
        child
        for child in children
        if child.type != "footnote_ref" and (links or child.type not in ("link_open", "link_close"))
    ]
    return str(md.renderer.render(kept, md.options, env))


def numbered_html(number: str, html: str) -> str:
    """A heading's HTML with its section number before it."""
    return f'<span class="secno">{escape(number)}</span> {html}' if number else html
