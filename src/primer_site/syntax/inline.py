"""A front-matter value's inline syntax, read once: a title (text whose only syntax is its math) and a summary
(one line of inline Markdown). Every place that shows a title (pages, feeds, the EPUB, citations, the math check)
takes it from parse_title, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape

from primer_site.syntax.markdown_parser import markdown_parser, title_parser
from primer_site.syntax.mathsyntax import DISPLAY_MATH, math_tokens

__all__ = [
    "Title",
    "formulas_in",
    "parse_title",
    "plain_title",
    "remember_inline",
    "render_inline",
    "render_title",
    "title_has_math",
]


@dataclass(frozen=True)
class Title:
    """A title (text, not Markdown: only its math is read) rendered once, for every place that shows it."""

    html: str  # escaped, its `$…$` and `\\(…\\)` math as math elements (all of it inline)
    text: str  # where only text can go (<title>, feeds, social cards): the TeX kept, its delimiters dropped
    formulas: tuple[str, ...]  # the TeX of each formula, for the check


@lru_cache(maxsize=65536)  # above the number of posts: a cache smaller than the titles cycling through it always misses
def parse_title(text: str) -> Title:
    """The one reading of a title's inline syntax (title_parser): its HTML, its text and its formulas."""
    parsed = title_parser().parseInline(text, {})
    tokens = tuple(parsed[0].children or ()) if parsed else ()
    html, plain, formulas = [], [], []
    for t in tokens:
        if t.type.startswith("math"):
            tex = t.content.strip()
            html.append(f'<span class="math inline">{escape(tex, quote=False)}</span>')
            plain.append(tex)
            formulas.append(tex)
        else:
            html.append(escape(t.content, quote=False))
            plain.append(t.content)
    return Title("".join(html), "".join(plain), tuple(formulas))


def render_title(text: str) -> str:
    """A title as HTML (parse_title)."""
    return parse_title(text).html


def plain_title(text: str) -> str:
    """A title as text (parse_title)."""
    return parse_title(text).text


def title_has_math(text: str) -> bool:
    return bool(parse_title(text).formulas)


def formulas_in(text: str, title: bool = False) -> list[tuple[str, bool]]:
    """(TeX, display) of each formula in a front-matter value: a title, or an (inline Markdown) summary."""
    if title:
        return [(tex, False) for tex in parse_title(text).formulas]  # a title's math is all inline
    if "$" not in text and "\\" not in text:
        return []  # most summaries: no need to parse them
    tokens = markdown_parser(True).parseInline(text, {})
    return [(t.content.strip(), t.type in DISPLAY_MATH) for t in math_tokens(tokens)]


def render_inline(text: str, raw_html: bool = True) -> tuple[str, bool]:
    """A one-line text (a summary) → inline HTML, and whether it has math."""
    known = _INLINE.get((text, raw_html))
    if known is None:
        known = _INLINE[(text, raw_html)] = _render_inline(text, raw_html)
    return known


def remember_inline(text: str, raw_html: bool, rendered: tuple[str, bool]) -> None:
    """What render_inline(text, raw_html) gives, as kept by an earlier process (the document cache)."""
    _INLINE[(text, raw_html)] = rendered


# render_inline's answers in this process: pure functions of their text, and few (one per summary)
_INLINE: dict[tuple[str, bool], tuple[str, bool]] = {}


def _render_inline(text: str, raw_html: bool) -> tuple[str, bool]:
    md = markdown_parser(raw_html)
    tokens = md.parseInline(text, {})
    has_math = any(True for _ in math_tokens(tokens))
    return md.renderer.render(tokens, md.options, {}), has_math
