"""Which Markdown text is TeX math: the delimiters, bare environments, and math inside table rows.

Formulas are read by pandoc's rules (its manual, "Extension: tex_math_dollars" and
"tex_math_single_backslash"; the details from its reader, Text.Pandoc.Parsing.Math), so that a page says
what the same Markdown says in pandoc. Three things pandoc does not have are added: a display formula that
stands alone on its lines is a block (a `<div>`, not a `<span>` in a paragraph) and may be followed by a
label, `$$ … $$ (eq:kl)` or `$$ … $$ {#eq:kl}`; a bare amsmath environment (`\\begin{align}…\\end{align}`) is display math (pandoc
keeps it as raw LaTeX); and in a table row a `|` inside a code span stays in its cell, as pandoc has it, while
`\\|` there still reads as `|`, as GFM has it (the rows are read in mathtables).

Every formula token's content is the source text between its delimiters, byte for byte; `locate_math` then
records where each formula starts in the body, and where a `$` was left as text that looks like unclosed math.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from primer_site.lazyregex import lazy_compile

# ENVIRONMENTS and Formula are the syntax's public names too
from primer_site.syntax.mathscan import (  # noqa: F401
    BEGIN_ENVIRONMENT,
    BLANK_LINE,
    ENVIRONMENTS,
    LABEL_AFTER,
    NEWLINE,
    Formula,
    ScanMemo,
    Span,
    scan_math,
)

INLINE_MATH = frozenset({"math_inline"})
DISPLAY_IN_PARAGRAPH = frozenset({"math_display_inline"})  # rendered as a <span>: a <div> cannot be in a <p>
DISPLAY_MATH = frozenset({"math_display_inline", "math_block"})
MATH = INLINE_MATH | DISPLAY_MATH


# ---------------------------------------------------------------- markdown-it rules


def math_plugin(md: MarkdownIt) -> None:
    """Math in paragraphs, headings, cells…, and display blocks (mathtables reads the table rows)."""
    # before "escape", so that `\\(` and `\\[` open math rather than being escaped brackets
    md.inline.ruler.before("escape", "math", _math_inline)
    md.block.ruler.before(
        "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list", "footnote_def"]}
    )
    md.core.ruler.after("inline", "locate_math", locate_math)
    md.core.ruler.after("locate_math", "raw_html_math", _math_in_raw_html)


def math_inline_plugin(md: MarkdownIt) -> None:
    """Inline math only: for titles, where everything else is text."""
    md.inline.ruler.before("escape", "math", _math_inline)


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    if src[pos] not in "$\\":
        return False
    memos = state.env.setdefault("math_scan_memos", {})  # by text and end: ScanMemo
    memo = memos.get((id(src), state.posMax))
    if memo is None or memo[0] is not src:
        memo = memos[(id(src), state.posMax)] = (src, ScanMemo(src, state.posMax))
    span = scan_math(src, pos, state.posMax, memo[1])
    if span is None:
        if not silent and (
            (src[pos] == "$" and not (pos and src[pos - 1] == "$")) or src.startswith(("\\[", "\\begin{"), pos)
        ):
            state.env.setdefault("math_failed", []).append((src, pos))  # for the stray-dollar and blank-line checks
        return False
    if not silent:
        kind = "math_inline" if span.opener in ("$", "\\(") else "math_display_inline"
        token = state.push(kind, "math", 0)
        token.content = src[span.start : span.stop]
        token.markup = span.opener
        token.meta = {"offset": pos, "source": src}
    state.pos = span.after
    return True


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """A display formula that stands alone: opener at the start of its first line, nothing but a label after
    its closer. Any other text after the closer leaves the lines to the paragraph (and the inline rule), so
    that `$$a$$ and $$b$$` is two formulas, not one."""
    if state.is_code_block(start_line):
        return False
    if silent and (state.sCount[start_line] < state.blkIndent or state.parentType == "blockquote"):
        # a lazy line after a paragraph in a list item or a quote: pandoc reads its math inline, so the paragraph
        # (and the list or quote) goes on
        return False
    src = state.src
    begin = state.bMarks[start_line] + state.tShift[start_line]
    line_end = state.eMarks[start_line]
    if src.startswith("$$", begin, line_end):
        opener, closer = "$$", "$$"
    elif src.startswith("\\[", begin, line_end):
        opener, closer = "\\[", "\\]"
    elif (environment := BEGIN_ENVIRONMENT.match(src, begin, line_end)) is not None:
        opener, closer = "", f"\\end{{{environment.group(1)}{environment.group(2)}}}"
    else:
        return False
    # the TeX, line by line, without the containers' markers (`>`, a list item's indent)
    content_start = begin + len(opener)
    if opener and src.startswith(closer, content_start, line_end):
        return False  # `$$$$`: no formula, as in pandoc
    search = content_start if opener else content_start + len(environment.group(0))  # type: ignore[union-attr]
    # An earlier start that found no closer on its lines up to `failed_at` saw every line from here on: each
    # unclosed `\begin{align}` line would otherwise look through all that follow it (quadratic).
    failures = state.env.setdefault("math_block_failures", {})
    key = (id(src), closer, end_line, state.blkIndent)
    failed_from, failed_at = failures.get(key, (0, -1))
    if failed_from < start_line < failed_at:
        return False
    pieces: list[str] = []
    line, low = start_line, content_start
    while True:
        high = state.eMarks[line]
        at = src.find(closer, search, high)
        if at >= 0:
            break
        pieces.append(src[low:high])
        line += 1
        if line >= end_line or state.isEmpty(line) or state.sCount[line] < state.blkIndent:
            failures[key] = (start_line, line)  # kept with `src` alive: the whole parse
            return False  # a blank line (or the end of the container) before the closer: not math, as in pandoc
        # the line's own indentation is TeX's to keep (byte for byte), the container's is not
        low = search = state.bMarks[line] + min(state.tShift[line], state.blkIndent)
    rest = LABEL_AFTER.fullmatch(src, at + len(closer), high)
    if rest is None:
        return False
    label = rest.group(1) if rest.group(1) is not None else rest.group(2)
    if label is not None and not opener:
        return False
    if silent:
        return True
    pieces.append(src[low : at + (0 if opener else len(closer))])
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = "\n".join(pieces)
    token.markup = opener
    token.map = [start_line, line + 1]
    line_start = src.rfind("\n", 0, begin) + 1
    token.meta = {"position": (start_line, begin - line_start + 1), "label": label}
    state.line = line + 1
    return True


# ---------------------------------------------------------------- math in raw HTML

# What in an HTML block is not text a reader sees as prose: comments, tags, and the elements whose text is code
_NOT_PROSE = lazy_compile(
    r"<!--.*?(?:-->|\Z)|<(script|style|pre|code|kbd|samp|textarea|math|svg)\b.*?(?:</\1\s*>|\Z)|<[^>]*>",
    re.DOTALL | re.IGNORECASE,
)
_MATH_OPENER = lazy_compile(r"\$|\\[(\[]|\\begin\{")


def _math_in_raw_html(state: StateCore) -> None:
    """A formula written in the text of a raw HTML block (`<div class="proof">` … `$$x$$` … `</div>`) is a located
    error, env "math_errors": CommonMark keeps the block's text as it is, so the reader would see the TeX."""
    for token in state.tokens:
        if token.type != "html_block" or not any(c in token.content for c in "$\\"):
            continue
        found = _first_formula_in_html(token.content)
        if found is None:
            continue
        at, span = found
        text = token.content
        line = (token.map[0] if token.map else 0) + text.count("\n", 0, at)
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        written = text[at : span.after]
        kind = "display" if span.opener in ("$$", "\\[", "") else "inline"
        message = (
            f"math in raw HTML is not read, so '{written}' would show as written: leave a blank line after the "
            "opening tag's line and before the closing tag (the lines between are then Markdown), or write "
            f'<span class="math {kind}">{html.escape(text[span.start : span.stop].strip(), quote=False)}</span>'
        )
        state.env.setdefault("math_errors", []).append((line, column, message, None))


def _first_formula_in_html(text: str) -> tuple[int, Span] | None:
    """Where the first formula in the prose of an HTML block starts, and its span; each stretch of text between
    tags is read once, up to its first formula."""
    done = 0
    for skipped in (*_NOT_PROSE.finditer(text), None):
        stop = skipped.start() if skipped else len(text)
        for opener in _MATH_OPENER.finditer(text, done, stop):
            span = scan_math(text, opener.start(), stop)
            if span is not None:
                return opener.start(), span
        done = skipped.end() if skipped else stop
    return None


# ---------------------------------------------------------------- where each formula is


def locate_math(state: StateCore) -> None:
    """Give each math token its place in the source, meta "position" = (0-based line, 1-based column), and
    note in env "stray_dollars" each `$` left as text that reads like the start of unclosed math."""
    failed: list[tuple[str, int]] = state.env.pop("math_failed", [])
    if not any(t.type == "math_block" or (t.children and t.type == "inline") for t in state.tokens):
        return
    src = state.src
    starts = [0, *(match.end() for match in NEWLINE.finditer(src))]
    by_source: dict[int, tuple[Token, list[tuple[int, int]]]] = {}
    for token in state.tokens:
        if token.type != "inline" or not token.map or not token.children:
            continue
        if not any(c.type in MATH for c in _flat(token.children)) and not failed:
            continue
        anchors = token.meta.get("anchors") or _line_anchors(token, src, starts)
        by_source[id(token.content)] = (token, anchors)
        for child in _flat(token.children):
            if child.type in MATH:
                offset = child.meta.get("offset", 0)
                if child.meta.get("source") is not token.content:  # parsed from a piece of it (a footnote)
                    found = token.content.find(child.markup + child.content)
                    offset = max(found, 0)
                child.meta["position"] = _where(_source_offset(anchors, offset), starts)
                child.meta.pop("source", None)
    stray: list[tuple[int, int]] = state.env.setdefault("stray_dollars", [])
    broken = _BrokenDisplays(src)
    for text, offset in failed:
        entry = by_source.get(id(text))
        if entry is None:
            continue
        at = _source_offset(entry[1], offset)
        if at in broken.closers:
            continue  # the closer of a display already reported: no formula of its own, no stray dollar
        blank = broken.blank_line(at)
        if blank is not None:
            line, column = _where(at, starts)
            message = (
                "a blank line (line {blank}) inside this display formula ends it, in Markdown as in pandoc, so "
                "its TeX would show as text: delete the blank line (TeX allows none in display math either), or put "
                "a % on it"
            )
            state.env.setdefault("math_errors", []).append((line, column, message, _where(blank, starts)[0]))
        elif text.startswith("$", offset) and _looks_like_tex(text, offset):
            stray.append(_where(at, starts))


class _BrokenDisplays:
    """Display formulas (`$$`, `\\[`, a bare environment) that a blank line cut in two, found from their openers in
    document order, each search starting where the last one ended: linear in the body."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.closers: set[int] = set()  # where the closers of the broken ones are: no stray dollar there
        self.found: dict[str, tuple[int, int]] = {}  # closer → (searched from, where it is next, or -1)
        self.blank: tuple[int, int] | None = None  # (searched from, where the next blank line is, or -1)

    def _next(self, closer: str, start: int) -> int:
        known = self.found.get(closer)
        if known is None or start < known[0] or (0 <= known[1] < start):
            known = (start, self.src.find(closer, start))
            self.found[closer] = known
        return known[1]

    def _next_blank(self, start: int) -> int:
        if self.blank is None or start < self.blank[0] or (0 <= self.blank[1] < start):
            match = BLANK_LINE.search(self.src, start)
            self.blank = (start, match.start() + 1 if match else -1)
        return self.blank[1]

    def blank_line(self, at: int) -> int | None:
        """Where the blank line is (a source offset) if a display formula opens at src[at] and a blank line comes
        before its closer; None otherwise."""
        src = self.src
        if src.startswith(("$$", "\\["), at):
            closer, start = ("$$" if src[at] == "$" else "\\]"), at + 2
        elif (environment := BEGIN_ENVIRONMENT.match(src, at)) is not None:
            closer, start = f"\\end{{{environment.group(1)}{environment.group(2)}}}", environment.end()
        else:
            return None
        stop = self._next(closer, start)
        blank = self._next_blank(start)
        if stop < 0 or blank < 0 or blank > stop:
            return None
        self.closers.add(stop)
        return blank


_STRAY = re.compile(r"\${1,2}(?=[^\s\d$])(\S*)")
_TEX_SIGNS = re.compile(r"[\\^{}]")  # not "_": $HOME_DIR in prose is no formula


def _looks_like_tex(text: str, offset: int) -> bool:
    """A `$` that opened no formula but is followed by what reads as TeX: unclosed math, not a price."""
    if text.startswith("$$", offset) and not text[offset + 2 :].split("\n", 1)[0].strip():
        return True  # a display formula's opener, alone: its closer is missing, or a blank line came first
    match = _STRAY.match(text, offset)
    return match is not None and _TEX_SIGNS.search(match.group(1)) is not None


def _flat(tokens: Sequence[Token]) -> Any:
    for token in tokens:
        yield token
        if token.children and token.type != "image":  # an image's alt text is text: no math element is made
            yield from _flat(token.children)


def math_tokens(tokens: Sequence[Token]) -> Any:
    """Every token that becomes a math element on the page, in document order."""
    return (token for token in _flat(tokens) if token.type in MATH)


def _line_anchors(token: Token, src: str, starts: list[int]) -> list[tuple[int, int]]:
    """(offset in the inline text, offset in the source) at the start of each of its lines.

    A paragraph's (or heading's) line is its source line less the containers' markers, indentation and, for
    a heading, its `#`s: so it ends the source line (trailing spaces aside), or failing that, is found in it.
    """
    anchors = []
    first = token.map[0] if token.map else 0
    offset = 0
    for index, text in enumerate(token.content.split("\n")):
        number = min(first + index, len(starts) - 1)
        begin = starts[number]
        finish = starts[number + 1] - 1 if number + 1 < len(starts) else len(src)
        line = src[begin:finish]
        kept, whole = text.rstrip(), line.rstrip()
        column = len(whole) - len(kept) if kept and whole.endswith(kept) else max(line.find(text), 0)
        anchors.append((offset, begin + column))
        offset += len(text) + 1
    return anchors


def _source_offset(anchors: list[tuple[int, int]], offset: int) -> int:
    index = bisect.bisect_right(anchors, (offset, float("inf"))) - 1
    inline_at, source_at = anchors[max(index, 0)]
    return source_at + offset - inline_at


def _where(offset: int, starts: list[int]) -> tuple[int, int]:
    line = bisect.bisect_right(starts, offset) - 1
    return line, offset - starts[line] + 1
