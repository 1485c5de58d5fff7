"""Figures and table captions: an image alone in its paragraph with a title or a `{#fig:…}` label is a `<figure>`
with a `<figcaption>`; a table followed by a `: Caption {#tbl:…}` paragraph is a captioned table.

The syntax is pandoc-crossref's (and Quarto's): attributes in braces after an image, `![Alt](a.svg "Caption")
{#fig:attention}`, read by mdit-py-plugins' attrs plugin; a table's caption is the paragraph right after it that
starts with `:` (or `Table:`), its label in braces at its end. Labels with the `fig:` and `tbl:` prefixes are
numbered per chapter by references.number_labels; this module marks the tokens and renders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.attrs.parse import ParseError
from mdit_py_plugins.attrs.parse import parse as parse_attributes

from primer_site.lazyregex import lazy_compile
from primer_site.syntax.mathsyntax import MATH, math_inline_plugin

FIGURE_PREFIX = "fig:"
TABLE_PREFIX = "tbl:"
KIND_NAMES = {"figure": "Figure", "table": "Table"}  # what "Figure 4.2" and "Table 4.1" start with
_CAPTION_START = lazy_compile(r"^(?:Table)?:[ \t]*")
_TRAILING_ATTRIBUTES = lazy_compile(r"[ \t]*(\{[^{}]*\})[ \t]*$")
# `![A](a.svg) {#fig:a}`: attributes after a space are not the image's (the attrs plugin reads them only when joined)
_DETACHED_ATTRIBUTES = lazy_compile(r"[ \t]+(\{[ \t]*[#.][^{}\n]*\})")
_QUARTO_PREFIXES = ("fig-", "tbl-", "eq-")
# `@fig:x`, `[@eq:x]`, `@fig-x`: pandoc-crossref's and Quarto's references (not after a word: an e-mail address)
_FOREIGN_REFERENCE = lazy_compile(r"(?<![\w@.])@((?:fig|eq|tbl|sec)[:-][\w:.-]*\w)")
# LaTeX's references, `\\eqref{eq:x}`, `\\ref{fig:x}` (and cleveref's and hyperref's): KaTeX has none of them
TEX_REFERENCE = re.compile(r"\\(?:eq|auto|c|C)?ref\*?\{([^{}\s]*)\}")
# Where the published image's width, height and loading attributes go, filled in once the file is known
# (NUL cannot come from the source: markdown-it turns it into U+FFFD).
SIZE_SLOT = "\x00I{}\x00"


def figures_plugin(md: MarkdownIt) -> None:
    """Attributes after images, figures, table captions, and the rendering of all three."""
    md.use(attrs_plugin, after=("image",), allowed=("id", "class"))
    md.core.ruler.after("inline", "figures", _mark_figures)
    md.core.ruler.push("foreign_references", _check_texts)  # last, after text_join: a text's pieces are one
    md.add_render_rule("image", _render_image)
    md.add_render_rule("figure_open", _render_figure_open)
    md.add_render_rule("figure_close", _render_figure_close)
    md.add_render_rule("figcaption_open", _render_figcaption_open)
    md.add_render_rule("figcaption_close", lambda self, tokens, idx, options, env: "</figcaption>\n")


def _problem(env: Any, line: int, message: str) -> None:
    """A problem found while parsing: (0-based body line, message), located by the caller (render_body)."""
    env.setdefault("figure_errors", []).append((line, message))


def _mark_figures(state: StateCore) -> None:
    tokens = state.tokens
    for token in tokens:
        if token.type == "inline" and token.children:
            _check_image_attributes(token, state.env)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "paragraph_open" and index + 2 < len(tokens):
            _image_figure(tokens[index : index + 3], state.env)
        elif token.type == "table_close":
            index = _table_caption(tokens, index, state.env)
        index += 1


def _check_image_attributes(inline: Token, env: Any) -> None:
    line = inline.map[0] if inline.map else 0
    children = inline.children or []
    for index, child in enumerate(children):
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        if child.type == "text":
            line += child.content.count("\n")
        if child.type != "image":
            continue
        after = children[index + 1] if index + 1 < len(children) else None
        if after is not None and after.type == "text" and (detached := _DETACHED_ATTRIBUTES.match(after.content)):
            _problem(
                env,
                line,
                f"attributes {detached.group(1)} are apart from the image, so they would show as text: write them "
                f"right after it, with no space: ![…](…){detached.group(1)}",
            )
        for name in child.meta.get("insecure_attrs", {}):
            _problem(
                env, line, f"image attribute {name!r}: only an id ({{#fig:name}}) and classes ({{.name}}) are read here"
            )
        label = str(child.attrGet("id") or "")
        if label.startswith(_QUARTO_PREFIXES):
            _problem(
                env,
                line,
                f"label {label!r}: Quarto's form; primer-site's (pandoc-crossref's) is {{#{label.replace('-', ':', 1)}}}",
            )
            child.attrs.pop("id", None)
        elif label.startswith((TABLE_PREFIX, "eq:")):
            _problem(env, line, f"label {label!r} is on an image: a figure's label starts with {FIGURE_PREFIX!r}")
            child.attrs.pop("id", None)
        elif label.startswith(FIGURE_PREFIX):
            siblings = [c for c in inline.children or () if not (c.type == "text" and not c.content.strip())]
            alone = siblings == [child]
            if not alone:
                _problem(
                    env,
                    line,
                    f"figure {label!r} must be alone in its paragraph, with a blank line before and after it",
                )
                child.attrs.pop("id", None)


def _check_texts(state: StateCore) -> None:
    for inline in state.tokens:
        if inline.type != "inline" or not inline.children:
            continue
        line = inline.map[0] if inline.map else 0
        for child in inline.children:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text":
                _check_foreign_references(child.content, line, state.env)
                line += child.content.count("\n")


def _check_foreign_references(text: str, line: int, env: Any) -> None:
    """pandoc-crossref's and Quarto's citation-style references (`@fig:x`, `[@eq:x]`, `@fig-x`) and LaTeX's
    (`\\eqref{eq:x}`) are not read here: each is an error naming primer-site's form, rather than text left on the
    page."""
    if "ref" in text:
        for found in TEX_REFERENCE.finditer(text):
            _problem(env, line + text.count("\n", 0, found.start()), tex_reference_message(found))
    if "@" not in text:
        return
    for found in _FOREIGN_REFERENCE.finditer(text):
        label = found.group(1).replace("-", ":", 1)
        _problem(
            env,
            line + text.count("\n", 0, found.start()),
            f"reference {found.group(0)!r}: write a reference to a label as [](#{label}) (its text is made for you)",
        )


def tex_reference_message(found: re.Match[str]) -> str:
    """What to write instead of a LaTeX reference (a TEX_REFERENCE match), in prose or in a formula."""
    return (
        f"reference '{found.group(0)}': write a reference to a label as [](#{found.group(1)}) in the text, outside "
        "any formula (its text, such as Eq. (3), is made for you)"
    )


def _image_figure(three: Sequence[Token], env: Any) -> None:
    """paragraph_open, inline, paragraph_close → figure_open, inline, figure_close, for an image alone with a
    title or a figure label."""
    opening, inline, closing = three
    if inline.type != "inline" or closing.type != "paragraph_close":
        return
    children = [c for c in inline.children or () if not (c.type == "text" and not c.content.strip())]
    if len(children) != 1 or children[0].type != "image":
        return
    image = children[0]
    label = str(image.attrGet("id") or "")
    title = str(image.attrGet("title") or "")
    if not title and not label.startswith(FIGURE_PREFIX):
        return
    if not title:  # pandoc-crossref: a labelled image's alt text is its caption
        title = image.content
    opening.type, opening.tag, opening.hidden = "figure_open", "figure", False
    closing.type, closing.tag, closing.hidden = "figure_close", "figure", False
    opening.meta = {"kind": "figure", "caption": title}
    closing.meta = opening.meta  # the caption is rendered at the close, after the image
    if label.startswith(FIGURE_PREFIX):
        image.attrs.pop("id", None)
        opening.meta["label"] = label
    image.meta["in_figure"] = True


def _table_caption(tokens: list[Token], close: int, env: Any) -> int:
    """A `: Caption {#tbl:label}` paragraph right after a table becomes its caption (inside a <figure>, above the
    table). Returns the index of the figure's last token."""
    if close + 3 >= len(tokens) or tokens[close + 1].type != "paragraph_open":
        return close
    inline = tokens[close + 2]
    first = (inline.children or [None])[0]
    if inline.type != "inline" or first is None or first.type != "text" or not _CAPTION_START.match(first.content):
        return close
    line = inline.map[0] if inline.map else 0
    first.content = _CAPTION_START.sub("", first.content, count=1)
    attributes: dict[str, str] = {}
    last = inline.children[-1] if inline.children else None
    if last is not None and last.type == "text" and (found := _TRAILING_ATTRIBUTES.search(last.content)):
        try:
            _, attributes = parse_attributes(found.group(1))
        except ParseError as error:
            _problem(env, line, f"table caption attributes {found.group(1)}: {error}")
        last.content = last.content[: found.start()]
    label = attributes.pop("id", "")
    for name in attributes:
        _problem(env, line, f"table attribute {name!r}: only a label ({{#tbl:name}}) is read here")
    if label and not label.startswith(TABLE_PREFIX):
        _problem(env, line, f"label {label!r} is on a table: a table's label starts with {TABLE_PREFIX!r}")
        label = ""
    opening = tokens.index(_table_open(tokens, close))
    figure = Token("figure_open", "figure", 1)
    figure.meta = {"kind": "table", "label": label} if label else {"kind": "table"}
    figure.map = tokens[opening].map
    caption_open = Token("figcaption_open", "figcaption", 1)
    caption_open.meta = figure.meta
    caption_close = Token("figcaption_close", "figcaption", -1)
    end = Token("figure_close", "figure", -1)
    end.meta = {"kind": "table"}
    table = tokens[opening : close + 1]
    tokens[opening : close + 4] = [figure, caption_open, inline, caption_close, *table, end]
    return opening + 4 + len(table)


def _table_open(tokens: list[Token], close: int) -> Token:
    depth = 0
    for index in range(close, -1, -1):
        if tokens[index].type == "table_close":
            depth += 1
        elif tokens[index].type == "table_open":
            depth -= 1
            if depth == 0:
                return tokens[index]
    raise AssertionError("a table_close without its table_open")


# ---------------------------------------------------------------- rendering


def figure_number_html(meta: dict[str, Any], followed: bool) -> str:
    """ "Figure 4.2" (with a colon when a caption text follows) for a numbered figure or table, else ""."""
    number = meta.get("number")
    if not number:
        return ""
    colon = ":" if followed else ""
    return f'<span class="figure-number">{KIND_NAMES[meta["kind"]]} {escape(number)}{colon}</span>' + (
        " " if followed else ""
    )


_FIGURE_NUMBER = lazy_compile(
    '<span class="figure-number">(' + "|".join(map(re.escape, KIND_NAMES.values())) + ") ([^<:]*)(:?)</span>"
)


def localize_figure_numbers(html: str, name: Callable[[str, str, bool], str]) -> str:
    """`html` with each number figure_number_html made ("Figure 4.2:") in another language: `name(kind, number,
    colon)` gives its HTML ("Tableau 4.1 :")."""
    if '<span class="figure-number">' not in html:
        return html
    kinds = {word: kind for kind, word in KIND_NAMES.items()}
    return _FIGURE_NUMBER.sub(
        lambda m: f'<span class="figure-number">{name(kinds[m.group(1)], m.group(2), bool(m.group(3)))}</span>', html
    )


def _render_figure_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    label = f' id="{escape(meta["label"])}"' if meta.get("label") else ""
    kind = "figure" if meta["kind"] == "figure" else "figure table-figure"
    return f'<figure class="{kind}"{label}>\n'


def _render_figure_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    if meta["kind"] != "figure":
        return "</figure>\n"
    text = caption_html(meta.get("caption", ""))
    return f"<figcaption>{figure_number_html(meta, bool(text))}{text}</figcaption>\n</figure>\n"


def _render_figcaption_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    has_text = any(t.content.strip() or t.type != "text" for t in tokens[idx + 1].children or ())
    return "<figcaption>" + figure_number_html(tokens[idx].meta, has_text)


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = escape(alt_text(token.children or []))
    parts = [f'<img src="{escape(str(token.attrGet("src") or ""))}" alt="{alt}"']
    for name, value in token.attrs.items():
        if name in ("src", "alt") or (name == "title" and token.meta.get("in_figure")):
            continue  # in a figure the title is the caption
        parts.append(f' {name}="{escape(str(value))}"')
    if "slot" in token.meta:
        parts.append(SIZE_SLOT.format(token.meta["slot"]))
    return "".join(parts) + ">"


def alt_text(children: Sequence[Token]) -> str:
    """An image's description as its alt attribute holds it: the text, code and each formula's TeX (no delimiters),
    as pandoc writes it (its stringify); emphasis and links give their text."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline") or child.type in MATH:
            parts.append(child.content.strip() if child.type in MATH else child.content)
        elif child.type == "image":
            parts.append(alt_text(child.children or []))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


@lru_cache(maxsize=1)
def _caption_parser() -> MarkdownIt:
    """A title is text: its math and backslash escapes are read, nothing else."""
    return MarkdownIt("zero").enable("escape").use(math_inline_plugin)


def caption_html(text: str) -> str:
    """An image title as caption HTML: escaped, its `$…$` math as math elements."""
    if not text:
        return ""
    tokens = _caption_parser().parseInline(text, {})
    children = tokens[0].children or [] if tokens else []
    return "".join(
        f'<span class="math inline">{escape(t.content.strip(), quote=False)}</span>'
        if t.type.startswith("math")
        else escape(t.content, quote=False)
        for t in children
    )
