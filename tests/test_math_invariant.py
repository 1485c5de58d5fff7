"""The round-trip invariant of math: every formula on the page is the source text between its delimiters,
at the line and column the build records for it.

Checked as a property of whole corpora, not of particular inputs: every formula of every Markdown file of the
example site, of bodies from the fuzzer's generator (tests/test_fuzz.py), of the seeded math corpus, and of
the table of tricky cases. The other half, that every `$` left as text is one the dollar rules say is not
math, is the pandoc oracle's to check (tests/test_math_oracle.py), here over the example site too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from math_corpus import TRICKY, random_bodies
from primer_site.syntax.markdown import render_body
from primer_site.syntax.mathsyntax import Formula
from test_fuzz import bodies as fuzz_bodies
from test_math_oracle import differences

ROOT = Path(__file__).resolve().parents[1]
_CLOSERS = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]", "": ""}
_LABEL = re.compile(r"\\label\s*\{[^{}]*\}")
_CONTAINER = re.compile(r"[ \t]*(?:>[ \t]?)*")  # what a blockquote or a list item puts before a line


def _flat(text: str) -> str:
    return " ".join(_LABEL.sub("", text).split())


def check_formula(body: str, formula: Formula, first_line: int = 1) -> str | None:
    """What is wrong with a formula's record, or None: at its line:column stands an opening delimiter, then its
    TeX (lines after the first less their containers' markers; whitespace runs as one space, `\\label{…}`
    aside), then the closing delimiter."""
    # as markdown-it reads it (its only changes to the text: line endings, and NUL made U+FFFD)
    lines = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd").split("\n")
    index = formula.line - first_line
    if not (0 <= index < len(lines)) or formula.column < 1:
        return f"no such place: {formula.line}:{formula.column}"
    line = lines[index]
    at = formula.column - 1
    opener = next((o for o in ("$$", "$", "\\(", "\\[") if line.startswith(o, at)), None)
    if opener is None:
        opener = "" if line.startswith("\\begin{", at) else None
    if opener is None:
        return f"no opening delimiter at {formula.line}:{formula.column}: {line[at : at + 20]!r}"
    rest = [line[at + len(opener) :]] + [_CONTAINER.sub("", following, count=1) for following in lines[index + 1 :]]
    source = _flat("\n".join(rest[: formula.tex.count("\n") + 12]))
    tex = _flat(formula.tex)
    if not source.startswith(tex):
        return f"TeX {formula.tex!r} is not what follows the delimiter: {source[:60]!r}"
    after = source[len(tex) :].lstrip()
    if not after.startswith(_CLOSERS[opener]):
        return f"TeX {formula.tex!r} is not followed by {_CLOSERS[opener]!r}: {after[:20]!r}"
    return None


def assert_invariant(body: str, first_line: int = 1) -> int:
    rendered = render_body(body, "content/x.md", first_line)
    wrong = [(f, problem) for f in rendered.formulas if (problem := check_formula(body, f, first_line))]
    assert not wrong, f"{wrong[:3]} in {body[:300]!r}"
    # and each formula is on the page, as one math element
    page = rendered.html
    for formula in rendered.formulas:
        escaped = formula.tex.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f">{escaped}</" in page, (formula, page[:500])
    return len(rendered.formulas)


def example_site_files() -> list[tuple[str, str, int]]:
    """(path, body, first line of the body) of every Markdown file of the example site."""
    found = []
    for path in sorted([*ROOT.glob("content/**/*.md"), *ROOT.glob("series/*.md")]):
        text = path.read_text(encoding="utf-8")
        body, first_line = text, 1
        if text.startswith("---\n"):
            end = text.index("\n---\n", 4)
            body, first_line = text[end + 5 :], text[: end + 5].count("\n") + 1
        found.append((str(path.relative_to(ROOT)), body, first_line))
    return found


def test_every_formula_of_the_example_site_is_its_source() -> None:
    files = example_site_files()
    counted = sum(assert_invariant(body, first_line) for _, body, first_line in files)
    assert len(files) > 10 and counted > 100  # a corpus, not a sample


def test_the_example_site_reads_as_pandoc_reads_it() -> None:
    """So every `$` the site leaves as text is one pandoc leaves as text (but for the listed differences)."""
    unexplained = [path for path, body, _ in example_site_files() if differences(body)[2] == "unexplained"]
    assert not unexplained


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_cases(name: str) -> None:
    assert_invariant(TRICKY[name])


def test_the_seeded_math_corpus() -> None:
    assert sum(assert_invariant(body) for body in random_bodies(seed=7, count=400)) > 400


@settings(max_examples=300, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(fuzz_bodies)
def test_the_fuzzers_bodies(body: str) -> None:
    assert_invariant(body)
