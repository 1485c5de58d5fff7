"""The build-time math check: every formula through the KaTeX the pages load, with its page's macros.

One Node.js process runs KaTeX for the whole build (katex_check.js, JSON lines in and out). What needs no
KaTeX to see is checked in Python, with or without Node: unbalanced braces and environments, and a lone `$`
that looks like the start of unclosed math.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config import KATEX_VERSION, SiteConfig, merge_macros
from .errors import Diagnostic
from .markdown import Formula, RenderedBody, formulas_in
from .parse import Document, SeriesMeta, series_finder

KATEX_CHECK_JS = Path(__file__).with_name("katex_check.js")
_TIMEOUT = 600  # seconds for the whole check: KaTeX takes about 40 ms per thousand distinct formulas

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


def check_math(
    sources: Sequence[MathSource], site: Path, katex: KatexProcess | None = None, node: str | None = None
) -> MathReport:
    """Every problem with the formulas of `sources`; a warning, once, when KaTeX cannot be run.

    `katex`: a process started earlier (its start-up overlapped other work); by default one is started now.
    """
    katex = katex if katex is not None else KatexProcess(site, node)
    diagnostics: list[Diagnostic] = []
    for source in sources:
        for line, column in source.stray_dollars:
            message = "math: a lone '$' that looks like the start of unclosed math (write \\$ for a dollar sign)"
            diagnostics.append(Diagnostic(source.source, line, column, "error", message))
    # Each distinct formula (with its macros) is checked once: sites repeat \theta and x_t a great deal. The
    # loops over every formula keep nothing per formula, so that the garbage collector is not woken.
    macro_ids: dict[Macros, int] = {}
    distinct: dict[tuple[str, bool, int], None] = {}
    for source in sources:
        macros = macro_ids.setdefault(source.macros, len(macro_ids))
        for formula in source.formulas:
            distinct.setdefault((formula.tex, formula.display, macros))
    wrong = {key: problem for key in distinct if (problem := tex_problem(key[0]))}
    requests = [key for key in distinct if key not in wrong]
    count = sum(len(s.formulas) for s in sources)
    version: str | None = None
    try:
        version, errors = katex.check(requests, {number: macros for macros, number in macro_ids.items()})
    except _KatexFailed as failure:
        diagnostics.append(_skipped(str(failure)))
    else:
        wrong.update((key, message) for key, message in zip(requests, errors, strict=True) if message)
        if version != KATEX_VERSION:
            diagnostics.append(
                Diagnostic(
                    "",
                    0,
                    0,
                    "warning",
                    f"math: checked with KaTeX {version} ({katex.katex}), but the pages load KaTeX "
                    f"{KATEX_VERSION}: install katex@{KATEX_VERSION} so that the check sees what readers see",
                )
            )
    if wrong:
        for source in sources:
            macros = macro_ids[source.macros]
            for formula in source.formulas:
                message = wrong.get((formula.tex, formula.display, macros))
                if message:
                    diagnostics.append(_error(source.source, formula, message))
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


class KatexProcess:
    """katex_check.js under Node: started when made, so that loading KaTeX overlaps the build's other work.

    Used once: `check` sends every formula, reads every answer and lets the process end.
    """

    def __init__(self, site: Path, node: str | None = None) -> None:
        self.node = node if node is not None else (shutil.which("node") or shutil.which("nodejs"))
        self.katex = find_katex(site)
        self.process: subprocess.Popen[str] | None = None
        self.failure = ""
        if not self.node:
            self.failure = (
                "Node.js is not installed (no `node` on the PATH): install Node.js 18 or later (Debian and Ubuntu: "
                "`sudo apt-get install nodejs npm`; elsewhere: https://nodejs.org/), then run "
                f"`npm install katex@{KATEX_VERSION}` in {site}"
            )
            return
        if self.katex is None:
            self.failure = (
                f"the katex npm package is not installed: run `npm install katex@{KATEX_VERSION}` in {site} "
                "(npm comes with Node.js; on Debian and Ubuntu it is the npm package)"
            )
            return
        try:
            self.process = subprocess.Popen(
                [self.node, str(KATEX_CHECK_JS), str(self.katex)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                encoding="utf-8",
            )
        except OSError as exc:
            self.failure = f"could not run {self.node}: {exc.strerror}"
        else:
            # a build that fails before its check must not leave Node waiting for input
            weakref.finalize(self, _stop, self.process)

    def check(
        self, requests: Sequence[tuple[str, bool, int]], macros: dict[int, Macros]
    ) -> tuple[str, list[str | None]]:
        """KaTeX's version, and its error (or None) for each (TeX, display, macros number)."""
        if self.process is None:
            raise _KatexFailed(self.failure)
        lines = [json.dumps({"macros": str(n), "define": dict(m)}) for n, m in macros.items()]
        lines += [
            json.dumps({"id": i, "tex": tex, "display": display, "macros": str(n)})
            for i, (tex, display, n) in enumerate(requests)
        ]
        try:
            out, err = self.process.communicate("".join(line + "\n" for line in lines), timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(self.process)
            raise _KatexFailed(f"KaTeX took more than {_TIMEOUT} s") from None
        answers = out.splitlines()
        if self.process.returncode != 0 or not answers:
            detail = (err.strip().splitlines() or [f"exit status {self.process.returncode}"])[-1]
            raise _KatexFailed(f"KaTeX could not run under {self.node}: {detail}")
        version = str(json.loads(answers[0]).get("katex", "?"))
        errors: dict[int, str | None] = {}
        for answer in answers[1:]:
            data = json.loads(answer)
            errors[int(data["id"])] = data.get("error")
        if len(errors) != len(requests):
            raise _KatexFailed(f"KaTeX answered {len(errors)} of {len(requests)} formulas")
        return version, [errors[i] for i in range(len(requests))]


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


def _skipped(why: str) -> Diagnostic:
    return Diagnostic("", 0, 0, "warning", f"math: formulas not checked by KaTeX: {why}")


def _error(source: str, formula: Formula, message: str) -> Diagnostic:
    return Diagnostic(source, formula.line, formula.column, "error", f"math: {' '.join(message.split())}")


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
