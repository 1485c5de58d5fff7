"""The build's math: the KaTeX service (one Node process, kept warm by the dev server's store), the one KaTeX pass
over the site (the math check, full-content feeds' and EPUBs' MathML), and the typesetter of the pages' math when
site.yaml says `math: {render: build}`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from primer_site.caches.bodies import BodyMemo, StoredFormulas
from primer_site.errors import Diagnostic, Problems
from primer_site.math.katex import KatexService
from primer_site.math.katexsetup import KatexSetup
from primer_site.math.mathsources import CheckMemo, keep_verdicts, recall_verdicts
from primer_site.math.typeset import FormulaPlaces, PageTypesetter, page_typesetter, render_problem
from primer_site.model import Site
from primer_site.rendering.feeds import FeedMath
from primer_site.rendering.mathpass import config_line, math_pass, math_without_katex
from primer_site.sources.config import SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.store import Store
from primer_site.syntax.markdown import RenderedBody


class MathOptions(Protocol):
    """What the math pass reads of a build's options (build.BuildOptions)."""

    source: Path
    check_math: bool
    require_katex: bool
    drafts: bool
    cache: bool


def katex_service(memory: Store, setup: KatexSetup) -> KatexService:
    """The service kept from the last build, or a new one if Node or the katex package changed."""
    katex = memory.peek("katex")
    if katex is None or katex.setup != setup:
        if katex is not None:
            katex.close()
        katex = KatexService(setup, keep_alive=True)  # one Node process for every rebuild, and its answers
        memory.put("katex", katex)
    return katex


def formulas_apart(options: MathOptions, incremental: bool) -> bool:
    """Whether the posts' bodies are taken from the body cache without their formulas: in a checked build in a new
    process, whose check reads only the formulas of the files it cannot take the last build's verdict for
    (mathsources.recall_verdicts); the dev server keeps its bodies, formulas and verdicts in memory."""
    return options.check_math and options.cache and not incremental


def site_math(
    options: MathOptions,
    memory: Store,
    config: SiteConfig,
    setup: KatexSetup,
    katex: KatexService | None,
    site: Site,
    parsed: tuple[list[Document], list[RenderedBody], list[SeriesMeta], list[RenderedBody]],
    problems: Problems,
    incremental: bool = True,
) -> tuple[FeedMath | None, PageTypesetter | None, FeedMath | None]:
    """The build's one KaTeX pass (the check, full-content feeds' and EPUBs' MathML), and the typesetter of the
    pages' math when site.yaml says `math: {render: build}`; their problems join `problems`.
    `incremental`: the build runs in the dev server (its store is kept in memory), not in a new process.
    Returns (the feeds' math, the typesetter, the books' math)."""
    source = options.source
    documents, bodies, metas, series_bodies = parsed
    feed_math = book_math = None
    if katex is not None:  # the check and the feeds' MathML: one KaTeX pass
        check_memo = memory.slot("check", CheckMemo)
        if formulas_apart(options, incremental):  # the last build's verdicts, from disk
            stored = StoredFormulas(source, config.raw_html, memory.slot("bodies", BodyMemo))
            check_memo = recall_verdicts(source, katex.salt(), katex.setup.version, stored)
        math = math_pass(
            config,
            site,
            documents,
            bodies,
            metas,
            series_bodies,
            katex,
            source,
            check=options.check_math,
            drafts=options.drafts,
            use_cache=options.cache,
            feed_formulas=memory.slot("feed formulas", dict),
            check_memo=check_memo,
        )
        if check_memo.store is not None and math.katex_ran:
            keep_verdicts(source, katex.salt(), check_memo, list(check_memo.verdicts))  # the files checked
        if options.check_math and options.require_katex and not math.katex_ran:
            # the check was asked for: formulas KaTeX did not see must not pass as checked
            problems.extend(_required(d) if d.severity == "warning" and not d.path else d for d in math.diagnostics)
        else:
            problems.extend(math.diagnostics)
        feed_math = math.feed_math if config.feed_content == "full" else None  # summaries carry no math
        book_math = math.book_math
    # what needs no KaTeX is checked anyway
    unchecked = [] if options.check_math else math_without_katex(config, *parsed, options.drafts)
    problems.extend(unchecked)
    typesetter = None
    if config.math_render == "build":  # the pages' math typeset here, as the browser would
        problem = render_problem(config, setup, config_line(source, "math"))
        problems.extend([problem] if problem else [])
        places = FormulaPlaces(config, documents, bodies, metas, series_bodies, options.drafts)
        reported = [*(math.diagnostics if katex is not None else ()), *unchecked]  # not said again
        typesetter = page_typesetter(config, katex, places, source if options.cache else None, reported)
    return feed_math, typesetter, book_math


def epub_wanted(config: SiteConfig, metas: Sequence[SeriesMeta]) -> bool:
    """Whether a series may be written as an EPUB: site.yaml or a series file says `books: {epub: true}`."""
    return config.books.epub or any(config.books.over(m.books).epub for m in metas if m.kind == "series")


def _required(warning: Diagnostic) -> Diagnostic:
    """KaTeX's "formulas not checked" warning, as the error it is when the math check was asked for."""
    message = f"{warning.message} (or leave the math check out: --no-check-math)"
    return Diagnostic(warning.path, warning.line, warning.column, "error", message)
