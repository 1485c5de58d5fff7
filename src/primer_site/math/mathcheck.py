"""The build-time math check: every formula through the KaTeX the pages load, with its page's macros.

KaTeX is asked through the math engine (katex.py), in the same pass as anything else the build wants of the
same formulas (the MathML of full-content feeds), each distinct formula once, its answer kept in .primer-cache/.
What needs no KaTeX to see is checked in Python, with or without Node: unbalanced braces and environments, and a
lone `$` that looks like the start of unclosed math.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from primer_site.diskstore import VerdictTable
from primer_site.errors import Diagnostic
from primer_site.layout import CONFIG_FILE
from primer_site.math.katex import FormulaRequests, FormulaResult, KatexService
from primer_site.math.katexsetup import KatexSetup, katex_advice, locate_katex
from primer_site.math.katexworker import FormulaKey, KatexError
from primer_site.sources.config import KATEX_VERSION, SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import Macros, SeriesMeta, SeriesNames, post_macros, series_macros
from primer_site.syntax.markdown import Formula, RenderedBody, formulas_in, render_body


@dataclass(frozen=True)
class MathSource:
    """The formulas of one file, and the macros its pages give KaTeX."""

    source: str
    formulas: tuple[Formula, ...]
    macros: Macros = ()
    stray_dollars: tuple[tuple[int, int], ...] = ()
    macro_homes: tuple[str, ...] = ()  # where its macros can be defined, for a message: "series/x.md 'macros:'"
    # a digest of all the verdict depends on but KaTeX and primer-site's code, made without reading the formulas
    # of a post's body (its key in the body cache stands for them): "" where none is kept on disk
    identity: str = ""


@dataclass(frozen=True)
class MathReport:
    diagnostics: tuple[Diagnostic, ...]
    formulas: int
    katex_version: str | None  # None: KaTeX did not run (its warning is among the diagnostics)
    sources: Sequence[MathSource] = ()  # the files checked


class StoredFormulas(Protocol):
    """Where the formulas of bodies taken from the body cache without them are (bodies.StoredFormulas)."""

    salt: str  # what else than its key a body's formulas depend on (the renderer's code and settings)

    def key_of(self, document: Document) -> str | None: ...

    def formulas(self, keys: list[str]) -> dict[str, tuple[Formula, ...]]: ...


class CheckMemo:
    """The check's verdicts file by file, kept by a caller that builds again and again (the dev server), or on
    disk from one build in a new process to the next (recall_verdicts, keep_verdicts).

    A file whose formulas, stray dollars and macros equal those last checked, by the same KaTeX, gets the same
    verdict: it is not asked about again, so an edit costs the check its own file's formulas, not the site's.
    On disk a verdict is kept with its file's identity (MathSource.identity): a post whose identity is the one
    kept is not asked about, and its body's formulas are not even read (`store`: where they are, for the others).
    """

    def __init__(self, store: StoredFormulas | None = None) -> None:
        self.katex_version: str | None = None
        self.store = store
        # by its document's path: (document, body, the site's macros, its series file, its macros, what was read)
        self.sources: dict[str, tuple[Document, RenderedBody, Macros, SeriesMeta | None, Macros, MathSource]] = {}
        self.verdicts: dict[str, tuple[MathSource, tuple[Diagnostic, ...]]] = {}  # source path → last verdict
        self.recalled: dict[str, MathSource] = {}  # what the verdicts read from disk were given for


def recall_verdicts(site: Path, salt: str, katex_version: str | None, store: StoredFormulas) -> CheckMemo:
    """The verdicts the last checked build of `site` kept under the KaTeX of `salt` (KatexService.salt), as a
    memo for this build: each stands for the MathSource of its identity, whose formulas are left unread."""
    memo = CheckMemo(store)
    memo.katex_version = katex_version
    table = VerdictTable(site, salt)
    try:
        rows = table.load()
    finally:
        table.close()
    for path, (identity, problems) in rows.items():
        try:
            found = tuple(Diagnostic(path, int(a), int(b), str(c), str(d)) for a, b, c, d in problems)
        except (ValueError, TypeError):
            continue  # a damaged row: that file is checked again
        placeholder = MathSource(path, (), identity=identity)
        memo.verdicts[path] = (placeholder, found)
        memo.recalled[path] = placeholder
    return memo


def keep_verdicts(site: Path, salt: str, memo: CheckMemo, paths: Collection[str]) -> None:
    """Keep on disk the verdicts `memo` holds that this build made (those with an identity), for the next build
    in a new process; those of files not among `paths` (the files checked) are dropped."""
    new = [
        (path, source.identity, [[d.line, d.column, d.severity, d.message] for d in found])
        for path, (source, found) in memo.verdicts.items()
        if source.identity and memo.recalled.get(path) is not source
    ]
    if not new and set(memo.recalled) <= set(paths):
        return
    table = VerdictTable(site, salt)
    try:
        table.keep(new, set(paths))
    finally:
        table.close()


def formulas_of(document: Document, body: RenderedBody, config: SiteConfig) -> tuple[Formula, ...]:
    """The formulas of `document`'s body, with their lines and columns in its file. A body from the cache comes
    without them unless the build checks math: it is rendered again then, with the site's `raw_html` as the page's
    was (without raw HTML, a formula inside what would be an HTML block is a formula, with it it is not)."""
    if body.formulas or not body.has_math:
        return body.formulas
    return render_body(document.body, document.source, document.body_first_line, config.raw_html).formulas


def math_sources(
    config: SiteConfig,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    metas: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    drafts: bool = False,
    memo: CheckMemo | None = None,
) -> list[MathSource]:
    """What the check reads: each post (scheduled ones too: they go live with no one watching) and series file.

    `memo`: a post whose document and body are the very objects of the last build, under the same macros, keeps
    its MathSource (the same object, which makes the check's comparison of it cheap). Its macros are merged again
    only when the site's macros or its series file are other objects than last time (a preview's rebuild meets
    every post: the merge is most of what it would cost)."""
    found: list[MathSource] = []
    names = SeriesNames(metas)
    kept = memo.sources if memo is not None else {}
    store = memo.store if memo is not None else None
    verdicts = memo.verdicts if store is not None else {}  # type: ignore[union-attr]
    keeping: dict[str, tuple[Document, RenderedBody, Macros, SeriesMeta | None, Macros, MathSource]] = {}
    # posts whose formulas are read from the store, in one query: (place in `found`, body key, ...)
    unread: list[tuple[int, str, Document, RenderedBody, Macros, SeriesMeta | None, tuple[str, ...], str]] = []
    for document, body in zip(documents, bodies, strict=True):
        if document.draft and not drafts:
            continue
        meta = names.meta_of(document.series)
        known = kept.get(document.source)
        if known is not None and known[0] is document and known[1] is body:
            if known[2] is config.macros and known[3] is meta:
                keeping[document.source] = known
                found.append(known[5])
                continue
            if known[4] == (macros := post_macros(config.macros, meta, document)):
                keeping[document.source] = (document, body, config.macros, meta, macros, known[5])
                found.append(known[5])
                continue
        macros = post_macros(config.macros, meta, document)
        homes = (_SITE_MACROS, *([f"{meta.source} 'macros:'"] if meta else []), "the post's front matter 'macros:'")
        identity = ""
        if store is not None and (key := store.key_of(document)) is not None:
            identity = _identity(store.salt, key, _front(document), macros, body.stray_dollars, homes)
            last = verdicts.get(document.source)
            if last is not None and last[0].identity == identity:  # checked as it is: its formulas stay unread
                keeping[document.source] = (document, body, config.macros, meta, macros, last[0])
                found.append(last[0])
                continue
            if not body.formulas and body.has_math:  # from the cache without them: read below, in one query
                unread.append((len(found), key, document, body, macros, meta, homes, identity))
                found.append(MathSource(document.source, ()))  # its place, filled below
                continue
        front = _front_formulas(document)
        made = MathSource(document.source, (*front, *body.formulas), macros, body.stray_dollars, homes, identity)
        keeping[document.source] = (document, body, config.macros, meta, macros, made)
        found.append(made)
    if unread:
        stored = store.formulas([key for _, key, *_ in unread])  # type: ignore[union-attr]
        for place, key, document, body, macros, meta, homes, identity in unread:
            formulas = stored[key] if key in stored else formulas_of(document, body, config)
            front = _front_formulas(document)
            made = MathSource(document.source, (*front, *formulas), macros, body.stray_dollars, homes, identity)
            keeping[document.source] = (document, body, config.macros, meta, macros, made)
            found[place] = made
    if memo is not None:
        memo.sources = keeping
    for meta, body in zip(metas, series_bodies, strict=True):
        macros = series_macros(config.macros, meta)
        title = [Formula(tex, False, meta.line_of("title"), 0) for tex, _ in formulas_in(meta.title, title=True)]
        homes = (_SITE_MACROS, *([f"{meta.source} 'macros:'"] if meta.kind == "series" else []))
        made = MathSource(meta.source, (*title, *body.formulas), macros, body.stray_dollars, homes)
        if store is not None:  # a series' description comes with its formulas: they are its identity
            written = [(f.tex, f.display, f.line, f.column) for f in made.formulas]
            identity = _identity("", "", meta.source, written, macros, body.stray_dollars, homes)
            last = verdicts.get(meta.source)
            made = last[0] if last is not None and last[0].identity == identity else _identified(made, identity)
        found.append(made)
    return found


def _front_formulas(document: Document) -> list[Formula]:
    """The formulas of a post's title and summary, at their keys' lines."""
    return [
        Formula(tex, display, document.line_of(key), 0)
        for key, text, title in (("title", document.title, True), ("summary", document.summary, False))
        if text
        for tex, display in formulas_in(text, title=title)
    ]


def _identified(source: MathSource, identity: str) -> MathSource:
    return MathSource(source.source, source.formulas, source.macros, source.stray_dollars, source.macro_homes, identity)


def _front(document: Document) -> tuple[str, str, str | None, int, int]:
    """What the formulas of a post's title and summary are made of (_front_formulas), without parsing them."""
    return document.source, document.title, document.summary, document.line_of("title"), document.line_of("summary")


def _identity(salt: str, key: str, *rest: object) -> str:
    """A digest of what a file's verdict depends on: its body's formulas by its cache `key` (with the `salt` of that
    cache: the renderer's code and settings), and the `rest` (where the file is, what else it writes math in, its
    macros, stray dollars and macros' homes). KaTeX and primer-site's own code are the verdicts' table's salt."""
    return hashlib.blake2b(repr((salt, key, *rest)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


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


_SITE_MACROS = f"{CONFIG_FILE} 'macros:'"
# KaTeX's words for a name it does not know (katex/src/MacroExpander.js): the name is a macro the page lacks
_UNDEFINED = re.compile(r"Undefined control sequence: (\\[A-Za-z]+)")


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
    homes = (source.macro_homes if source is not None else ()) or (_SITE_MACROS,)
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
