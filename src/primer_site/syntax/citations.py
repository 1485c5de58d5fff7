"""Citations in Markdown, in pandoc's syntax: `[@key]`, `[@key, sec. 4]`, `[@a; @b]`, `[see @a, p. 3; @b]`,
`[-@key]` (the year only) and `@key` in running text ("@rafailov2023 derive…").

The rules are pandoc's (its manual, "Citation syntax"): a key starts with a letter, a digit or `_` and goes on with
letters, digits and the internal punctuation `:.#$%&-+?<>~/`, punctuation at its end not included; an `@` right
after a word character is an e-mail address, never a citation; a bracketed citation followed by `(` or `[` is a
link. Code and math are never citations (their tokens are made before this rule reads text). Keys that start with
a label prefix (`@fig:x`, `@eq:x`…) are left as text: figures.py reports them, naming `[](#fig:x)`.

Each citation renders as a placeholder (NUL cannot come from the source: markdown-it turns it into U+FFFD) that
the site stage fills once the post's bibliography and the site's style are known (citeformat.py): the rendered
body, kept in the body cache, never depends on a .bib file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from primer_site.lazyregex import lazy_compile

CITATION_PLACEHOLDER = lazy_compile("(?:\x00C|\ue000)(\\d+)(?:\x00|\ue001)")
# In a figure's caption (text escaped as a whole by figures.caption_html, after markdown-it turned NUL into U+FFFD)
# a citation's place is held by private-use characters instead; the source may not hold them (an error).
_CAPTION_SLOT = "\ue000{}\ue001"
_PRIVATE = re.compile("[\ue000\ue001]")
_BRACKETS = lazy_compile(r"\[([^\[\]`$\\]*@[^\[\]`$\\]*)\](?![(\[])")
_KEY = r"[\w](?:[\w]|[:.#$%&\-+?<>~/](?=[\w]))*"
# one item of a bracketed citation: a prefix, `-` for the year only, the key, a suffix (a locator)
_ITEM = lazy_compile(rf"^(?P<prefix>(?:.*?[\s(])?)(?P<minus>-?)@(?P<key>{_KEY})(?P<suffix>.*)$", re.DOTALL)
_IN_TEXT = lazy_compile(rf"(?<![\w@.+\-])@({_KEY})")
# how far past the last text a token's text is looked for in the inline source (the markup between them: `**`, a
# link's URL): bounded, so that finding every token is linear in the text; past it a column is approximate
_LOOKAHEAD = 512
# pandoc-crossref's and Quarto's labels, not works: the prefixes figures.py reports as references to write as links
_LABEL_PREFIXES = re.compile(r"(?:fig|eq|tbl|sec)[:-]")


@dataclass(frozen=True)
class CiteItem:
    """One work cited: its key, the text before and after it (`see`, `p. 3`), and whether only its year shows."""

    key: str
    prefix: str = ""
    suffix: str = ""
    year_only: bool = False


@dataclass(frozen=True)
class Citation:
    """A citation as written: `[see @a, p. 3; @b]` (bracketed) or `@a` (in the text), and where it is."""

    items: tuple[CiteItem, ...]
    in_text: bool
    written: str  # the source text, shown as is where no bibliography is given (an in-text `@name`)
    line: int = 0  # 0-based line in the body
    column: int = 1  # 1-based


def citations_plugin(md: MarkdownIt) -> None:
    """Bracketed citations (an inline rule, before links) and in-text ones (a core rule over text)."""
    md.inline.ruler.before("link", "citation", _bracketed)
    # after the figures' rule: a caption is known by then, and its check of `@fig:x` sees text as written
    md.core.ruler.after("figures", "citations", _in_text_and_located)
    md.add_render_rule("citation", _render_citation)


def parse_bracketed(inner: str) -> tuple[CiteItem, ...] | None:
    """The items of `[inner]`, or None when it is not a citation (some part has no key, or a label's)."""
    items = []
    for part in inner.split(";"):
        found = _ITEM.match(part.strip())
        if found is None or _LABEL_PREFIXES.match(found.group("key")):
            return None
        suffix = found.group("suffix").strip()
        suffix = suffix[1:].strip() if suffix.startswith(",") else suffix
        items.append(CiteItem(found.group("key"), found.group("prefix").strip(), suffix, bool(found.group("minus"))))
    return tuple(items)


def bracketed_citations(text: str) -> list[str]:
    """The bracketed citations written in a plain text (a front-matter summary), as written."""
    if "@" not in text:
        return []
    return [m.group(0) for m in _BRACKETS.finditer(text) if parse_bracketed(m.group(1)) is not None]


def _bracketed(state: StateInline, silent: bool) -> bool:
    src, start = state.src, state.pos
    if src[start] != "[" or state.env.get("citations") is None:
        return False
    end = start + 1
    while end < state.posMax and src[end] not in "[]":
        end += 1
    if end >= state.posMax or src[end] != "]":
        return False
    inner = src[start + 1 : end]
    if "@" not in inner or "`" in inner or "$" in inner or "\\" in inner:
        return False
    if end + 1 < len(src) and src[end + 1] in "([":
        return False  # a link ([@a](url)) or a reference link
    items = parse_bracketed(inner)
    if items is None:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.meta = {"citation": Citation(items, False, src[start : end + 1]), "offset": start}
    state.pos = end + 1
    return True


def _in_text_and_located(state: StateCore) -> None:
    """Split `@key` in text into citation tokens; give every citation its line and column; number them."""
    found: list[Citation] | None = state.env.get("citations")
    if found is None:
        return
    lines = state.src.split("\n")
    if _PRIVATE.search(state.src):
        line = state.src.count("\n", 0, _PRIVATE.search(state.src).start())  # type: ignore[union-attr]
        state.env.setdefault("figure_errors", []).append(
            (line, "the private-use characters U+E000 and U+E001 are not allowed in a post: remove them")
        )
    for token in state.tokens:
        if token.type == "figure_open" and token.meta.get("kind") == "figure" and "@" in token.meta.get("caption", ""):
            first = token.map[0] if token.map else 0
            token.meta["caption"] = _caption_citations(token.meta["caption"], first, found)
            continue
        if token.type != "inline" or not token.children or "@" not in token.content:
            continue
        token.children = _split_in_text(token.children, token.content)
        for child in _flat(token.children):
            if child.type == "citation":
                line, column = _position(token, child.meta.get("offset", 0), lines)
                citation = child.meta["citation"]
                child.meta["index"] = len(found)
                found.append(Citation(citation.items, citation.in_text, citation.written, line, column))


def _caption_citations(caption: str, line: int, found: list[Citation]) -> str:
    """A figure caption (a plain string) with its citations, bracketed and in the text, replaced by slots."""

    def slot(citation: Citation) -> str:
        found.append(citation)
        return _CAPTION_SLOT.format(len(found) - 1)

    def bracketed(match: re.Match[str]) -> str:
        items = parse_bracketed(match.group(1))
        if items is None:
            return match.group(0)
        return slot(Citation(items, False, match.group(0), line, match.start() + 1))

    def in_text(match: re.Match[str]) -> str:
        if _LABEL_PREFIXES.match(match.group(1)) or "\ue000" in match.string[max(0, match.start() - 8) : match.start()]:
            return match.group(0)
        return slot(Citation((CiteItem(match.group(1)),), True, match.group(0), line, match.start() + 1))

    return _IN_TEXT.sub(in_text, _BRACKETS.sub(bracketed, caption))


def _split_in_text(children: Sequence[Token], content: str) -> list[Token]:
    result: list[Token] = []
    cursor = 0  # where in the inline source the next text is looked for
    inside_link = 0
    before = ""  # the character before the current token, for "not after a word" (an e-mail address)
    for child in children:
        if child.type == "link_open":
            inside_link += 1
        elif child.type == "link_close":
            inside_link -= 1
        if child.type == "citation":
            cursor = child.meta["offset"] + len(child.meta["citation"].written)
        if child.type != "text" or inside_link or "@" not in child.content:
            if child.children:
                child.children = _split_in_text(child.children, content)
            result.append(child)
            # after a line break or markup (`*…*`), an @ starts a citation; after a word it is an e-mail address
            before = child.content[-1:] if child.type in ("text", "text_special") else ""
            continue
        text = child.content
        at = content.find(text, cursor, cursor + len(text) + _LOOKAHEAD)
        base = at if at >= 0 else cursor
        position = 0
        for match in _IN_TEXT.finditer(text):
            key = match.group(1)
            previous = text[match.start() - 1] if match.start() else before
            if _LABEL_PREFIXES.match(key) or (previous and (previous.isalnum() or previous in "_@.+-")):
                continue
            if match.start() > position:
                result.append(_text(child, text[position : match.start()]))
            token = Token("citation", "", 0)
            written = match.group(0)
            token.meta = {"citation": Citation((CiteItem(key),), True, written), "offset": base + match.start()}
            result.append(token)
            position = match.end()
        if position < len(text):
            result.append(_text(child, text[position:]) if position else child)
        if at >= 0:
            cursor = at + len(text)
        before = text[-1:]
    return result


def _text(like: Token, content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    token.level = like.level
    return token


def _flat(tokens: Sequence[Token]) -> Any:
    for token in tokens:
        yield token
        if token.children and token.type != "image":
            yield from _flat(token.children)


def _position(inline: Token, offset: int, lines: list[str]) -> tuple[int, int]:
    """(0-based body line, 1-based column) of an offset in an inline token's text: its line less the containers'
    markers and indentation, found in the source line."""
    content = inline.content
    first = inline.map[0] if inline.map else 0
    line = first + content.count("\n", 0, offset)
    start = content.rfind("\n", 0, offset) + 1
    written = content[start:].split("\n", 1)[0]
    source = lines[line] if line < len(lines) else ""
    indent = source.find(written) if written else -1
    return line, (indent if indent >= 0 else 0) + offset - start + 1


def _render_citation(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    index = tokens[idx].meta.get("index")
    if index is None:  # parsed outside a body (no place to resolve it): the text as written
        return escape(tokens[idx].meta["citation"].written, quote=False)
    return f"\x00C{index}\x00"
