"""Table rows whose formulas (or code spans) hold a `|`: read before markdown-it splits them into cells.

pandoc's pipe tables read a formula, a code span, raw HTML and an escaped character as one piece when they
split a row (Text.Pandoc.Readers.Markdown, pipeTableRow); GFM splits at every `|` not escaped. So a `|` inside
a formula of any delimiter, or inside a code span, does not split a cell here; `\\|` still reads as `|`
outside math (both agree), and inside a code span too (GFM, where it is the only way to write one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token

from primer_site.lazyregex import lazy_compile
from primer_site.syntax.mathscan import scan_math

_DELIMITER_ROW = re.compile(r"[ \t]*[|:-][|:\- \t]*")
_MASK = "\x00"  # markdown-it turns NUL in the source into U+FFFD, so a NUL can only be ours


def math_table_plugin(md: MarkdownIt) -> None:
    """markdown-it's GFM table rule, given rows in which a `|` inside math or code cannot split a cell."""
    original = md.block.ruler.__rules__[md.block.ruler.__find__("table")].fn
    md.block.ruler.at("table", _table_with_math(original), {"alt": ["paragraph", "reference"]})


def _table_with_math(original: Callable[[StateBlock, int, int, bool], bool]) -> Any:
    """markdown-it's GFM table rule, given rows whose `|` inside math (and code spans) cannot split a cell.

    markdown-it splits a row into cells before any inline rule runs, so the row is read here first: the
    pipes inside formulas and code spans are hidden from the splitter (pandoc's pipe tables read them as one
    piece), then restored in the cells' text. Each cell also records where its text is in the source.
    """

    def table(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if start_line + 1 >= end_line or not _DELIMITER_ROW.fullmatch(
            state.src, state.bMarks[start_line + 1], state.eMarks[start_line + 1]
        ):
            return False
        # The rows up to a blank line: only the first two matter to the header's check (silent, as a paragraph
        # asks at each of its lines), and a table whose header passes takes all the rows read: each line is read
        # once, however many lines could start a table (`:::` lines would otherwise cost quadratic time).
        if not _masked_table(original, state, start_line, end_line, True, _rows(state, start_line, start_line + 2)):
            return False
        if silent:
            return True
        return _masked_table(original, state, start_line, end_line, False, _rows(state, start_line, end_line))

    return table


def _masked_table(
    original: Callable[[StateBlock, int, int, bool], bool],
    state: StateBlock,
    start_line: int,
    end_line: int,
    silent: bool,
    rows: list[_Row],
) -> bool:
    """markdown-it's table rule over `rows` with their formulas' and code spans' pipes hidden from it."""
    if not any(sign in row.text for row in rows for sign in "$\\`"):
        return bool(original(state, start_line, end_line, silent))
    src = state.src
    state.src = _masked(src, rows)
    before = len(state.tokens)
    try:
        found = bool(original(state, start_line, end_line, silent))
    finally:
        state.src = src
    if found and not silent:
        _restore_cells(state.tokens[before:], {row.line: row for row in rows})
    return found


@dataclass(frozen=True)
class _Row:
    """A row of a pipe table: its line, where its text begins in the source, its text."""

    line: int
    begin: int  # source offset of its text
    text: str
    masked: str  # the text with each `|` that is not a cell boundary replaced by _MASK


def _rows(state: StateBlock, start_line: int, end_line: int) -> list[_Row]:
    """The lines a table starting here could have: up to the first blank line or the container's end (or
    `end_line`)."""
    rows = []
    for line in range(start_line, min(end_line, state.lineMax)):
        if state.isEmpty(line) or state.sCount[line] < state.blkIndent:
            break
        begin = state.bMarks[line] + state.tShift[line]
        text = state.src[begin : state.eMarks[line]]
        rows.append(_Row(line, begin, text, _mask_row(text) if "|" in text else text))
    return rows


def _masked(src: str, rows: Sequence[_Row]) -> str:
    pieces, last = [], 0
    for row in rows:
        pieces += [src[last : row.begin], row.masked]
        last = row.begin + len(row.text)
    return "".join([*pieces, src[last:]])


_BACKTICKS = lazy_compile(r"`+")
_HTML_OR_AUTOLINK = lazy_compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\x00-\x20]*>|</?[A-Za-z][^<>]*>|<!--.*?-->")


def _mask_row(text: str) -> str:
    """The row with each `|` inside a formula, or unescaped inside a code span, replaced by _MASK."""
    chars = list(text)
    i, end = 0, len(text)
    while i < end:
        c = text[i]
        if c in "$\\":
            span = scan_math(text, i, end)
            if span is not None:
                for k in range(i, span.after):
                    if chars[k] == "|":
                        chars[k] = _MASK
                i = span.after
            else:
                i += 2 if c == "\\" else 1  # `\\|` stays an escaped pipe: the splitter makes it `|`
        elif c == "`":
            run = _BACKTICKS.match(text, i)
            assert run is not None
            closing = _closing_backticks(text, run.end(), len(run.group(0)))
            if closing is None:
                i = run.end()
                continue
            for k in range(run.end(), closing):
                if chars[k] == "|" and text[k - 1] != "\\":
                    chars[k] = _MASK
            i = closing + len(run.group(0))
        elif c == "<" and (tag := _HTML_OR_AUTOLINK.match(text, i)) is not None:
            i = tag.end()  # raw HTML and autolinks are read before math in a cell, so they are skipped here too
        else:
            i += 1
    return "".join(chars)


def _closing_backticks(text: str, start: int, length: int) -> int | None:
    for run in _BACKTICKS.finditer(text, start):
        if len(run.group(0)) == length:
            return run.start()
    return None


def _restore_cells(tokens: Sequence[Token], rows: dict[int, _Row]) -> None:
    """Put the hidden pipes back in the cells' text, and give each cell its source offsets (meta "anchors")."""
    cells: dict[int, list[Token]] = {}
    for token in tokens:
        if token.type == "inline" and token.map:
            token.content = token.content.replace(_MASK, "|")
            cells.setdefault(token.map[0], []).append(token)
    for line, inlines in cells.items():
        row = rows.get(line)
        if row is None:
            continue
        pieces = _cell_sources(row)
        for token, anchors in zip(inlines, pieces, strict=False):
            token.meta["anchors"] = anchors


def _cell_sources(row: _Row) -> list[list[tuple[int, int]]]:
    """For each cell of a row, split as markdown-it splits it (at a `|` not after a backslash, dropping the
    backslash of `\\|`; an empty first and last piece are no cells): (offset in the cell's trimmed text,
    offset in the source) anchors, one at its start and one after each dropped backslash."""
    text = row.masked.rstrip()
    pieces: list[tuple[int, int, list[int]]] = []  # (start, end, dropped backslashes) in text
    start, dropped = 0, []
    for i, c in enumerate(text):
        if c == "|" and i and text[i - 1] == "\\":
            dropped.append(i - 1)
        elif c == "|":
            pieces.append((start, i, dropped))
            start, dropped = i + 1, []
    pieces.append((start, len(text), dropped))
    if pieces and pieces[0][0] == pieces[0][1]:
        pieces.pop(0)
    if pieces and pieces[-1][0] == pieces[-1][1]:
        pieces.pop()
    cells = []
    for begin, _, backslashes in pieces:
        lead = len(text[begin:]) - len(text[begin:].lstrip())
        anchors = [(0, row.begin + begin + lead)]
        for count, at in enumerate(backslashes):
            anchors.append((at - begin - lead - count, row.begin + at + 1))
        cells.append(anchors)
    return cells
