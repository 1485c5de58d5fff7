"""How KaTeX numbers a display formula itself: the environments it numbers (amsmath's `equation`, `align`,
`gather`, `alignat`; KaTeX's getAutoTag), their rows counted as KaTeX's parseArray counts them, and `\\tag`s; so
that references.number_labels can give a page one numbering, ours (an environment made its starred form, a
`\\label` on each row made that row's `\\tag`). TeX is read as KaTeX's lexer reads it, enough to find
environments, rows and tags (linear in the TeX)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

TEX_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")

# The environments KaTeX numbers itself, each row "(1)", "(2)"… by a CSS counter over the whole page (KaTeX's
# getAutoTag: amsmath's numbered environments); their starred forms number nothing.
KATEX_NUMBERED = ("equation", "align", "gather", "alignat")

# TeX as KaTeX's lexer reads it, enough to find environments, rows and tags: a comment, \begin{…}/\end{…}, a
# control sequence, a brace
_TEX = re.compile(r"%[^\n]*|\\(begin|end)\s*\{([^{}]*)\}|\\([A-Za-z@]+|.)|[{}]", re.DOTALL)


@dataclass
class KatexNumbered:
    """An environment KaTeX numbers, in one display formula: its rows, and where its \\begin and \\end are."""

    name: str  # "align"…
    depth: int  # brace depth at its \\begin: a \\\\ ends one of its rows only at this depth
    begin: tuple[int, int]  # span of `\\begin{align}` in the TeX
    end: tuple[int, int] | None = None
    rows: int = 1
    quiet_rows: set[int] = field(default_factory=set)  # rows with \\nonumber, \\notag or a \\tag of their own
    row_start: int = 0  # where its last row starts
    row_starts: list[int] = field(default_factory=list)  # where each row starts, in the TeX
    trailing_empty: bool = False  # it ends with `\\\\`: an empty last row, which KaTeX numbers too (as amsmath)

    @property
    def numbered_rows(self) -> int:
        return self.rows - len(self.quiet_rows)


def katex_numbering(tex: str) -> tuple[int, list[KatexNumbered]]:
    """How many `\\tag`s a display formula has, and the environments in it that KaTeX numbers, with their rows
    counted as KaTeX's parseArray counts them (a row ends at `\\\\` or `\\cr` of the environment itself, not of
    an `aligned` or `split` inside it; `equation` has one row)."""
    tags = 0
    found: list[KatexNumbered] = []
    open_environments: list[tuple[str, KatexNumbered | None]] = []
    depth = 0
    for match in _TEX.finditer(tex):
        text, word = match.group(0), match.group(3)
        if text in ("{", "}"):
            depth += 1 if text == "{" else -1
        elif match.group(1) == "begin":
            name = match.group(2).strip()
            numbered = (
                KatexNumbered(name, depth, match.span(), row_start=match.end(), row_starts=[match.end()])
                if name in KATEX_NUMBERED
                else None
            )
            found += [numbered] if numbered else []
            open_environments.append((name, numbered))
        elif match.group(1) == "end":
            if open_environments and open_environments[-1][0] == match.group(2).strip():
                numbered = open_environments.pop()[1]
                if numbered is not None:
                    numbered.end = match.span()
                    last_row = re.sub(r"%[^\n]*", "", tex[numbered.row_start : match.start()])
                    numbered.trailing_empty = numbered.rows > 1 and not last_row.strip()
        elif word in ("\\", "cr"):
            inner = open_environments[-1][1] if open_environments else None
            if inner is not None and inner.name != "equation" and depth == inner.depth:
                inner.rows += 1
                inner.row_start = match.end()
                inner.row_starts.append(match.end())
        elif word in ("tag", "nonumber", "notag"):
            tags += word == "tag"
            current = next((n for _, n in reversed(open_environments) if n is not None), None)
            if current is not None:
                current.quiet_rows.add(current.rows)
    return tags, found


def starred(tex: str, environments: Sequence[KatexNumbered]) -> str:
    """`tex` with each of the environments in its starred form (`align*`), which KaTeX does not number."""
    spans = [(e.begin, f"\\begin{{{e.name}*}}") for e in environments]
    spans += [(e.end, f"\\end{{{e.name}*}}") for e in environments if e.end is not None]
    for (start, stop), replacement in sorted(spans, reverse=True):  # from the end: earlier offsets stay valid
        tex = tex[:start] + replacement + tex[stop:]
    return tex


def one_label_a_row(tex: str) -> bool:
    """Whether `tex` is one environment KaTeX numbers, of several rows, with one `\\label` on each numbered row
    (a row with `\\nonumber` or `\\notag` has none) and no `\\tag`, each label a plain name."""
    tags, environments = katex_numbering(tex)
    multi = [e for e in environments if e.rows - e.trailing_empty > 1]
    if tags or len(multi) != 1 or len(environments) != 1 or multi[0].end is None:
        return False
    environment = multi[0]
    labels = list(TEX_LABEL.finditer(tex))
    if any(not m.group(1).strip() or any(c.isspace() or c in '"<>&' for c in m.group(1).strip()) for m in labels):
        return False
    rows = [bisect_right(environment.row_starts, m.start()) - 1 for m in labels]
    inside = all(environment.begin[1] <= m.start() < environment.end[0] for m in labels)
    # quiet_rows counts from 1, as KaTeX's rows do
    wanted = [r for r in range(environment.rows - environment.trailing_empty) if r + 1 not in environment.quiet_rows]
    return inside and rows == wanted
