"""Markdown body → HTML, headings, links to other sources, and whether it has math.

The only module that imports markdown-it-py and Pygments' HTML formatter.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from mdit_py_plugins.texmath import texmath_plugin
from mdit_py_plugins.texmath.index import make_inline_func
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .errors import SiteError
from .model import Heading, Link

ADMONITIONS = ("note", "tip", "warning", "important", "caution")

# Placeholder for a link to another source file, resolved once every post's URL is known.
# markdown-it turns NUL in the source into U+FFFD, so rendered HTML can never contain one.
LINK_PLACEHOLDER = re.compile("\x00L(\\d+)\x00")

_INLINE_MATH = {"math_inline"}
_DISPLAY_MATH = {"math_inline_double", "math_block", "math_block_label", "math_block_eqno", "amsmath", "math_display"}
_DISPLAY_IN_PARAGRAPH = {"math_inline_double", "math_display"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ID = re.compile(r'\bid="([^"]*)"')


@dataclass(frozen=True)
class SourceLink:
    """A link in the body to another source file: `[text](ch03.md#part)`."""

    target: str  # site-relative source path, e.g. "content/primer-ii/ch03.md"
    fragment: str
    line: int
    written: str  # the href as the author wrote it


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


def render_body(body: str, source: str, body_first_line: int, raw_html: bool = True) -> RenderedBody:
    """Render one post body; `source` is its site-relative path, for resolving links."""
    md = markdown_parser(raw_html)
    env: dict[str, Any] = {}
    tokens = md.parse(body, env)
    links, others = _collect_links(tokens, source, body_first_line)
    html = md.renderer.render(tokens, md.options, env)
    return RenderedBody(
        html=html,
        headings=_headings(md, tokens, env),
        ids=frozenset(_ID.findall(html)),
        has_math=any(t.type in _INLINE_MATH or t.type in _DISPLAY_MATH for t in _walk(tokens)),
        word_count=_word_count(tokens),
        first_paragraph=_first_paragraph(md, tokens, env),
        links=tuple(links),
        others=tuple(others),
    )


def render_inline(text: str, raw_html: bool = True) -> tuple[str, bool]:
    """A one-line text (a summary) → inline HTML, and whether it has math."""
    md = markdown_parser(raw_html)
    tokens = md.parseInline(text, {})
    has_math = any(t.type in _INLINE_MATH or t.type in _DISPLAY_MATH for t in _walk(tokens))
    return md.renderer.render(tokens, md.options, {}), has_math


def highlight_css(light: str, dark: str) -> str:
    """Pygments CSS for code blocks: `light` by default, `dark` under prefers-color-scheme."""
    light_css = HtmlFormatter(style=light).get_style_defs(".highlight")
    dark_css = HtmlFormatter(style=dark).get_style_defs(".highlight")
    indented = "\n".join("  " + line for line in dark_css.splitlines())
    return f"{light_css}\n@media (prefers-color-scheme: dark) {{\n{indented}\n}}\n"


@lru_cache(maxsize=2)
def markdown_parser(raw_html: bool) -> MarkdownIt:
    """One configured parser per process: building it costs more than rendering a post."""
    md = MarkdownIt("commonmark", {"html": raw_html, "typographer": False, "highlight": _highlight_code})
    md.enable(["table", "strikethrough"])
    # Math first, so that TeX is never read as emphasis, escapes or links.
    md.use(texmath_plugin, delimiters="brackets")
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, allow_labels=True)
    md.inline.ruler.before(
        "escape",
        "math_display",
        make_inline_func(
            {"name": "math_display", "rex": re.compile(r"^\\\[(.+?)\\\]", re.DOTALL), "tmpl": "", "tag": "\\["}
        ),
    )
    md.use(amsmath_plugin)
    md.use(footnote_plugin)
    md.use(deflist_plugin)
    md.use(tasklists_plugin, label=True)
    md.use(anchors_plugin, min_level=1, max_level=6, permalink=False, slug_func=_heading_slug)
    for name in ADMONITIONS:
        md.use(container_plugin, name, render=_render_admonition)
    for kind in _INLINE_MATH:
        md.add_render_rule(kind, _render_inline_math)
    for kind in _DISPLAY_MATH:
        md.add_render_rule(kind, _render_display_math)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("table_open", _render_table_open)
    return md


def _render_inline_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<span class="math inline">{escape(tokens[idx].content, quote=False)}</span>'


def _render_display_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    tex = escape(token.content.strip(), quote=False)
    if token.type in _DISPLAY_IN_PARAGRAPH:
        # inside a paragraph a <div> is invalid HTML; CSS makes the span a block
        return f'<span class="math display">{tex}</span>'
    return f'<div class="math display">{tex}</div>\n'


def _render_heading_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    opening = tokens[idx - 2]
    anchor = opening.attrGet("id")
    tag = tokens[idx].tag
    if not anchor:
        return f"</{tag}>\n"
    return f' <a class="anchor" href="#{escape(str(anchor))}" aria-label="Link to this section">#</a></{tag}>\n'


def _render_table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # a wide table scrolls sideways in its own box: keyboard users must be able to reach it, as with code
    tokens[idx].attrSet("tabindex", "0")
    return str(self.renderToken(tokens, idx, options, env))


def _render_admonition(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting != 1:
        return "</aside>\n"
    kind, _, title = token.info.strip().partition(" ")
    heading = escape(title.strip() or kind.capitalize())
    return f'<aside class="admonition {kind}" role="note">\n<p class="admonition-title">{heading}</p>\n'


def _heading_slug(text: str) -> str:
    """GitHub's heading ids (what authors expect to link to), without dangling dashes."""
    slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-").strip("-")
    return slug or "section"


_formatter = HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def _lexer(language: str) -> Any:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _highlight_code(code: str, language: str, attrs: str) -> str:
    """Highlighted `<pre>` for a known language; escaped plain code for any other."""
    language = language.strip().lower()
    lexer = _lexer(language) if language else None
    label = f' class="language-{escape(language)}"' if language else ""
    inner = highlight(code, lexer, _formatter) if lexer is not None else escape(code, quote=False)
    # tabindex: a code block that scrolls sideways must be reachable by keyboard
    return f'<pre class="highlight" tabindex="0"><code{label}>{inner}</code></pre>\n'


def _walk(tokens: Sequence[Token]) -> Any:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _collect_links(tokens: Sequence[Token], source: str, body_first_line: int) -> tuple[list[SourceLink], list[Link]]:
    """Every link and image with its line; hrefs to other .md files are replaced with placeholders."""
    sources: list[SourceLink] = []
    others: list[Link] = []
    base = posixpath.dirname(source)
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = body_first_line + (token.map[0] if token.map else 0)
        for child in token.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" or child.type.startswith("math"):
                line += child.content.count("\n")
            elif child.type == "image":
                others.append(Link(str(child.attrGet("src") or ""), line))
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                parts = urlsplit(href)
                if _SCHEME.match(href) or href.startswith(("/", "#")) or not parts.path.endswith(".md"):
                    others.append(Link(href, line))
                    continue
                target = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
                sources.append(SourceLink(target, unquote(parts.fragment), line, href))
                child.attrSet("href", f"\x00L{len(sources) - 1}\x00")
    return sources, others


def _headings(md: MarkdownIt, tokens: Sequence[Token], env: Any) -> tuple[Heading, ...]:
    found = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            inline = tokens[index + 1]
            html = md.renderer.render(inline.children or [], md.options, env)
            text = "".join(
                c.content
                for c in (inline.children or [])
                if c.type in ("text", "code_inline") or c.type.startswith("math")
            )
            found.append(Heading(int(token.tag[1]), str(token.attrGet("id")), text, html))
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
            return md.renderer.render(tokens[index + 1].children or [], md.options, env)
    return ""


@dataclass(frozen=True)
class BodySource:
    """What render_body needs for one file; small, so it crosses to worker processes cheaply."""

    body: str
    source: str
    first_line: int


def render_bodies(items: Sequence[BodySource], raw_html: bool, jobs: int) -> list[RenderedBody | SiteError]:
    """Render many bodies, on `jobs` processes when there are enough to repay starting them."""
    if jobs <= 1 or len(items) < 64:
        return [_render_or_error(item, raw_html) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    chunk = max(1, len(items) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(_render_or_error, items, [raw_html] * len(items), chunksize=chunk))


def _render_or_error(item: BodySource, raw_html: bool) -> RenderedBody | SiteError:
    try:
        return render_body(item.body, item.source, item.first_line, raw_html)
    except RecursionError:
        return SiteError("Markdown nested too deeply to render (lists or quotes)", item.source, item.first_line)
