"""The build-time math check: every formula through the KaTeX the pages load, with its page's macros.

One Node.js process runs KaTeX for the whole build (katex_check.js, JSON lines in and out). What needs no
KaTeX to see is checked in Python, with or without Node: unbalanced braces and environments, and a lone `$`
that looks like the start of unclosed math.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import KATEX_VERSION, SiteConfig, merge_macros
from .errors import Diagnostic
from .markdown import Formula, RenderedBody, formulas_in
from .parse import Document, SeriesMeta, series_finder

KATEX_CHECK_JS = Path(__file__).with_name("katex_check.js")
_TIMEOUT = 600  # seconds for the whole check: KaTeX takes milliseconds per thousand formulas

Macros = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MathSource:
    """The formulas of one file, and the macros its pages give KaTeX."""

    source: str
    formulas: tuple[Formula, ...]
    macros: Macros = ()
    stray_dollars: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class MathReport:
    diagnostics: tuple[Diagnostic, ...]
    formulas: int
    katex_version: str | None  # None: KaTeX did not run (its warning is among the diagnostics)


def math_sources(
    config: SiteConfig,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    metas: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    drafts: bool = False,
) -> list[MathSource]:
    """What the check reads: each post (scheduled ones too: they go live with no one watching) and series file."""
    found = []
    series_of = series_finder(metas)
    for document, body in zip(documents, bodies, strict=True):
        if document.draft and not drafts:
            continue
        meta = series_of(document.series)
        front = [
            Formula(tex, display, document.line_of(key), 0)
            for key, text, title in (("title", document.title, True), ("summary", document.summary, False))
            if text
            for tex, display in formulas_in(text, title=title)
        ]
        macros = merge_macros(config.macros, meta.macros if meta else ())
        found.append(MathSource(document.source, (*front, *body.formulas), macros, body.stray_dollars))
    for meta, body in zip(metas, series_bodies, strict=True):
        macros = merge_macros(config.macros, meta.macros if meta.kind == "series" else ())
        title = [Formula(tex, False, meta.line_of("title"), 0) for tex, _ in formulas_in(meta.title, title=True)]
        found.append(MathSource(meta.source, (*title, *body.formulas), macros, body.stray_dollars))
    return found


def check_math(sources: Sequence[MathSource], site: Path, node: str | None = None) -> MathReport:
    """Every problem with the formulas of `sources`; a warning, once, when KaTeX cannot be run."""
    diagnostics: list[Diagnostic] = []
    for source in sources:
        for line, column in source.stray_dollars:
            message = "math: a lone '$' that looks like the start of unclosed math (write \\$ for a dollar sign)"
            diagnostics.append(Diagnostic(source.source, line, column, "error", message))
    to_katex: list[tuple[str, Formula, Macros]] = []
    for source in sources:
        for formula in source.formulas:
            problem = tex_problem(formula.tex)
            if problem:
                diagnostics.append(_error(source.source, formula, problem))
            else:
                to_katex.append((source.source, formula, source.macros))
    count = sum(len(s.formulas) for s in sources)
    node = node if node is not None else (shutil.which("node") or shutil.which("nodejs"))
    katex = find_katex(site)
    if not node or katex is None:
        missing = "Node.js (node) is not installed" if not node else "the katex npm package was not found"
        diagnostics.append(_skipped(f"{missing}; install it (npm install katex@{KATEX_VERSION} in the site folder)"))
        return MathReport(tuple(diagnostics), count, None)
    try:
        version, errors = _run_katex(node, katex, to_katex)
    except _KatexFailed as failure:
        diagnostics.append(_skipped(str(failure)))
        return MathReport(tuple(diagnostics), count, None)
    if version != KATEX_VERSION:
        diagnostics.append(
            Diagnostic(
                "",
                0,
                0,
                "warning",
                f"math: checked with KaTeX {version} ({katex}), but the pages load KaTeX {KATEX_VERSION}: "
                f"install katex@{KATEX_VERSION} so that the check sees what readers see",
            )
        )
    for (source, formula, _), message in zip(to_katex, errors, strict=True):
        if message:
            diagnostics.append(_error(source, formula, message))
    return MathReport(tuple(diagnostics), count, version)


def find_katex(site: Path) -> Path | None:
    """node_modules/katex beside the site or primer-site (or a folder above either, as Node looks), or NODE_PATH."""
    folders: list[Path] = []
    for start in (site.resolve(), Path(__file__).resolve().parent):
        folders += [folder / "node_modules" for folder in (start, *start.parents)]
    folders += [Path(entry) for entry in os.environ.get("NODE_PATH", "").split(os.pathsep) if entry]
    for folder in folders:
        if (folder / "katex" / "package.json").is_file():
            return folder / "katex"
    return None


class _KatexFailed(Exception):
    pass


def _run_katex(node: str, katex: Path, items: list[tuple[str, Formula, Macros]]) -> tuple[str, list[str | None]]:
    """KaTeX's version, and its error (or None) for each item; each distinct formula is checked once."""
    macro_ids: dict[Macros, str] = {}
    request_ids: dict[tuple[str, bool, str], int] = {}
    lines: list[str] = []
    keys = []
    for _, formula, macros in items:
        if macros not in macro_ids:
            macro_ids[macros] = str(len(macro_ids))
            lines.append(json.dumps({"macros": macro_ids[macros], "define": dict(macros)}))
        key = (formula.tex, formula.display, macro_ids[macros])
        if key not in request_ids:
            request_ids[key] = len(request_ids)
            lines.append(json.dumps({"id": request_ids[key], "tex": key[0], "display": key[1], "macros": key[2]}))
        keys.append(request_ids[key])
    try:
        process = subprocess.Popen(
            [node, str(KATEX_CHECK_JS), str(katex)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
        )
    except OSError as exc:
        raise _KatexFailed(f"could not run {node}: {exc.strerror}") from None
    try:
        out, err = process.communicate("".join(line + "\n" for line in lines), timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise _KatexFailed(f"KaTeX took more than {_TIMEOUT} s") from None
    answers = out.splitlines()
    if process.returncode != 0 or not answers:
        detail = (err.strip().splitlines() or [f"exit status {process.returncode}"])[-1]
        raise _KatexFailed(f"KaTeX could not run under {node}: {detail}")
    version = str(json.loads(answers[0]).get("katex", "?"))
    errors: dict[int, str | None] = {}
    for answer in answers[1:]:
        data = json.loads(answer)
        errors[int(data["id"])] = data.get("error")
    if len(errors) != len(request_ids):
        raise _KatexFailed(f"KaTeX answered {len(errors)} of {len(request_ids)} formulas")
    return version, [errors[key] for key in keys]


def _skipped(why: str) -> Diagnostic:
    return Diagnostic("", 0, 0, "warning", f"math: formulas not checked by KaTeX: {why}")


def _error(source: str, formula: Formula, message: str) -> Diagnostic:
    return Diagnostic(source, formula.line, formula.column, "error", f"math: {' '.join(message.split())}")


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


def _tex_tokens(tex: str) -> Iterator[tuple[str, str]]:
    """Braces and \\begin{…}/\\end{…}, skipping escaped braces and % comments."""
    index, size = 0, len(tex)
    while index < size:
        char = tex[index]
        if char == "\\":
            end = index + 1
            while end < size and tex[end].isalpha():
                end += 1
            word = tex[index + 1 : end]
            if word in ("begin", "end"):
                rest = tex[end:]
                stripped = rest.lstrip()
                if stripped.startswith("{") and "}" in stripped:
                    name = stripped[1 : stripped.index("}")]
                    yield word, name.strip()
                    index = end + (len(rest) - len(stripped)) + stripped.index("}") + 1
                    continue
            index = max(end, index + 2)  # a control word, or a control symbol such as \{ or \%
        elif char == "%":
            newline = tex.find("\n", index)
            index = size if newline < 0 else newline + 1
        else:
            if char in "{}":
                yield char, ""
            index += 1
