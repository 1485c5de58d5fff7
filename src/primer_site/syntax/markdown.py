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
from html import escape
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from primer_site.errors import Diagnostic, SiteError
from primer_site.model import Heading, Link
from primer_site.sources.theoremkinds import DEFAULT as DEFAULT_THEOREMS
from primer_site.sources.theoremkinds import TheoremSettings
from primer_site.syntax import (
    bodylinks,
    citations,
    figures,
    headings,
    inline,
    katexnumbering,
    lexers,
    mathscan,
    mathsyntax,
    mathtables,
    rawhtml,
    references,
    theorems,
)
from primer_site.syntax import markdown_parser as _parser_module
from primer_site.syntax.bodylinks import AssetRef, SourceLink, collect_links
from primer_site.syntax.citations import Citation
from primer_site.syntax.headings import UNLISTED, heading_text, inline_html, numbered_html
from primer_site.syntax.lexers import pygments_version
from primer_site.syntax.markdown_parser import (
    ADMONITIONS,
    CodeHighlights,
    highlight_css,
    highlight_salt,
    markdown_parser,
)
from primer_site.syntax.mathsyntax import DISPLAY_MATH, Formula, math_tokens
from primer_site.syntax.references import Label, number_labels
from primer_site.workers import heap_frozen, start_worker

__all__ = [
    "ADMONITIONS",
    "LINK_PLACEHOLDER",
    "RENDERER_SOURCES",
    "AssetRef",
    "BodySource",
    "Citation",
    "CodeHighlights",
    "Formula",
    "Label",
    "RenderedBody",
    "SourceLink",
    "highlight_css",
    "highlight_salt",
    "markdown_parser",
    "pygments_version",
    "render_bodies",
    "render_body",
]  # fmt: skip

# Placeholder for a link to another source file, resolved once every post's URL is known.
# markdown-it turns NUL in the source into U+FFFD, so rendered HTML can never contain one.
LINK_PLACEHOLDER = re.compile("\x00L(\\d+)\x00")

_ID = re.compile(r'\bid="([^"]*)"')

# The modules the renderer is made of: a change to any of them changes the HTML (the body cache hashes them).
RENDERER_SOURCES = tuple(
    Path(str(m.__file__))
    for m in (
        mathscan,
        mathsyntax,
        mathtables,
        figures,
        citations,
        theorems,
        rawhtml,
        headings,
        lexers,
        inline,
        _parser_module,
        katexnumbering,
        references,
        bodylinks,
        sys.modules[__name__],
    )
)


@dataclass(frozen=True)
class RenderedBody:
    """A post's body as HTML, with what rendering found in it (headings, ids, formulas...)."""

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
    highlights: CodeHighlights | None = None,
) -> RenderedBody:
    """Render one post body; `source` is its site-relative path, for resolving links.

    Labelled equations (and, with `number_sections`, h2/h3 headings) are numbered within the body, after
    `chapter`: "10.3" is the third labelled equation of chapter 10. Lines and columns in the result are
    1-based, in the source file (`body_first_line` is the file line of the body's first line).
    Theorem-like blocks are read and counted as `theorem_settings` say. Code blocks come from `highlights`
    where it keeps them (and are added to it), else are highlighted.
    """
    md = markdown_parser(raw_html)
    env: dict[str, Any] = {"theorems": theorem_settings, "citations": []}
    tokens = md.parse(body, env)
    errors: list[Diagnostic] = list(_control_characters(body, source, body_first_line))
    errors.extend(
        Diagnostic(source, body_first_line + line, 0, "error", message)
        for line, message in env.get("figure_errors", ())
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
    options = md.options if highlights is None else highlights.options(md)
    html = md.renderer.render(tokens, options, env)
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
            label = token.attrGet("data-toc-label")  # MkDocs' label for the contents (attr_list)
            shown = escape(str(label), quote=False) if label else inline_html(md, children, env, links=False)
            html = numbered_html(token.meta.get("number", ""), shown)
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
        # the same TeX recurs across a site's bodies: one string for each (shared when bodies come back pickled)
        tex = sys.intern(token.content.strip())
        found.append(Formula(tex, token.type in DISPLAY_MATH, first_line + line, column))
    return found


# What XML 1.0 cannot hold (its Char production, section 2.2): C0 controls but tab, LF and CR, and U+FFFE/U+FFFF.
# A body goes into the feed, so one of these would make feed.xml ill-formed. NUL is left out: markdown-it makes
# it U+FFFD, as CommonMark says.
_NOT_XML = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _control_characters(body: str, source: str, first_line: int) -> list[Diagnostic]:
    """One located error, at the first, for the characters of the body that no XML document (the feed) may hold:
    the author removes them all at once, and a terminal's colour codes can be hundreds."""
    found = _NOT_XML.search(body)
    if found is None:
        return []
    lines: list[int] = []  # body lines (0-based) that have one: one pass over the body
    line, counted = 0, 0
    for match in _NOT_XML.finditer(body):
        line += body.count("\n", counted, match.start())
        counted = match.start()
        if not lines or lines[-1] != line:
            lines.append(line)
    column = found.start() - (body.rfind("\n", 0, found.start()) + 1) + 1
    code = ord(found.group())
    what = (
        "U+001B (ESC), the start of a terminal's colour code such as ESC[0m"
        if code == 0x1B
        else f"U+{code:04X} (invisible; text pasted from a PDF often has one)"
    )
    more = ""
    if len(lines) > 1:
        shown = ", ".join(str(first_line + n) for n in lines[1:6]) + (", …" if len(lines) > 6 else "")
        more = f", and more on {len(lines) - 1} other line{'s' if len(lines) > 2 else ''} ({shown})"
    message = f"control character {what}{more}: the feed's XML cannot hold {'them' if more else 'it'}, so delete {'them' if more else 'it'}"
    return [Diagnostic(source, first_line + lines[0], column, "error", message)]


@dataclass(frozen=True)
class BodySource:
    """What render_body needs for one file; small, so it crosses to worker processes cheaply."""

    body: str
    source: str
    first_line: int
    chapter: str = ""  # the prefix of its equation (and section) numbers
    number_sections: bool = False
    theorems: TheoremSettings = DEFAULT_THEOREMS  # the kinds of theorem-like block and their counters


def render_bodies(
    items: Sequence[BodySource], raw_html: bool, jobs: int, highlights: CodeHighlights | None = None
) -> list[RenderedBody | SiteError]:
    """Render many bodies, on `jobs` processes when there are enough to repay starting them. Code blocks come
    from `highlights` where it keeps them; those highlighted now are added to its `made` (worker processes look up
    none: they start from an empty CodeHighlights and send back what they made)."""
    if jobs <= 1 or len(items) < 64:
        return [_render_or_error(item, raw_html, highlights) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    chunk = max(1, len(items) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=start_worker) as pool:
        with heap_frozen():  # every worker is forked at the first submit, which map makes
            if highlights is None:
                bodies = pool.map(_render_or_error, items, [raw_html] * len(items), chunksize=chunk)
            else:
                made = pool.map(_render_highlighting, items, [raw_html] * len(items), chunksize=chunk)
        if highlights is None:
            return list(bodies)
        results: list[RenderedBody | SiteError] = []
        for body, blocks, count in made:
            results.append(body)
            highlights.add(blocks, count)
        return results


def _render_or_error(
    item: BodySource, raw_html: bool, highlights: CodeHighlights | None = None
) -> RenderedBody | SiteError:
    try:
        return render_body(
            item.body,
            item.source,
            item.first_line,
            raw_html,
            item.chapter,
            item.number_sections,
            item.theorems,
            highlights,
        )
    except RecursionError:
        return SiteError("Markdown nested too deeply to render (lists or quotes)", item.source, item.first_line)


def _render_highlighting(item: BodySource, raw_html: bool) -> tuple[RenderedBody | SiteError, dict[str, str], int]:
    """In a worker: the body, the code blocks it highlighted (key → `<pre>`) and how many."""
    highlights = CodeHighlights()
    return _render_or_error(item, raw_html, highlights), highlights.made, highlights.highlighted
