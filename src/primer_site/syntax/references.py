"""What points into a body: the numbered labels (equations, figures, tables, theorem-like blocks, and headings
when a series numbers its sections) that references `[](#eq:kl)` resolve to. What a body points at (links, files
beside it): bodylinks.py; how KaTeX numbers a display itself: katexnumbering.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from primer_site.errors import Diagnostic
from primer_site.syntax.figures import KIND_NAMES, TEX_REFERENCE, tex_reference_message
from primer_site.syntax.headings import UNNUMBERED, inline_html
from primer_site.syntax.katexnumbering import TEX_LABEL, katex_numbering, one_label_a_row, starred
from primer_site.syntax.mathsyntax import DISPLAY_MATH, math_tokens
from primer_site.syntax.theorems import OPEN as THEOREM_OPEN
from primer_site.syntax.theorems import solution_id


@dataclass(frozen=True)
class Label:
    """What a reference can point at: a labelled equation, figure or table, or a heading, with its number
    ("10.3", or "")."""

    id: str
    kind: str  # "equation", "figure", "table", "section", or a theorem-like kind ("theorem", "exercise"…)
    number: str
    html: str  # a heading's inline HTML, a theorem-like block's title; "" for the others
    name: str = ""  # a theorem-like block's kind as its number reads: "Theorem" (theoremkinds)

    @property
    def reference_html(self) -> str:
        """The text of an empty link to it: `[](#eq:kl)` → "Eq. (10.3)", `[](#fig:attention)` → "Figure 4.2",
        a heading → "10.2 Its title"."""
        if self.kind == "equation":
            return f"Eq. ({self.number})"
        if self.name:
            return f"{self.name} {self.number}"
        if self.kind in KIND_NAMES:
            return f"{KIND_NAMES[self.kind]} {self.number}"
        return f"{self.number} {self.html}" if self.number else self.html


def number_labels(
    md: MarkdownIt,
    tokens: Sequence[Token],
    env: Any,
    chapter: str,
    number_sections: bool,
    source: str,
    first_line: int,
    errors: list[Diagnostic],
) -> dict[str, Label]:
    """Number labelled equations, figures and tables (and h2/h3 headings, if asked), in document order: the
    labels by id.

    "10.3" is the third labelled equation of chapter 10 ("3" without a chapter); figures and tables are
    counted apart, "Figure 10.1" and "Table 10.1". A label used twice, two
    labels on one equation, or a label with spaces or markup is a located error appended to `errors`.

    A page shows one numbering: a labelled equation's environment is made its starred form (KaTeX numbers
    `equation`, `align`, `gather` and `alignat` itself, by a page-wide CSS counter), and a label with `\\tag`,
    a label on a numbered environment of several rows, or an unlabelled display KaTeX numbers on a page with
    labelled equations is a located error. Without labels on the page KaTeX's numbers stay, and a `\\tag` on an
    unlabelled display is the author's own text, which no reference can name.
    """
    prefix = f"{chapter}." if chapter else ""
    labels: dict[str, Label] = {}
    equations = sections = subsections = 0
    counts = {"figure": 0, "table": 0}
    theorem_counts: dict[str, int] = {}  # by counter: "shared", "exercise", or a kind's own (theoremkinds)
    blocks: dict[str, Token] = {}  # theorem-like blocks by label
    targets: list[tuple[Token, int]] = []  # proofs and solutions that name a block: (opening, line)

    def add(label: Label, line: int, column: int = 0) -> None:
        if label.id in labels:
            kind = labels[label.id].kind
            what = {"equation": "an equation", "figure": "a figure", "table": "a table"}.get(kind) or (
                f"a {kind}" if labels[label.id].name else "a heading"
            )
            errors.append(Diagnostic(source, line, column, "error", f"label {label.id!r} is already {what}'s label"))
        else:
            labels[label.id] = label

    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.attrGet("id"):
            number = ""
            if token.meta.get(UNNUMBERED):
                pass  # `## Preface {.unnumbered}`: pandoc's, and the counters go on without it
            elif number_sections and token.tag == "h2":
                sections, subsections = sections + 1, 0
                number = f"{prefix}{sections}"
            elif number_sections and token.tag == "h3":
                subsections += 1
                number = f"{prefix}{sections}.{subsections}"
            if number:
                token.meta["number"] = number
            html = inline_html(md, tokens[index + 1].children or [], env, links=False)
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(str(token.attrGet("id")), "section", number, html), line)
        elif token.type == "figure_open" and token.meta.get("label"):
            kind = token.meta["kind"]
            counts[kind] += 1
            token.meta["number"] = f"{prefix}{counts[kind]}"
            line = first_line + (token.map[0] if token.map else 0)
            add(Label(token.meta["label"], kind, token.meta["number"], ""), line)
        elif token.type == THEOREM_OPEN:
            meta, line = token.meta, first_line + (token.map[0] if token.map else 0)
            if meta.get("counter"):
                theorem_counts[meta["counter"]] = theorem_counts.get(meta["counter"], 0) + 1
                meta["number"] = f"{prefix}{theorem_counts[meta['counter']]}"
            if meta.get("label"):
                # the opening, its head, the title's inline token
                html = md.renderer.render(tokens[index + 2].children or [], md.options, env)
                add(Label(meta["label"], meta["kind"], meta["number"], html, meta["name"]), line)
                blocks[meta["label"]] = token
            if meta.get("target"):
                targets.append((token, line))
    for token, line in targets:
        meta = token.meta
        named = labels.get(meta["target"])
        wanted = "exercise" if meta["kind"] == "solution" else "theorem-like block"
        if named is None or not named.name or (meta["kind"] == "solution" and named.kind != "exercise"):
            how = "for" if meta["kind"] == "solution" else "of"
            message = f"{meta['kind']} {{{how}={meta['target']}}}: this page has no {wanted} labelled {meta['target']}"
            errors.append(Diagnostic(source, line, 0, "error", message))
            continue
        meta["target_name"] = named.reference_html
        if meta.get("gathered"):  # the exercise links to its solution at the end of the page
            blocks[meta["target"]].meta["solution"] = solution_id(meta["target"])
    katex_numbered: list[tuple[int, int, str]] = []  # unlabelled displays KaTeX numbers: (line, column, environment)
    for token in math_tokens(tokens):
        if "ref" in token.content and (reference := TEX_REFERENCE.search(token.content)):
            line, column = token.meta.get("position", (0, 0))
            errors.append(Diagnostic(source, first_line + line, column, "error", tex_reference_message(reference)))
        if token.type not in DISPLAY_MATH:
            continue
        found = TEX_LABEL.findall(token.content)
        if token.meta.get("label") is not None:  # `$$ … $$ (eq:kl)`
            found.insert(0, token.meta["label"].strip())
        line, column = token.meta.get("position", (0, 0))
        line += first_line
        if not found:
            numbered = [e.name for e in katex_numbering(token.content)[1] if e.numbered_rows]
            katex_numbered += [(line, column, numbered[0])] if numbered else []
            continue
        if len(found) > 1 and token.meta.get("label") is None and one_label_a_row(token.content):
            # `\label` on each row of an align (gather, alignat): each row numbered, each a label; KaTeX shows
            # our numbers as each row's \tag
            labelled = [m.group(1).strip() for m in TEX_LABEL.finditer(token.content)]
            rows = [(row_label, f"{prefix}{equations + i}") for i, row_label in enumerate(labelled, start=1)]
            numbers = iter(rows)
            token.content = TEX_LABEL.sub(lambda _, n=numbers: f"\\tag{{{next(n)[1]}}}", token.content)
            equations += len(rows)
            token.meta.update(label=rows[0][0], rows=tuple(rows))
            for row_label, row_number in rows:
                add(Label(row_label, "equation", row_number, ""), line, column)
            continue
        if len(found) > 1:
            message = f"one label per display equation: this one has {', '.join(found)} (split it in two)"
            errors.append(Diagnostic(source, line, column, "error", message))
        label = found[0]
        if not label or any(c.isspace() or c in '"<>&' for c in label):
            errors.append(Diagnostic(source, line, column, "error", f"label {label!r}: use letters, digits, ':', '-'"))
            continue
        equations += 1
        number = f"{prefix}{equations}"
        tex = TEX_LABEL.sub("", token.content)  # KaTeX has no \label: the number is ours
        tags, environments = katex_numbering(tex)
        if tags:
            message = f"equation {label!r} has a label, which numbers it ({number}), and \\tag, which KaTeX shows as a second number: drop one"
            errors.append(Diagnostic(source, line, column, "error", message))
        for rows in (e for e in environments if e.rows - e.trailing_empty > 1 and len(found) == 1):
            message = (
                f"label {label!r} is on a {{{rows.name}}} of {rows.rows} rows, each of which KaTeX would number: write "
                f"\\begin{{{rows.name}*}} for one number, the label's, or split it into displays with a label each"
            )
            errors.append(Diagnostic(source, line, column, "error", message))
        # one number, ours: KaTeX's is not made (the same TeX in the browser, at build time and in feeds' MathML)
        token.content = starred(tex, environments)
        token.meta.update(label=label, number=number)
        add(Label(label, "equation", number, ""), line, column)
    for line, column, name in katex_numbered if equations else ():
        message = (
            f"KaTeX numbers this {{{name}}} itself, (1), (2)… down the page, beside the labelled equations' "
            f"numbers ({prefix}1…): write \\begin{{{name}*}} for no number, or give it a label"
        )
        errors.append(Diagnostic(source, line, column, "error", message))
    return labels
