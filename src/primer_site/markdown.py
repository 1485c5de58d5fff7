"""Markdown body → HTML, headings, links to other sources, formulas, and whether it has math.

The stage's public face. The Markdown read is set up in markdown_parser, the math syntax in mathsyntax (and
mathtables, for table rows), equation numbering and link analysis in references: those five are the only
modules that import markdown-it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import citations, figures, headings, mathsyntax, mathtables, rawhtml, references, theorems
from . import markdown_parser as _parser_module
from .citations import Citation
from .errors import Diagnostic, SiteError
from .headings import UNLISTED, heading_text, inline_html, numbered_html
from .markdown_parser import ADMONITIONS, highlight_css, markdown_parser, title_parser
from .mathsyntax import DISPLAY_MATH, Formula, math_tokens
from .model import Heading, Link
from .references import AssetRef, Label, SourceLink, collect_links, number_labels
from .theoremkinds import DEFAULT as DEFAULT_THEOREMS
from .theoremkinds import TheoremSettings
from .workers import start_worker

__all__ = [
    "ADMONITIONS",
    "LINK_PLACEHOLDER",
    "RENDERER_SOURCES",
    "AssetRef",
    "BodySource",
    "Citation",
    "Formula",
    "Label",
    "RenderedBody",
    "SourceLink",
    "formulas_in",
    "highlight_css",
    "markdown_parser",
    "plain_title",
    "render_bodies",
    "render_body",
    "render_inline",
    "render_title",
    "title_has_math",
]  # fmt: skip

# Placeholder for a link to another source file, resolved once every post's URL is known.
# markdown-it turns NUL in the source into U+FFFD, so rendered HTML can never contain one.
LINK_PLACEHOLDER = re.compile("\x00L(\\d+)\x00")

_ID = re.compile(r'\bid="([^"]*)"')

# The modules the renderer is made of: a change to any of them changes the HTML (the body cache hashes them).
RENDERER_SOURCES = tuple(
    Path(str(m.__file__))
    for m in (
        mathsyntax,
        mathtables,
        figures,
        citations,
        theorems,
        rawhtml,
        headings,
        _parser_module,
        references,
        sys.modules[__name__],
    )
)


@dataclass(frozen=True)
class RenderedBody:
    html: str
    headings: tuple[Heading, ...]
    ids: frozenset[str]
    has_math: bool
    word_count: int
    first_paragraph: str
    links: tuple[SourceLink, ...]  # to other sources, resolved by the assemble stage
    others: tuple[Link, ...] = ()  # every other link and image: for `primer-site check`
    formulas: tuple[Formula, ...] = ()  # for the build-time math check (left out of cached bodies unless asked)
    stray_dollars: tuple[tuple[int, int], ...] = ()  # (line, column) of a `$` that looks like unclosed math
    labels: tuple[Label, ...] = ()  # labelled equations and headings, for references to them
    errors: tuple[Diagnostic, ...] = ()  # e.g. a label used twice
    display_equations: int = 0  # for reading time
    assets: tuple[AssetRef, ...] = ()  # files beside the post it points at: their URLs are placeholders in `html`
    citations: tuple[Citation, ...] = ()  # placeholders in `html`, filled by the site stage (citeformat.py)

    def label(self, fragment: str) -> Label | None:
        return next((label for label in self.labels if label.id == fragment), None)


def render_body(
    body: str,
    source: str,
    body_first_line: int,
    raw_html: bool = True,
    chapter: str = "",
    number_sections: bool = False,
    theorem_settings: TheoremSettings = DEFAULT_THEOREMS,
) -> RenderedBody:
    """Render one post body; `source` is its site-relative path, for resolving links.

    Labelled equations (and, with `number_sections`, h2/h3 headings) are numbered within the body, after
    `chapter`: "10.3" is the third labelled equation of chapter 10. Lines and columns in the result are
    1-based, in the source file (`body_first_line` is the file line of the body's first line).
    Theorem-like blocks are read and counted as `theorem_settings` say.
    """
    md = markdown_parser(raw_html)
    env: dict[str, Any] = {"theorems": theorem_settings, "citations": []}
    tokens = md.parse(body, env)
    errors: list[Diagnostic] = list(_control_characters(body, source, body_first_line))
    errors.extend(
        Diagnostic(source, body_first_line + line, 0, "error", message)
        for line, message in (*env.get("figure_errors", ()), *env.get("heading_errors", ()))
    )
    errors.extend(
        # `blank`: the body line of the blank line a message names ("{blank}"), None if it names none
        Diagnostic(
            source,
            body_first_line + line,
            column,
            "error",
            message if blank is None else message.format(blank=body_first_line + blank),
        )
        for line, column, message, blank in env.get("math_errors", ())
    )
    labels = number_labels(md, tokens, env, chapter, number_sections, source, body_first_line, errors)
    links, others, assets = collect_links(tokens, source, body_first_line, labels, errors)
    html = md.renderer.render(tokens, md.options, env)
    formulas = tuple(_formulas(tokens, body_first_line))
    return RenderedBody(
        html=html,
        headings=_headings(md, tokens, env),
        ids=frozenset(_ID.findall(html)),
        has_math=bool(formulas),
        word_count=_word_count(tokens),
        first_paragraph=_first_paragraph(md, tokens, env),
        links=tuple(links),
        others=tuple(others),
        formulas=formulas,
        stray_dollars=tuple((body_first_line + line, column) for line, column in env.get("stray_dollars", ())),
        labels=tuple(labels.values()),
        errors=tuple(errors),
        display_equations=sum(1 for f in formulas if f.display),
        assets=tuple(assets),
        citations=tuple(env["citations"]),
    )


@lru_cache(maxsize=65536)
def render_title(text: str) -> str:
    """A title (text, not Markdown) as HTML: escaped, its `$…$` and `\\(…\\)` math as math elements."""
    return "".join(
        f'<span class="math inline">{escape(t.content.strip(), quote=False)}</span>'
        if t.type.startswith("math")
        else escape(t.content, quote=False)
        for t in _title_tokens(text)
    )


def plain_title(text: str) -> str:
    """A title where only text can go (<title>, feeds, social cards): the TeX kept, its delimiters dropped."""
    return "".join(t.content.strip() if t.type.startswith("math") else t.content for t in _title_tokens(text))


def title_has_math(text: str) -> bool:
    return any(t.type.startswith("math") for t in _title_tokens(text))


def formulas_in(text: str, title: bool = False) -> list[tuple[str, bool]]:
    """(TeX, display) of each formula in a front-matter value: a title, or an (inline Markdown) summary."""
    if "$" not in text and "\\" not in text:
        return []  # most summaries: no need to parse them
    tokens = _title_tokens(text) if title else markdown_parser(True).parseInline(text, {})
    return [
        (t.content.strip(), t.type in DISPLAY_MATH and not title)  # render_title makes all of it inline
        for t in math_tokens(tokens)
    ]


@lru_cache(maxsize=65536)  # above the number of posts: a cache smaller than the titles cycling through it always misses
def _title_tokens(text: str) -> tuple[Token, ...]:
    tokens = title_parser().parseInline(text, {})
    return tuple(tokens[0].children or ()) if tokens else ()


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


def _walk(tokens: Sequence[Token]) -> Any:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _headings(md: MarkdownIt, tokens: Sequence[Token], env: Any) -> tuple[Heading, ...]:
    """The headings for the table of contents (all but `{.unlisted}` ones): their HTML without links, since each
    entry is itself a link."""
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id") and not token.meta.get(UNLISTED):
            children = tokens[index + 1].children or []
            html = numbered_html(token.meta.get("number", ""), inline_html(md, children, env, links=False))
            found.append(Heading(int(token.tag[1]), str(token.attrGet("id")), heading_text(children), html))
    return tuple(found)


def _word_count(tokens: Sequence[Token]) -> int:
    words = 0
    for token in _walk(tokens):
        if token.type in ("text", "code_inline", "fence", "code_block"):
            words += len(token.content.split())
    return words


def _first_paragraph(md: MarkdownIt, tokens: Sequence[Token], env: Any) -> str:
    """The inline HTML of the first top-level paragraph (a post's default summary)."""
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0:
            return inline_html(md, tokens[index + 1].children or [], env)
    return ""


def _formulas(tokens: Sequence[Token], first_line: int) -> list[Formula]:
    found = []
    for token in math_tokens(tokens):
        line, column = token.meta.get("position", (0, 0))
        found.append(Formula(token.content.strip(), token.type in DISPLAY_MATH, first_line + line, column))
    return found


# What XML 1.0 cannot hold (its Char production, section 2.2): C0 controls but tab, LF and CR, and U+FFFE/U+FFFF.
# A body goes into the feed, so one of these would make feed.xml ill-formed. NUL is left out: markdown-it makes
# it U+FFFD, as CommonMark says.
_NOT_XML = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _control_characters(body: str, source: str, first_line: int) -> list[Diagnostic]:
    """A located error for each character of the body that no XML document (the feed) may contain."""
    found = []
    line, line_start, counted = 0, 0, 0  # lines counted up to body[counted]: one pass over the body in all
    for match in _NOT_XML.finditer(body):
        line += body.count("\n", counted, match.start())
        line_start = body.rfind("\n", counted, match.start()) + 1 or line_start
        counted = match.start()
        column = match.start() - line_start + 1
        code = f"U+{ord(match.group()):04X}"
        message = (
            f"control character {code} (invisible; text pasted from a PDF often has one): the feed's XML cannot "
            "hold it, so delete it"
        )
        found.append(Diagnostic(source, first_line + line, column, "error", message))
    return found


@dataclass(frozen=True)
class BodySource:
    """What render_body needs for one file; small, so it crosses to worker processes cheaply."""

    body: str
    source: str
    first_line: int
    chapter: str = ""  # the prefix of its equation (and section) numbers
    number_sections: bool = False
    theorems: TheoremSettings = DEFAULT_THEOREMS  # the kinds of theorem-like block and their counters


def render_bodies(items: Sequence[BodySource], raw_html: bool, jobs: int) -> list[RenderedBody | SiteError]:
    """Render many bodies, on `jobs` processes when there are enough to repay starting them."""
    if jobs <= 1 or len(items) < 64:
        return [_render_or_error(item, raw_html) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    chunk = max(1, len(items) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=start_worker) as pool:
        return list(pool.map(_render_or_error, items, [raw_html] * len(items), chunksize=chunk))


def _render_or_error(item: BodySource, raw_html: bool) -> RenderedBody | SiteError:
    try:
        return render_body(
            item.body, item.source, item.first_line, raw_html, item.chapter, item.number_sections, item.theorems
        )
    except RecursionError:
        return SiteError("Markdown nested too deeply to render (lists or quotes)", item.source, item.first_line)
