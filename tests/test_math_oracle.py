"""A reference oracle: the formulas primer-site reads in a body are the Math elements pandoc reads in it.

pandoc (from the pypandoc-binary package) reads each body with `-f markdown+tex_math_single_backslash -t
json`; its Math elements (and the raw LaTeX amsmath environments it keeps, which primer-site displays) must
equal primer-site's formulas, kind and TeX, in order, but for the differences listed in DIFFERENCES, each
with its reason. The CI profile reads a few hundred bodies; `bench/math_oracle.py` reads thousands.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pypandoc
import pytest

from math_corpus import TRICKY, random_bodies
from primer_site.syntax.markdown import render_body
from primer_site.syntax.mathsyntax import ENVIRONMENTS

PANDOC = pypandoc.get_pandoc_path()
_ENVIRONMENT = re.compile(r"\s*\\begin\{(" + "|".join(ENVIRONMENTS) + r")\*?\}")
CI_BODIES = 300

Formulas = list[tuple[bool, str]]  # (display, TeX with its whitespace runs made one space)


def _tex(text: str) -> str:
    return " ".join(text.split())


def pandoc_formulas(body: str, reader: str = "markdown+tex_math_single_backslash") -> Formulas:
    result = subprocess.run(
        [PANDOC, "-f", reader, "-t", "json"],
        input=body.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    found: Formulas = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("t") == "Math":
                kind, tex = node["c"]
                found.append((kind["t"] == "DisplayMath", _tex(tex)))
                return
            if (
                node.get("t") in ("RawBlock", "RawInline")
                and node["c"][0] in ("tex", "latex")
                and _ENVIRONMENT.match(node["c"][1])
            ):
                found.append((True, _tex(node["c"][1])))
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(result.stdout)["blocks"])
    return found


def our_formulas(body: str) -> Formulas:
    rendered = render_body(body, "content/x.md", 1)
    return [(f.display, _tex(f.tex)) for f in rendered.formulas]


def _without_environments(formulas: Formulas) -> Formulas:
    """Without raw_tex pandoc reads no environment at all: compare the rest."""
    return [f for f in formulas if not _ENVIRONMENT.match(f[1])]


def _without_labels(formulas: Formulas) -> Formulas:
    return [(display, _tex(_LABEL.sub("", tex)) if display else tex) for display, tex in formulas]


_LABEL = re.compile(r"\\label\s*\{[^{}]*\}")

_TABLE = re.compile(r"^(\|.*\n)(\|[-|: ]+\n)((?:\|.*(?:\n|$))+)", re.MULTILINE)


def _rows_apart(body: str) -> str:
    """Each table row made a table of its own (the header and delimiter rows repeated)."""
    return _TABLE.sub(
        lambda m: "\n".join(m.group(1) + m.group(2) + row + "\n" for row in m.group(3).splitlines()), body
    )


# Where primer-site reads math differently from pandoc, on purpose, and how pandoc is made to read as we do
# (or, for a label, how its formulas are made ours). A body may need more than one.
DIFFERENCES = {
    "label": "`\\label{…}` is taken out of a display formula: the equation number is ours (KaTeX has no \\label)",
    "raw-tex": "pandoc's raw_tex extension reads a TeX command outside math, `\\text{a $b$ c}`, as raw LaTeX (left "
    "out of HTML), so math in its braces is no math to it; primer-site shows prose as text and reads the math in "
    "it, as pandoc does without raw_tex (which then reads no environment at all: those are left out)",
    "table-row": "a formula or code span in a table row ends with its row; pandoc lets one run on into the next row "
    "(inline math and code may hold a line break), merging the rows: read apart, each row as its own table, "
    "pandoc agrees",
    "footnote-order": "pandoc puts a footnote's formulas where the footnote is referenced, primer-site where it "
    "is shown, at the end of the body: the same formulas, in another order",
    "admonition": "`::: note Title` is primer-site's admonition, whose title is text; pandoc reads a paragraph",
}


def _rereadings(body: str) -> Iterator[tuple[tuple[str, ...], Formulas]]:
    """pandoc's formulas with the listed differences taken away, one combination at a time."""
    texts = [((), body)]
    if _TABLE.search(body):
        texts.append((("table-row",), _rows_apart(body)))
    for names, text in texts:
        if names:
            yield names, pandoc_formulas(text)
        if "\\" in body:
            reading = pandoc_formulas(text, "markdown-raw_tex+tex_math_single_backslash")
            yield (*names, "raw-tex"), reading


def differences(body: str) -> tuple[Formulas, Formulas, str | None]:
    """Our formulas, pandoc's, and the listed differences that explain a disagreement (None: they agree)."""
    ours, theirs = our_formulas(body), pandoc_formulas(body)
    if ours == theirs:
        return ours, theirs, None
    if "\\label" in body and ours == _without_labels(theirs):
        return ours, theirs, "label"
    for names, reading in _rereadings(body):
        mine = _without_environments(ours) if "raw-tex" in names else ours
        if mine == reading:
            return ours, theirs, "+".join(names)
        if "\\label" in body and mine == _without_labels(reading):
            return ours, theirs, "+".join((*names, "label"))
    if "[^" in body and sorted(ours) == sorted(theirs):
        return ours, theirs, "footnote-order"
    if ":::" in body and all(f in theirs for f in ours):
        return ours, theirs, "admonition"
    return ours, theirs, "unexplained"


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_bodies_read_as_pandoc_reads_them(name: str) -> None:
    ours, theirs, difference = differences(TRICKY[name])
    assert difference != "unexplained", f"ours: {ours}\npandoc: {theirs}"


def test_generated_bodies_read_as_pandoc_reads_them() -> None:
    bodies = random_bodies(seed=20261130, count=CI_BODIES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(differences, bodies))
    unexplained = [(body, o, t) for body, (o, t, d) in zip(bodies, outcomes, strict=True) if d == "unexplained"]
    agreed = sum(1 for _, _, d in outcomes if d is None)
    assert not unexplained, f"{len(unexplained)} of {len(bodies)} disagree; first: {unexplained[:3]}"
    assert agreed >= len(bodies) * 0.7  # the listed differences are exceptions, not the rule
    assert sum(len(o) for o, _, _ in outcomes) > len(bodies)  # the bodies do have math in them
