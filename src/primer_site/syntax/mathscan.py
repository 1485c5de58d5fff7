"""The scanner of TeX math in Markdown text: where a formula opens and closes, by pandoc's rules.

`scan_math(src, pos, end)` reads one formula at `pos` (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]` or a bare amsmath
environment) as pandoc's reader does (its manual, "Extension: tex_math_dollars" and "tex_math_single_backslash";
Text.Pandoc.Parsing.Math), or None. A ScanMemo shared by the scans of one text keeps each scan linear in the text
(no closer is searched for twice). The markdown-it rules that call it are in mathsyntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

# The amsmath environments read as display math when they stand bare in the text (what KaTeX's display mode takes).
ENVIRONMENTS = (
    "equation", "multline", "gather", "align", "alignat", "flalign",
    "matrix", "pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "eqnarray",
)  # fmt: skip
BEGIN_ENVIRONMENT = re.compile(r"\\begin\{(" + "|".join(ENVIRONMENTS) + r")(\*?)\}")
BLANK_LINE = re.compile(r"\n[ \t]*\n")  # pandoc: no formula goes over a blank line
_ORDINARY = re.compile(r"[^\\ \t\n$]+")  # characters that can neither close a formula nor need a rule
# `$$ … $$ (eq:kl)`, ours, or `$$ … $$ {#eq:kl}`, pandoc-crossref's (and Quarto's) attribute syntax
LABEL_AFTER = re.compile(r"[ \t]*(?:(?:\(([^()\n]*)\)|\{#([^{}\s]*)\})[ \t]*)?")
_DIGITS = "0123456789"
NEWLINE = re.compile("\n")


class Span(NamedTuple):
    """A formula found in a text: its opening delimiter, its TeX as src[start:stop], and where it ends."""

    opener: str  # "$", "$$", "\\(", "\\[", or "" for an environment (whose TeX includes \\begin…\\end)
    start: int
    stop: int
    after: int


@dataclass(frozen=True, slots=True)  # hundreds of thousands in a large site: no __dict__ each
class Formula:
    """One formula as KaTeX receives it, and where it starts in the Markdown source (1-based line, column)."""

    tex: str
    display: bool
    line: int
    column: int


class ScanMemo:
    """What earlier scans of one text, up to one end, found: so that scanning from every opener of a long text
    costs time linear in its length, not quadratic or cubic (`\\(` or `\\(\\text{` repeated, none closed).

    `failed[closer]`: the places an inline scan for that closer passed on its way to failing: a later scan that
    reaches one of them, in step (a backslash pair never straddles it), fails the same way, so it stops there.
    `braces`: where each `{` scanned by _balanced_braces is closed (None: not before the end); one pass records
    every `{` it meets, and a `{` that follows a character other than a backslash starts a pair in every scan."""

    def __init__(self, src: str = "", end: int = 0) -> None:
        self.src, self.end = src, end
        self.failed: dict[str, set[int]] = {}
        self.braces: dict[int, int | None] = {}
        self.firsts: dict[str, tuple[int, int, int]] = {}

    def find(self, text: str, start: int) -> int:
        """src.find(text, start, end), answered without a search when an earlier one looked through `start`."""
        return self._first(text, start, lambda: (at := self.src.find(text, start, self.end), at))

    def blank_line_end(self, start: int) -> int:
        """Where the first blank line (BLANK_LINE) from `start` ends, or -1."""

        def search() -> tuple[int, int]:
            found = BLANK_LINE.search(self.src, start, self.end)
            return (found.start(), found.end()) if found else (-1, -1)

        return self._first("\n\n", start, search)

    def _first(self, key: str, start: int, search: Callable[[], tuple[int, int]]) -> int:
        known = self.firsts.get(key)  # (searched from, where the match starts or -1, the answer)
        if known is not None and known[0] <= start and (start <= known[1] or known[1] < 0):
            return known[2]
        at, answer = search()
        self.firsts[key] = (start, at, answer)
        return answer


def scan_math(src: str, pos: int, end: int, memo: ScanMemo | None = None) -> Span | None:
    """The formula whose opening delimiter is at src[pos], reading no further than src[end]; None if none is.

    `$$…$$` is tried before `$…$`, as pandoc does; when it fails, the first `$` is text and the second may open.
    `memo`: kept by the caller for every scan of this `src` up to this `end` (ScanMemo), or None.
    """
    if src.startswith("$", pos):
        if src.startswith("$$", pos, end):
            return _display(src, pos, end, "$$", "$$", memo)
        return _inline(src, pos, end, "$", "$", memo)
    if src.startswith("\\[", pos, end):
        return _display(src, pos, end, "\\[", "\\]", memo)
    if src.startswith("\\(", pos, end):
        return _inline(src, pos, end, "\\(", "\\)", memo)
    if src.startswith("\\begin{", pos, end):
        return _environment(src, pos, end, memo)
    return None


def _inline(src: str, pos: int, end: int, opener: str, closer: str, memo: ScanMemo | None = None) -> Span | None:
    """pandoc's inline math: after `$` no space; before the closer no space (a space run may not be followed by
    `$`); a line break only if no blank line follows; a backslash takes the next character with it, and
    `\\text{…}` its balanced braces (so a `$` in it does not close); the closer not followed by a digit."""
    i = pos + len(opener)
    if opener == "$" and (i >= end or src[i].isspace()):
        return None
    if src.startswith(closer, i, end):
        return None  # pandoc's many1Till: no closer right after the opener
    failed = memo.failed.setdefault(closer, set()) if memo is not None else None
    passed: list[int] = []
    span = _inline_from(src, pos, i, end, opener, closer, memo, failed, passed)
    if span is None and failed is not None:
        failed.update(passed)
    return span


def _inline_from(
    src: str,
    pos: int,
    i: int,
    end: int,
    opener: str,
    closer: str,
    memo: ScanMemo | None,
    failed: set[int] | None,
    passed: list[int],
) -> Span | None:
    """_inline's scan from src[i]; the places it passes go to `passed`, and one in `failed` ends it (ScanMemo)."""
    while i < end:
        if failed is not None:
            if i in failed:
                return None
            passed.append(i)
        if src.startswith(closer, i, end):
            after = i + len(closer)
            if after < end and src[after] in _DIGITS:
                return None  # $5 and $10
            return Span(opener, pos + len(opener), i, after)
        c = src[i]
        if c == "\\":
            if src.startswith("text{", i + 1, end):
                closing = _balanced_braces(src, i + 5, end, memo)
                if closing is not None:
                    i = closing
                    continue
            if i + 1 >= end:
                return None
            i += 2
        elif c in " \t\n":
            j = i
            while j < end and src[j] in " \t":
                j += 1
            if j < end and src[j] == "\n":
                j += 1
                k = j
                while k < end and src[k] in " \t":
                    k += 1
                if k < end and src[k] == "\n":
                    return None
            if j < end and src[j] == "$":
                return None
            i = j
        else:
            ordinary = _ORDINARY.match(src, i, end)
            i = ordinary.end() if ordinary else i + 1
    return None


def _balanced_braces(src: str, i: int, end: int, memo: ScanMemo | None = None) -> int | None:
    """Where the `{` at src[i] is closed (just after the `}`), a backslash escaping the next character. With a
    `memo`, one pass records where every `{` it meets is closed, and a later question about one of them is
    answered from it."""
    if memo is not None and i in memo.braces:
        return memo.braces[i]
    opened: list[int] = []  # the places of the `{` not yet closed
    while i < end:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            opened.append(i)
        elif c == "}" and opened:
            at = opened.pop()
            if memo is not None:
                memo.braces[at] = i + 1
            if not opened:
                return i + 1
        i += 1
    if memo is not None:
        memo.braces.update(dict.fromkeys(opened))
    return None


def _display(src: str, pos: int, end: int, opener: str, closer: str, memo: ScanMemo | None = None) -> Span | None:
    """pandoc's display math: anything up to the first closer but a blank line, at least one character."""
    start = pos + len(opener)
    if memo is not None:
        stop = memo.find(closer, start)
        if stop <= start or 0 <= memo.blank_line_end(start) <= stop + 1:
            return None
        return Span(opener, start, stop, stop + len(closer))
    stop = src.find(closer, start, end)
    if stop <= start or BLANK_LINE.search(src, start, stop + 1):
        return None
    return Span(opener, start, stop, stop + len(closer))


def _environment(src: str, pos: int, end: int, memo: ScanMemo | None = None) -> Span | None:
    """`\\begin{align}` … the first `\\end{align}`, no blank line between; its TeX keeps both."""
    begin = BEGIN_ENVIRONMENT.match(src, pos, end)
    if begin is None:
        return None
    closing = f"\\end{{{begin.group(1)}{begin.group(2)}}}"
    if memo is not None:
        stop = memo.find(closing, begin.end())
        if stop < 0 or 0 <= memo.blank_line_end(pos) <= stop:
            return None
        return Span("", pos, stop + len(closing), stop + len(closing))
    stop = src.find(closing, begin.end(), end)
    if stop < 0 or BLANK_LINE.search(src, pos, stop):
        return None
    return Span("", pos, stop + len(closing), stop + len(closing))
