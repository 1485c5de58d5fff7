"""Markdown body → HTML, headings, links to other sources, and whether it has math.

The only module that imports markdown-it-py and Pygments' HTML formatter.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
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

from .errors import Diagnostic, SiteError
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
_TEX_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
# A `$` Markdown left as text although what follows reads as TeX: math whose closing `$` is missing.
_STRAY_DOLLAR = re.compile(r"(?<![$\\])\${1,2}(?=[^\s\d$])(\S*)")
_TEX_SIGNS = re.compile(r"[\\^{}]")  # not "_": $HOME_DIR in prose is no formula
_BLOCK_OPENERS = ("$$", "\\[", "\\begin")
_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class SourceLink:
    """A link in the body to another source file: `[text](ch03.md#part)`."""

    target: str  # site-relative source path, e.g. "content/primer-ii/ch03.md"
    fragment: str
    line: int
    written: str  # the href as the author wrote it


@dataclass(frozen=True)
class Formula:
    """One formula as KaTeX receives it, and where it starts in the Markdown source (1-based line, column)."""

    tex: str
    display: bool
    line: int
    column: int


@dataclass(frozen=True)
class Label:
    """What a reference can point at: a labelled equation or a heading, with its number ("10.3", or "")."""

    id: str
    kind: str  # "equation" or "section"
    number: str
    html: str  # a heading's inline HTML; "" for an equation

    @property
    def reference_html(self) -> str:
        """The text of an empty link to it: `[](#eq:kl)` → "Eq. (10.3)", a heading → "10.2 Its title"."""
        if self.kind == "equation":
            return f"Eq. ({self.number})"
        return f"{self.number} {self.html}" if self.number else self.html


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

    def label(self, fragment: str) -> Label | None:
        return next((label for label in self.labels if label.id == fragment), None)


def render_body(
    body: str,
    source: str,
    body_first_line: int,
    raw_html: bool = True,
    chapter: str = "",
    number_sections: bool = False,
) -> RenderedBody:
    """Render one post body; `source` is its site-relative path, for resolving links.

    Labelled equations (and, with `number_sections`, h2/h3 headings) are numbered within the body, after
    `chapter`: "10.3" is the third labelled equation of chapter 10.
    """
    md = markdown_parser(raw_html)
    env: dict[str, Any] = {}
    tokens = md.parse(body, env)
    errors: list[Diagnostic] = []
    labels = _number(md, tokens, env, chapter, number_sections, source, body_first_line, errors)
    links, others = _collect_links(tokens, source, body_first_line, labels)
    html = md.renderer.render(tokens, md.options, env)
    formulas = tuple(_formulas(tokens, body_first_line))
    return RenderedBody(
        html=html,
        headings=_headings(md, tokens, env),
        ids=frozenset(_ID.findall(html)),
        has_math=any(t.type in _INLINE_MATH or t.type in _DISPLAY_MATH for t in _walk(tokens)),
        word_count=_word_count(tokens),
        first_paragraph=_first_paragraph(md, tokens, env),
        links=tuple(links),
        others=tuple(others),
        formulas=formulas,
        stray_dollars=tuple((body_first_line + line, column) for line, column in env.get("stray_dollars", ())),
        labels=tuple(labels.values()),
        errors=tuple(errors),
        display_equations=sum(1 for f in formulas if f.display),
    )


@lru_cache(maxsize=65536)
def render_title(text: str) -> str:
    """A title (text, not Markdown) as HTML: escaped, its `$…$` and `\\(…\\)` math as math elements."""
    return "".join(
        f'<span class="math inline">{escape(t.content, quote=False)}</span>'
        if t.type.startswith("math")
        else escape(t.content, quote=False)
        for t in _title_tokens(text)
    )


def plain_title(text: str) -> str:
    """A title where only text can go (<title>, feeds, social cards): the TeX kept, its delimiters dropped."""
    return "".join(t.content for t in _title_tokens(text))


def title_has_math(text: str) -> bool:
    return any(t.type.startswith("math") for t in _title_tokens(text))


def formulas_in(text: str, title: bool = False) -> list[tuple[str, bool]]:
    """(TeX, display) of each formula in a front-matter value: a title, or an (inline Markdown) summary."""
    if "$" not in text and "\\" not in text:
        return []  # most summaries: no need to parse them
    tokens = _title_tokens(text) if title else markdown_parser(True).parseInline(text, {})
    return [
        (t.content.strip(), t.type in _DISPLAY_MATH and not title)  # render_title makes all of it inline
        for t in _walk(tokens)
        if t.type in _INLINE_MATH or t.type in _DISPLAY_MATH
    ]


@lru_cache(maxsize=65536)  # above the number of posts: a cache smaller than the titles cycling through it always misses
def _title_tokens(text: str) -> tuple[Token, ...]:
    tokens = _title_parser().parseInline(text, {})
    return tuple(tokens[0].children or ()) if tokens else ()


@lru_cache(maxsize=1)
def _title_parser() -> MarkdownIt:
    """Math and backslash escapes only: the rest of a title is text, whatever Markdown it looks like."""
    md = MarkdownIt("zero").enable("escape")
    md.use(texmath_plugin, delimiters="brackets")
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    return md


@lru_cache(maxsize=65536)
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
    md.use(
        dollarmath_plugin,
        allow_space=False,
        allow_digits=False,
        double_inline=True,
        allow_labels=True,
        label_normalizer=str.strip,
    )
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
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    # before text_join, while an escaped `\\$` is still a token of its own
    md.core.ruler.before("text_join", "locate_math", _locate_math)
    md.add_render_rule("table_open", _render_table_open)
    return md


def _render_inline_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return f'<span class="math inline">{escape(tokens[idx].content, quote=False)}</span>'


def _render_display_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    tex = escape(token.content.strip(), quote=False)
    # inside a paragraph a <div> is invalid HTML; CSS makes the span a block
    tag = "span" if token.type in _DISPLAY_IN_PARAGRAPH else "div"
    math = f'<{tag} class="math display">{tex}</{tag}>'
    if token.meta.get("number"):
        # the number sits outside the element KaTeX replaces, at the right margin
        anchor = escape(token.meta["label"])
        number = f'<span class="eqno">({escape(token.meta["number"])})</span>'
        math = f'<{tag} class="equation" id="{anchor}">{math}{number}</{tag}>'
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


def _collect_links(
    tokens: Sequence[Token], source: str, body_first_line: int, labels: dict[str, Label]
) -> tuple[list[SourceLink], list[Link]]:
    """Every link and image with its line; hrefs to other .md files are replaced with placeholders.

    So is a link in the page that is a reference: `[](#eq:kl)` (its text is made from the label), or any link
    to one of the labels: the assemble stage resolves and checks them as it does links to other posts.
    """
    sources: list[SourceLink] = []
    others: list[Link] = []
    base = posixpath.dirname(source)
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = body_first_line + (token.map[0] if token.map else 0)
        for index, child in enumerate(token.children):
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text" or child.type.startswith("math"):
                line += child.content.count("\n")
            elif child.type == "image":
                others.append(Link(str(child.attrGet("src") or ""), line))
            elif child.type == "link_open":
                href = str(child.attrGet("href") or "")
                parts = urlsplit(href)
                if href.startswith("#") and len(href) > 1:
                    empty = index + 1 < len(token.children) and token.children[index + 1].type == "link_close"
                    fragment = unquote(href[1:])
                    if empty or fragment in labels:
                        sources.append(SourceLink(source, fragment, line, href))
                        child.attrSet("href", f"\x00L{len(sources) - 1}\x00")
                        continue
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
            if token.meta.get("number"):
                html = f'<span class="secno">{escape(token.meta["number"])}</span> {html}'
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


def _locate_math(state: StateCore) -> None:
    """Note where each formula starts in the source (0-based line, 1-based column) in its token's meta,
    and every `$` left as text that looks like the start of unclosed math."""
    src = state.src
    if "$" not in src and "\\" not in src:
        return  # no math, no stray dollar: most bodies of most sites have some, but not all
    starts = [0, *(match.end() for match in _NEWLINE.finditer(src))]

    def where(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line] + 1

    stray: list[tuple[int, int]] = state.env.setdefault("stray_dollars", [])
    cursor = 0
    for token in state.tokens:
        if token.map:
            cursor = starts[min(token.map[0], len(starts) - 1)]
        if token.type in _DISPLAY_MATH:
            # texmath's \[…\] blocks carry no map: they are found after the block before
            found = [at for at in (src.find(opener, cursor) for opener in _BLOCK_OPENERS) if at >= 0]
            if found:
                token.meta["position"] = where(min(found))
                cursor = min(found) + 1
        elif token.type == "inline" and token.children and token.map:
            for kind, needle, scanned in _source_runs(token.children):
                at = src.find(needle, cursor) if needle else -1
                if at < 0:
                    continue
                if isinstance(kind, Token):
                    kind.meta["position"] = where(at)
                for match in _STRAY_DOLLAR.finditer(scanned):
                    if _TEX_SIGNS.search(match.group(1)):
                        stray.append(where(at + match.start()))
                cursor = at + len(needle)


def _source_runs(children: Sequence[Token]) -> Any:
    """(math token or None, its source text, the text to scan for stray dollars) in order.

    Text and escapes (`\\$`, `&#36;`, `\\f`) run together as they stand in the source; escaped dollars are
    hidden from the stray-dollar scan.
    """
    source: list[str] = []
    scanned: list[str] = []
    for child in children:
        if child.type == "text":
            source.append(child.content)
            scanned.append(child.content)
            continue
        if child.type == "text_special":
            source.append(child.markup)
            scanned.append(child.markup.replace("$", "\x00"))
            continue
        if source:
            yield None, "".join(source), "".join(scanned)
            source, scanned = [], []
        if child.type.startswith("math"):
            yield child, child.markup + child.content.split("\n", 1)[0], ""
        elif child.type == "code_inline":
            yield None, child.content, ""
    if source:
        yield None, "".join(source), "".join(scanned)


def _number(
    md: MarkdownIt,
    tokens: Sequence[Token],
    env: Any,
    chapter: str,
    number_sections: bool,
    source: str,
    first_line: int,
    errors: list[Diagnostic],
) -> dict[str, Label]:
    """Number labelled equations (and h2/h3 headings, if asked), in document order: the labels by id."""
    prefix = f"{chapter}." if chapter else ""
    labels: dict[str, Label] = {}
    equations = sections = subsections = 0

    def add(label: Label, line: int, column: int = 0) -> None:
        if label.id in labels:
            what = "an equation" if labels[label.id].kind == "equation" else "a heading"
            errors.append(Diagnostic(source, line, column, "error", f"label {label.id!r} is already {what}'s label"))
        else:
            labels[label.id] = label

    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            number = ""
            if number_sections and token.tag == "h2":
                sections, subsections = sections + 1, 0
                number = f"{prefix}{sections}"
            elif number_sections and token.tag == "h3":
                subsections += 1
                number = f"{prefix}{sections}.{subsections}"
            if number:
                token.meta["number"] = number
            html = md.renderer.render(tokens[index + 1].children or [], md.options, env)
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(str(token.attrGet("id")), "section", number, html), line)
    for token in _walk(tokens):
        if token.type not in _DISPLAY_MATH:
            continue
        found = _TEX_LABEL.findall(token.content)
        if token.type in ("math_block_label", "math_block_eqno") and token.info:
            found.insert(0, token.info.strip())
        if not found:
            continue
        line, column = token.meta.get("position", (0, 0))
        line += first_line
        if len(found) > 1:
            message = f"one label per display equation: this one has {', '.join(found)} (split it in two)"
            errors.append(Diagnostic(source, line, column, "error", message))
        label = found[0]
        if not label or any(c.isspace() or c in '"<>&' for c in label):
            errors.append(Diagnostic(source, line, column, "error", f"label {label!r}: use letters, digits, ':', '-'"))
            continue
        equations += 1
        token.content = _TEX_LABEL.sub("", token.content)  # KaTeX has no \label: the number is ours
        token.meta.update(label=label, number=f"{prefix}{equations}")
        add(Label(label, "equation", f"{prefix}{equations}", ""), line, column)
    return labels


def _formulas(tokens: Sequence[Token], first_line: int) -> list[Formula]:
    found = []
    for token in _walk(tokens):
        if token.type in _INLINE_MATH or token.type in _DISPLAY_MATH:
            line, column = token.meta.get("position", (0, 0)) if token.meta else (0, 0)
            found.append(Formula(token.content.strip(), token.type in _DISPLAY_MATH, first_line + line, column))
    return found


@dataclass(frozen=True)
class BodySource:
    """What render_body needs for one file; small, so it crosses to worker processes cheaply."""

    body: str
    source: str
    first_line: int
    chapter: str = ""  # the prefix of its equation (and section) numbers
    number_sections: bool = False


def render_bodies(items: Sequence[BodySource], raw_html: bool, jobs: int) -> list[RenderedBody | SiteError]:
    """Render many bodies, on `jobs` processes when there are enough to repay starting them."""
    if jobs <= 1 or len(items) < 64:
        return [_render_or_error(item, raw_html) for item in items]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    chunk = max(1, len(items) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_leave_interrupts_to_the_parent) as pool:
        return list(pool.map(_render_or_error, items, [raw_html] * len(items), chunksize=chunk))


def _leave_interrupts_to_the_parent() -> None:
    """Ctrl-C is the parent's to handle (it stops the build or the preview); workers just end with it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _render_or_error(item: BodySource, raw_html: bool) -> RenderedBody | SiteError:
    try:
        return render_body(item.body, item.source, item.first_line, raw_html, item.chapter, item.number_sections)
    except RecursionError:
        return SiteError("Markdown nested too deeply to render (lists or quotes)", item.source, item.first_line)
