"""The configured markdown-it parser: which Markdown primer-site reads, and how each token becomes HTML.

CommonMark plus tables, strikethrough, footnotes, task lists, definition lists, admonitions (`::: note`),
GitHub-style heading ids, math (mathsyntax), figures and table captions (figures), and code highlighted by
Pygments at build time.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from primer_site.lazyregex import lazy_compile
from primer_site.syntax.citations import citations_plugin
from primer_site.syntax.figures import figures_plugin
from primer_site.syntax.headings import fence_language, heading_ids_plugin
from primer_site.syntax.lexers import keepable_lexer, lexer_for, pygments_version
from primer_site.syntax.mathsyntax import (
    DISPLAY_IN_PARAGRAPH,
    DISPLAY_MATH,
    INLINE_MATH,
    math_inline_plugin,
    math_plugin,
)
from primer_site.syntax.mathtables import math_table_plugin
from primer_site.syntax.theorems import theorems_plugin

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
    md.core.ruler.after("inline", "github-tasklists", _task_lists)  # as tasklists_plugin(label=True), linear
    md.use(figures_plugin)
    md.use(citations_plugin)  # after the figures' rule, so runs before it: `[@fig:x]` stays text for its check
    md.use(heading_ids_plugin)  # after figures_plugin, so it runs first: a heading's `{#id}` is not an image's
    for name in ADMONITIONS:
        md.use(container_plugin, name, render=_render_admonition)
    md.use(theorems_plugin, ADMONITIONS)  # after the admonitions: every other `::: word`
    md.core.ruler.after("block", "admonition_titles", _admonition_titles)
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


ANCHOR_LABEL = "Link to this section"  # a heading anchor's aria-label (localize_body_words puts it in another language)


def _render_heading_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    opening = tokens[idx - 2]
    anchor = opening.attrGet("id")
    tag = tokens[idx].tag
    if not anchor:
        return f"</{tag}>\n"
    return f' <a class="anchor" href="#{escape(str(anchor))}" aria-label="{ANCHOR_LABEL}">#</a></{tag}>\n'


def _render_table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # a wide table scrolls sideways in its own box: keyboard users must be able to reach it, as with code
    tokens[idx].attrSet("tabindex", "0")
    return str(self.renderToken(tokens, idx, options, env))


def _render_admonition(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting != 1:
        return "</aside>\n"
    kind = token.info.strip().partition(" ")[0]
    return f'<aside class="admonition {kind}" role="note">\n'


_ADMONITION_OPENINGS = frozenset(f"container_{name}_open" for name in ADMONITIONS)


def _admonition_titles(state: StateCore) -> None:
    """Each admonition's title, `::: warning A *very* important note`, as a paragraph of inline Markdown (its
    math read and checked like the body's) at the top of the box; the kind's name when no title is given."""
    tokens = state.tokens
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type in _ADMONITION_OPENINGS:  # theorem-like blocks make their own heads (theorems.py)
            tokens[index + 1 : index + 1] = admonition_title_tokens(token)
        index += 1


def admonition_title_tokens(opening: Token) -> list[Token]:
    """paragraph_open, inline, paragraph_close for the title after a container's `::: kind`, to be parsed by the
    inline rule (so it must be inserted before it runs)."""
    kind, _, title = opening.info.strip().partition(" ")
    paragraph = Token("paragraph_open", "p", 1, attrs={"class": "admonition-title"}, map=opening.map)
    paragraph.level, paragraph.block = opening.level + 1, True
    inline = Token("inline", "", 0, content=title.strip() or kind.capitalize(), map=opening.map, children=[])
    inline.level, inline.block = opening.level + 2, True
    closing = Token("paragraph_close", "p", -1)
    closing.level, closing.block = paragraph.level, True
    return [paragraph, inline, closing]


_ANCHOR_END = f' aria-label="{ANCHOR_LABEL}">#</a></h'
_KINDS, _TITLES = "|".join(ADMONITIONS), "|".join(kind.capitalize() for kind in ADMONITIONS)
_DEFAULT_TITLE = lazy_compile(
    rf'(<aside class="admonition ({_KINDS})" role="note">\n<p class="admonition-title">)({_TITLES})</p>'
)


def localize_body_words(html: str, word: Callable[[str], str]) -> str:
    """`html` with the words the renderers above write in English in another language: a heading anchor's label
    (`word("heading_anchor")`) and an admonition's default title (`word(kind)`, "note"…); `word` gives HTML-escaped
    text. An admonition whose author wrote its kind's English default as its title is translated too."""
    if _ANCHOR_END in html:
        html = html.replace(_ANCHOR_END, f' aria-label="{word("heading_anchor")}">#</a></h')
    if '<aside class="admonition ' in html:
        html = _DEFAULT_TITLE.sub(
            lambda m: m.group(1) + (word(m.group(2)) if m.group(3) == m.group(2).capitalize() else m.group(3)) + "</p>",
            html,
        )
    return html


# Pygments is imported where a block is highlighted, not here: a build whose code blocks are all kept
# (CodeHighlights) never loads it, nor compiles a lexer's regular expressions (a tenth of a second for Python's).


@lru_cache(maxsize=1)
def _formatter() -> Any:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


def _highlight_code(code: str, language: str, attrs: str) -> str:
    """Highlighted `<pre>` for a known language; escaped plain code for any other."""
    return highlight_block(code, fence_language(f"{language} {attrs}").lower())


def highlight_block(code: str, language: str) -> str:
    """A code block's `<pre>`: `code` highlighted as `language` (a fence's, lower case) when Pygments knows it,
    else escaped as plain text."""
    return _highlight_block(code, language)[0]


def _highlight_block(code: str, language: str) -> tuple[str, bool]:
    """highlight_block's `<pre>`, and whether it may be kept (CodeHighlights): whether it is a function of its two
    arguments, the Pygments version and this module's code only. A plugin's lexer is not, nor is plain text for a
    language Pygments does not know (a plugin installed later may know it). Nor is every lexer of Pygments' own:
    some look another lexer up by name, mimetype or guess while they run (Markdown's for a nested fence, HTTP's for
    its body...), and a lookup finds plugins' lexers too. So a block is kept only if its lexer is Pygments' own and
    its module can reach no lookup (lexers.keepable_lexer); Pygments looks in its own lexers first, so no plugin can
    take over one of theirs."""
    lexer = lexer_for(language) if language else None
    label = f' class="language-{escape(language)}"' if language else ""
    if lexer is not None:
        from pygments import highlight

        inner = highlight(code, lexer, _formatter())
    else:
        inner = escape(code, quote=False)
    keep = not language or (lexer is not None and keepable_lexer(type(lexer)))
    # tabindex: a code block that scrolls sideways must be reachable by keyboard
    return f'<pre class="highlight" tabindex="0"><code{label}>{inner}</code></pre>\n', keep


def highlight_key(code: str, language: str) -> str:
    """The key of a code block's `<pre>` (highlight_block) among kept ones: a digest of its language and code."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(language.encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(code.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def highlight_salt() -> str:
    """What a kept `<pre>` depends on besides its key: the Pygments version and the code that calls it (this
    module, headings.py, which reads a fence's language, and lexers.py, which finds its lexer and says if it may be
    kept). Kept ones under another salt are dropped."""
    from primer_site.syntax import headings, lexers

    digest = hashlib.blake2b(digest_size=8)
    for module in (sys.modules[__name__], headings, lexers):
        digest.update(Path(str(module.__file__)).read_bytes())
    return f"pygments={pygments_version()};code={digest.hexdigest()}"


class CodeHighlights:
    """The code blocks' `<pre>`s of a render: those an earlier build kept (`lookup(key)`: its `<pre>` or None;
    `used`: the keys it found), and those highlighted now that may be kept (`made`, key → `<pre>`: not those of a
    language Pygments does not know itself, nor those of a lexer that may find another: _highlight_block), handed to `keep` in batches of
    KEEP_EVERY (then `made` starts again), so that a render of every post never holds them all besides the bodies
    that hold them too. `highlighted` counts the blocks made (Pygments or escaping), for the tests that count work."""

    KEEP_EVERY = 256

    def __init__(
        self,
        lookup: Callable[[str], str | None] | None = None,
        keep: Callable[[dict[str, str]], object] | None = None,
    ) -> None:
        self.lookup, self.keep = lookup, keep
        self.made: dict[str, str] = {}
        self.used: set[str] = set()
        self.highlighted = 0

    def block(self, code: str, language: str, attrs: str) -> str:
        """markdown-it's `highlight` option: the kept `<pre>` of this block, else highlight_block's."""
        language = fence_language(f"{language} {attrs}").lower()
        key = highlight_key(code, language)
        found = self.made.get(key)
        if found is None and self.lookup is not None:
            found = self.lookup(key)
            if found is not None:
                self.used.add(key)
        if found is None:
            found, keep = _highlight_block(code, language)
            self.add({key: found} if keep else {}, 1)
        return found

    def add(self, made: dict[str, str], count: int) -> None:
        """Blocks highlighted, here or by a worker (`count`: how many it highlighted)."""
        self.made.update(made)
        self.highlighted += count
        if self.keep is not None and len(self.made) >= self.KEEP_EVERY:
            self.keep(self.made)
            self.made = {}

    def options(self, md: MarkdownIt) -> OptionsDict:
        """`md`'s options with this as its highlighter, for one render (the parser is shared: markdown_parser)."""
        return OptionsDict({**md.options, "highlight": self.block})


def highlight_css(light: str, dark: str) -> str:
    """Pygments CSS for code blocks: `light` by default, `dark` under prefers-color-scheme."""
    from pygments.formatters import HtmlFormatter

    light_css = HtmlFormatter(style=light).get_style_defs(".highlight")
    dark_css = HtmlFormatter(style=dark).get_style_defs(".highlight")
    indented = "\n".join("  " + line for line in dark_css.splitlines())
    return f"{light_css}\n@media (prefers-color-scheme: dark) {{\n{indented}\n}}\n"


# ---------------------------------------------------------------- task lists, in linear time
# mdit-py-plugins' tasklists plugin gives this HTML, but in quadratic time: for each task it looks back through
# every earlier token for the task's list. This rule gives the same tokens, remembering where each level was.


_TASK = re.compile(r"\[([ xX])\][ \t\n\v\f\r]+")  # GFM: `[ ]` or `[x]`, then white space


def _task_lists(state: StateCore) -> None:
    """A list item whose paragraph starts `[ ] ` or `[x] ` becomes a task: a disabled checkbox in a <label> with
    the text, class task-list-item on the item and contains-task-list on its list (GFM's task list items)."""
    tokens = state.tokens
    last_at_level: dict[int, int] = {}  # the index of the latest token of each nesting level seen
    for index in range(2, len(tokens) - 1):
        if index >= 3:  # every token before the item's: where its list is looked for
            last_at_level[tokens[index - 3].level] = index - 3
        inline, item = tokens[index], tokens[index - 2]
        if not (
            inline.type == "inline"
            and tokens[index - 1].type == "paragraph_open"
            and item.type == "list_item_open"
            and (mark := _TASK.match(inline.content)) is not None
        ):
            continue
        checkbox = Token("html_inline", "", 0)
        if inline.content.startswith(("[ ] ", "[x] ", "[X] ")):
            checked = ' checked="checked"' if mark.group(1) != " " else ""
            checkbox.content = f'<input class="task-list-item-checkbox"{checked} disabled="disabled" type="checkbox">'
        children = inline.children if inline.children is not None else []
        children.insert(0, checkbox)
        if len(children) > 1:
            children[1].content = children[1].content[3:]
        inline.content = inline.content[3:]
        inline.children = [Token("html_inline", "", 0, content="<label>"), *children]
        inline.children.append(Token("html_inline", "", 0, content="</label>"))
        item.attrSet("class", "task-list-item")
        tokens[last_at_level.get(item.level - 1, -1)].attrSet("class", "contains-task-list")
