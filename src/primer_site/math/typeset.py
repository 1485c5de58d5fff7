"""Math typeset at build time (`math: {render: build}` in site.yaml): each page's math as KaTeX's HTML.

In the browser (`render: browser`, the default) math.js typesets every math element of a page with katex.render,
giving KaTeX the macros of the nearest element around it that carries them (`data-macros`, as JSON). Here the
same is done to a page as it leaves its template: the same elements, the same macros, the same pinned KaTeX
(katex.py, in the Node process the math check uses), so that the page looks as it does in the browser, with no
script. Each formula is asked of KaTeX once and kept in .primer-cache/ for that KaTeX version; a formula KaTeX
rejects is an error at its file, line and column, as the math check reports it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

from primer_site.caches.dependencies import Dependency
from primer_site.errors import Diagnostic
from primer_site.layout import CONFIG_FILE
from primer_site.lazyregex import lazy_compile
from primer_site.math.katex import HTML, FormulaRequests, FormulaResult, KatexService
from primer_site.math.katexsetup import KatexSetup, katex_advice, npm_install
from primer_site.math.katexworker import FormulaKey, KatexError
from primer_site.math.mathcheck import katex_message, tex_problem
from primer_site.math.mathhtml import MathProblem, find_math, may_hold_math
from primer_site.math.mathsources import MathSource, formulas_of, math_sources
from primer_site.sources.config import KATEX_VERSION, SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.syntax.markdown import RenderedBody

# What a page typeset at build time read besides its own HTML: the KaTeX that made the formulas (a page records
# it, and is made again when another KaTeX, or the browser, is to typeset it).
MATH_RENDER: Dependency = ("math render", "")

_BATCH = 64  # pages typeset together: one question to KaTeX for all their new formulas
# The theme's link to KaTeX's stylesheet: the page's fonts are preloaded beside it, from the folder it names
_NO_STYLESHEET_SAID = "math: render: build: this page shows math, but its template loads no KaTeX stylesheet"
_NO_STYLESHEET = (
    ": a page whose math is typeset at build time needs KaTeX's stylesheet: link it in the template's <head>"
    " when `has_math` is true, as the default theme's base.html does"
)
_STYLESHEET = lazy_compile(r'<link rel="stylesheet" href="([^"]*)katex\.min\.css"[^>]*>\n?')
KATEX_FOLDER = f"katex/{KATEX_VERSION}"  # where `katex_url: self` puts KaTeX's files in the site (versioned: cacheable)

Rendered = tuple[bytes | None, frozenset[Dependency], list]  # a page's bytes, its reads and its problems


class MathElement(NamedTuple):
    """One math element of a page: where its text is, and the key of its formula: its TeX (the text, unescaped:
    what math.js hands katex.render), display or inline, and the macros in force there.

    A named tuple: a page has hundreds, made for each page rendered."""

    start: int  # of the element's text, in the page
    end: int
    key: FormulaKey


def math_elements(page: str, requests: FormulaRequests) -> tuple[list[MathElement], list[MathProblem]]:
    """Every math element of `page` that math.js would typeset (mathhtml.find_math), each keyed with the macros
    math.js would give it: those of the nearest element around it (or itself) with `data-macros`, else those of
    a <script data-macros> (an older theme's way), else none; and the elements that cannot be typeset faithfully.
    """
    found = find_math(page)
    if not found.elements:
        return [], found.problems
    default = requests.macros_id(_macros(found.script_macros))
    elements = []
    for element in found.elements:
        macros_id = default if element.macros is None else requests.macros_id(_macros(element.macros))
        elements.append(MathElement(element.start, element.end, (element.tex, element.display, macros_id)))
    return elements, found.problems


_PARSED: dict[str, tuple[tuple[str, str], ...]] = {}


def _macros(attribute: str | None) -> tuple[tuple[str, str], ...]:
    """The macros of a data-macros attribute's value (JSON); none if it is not a JSON object of strings, as
    math.js reads it."""
    if not attribute:
        return ()
    found = _PARSED.get(attribute)
    if found is None:
        try:
            value = json.loads(attribute)
        except ValueError:
            value = {}
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        found = _PARSED[attribute] = tuple(sorted(value.items())) if ok else ()
    return found


def typeset_page(page: str, elements: Sequence[MathElement], answers: dict[FormulaKey, FormulaResult]) -> str:
    """`page` with each element's text replaced by KaTeX's HTML, as katex.render replaces it in the browser; a
    formula KaTeX rejected shows as KaTeX shows it there (red TeX, its message as the title): the build reports
    it and stops, so such a page is only ever written by `check`, which writes pages whatever their errors.

    The fonts the math shows text in are preloaded, after the link to KaTeX's stylesheet: the browser fetches a
    font only once it lays out text in it, and text laid out before its font arrives moves when it does.
    """
    parts = []
    at = 0
    fonts: set[str] = set()
    stylesheet = _STYLESHEET.search(page, 0, elements[0].start if elements else len(page))
    if stylesheet is not None:
        parts.append(page[: stylesheet.end()])
        at = stylesheet.end()
        fonts.update(font for key in {element.key for element in elements} for font in answers[key].fonts)
        folder = stylesheet.group(1)
        for font in sorted(fonts):
            parts.append(f'<link rel="preload" href="{folder}fonts/{font}" as="font" type="font/woff2" crossorigin>\n')
    for element in elements:
        answer = answers[element.key]
        parts.append(page[at : element.start])
        parts.append(answer.html if answer.html is not None else _katex_error(element.key[0], answer.error or ""))
        at = element.end
    parts.append(page[at:])
    return "".join(parts)


def _shorten(start_tag: str) -> str:
    return start_tag if len(start_tag) <= 80 else start_tag[:77] + "…"


def _katex_error(tex: str, error: str) -> str:
    title = html.escape(f"ParseError: {error}")
    return f'<span class="katex-error" title="{title}" style="color:#cc0000">{html.escape(tex, quote=False)}</span>'


class PageTypesetter:
    """Typesets the math of a build's pages as they are rendered, a batch at a time (render.py's RenderPass).

    `site`: the site whose formula cache keeps KaTeX's answers (None: none kept); `places`: where each formula
    is written, for errors; `reported`: errors already reported (the math check's), not said twice.
    """

    def __init__(
        self,
        katex: KatexService,
        site: Path | None,
        places: FormulaPlaces,
        reported: Iterable[Diagnostic] = (),
    ) -> None:
        self.katex, self.site, self.places = katex, site, places
        self.reported = {(d.path, d.line, d.column) for d in reported if d.severity == "error"}
        self.identity = ("build", katex.salt())  # MATH_RENDER's value: the KaTeX (and worker) typesetting

    def pages(
        self, made: Iterable[tuple[object, Rendered]], binary: Callable[[object], bool] = lambda spec: False
    ) -> Iterator[tuple[object, Rendered]]:
        """The pages of `made` (spec, (bytes, reads, problems)), in order, with their math typeset; the outputs
        `binary` says are not text (an EPUB) are passed on as they are."""
        with self.katex.session():
            batch: list[tuple[object, Rendered]] = []
            for item in made:
                batch.append(item)
                if len(batch) == _BATCH:
                    yield from self._typeset(batch, binary)
                    batch = []
            yield from self._typeset(batch, binary)

    def _typeset(
        self, batch: list[tuple[object, Rendered]], binary: Callable[[object], bool]
    ) -> Iterator[tuple[object, Rendered]]:
        requests = FormulaRequests()
        pages: list[tuple[str, list[MathElement], list[tuple[tuple, Diagnostic]]] | None] = []
        for spec, (data, _, _) in batch:
            page = data.decode("utf-8") if data is not None and not binary(spec) else ""
            if not may_hold_math(page):
                pages.append(None)
                continue
            elements, problems = math_elements(page, requests)
            for element in elements:
                requests.add(*element.key, HTML)
            wrong = self._element_errors(page, problems, spec)
            if elements and _STYLESHEET.search(page) is None:
                wrong.append(self._page_error(spec, _NO_STYLESHEET_SAID, _NO_STYLESHEET))
            pages.append((page, elements, wrong) if elements or wrong else None)
        answers: dict[FormulaKey, FormulaResult] = {}
        failure = None
        if requests.wanted:
            try:
                answers = self.katex.answer(requests, self.site)
            except KatexError as error:
                failure = str(error)
        # the check's own verdict first (braces and environments that do not balance), so that both say the same
        wrong = {key: tex_problem(key[0]) or answers[key].error for key in answers}
        wrong = {key: error for key, error in wrong.items() if error is not None}
        for (spec, (data, reads, problems)), found in zip(batch, pages, strict=True):
            if found is None:
                yield spec, (data, reads, problems)
                continue
            page, elements, unsure = found
            if failure is not None:
                message = f"math: render: build: KaTeX could not typeset the pages' math: {failure}"
                diagnostic = Diagnostic(CONFIG_FILE, 0, 0, "error", message)
                yield spec, (None, reads, [*problems, (("katex", 0, failure), diagnostic)])
                continue
            problems = [*problems, *unsure]
            if wrong:
                problems = [*problems, *self._errors({e.key: wrong[e.key] for e in elements if e.key in wrong}, spec)]
            data = typeset_page(page, elements, answers).encode("utf-8") if elements else data
            yield spec, (data, reads | {MATH_RENDER}, problems)

    def _element_errors(self, page: str, unsure: list[MathProblem], spec: object) -> list[tuple[tuple, Diagnostic]]:
        """A located error for each math element of `page` that cannot be typeset as math.js would: at its line
        in the source that wrote it (a post's body, front matter, a series' description), else at the page and
        its template."""
        found = []
        for problem in unsure:
            start_tag = page[problem.tag : problem.start]
            nth = page.count(start_tag, 0, problem.tag)
            place = self.places.raw_html(start_tag, nth, page.count(start_tag), getattr(spec, "source", ""))
            message = f"math: render: build cannot typeset {_shorten(start_tag)}: {problem.message}"
            if place is None:
                found.append(self._page_error(spec, message, ""))
                continue
            found.append(((*place, message), Diagnostic(*place, "error", message)))
        return found

    def _page_error(self, spec: object, message: str, fix: str) -> tuple[tuple, Diagnostic]:
        """An error at a page that no source line wrote: it names the page and its template."""
        template = getattr(spec, "template", "") or "?"
        said = f"{message} (in {getattr(spec, 'path', '')}, from its template {template}){fix}"
        # reported once per template and fault, naming the first page, not once for each of its pages
        return (("template", template, message), Diagnostic(f"templates/{template}", 0, 0, "error", said))

    def _errors(self, wrong: dict[FormulaKey, str | None], spec: object) -> list[tuple[tuple, Diagnostic]]:
        """Each formula KaTeX rejected, at every place it is written (reported once whatever the pages showing it)."""
        found = []
        for key, error in wrong.items():
            places = self.places.of(key)
            suffix = ""
            if not places:  # math written as raw HTML, or by a template: at the page's source, or the page
                source = getattr(spec, "source", "")
                places = [(source, self.places.first_line(source), 0)] if source else []
                suffix = "" if source else f" (in {getattr(spec, 'path', '')}, from its template)"
                places = places or [("", 0, 0)]
            for path, line, column in places:
                if (path, line, column) not in self.reported:
                    message = katex_message(error or "", self.places.source_of(path)) + suffix
                    found.append(((path, line, column, message), Diagnostic(path, line, column, "error", message)))
        return found


class FormulaPlaces:
    """Where each formula of the site is written (file, line, column), found the first time one is asked for:
    only a build with a formula KaTeX rejects needs them."""

    def __init__(
        self,
        config: SiteConfig,
        documents: Sequence[Document],
        bodies: Sequence[RenderedBody],
        metas: Sequence[SeriesMeta],
        series_bodies: Sequence[RenderedBody],
        drafts: bool,
    ) -> None:
        self._inputs = (config, documents, bodies, metas, series_bodies, drafts)
        self._index: dict[FormulaKey, list[tuple[str, int, int]]] | None = None
        self._sources: dict[str, MathSource] = {}

    def of(self, key: FormulaKey) -> list[tuple[str, int, int]]:
        if self._index is None:
            self._index = self._find()
        return self._index.get(key, [])

    def source_of(self, path: str) -> MathSource | None:
        """The formulas of the file at `path` and their macros, as the math check reads them."""
        if self._index is None:
            self._index = self._find()
        return self._sources.get(path)

    def first_line(self, source: str) -> int:
        """The line of `source`'s body (or of the file, for one that is no post)."""
        documents = self._inputs[1]
        return next((d.body_first_line for d in documents if d.source == source), 1)

    def raw_html(self, start_tag: str, nth: int, count: int, source: str) -> tuple[str, int, int] | None:
        """(path, line, column) of a math element's start tag written as raw HTML in `source` (the page's post or
        series file) or in any post's summary or description or any series' description; None if none writes it.
        `nth`, `count`: which of the page's `count` such start tags it is (the same in the body if all are there).
        """
        documents, metas = self._inputs[1], self._inputs[3]
        texts: list[tuple[str, str, int]] = []  # (path, text, its first line)
        for d in documents:
            texts.append((d.source, d.body, d.body_first_line))
            for key in ("summary", "description"):
                if getattr(d, key) and start_tag in getattr(d, key):
                    texts.append((d.source, getattr(d, key), d.key_lines.get(key, 1)))
        texts += [(m.source, m.body, m.body_first_line) for m in metas]
        texts.sort(key=lambda text: text[0] != source)  # the page's own source first
        for path, text, first_line in texts:
            at = text.find(start_tag)
            if at == -1:
                continue
            if path == source and text.count(start_tag) == count:
                for _ in range(nth):
                    at = text.find(start_tag, at + 1)
            line_start = text.rfind("\n", 0, at) + 1
            return path, first_line + text.count("\n", 0, at), at - line_start + 1
        return None

    def _find(self) -> dict[FormulaKey, list[tuple[str, int, int]]]:
        config, documents, bodies, metas, series_bodies, drafts = self._inputs
        # bodies from the cache come without their formulas unless the build checks math: render them again
        with_formulas = [
            body if body.formulas or not body.has_math else replace(body, formulas=formulas_of(d, body, config))
            for d, body in zip(documents, bodies, strict=True)
        ]
        requests = FormulaRequests()
        index: dict[FormulaKey, list[tuple[str, int, int]]] = {}
        for source in math_sources(config, documents, with_formulas, metas, series_bodies, drafts):
            self._sources[source.source] = source
            macros_id = requests.macros_id(source.macros)
            for formula in source.formulas:
                place = (source.source, formula.line, formula.column)
                index.setdefault((formula.tex, formula.display, macros_id), []).append(place)
        return index


def render_problem(config: SiteConfig, setup: KatexSetup, line: int) -> Diagnostic | None:
    """Why `math: {render: build}` cannot typeset here (at site.yaml's `math` line), saying what to install; or
    None. The pages load KaTeX's stylesheet of the pinned version: their HTML must be made by the same KaTeX."""
    if config.math_render != "build":
        return None
    advice = katex_advice(setup)
    if advice is None:
        return None
    why, fix = advice
    message = (
        f"math: render: build typesets every formula with KaTeX {KATEX_VERSION} (the KaTeX whose stylesheet the "
        f"pages load) under Node.js, but {why}: {fix}; or set `math: {{render: browser}}`"
    )
    return Diagnostic(CONFIG_FILE, line, 0, "error", message)


def page_typesetter(
    config: SiteConfig,
    katex: KatexService | None,
    places: FormulaPlaces,
    site: Path | None,
    reported: Iterable[Diagnostic],
) -> PageTypesetter | None:
    """The typesetter of a build whose site says `math: {render: build}`, and whose KaTeX can run; else None
    (render_problem says why)."""
    if config.math_render != "build" or katex is None or katex.setup.problem or katex.setup.version != KATEX_VERSION:
        return None
    return PageTypesetter(katex, site, places, reported)


def katex_site_files(config: SiteConfig, setup: KatexSetup, line: int) -> tuple[dict[str, Path], list[Diagnostic]]:
    """The files `katex_url: self` copies into the site, output path → file of the installed katex package: its
    stylesheet and every font the stylesheet names, and its script if the browser typesets; or why they cannot be
    (an error at site.yaml's `katex_url` line). The pages check them against the pinned version's SRI hashes."""
    if not config.self_hosted_katex:
        return {}, []
    advice = katex_advice(setup, node=False)
    npm = f"{npm_install()}, or set katex_url to a URL"
    if advice is not None:
        why = advice[0]
    else:
        dist = setup.katex / "dist"
        names = ["katex.min.css"] + (["katex.min.js"] if config.math_render == "browser" else [])
        try:
            css = (dist / "katex.min.css").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            why = f"its stylesheet could not be read ({error})"
        else:
            names += sorted(set(re.findall(r"url\((fonts/[^)\s]+)\)", css)))
            missing = [name for name in names if not (dist / name).is_file()]
            if not missing:
                return {f"{KATEX_FOLDER}/{name}": dist / name for name in names}, []
            why = f"{dist} has no {missing[0]}"
    message = f"katex_url: self copies KaTeX {KATEX_VERSION}'s files from the katex npm package, but {why}: {npm}"
    return {}, [Diagnostic(CONFIG_FILE, line, 0, "error", message)]
