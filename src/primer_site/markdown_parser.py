"""The configured markdown-it parser: which Markdown primer-site reads, and how each token becomes HTML.

CommonMark plus tables, strikethrough, footnotes, task lists, definition lists, admonitions (`::: note`),
GitHub-style heading ids, math (mathsyntax), figures and table captions (figures), and code highlighted by
Pygments at build time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .figures import figures_plugin
from .mathsyntax import DISPLAY_IN_PARAGRAPH, DISPLAY_MATH, INLINE_MATH, math_inline_plugin, math_plugin
from .mathtables import math_table_plugin
from .theorems import theorems_plugin

ADMONITIONS = ("note", "tip", "warning", "important", "caution")


@lru_cache(maxsize=2)
def markdown_parser(raw_html: bool) -> MarkdownIt:
    """One configured parser per process: building it costs more than rendering a post."""
    md = MarkdownIt("commonmark", {"html": raw_html, "typographer": False, "highlight": _highlight_code})
    md.enable(["table", "strikethrough"])
    # Math first, so that TeX is never read as emphasis, escapes or links.
    md.use(math_plugin)
    md.use(math_table_plugin)
    md.use(footnote_plugin)
    md.use(deflist_plugin)
    md.use(tasklists_plugin, label=True)
    md.use(anchors_plugin, min_level=1, max_level=6, permalink=False, slug_func=heading_slug)
    md.use(figures_plugin)
    for name in ADMONITIONS:
        md.use(container_plugin, name, render=_render_admonition)
    md.use(theorems_plugin, ADMONITIONS)  # after the admonitions: every other `::: word`
    for kind in INLINE_MATH:
        md.add_render_rule(kind, _render_inline_math)
    for kind in DISPLAY_MATH:
        md.add_render_rule(kind, _render_display_math)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("table_open", _render_table_open)
    return md


@lru_cache(maxsize=1)
def title_parser() -> MarkdownIt:
    """Math and backslash escapes only: the rest of a title is text, whatever Markdown it looks like."""
    md = MarkdownIt("zero").enable("escape")
    md.use(math_inline_plugin)
    return md


def _render_inline_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<span class="math inline">{escape(tokens[idx].content.strip(), quote=False)}</span>'


def _render_display_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    tex = escape(token.content.strip(), quote=False)
    # inside a paragraph a <div> is invalid HTML; CSS makes the span a block
    tag = "span" if token.type in DISPLAY_IN_PARAGRAPH else "div"
    math = f'<{tag} class="math display">{tex}</{tag}>'
    if token.meta.get("number"):
        # the number sits outside the element KaTeX replaces, at the right margin; a link to itself (its address)
        anchor = escape(token.meta["label"])
        number = f'<a class="eqno" href="#{anchor}">({escape(token.meta["number"])})</a>'
        math = f'<{tag} class="equation" id="{anchor}">{math}{number}</{tag}>'
    elif token.meta.get("rows"):
        # an align with a label on each row: KaTeX shows the numbers (as \tag); each label an anchor on it
        first, *others = (escape(label) for label, _ in token.meta["rows"])
        anchors = "".join(f'<span class="row-anchor" id="{label}"></span>' for label in others)
        math = f'<{tag} class="equation equation-rows" id="{first}">{anchors}{math}</{tag}>'
    return math if tag == "span" else math + "\n"


def _render_heading_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    opening = str(self.renderToken(tokens, idx, options, env))
    number = tokens[idx].meta.get("number") if tokens[idx].meta else None
    return f'{opening}<span class="secno">{escape(number)}</span> ' if number else opening


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


def heading_slug(text: str) -> str:
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


def highlight_css(light: str, dark: str) -> str:
    """Pygments CSS for code blocks: `light` by default, `dark` under prefers-color-scheme."""
    light_css = HtmlFormatter(style=light).get_style_defs(".highlight")
    dark_css = HtmlFormatter(style=dark).get_style_defs(".highlight")
    indented = "\n".join("  " + line for line in dark_css.splitlines())
    return f"{light_css}\n@media (prefers-color-scheme: dark) {{\n{indented}\n}}\n"
