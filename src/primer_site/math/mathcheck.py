"""The build-time math check: every formula through the KaTeX the pages load, with its page's macros.

KaTeX is asked through the math engine (katex.py), in the same pass as anything else the build wants of the
same formulas (the MathML of full-content feeds), each distinct formula once, its answer kept in .primer-cache/.
What needs no KaTeX to see is checked in Python, with or without Node: unbalanced braces and environments, and a
lone `$` that looks like the start of unclosed math. What each file gives the check, and the verdicts kept between
builds, are mathsources.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from primer_site.errors import Diagnostic
from primer_site.lazyregex import lazy_compile
from primer_site.math.katex import FormulaRequests, FormulaResult, KatexService
from primer_site.math.katexsetup import KatexSetup, katex_advice, locate_katex
from primer_site.math.katexworker import FormulaKey, KatexError
from primer_site.math.mathsources import SITE_MACROS, CheckMemo, MathSource
from primer_site.sources.config import KATEX_VERSION
from primer_site.syntax.markdown import Formula


@dataclass(frozen=True)
class MathReport:
    """What the math check found: its diagnostics, how many formulas it read, KaTeX's version."""

    diagnostics: tuple[Diagnostic, ...]
    formulas: int
    katex_version: str | None  # None: KaTeX did not run (its warning is among the diagnostics)
    sources: Sequence[MathSource] = ()  # the files checked


@dataclass(frozen=True)
class CheckRequests:
    """What the check asked KaTeX, and what Python found wrong without it."""

    sources: Sequence[MathSource]
    macros: tuple[str, ...]  # each source's macros id
    asked: tuple[FormulaKey, ...]  # each distinct formula sent to KaTeX
    problems: Mapping[FormulaKey, str]  # formulas not sent: their braces or environments do not balance


def request_checks(sources: Sequence[MathSource], requests: FormulaRequests) -> CheckRequests:
    """Ask KaTeX about each distinct formula of `sources` in which Python sees nothing wrong."""
    macros = tuple(requests.macros_id(source.macros) for source in sources)
    # sites repeat \theta and x_t a great deal: the loop over every formula only collects the distinct ones
    distinct: dict[FormulaKey, None] = {}
    for source, macros_id in zip(sources, macros, strict=True):
        distinct.update(dict.fromkeys((f.tex, f.display, macros_id) for f in source.formulas))
    problems = {key: problem for key in distinct if (problem := tex_problem(key[0]))}
    asked = tuple(key for key in distinct if key not in problems)
    for tex, display, macros_id in asked:
        requests.add(tex, display, macros_id)
    return CheckRequests(sources, macros, asked, problems)


def unchecked(sources: Sequence[MathSource], memo: CheckMemo | None, katex_version: str | None) -> list[MathSource]:
    """The sources whose verdict `memo` does not hold for this KaTeX version: all of them without a memo."""
    if memo is None or memo.katex_version != katex_version:
        return list(sources)
    verdicts = memo.verdicts
    return [s for s in sources if (known := verdicts.get(s.source)) is None or (known[0] is not s and known[0] != s)]


def kept_problems(
    memo: CheckMemo | None, sources: Sequence[MathSource], asked: Sequence[MathSource]
) -> list[Diagnostic]:
    """The problems `memo`'s verdicts give the `sources` not `asked` about (unchecked): what a build reports of
    them when KaTeX could not answer for the others, since nothing they were given for changed."""
    if memo is None:
        return []
    again = {id(source) for source in asked}
    return [d for s in sources if id(s) not in again and s.source in memo.verdicts for d in memo.verdicts[s.source][1]]


def remember_verdicts(
    memo: CheckMemo, sources: Sequence[MathSource], report: MathReport, katex_version: str | None
) -> list[Diagnostic]:
    """Every problem of `sources`: the `report` on those just checked, kept in `memo`, and the verdicts it held
    on the others. Only a report made with KaTeX's answers may be kept (a run without them says less)."""
    if memo.katex_version != katex_version:
        memo.verdicts, memo.katex_version = {}, katex_version
    by_path: dict[str, list[Diagnostic]] = {}
    general = []  # about the whole check (its KaTeX's version), not about one file
    for diagnostic in report.diagnostics:
        (by_path.setdefault(diagnostic.path, []) if diagnostic.path else general).append(diagnostic)
    for source in report.sources:
        memo.verdicts[source.source] = (source, tuple(by_path.get(source.source, ())))
    memo.verdicts = {source.source: memo.verdicts[source.source] for source in sources}
    return general + [d for source in sources for d in memo.verdicts[source.source][1]]


def check_report(
    checks: CheckRequests,
    answers: Mapping[FormulaKey, FormulaResult] | None,
    setup: KatexSetup,
    failure: str | None = None,
) -> MathReport:
    """Every problem with the checked formulas, given KaTeX's `answers` (None: it could not run, for the reason
    `failure`: a warning, once), at each place a formula is written."""
    diagnostics = [
        _stray_dollar(source.source, line, column) for source in checks.sources for line, column in source.stray_dollars
    ]
    wrong = dict(checks.problems)
    if answers is None:
        diagnostics.append(_skipped(failure or "KaTeX did not run"))
    else:
        wrong.update((key, error) for key in checks.asked if (error := answers[key].error))
        if setup.version != KATEX_VERSION:
            diagnostics.append(
                Diagnostic(
                    "",
                    0,
                    0,
                    "warning",
                    f"math: checked with KaTeX {setup.version} ({setup.katex}), but the pages load KaTeX "
                    f"{KATEX_VERSION}: install katex@{KATEX_VERSION} so that the check sees what readers see",
                )
            )
    if wrong:
        for source, macros in zip(checks.sources, checks.macros, strict=True):
            for formula in source.formulas:
                message = wrong.get((formula.tex, formula.display, macros))
                if message:
                    diagnostics.append(_error(source, formula, message))
    count = sum(len(source.formulas) for source in checks.sources)
    return MathReport(tuple(diagnostics), count, setup.version if answers is not None else None, checks.sources)


def check_math(
    sources: Sequence[MathSource], site: Path, katex: KatexService | None = None, node: str | None = None
) -> MathReport:
    """Every problem with the formulas of `sources`, asking KaTeX (`katex`, or a service made for `site`) once.

    Uses no formula cache: the build's own pass (build.py) is the one that keeps answers.
    """
    katex = katex if katex is not None else KatexService(locate_katex(site, node))
    requests = FormulaRequests()
    checks = request_checks(sources, requests)
    try:
        answers: dict[FormulaKey, FormulaResult] | None = katex.answer(requests, None)
        failure = None
    except KatexError as error:
        answers, failure = None, unavailable_reason(katex.setup, str(error), site)
    return check_report(checks, answers, katex.setup, failure)


def unavailable_reason(setup: KatexSetup, error: str, site: Path) -> str:
    """Why KaTeX did not check the formulas, and exactly what to install if something is missing (katex_advice)."""
    advice = katex_advice(setup, str(site), pinned=False)  # another version checks, with a warning that says so
    return f"{advice[0]}: {advice[1]}" if advice else error


def problems_without_katex(sources: Sequence[MathSource]) -> list[Diagnostic]:
    """What is wrong with `sources` that Python sees without KaTeX: each lone `$` that looks like unclosed math,
    and each formula whose braces or environments do not balance (tex_problem), at its file, line and column.

    The build runs this whenever it does not ask KaTeX (--no-check-math, or no check asked for): a reader would
    see these as raw TeX whatever KaTeX could say.
    """
    diagnostics = [_stray_dollar(s.source, line, column) for s in sources for line, column in s.stray_dollars]
    diagnostics += (
        _error(source, formula, problem)
        for source in sources
        for formula in source.formulas
        if (problem := tex_problem(formula.tex))
    )
    return diagnostics


def _stray_dollar(source: str, line: int, column: int) -> Diagnostic:
    message = "math: a lone '$' that looks like the start of unclosed math (write \\$ for a dollar sign)"
    return Diagnostic(source, line, column, "error", message)


def _skipped(why: str) -> Diagnostic:
    return Diagnostic(
        "",
        0,
        0,
        "warning",
        f"math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): {why}",
    )


# KaTeX's words for a name it does not know (katex/src/MacroExpander.js): the name is a macro the page lacks
_UNDEFINED = lazy_compile(r"Undefined control sequence: (\\[A-Za-z]+)")


def _error(source: MathSource, formula: Formula, message: str) -> Diagnostic:
    return Diagnostic(source.source, formula.line, formula.column, "error", katex_message(message, source))


def katex_message(error: str, source: MathSource | None) -> str:
    """KaTeX's `error` as the build says it of a formula of `source`: on one line, and for a name KaTeX does not
    know that looks like a macro (\\vv), where macros are defined for that file."""
    text = f"math: {' '.join(error.split())}"
    undefined = _UNDEFINED.search(error)
    if undefined is not None:
        text += f" ({macro_hint(undefined.group(1), source)})"
    return text


def macro_hint(name: str, source: MathSource | None) -> str:
    """Where a macro such as `name` (\\vv) can be defined for `source`'s formulas (seriesfile.post_macros): each
    formula is typeset apart, so a `\\newcommand` in one formula does not reach the next."""
    homes = (source.macro_homes if source is not None else ()) or (SITE_MACROS,)
    where = homes[0] if len(homes) == 1 else ", ".join(homes[:-1]) + f" or {homes[-1]}"
    return f"if {name} is a macro of yours, define it in {where}; a \\newcommand reaches only its own formula"


@lru_cache(maxsize=65536)
def tex_problem(tex: str) -> str | None:
    """What is wrong with the TeX's braces and environments, or None: what a reader would see without KaTeX."""
    open_: list[str] = []  # "{" or an environment name
    for kind, value in _tex_tokens(tex):
        if kind == "{":
            open_.append("{")
        elif kind == "}":
            if not open_:
                return "unbalanced braces: a '}' closes no '{'"
            if open_[-1] != "{":
                return f"unbalanced braces: a '}}' inside \\begin{{{open_[-1]}}} closes no '{{'"
            open_.pop()
        elif kind == "begin":
            open_.append(value)
        elif kind == "end":
            if not open_ or open_[-1] == "{":
                return f"\\end{{{value}}} without \\begin{{{value}}}"
            if open_[-1] != value:
                return f"\\begin{{{open_[-1]}}} ended by \\end{{{value}}}"
            open_.pop()
    if not open_:
        return None
    if open_[-1] == "{":
        count = open_.count("{")
        return f"unbalanced braces: {count} '{{' not closed" if count > 1 else "unbalanced braces: a '{' is not closed"
    return f"\\begin{{{open_[-1]}}} without \\end{{{open_[-1]}}}"


# \begin{name} / \end{name}, any other control sequence (so \{ and \% are skipped), a comment, a brace
_TEX_TOKEN = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}|\\[A-Za-z]+|\\.|%[^\n]*|([{}])", re.DOTALL)


def _tex_tokens(tex: str) -> Iterator[tuple[str, str]]:
    """Braces and \\begin{…}/\\end{…}, skipping escaped braces and % comments."""
    for match in _TEX_TOKEN.finditer(tex):
        if match.group(1):
            yield match.group(1), match.group(2).strip()
        elif match.group(3):
            yield match.group(3), ""
