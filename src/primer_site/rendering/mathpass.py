"""The build's one KaTeX pass: the math check and the MathML of full-content feeds, each formula asked once.

The check (mathcheck.py) and the feeds (feeds.py) each say which formulas they want and what of them; the
KaTeX service (katex.py) answers all of them together, from what it keeps or in one Node process; each then
reads its answers: the check's problems, located in the sources, and the feeds' MathML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from primer_site.errors import Diagnostic
from primer_site.layout import CONFIG_FILE
from primer_site.math.katex import MATHML, FormulaRequests, KatexService
from primer_site.math.katexsetup import KatexSetup, katex_advice
from primer_site.math.katexworker import KatexError
from primer_site.math.mathcheck import (
    check_report,
    kept_problems,
    problems_without_katex,
    remember_verdicts,
    request_checks,
    unavailable_reason,
    unchecked,
)
from primer_site.math.mathsources import CheckMemo, formulas_of, math_sources
from primer_site.model import Post, Site
from primer_site.rendering.feeds import (
    BodyFormulas,
    FeedFormulas,
    FeedMath,
    feed_math_errors,
    full_content_posts,
    request_feed_math,
)
from primer_site.sources.config import KATEX_VERSION, SiteConfig, config_line
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.syntax.inline import formulas_in
from primer_site.syntax.markdown import RenderedBody


@dataclass(frozen=True)
class MathPass:
    """The site's math pass: the check's diagnostics and what full-content feeds carry."""

    diagnostics: tuple[Diagnostic, ...]  # the check's, and those of formulas a feed carries
    feed_math: FeedMath  # what full-content feeds carry (nothing with summaries)
    katex_ran: bool = True  # False: KaTeX could not answer (the reason is among the diagnostics)
    book_math: FeedMath | None = None  # the MathML of the volumes written as EPUBs (books: {epub: true})


def math_pass(
    config: SiteConfig,
    site: Site,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    metas: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    katex: KatexService,
    source: Path,
    *,
    check: bool,
    drafts: bool = False,
    use_cache: bool = True,
    feed_formulas: BodyFormulas | None = None,
    check_memo: CheckMemo | None = None,
) -> MathPass:
    """Ask KaTeX about every formula the build needs, once: all of them if `check`, and those of feeds.

    `source`: the site folder; `use_cache`: keep KaTeX's answers in its .primer-cache/; `feed_formulas`: the
    formulas found in feed posts' bodies, kept by the caller from one build to the next; `check_memo`: the check's
    verdicts, likewise kept (a file whose formulas and macros did not change is not asked about again). Full-content feeds
    holding math without a KaTeX that can run, or with another version than the pages load, are an error at
    site.yaml's `feeds` line that says what to install; KaTeX's errors in a feed's formulas are located errors.
    """
    diagnostics: list[Diagnostic] = []
    requests = FormulaRequests()
    sources = math_sources(config, documents, bodies, metas, series_bodies, drafts, check_memo) if check else []
    asking = unchecked(sources, check_memo, katex.setup.version)
    checks = request_checks(asking, requests)
    formulas = request_feed_math(full_content_posts(site, config), site, config, requests, feed_formulas)
    books = request_book_math(site, config, requests)
    answers, failure = None, ""
    try:
        # every formula of the site was asked for only when checking: only then are others' answers dropped
        answers = katex.answer(requests, source if use_cache else None, complete=check and len(asking) == len(sources))
    except KatexError as error:
        failure = str(error)
    if check:
        reason = unavailable_reason(katex.setup, failure, source) if answers is None else None
        report = check_report(checks, answers, katex.setup, reason)
        if check_memo is not None and answers is not None:
            diagnostics += remember_verdicts(check_memo, sources, report, katex.setup.version)
        else:
            diagnostics += [*report.diagnostics, *kept_problems(check_memo, sources, asking)]
    by_source: dict[str, tuple[Document, RenderedBody]] = {}  # made when a feed's formula is located, not each build

    def locate(post: Post, tex: str, display: bool) -> list[tuple[int, int]]:
        if not by_source:
            by_source.update((d.source, (d, b)) for d, b in zip(documents, bodies, strict=True))
        document, body = by_source[post.source]
        found = formulas_of(document, body, config)
        spots = [(f.line, f.column) for f in found if f.tex == tex.strip() and f.display == display]
        return spots or [(document.body_first_line, 0)]  # math the author wrote as raw HTML (or in the title)

    version = katex.setup.version or ""
    # where feeds and books are asked for, found (site.yaml read again) only when there is an error to put there
    carried = [(formulas, lambda: (CONFIG_FILE, config_line(source, "feeds")), _feeds_need_katex)]
    carried.append((books, lambda: _books_line(config, metas, source), _books_need_katex))
    for wanted, where, advice in carried:
        if not wanted.uses:
            continue
        if answers is None or katex.setup.version != KATEX_VERSION:
            path, line = where()
            diagnostics.append(Diagnostic(path, line, 0, "error", advice(katex.setup, failure)))
        else:
            reported = {(d.path, d.line, d.column) for d in diagnostics if d.severity == "error"}
            diagnostics += (
                d for d in feed_math_errors(wanted, answers, locate) if (d.path, d.line, d.column) not in reported
            )
    return MathPass(
        tuple(diagnostics),
        FeedMath.of(formulas, answers or {}, version) if formulas.uses else FeedMath(formulas.macros, {}, version),
        answers is not None,
        FeedMath.of(books, answers or {}, version),
    )


def book_posts(site: Site) -> list[Post]:
    """The chapters of every volume written as an EPUB (Site.series_wanting), in series order."""
    return [post for one in site.series_wanting("epub") for post in one.posts]


def request_book_math(site: Site, config: SiteConfig, requests: FormulaRequests) -> FeedFormulas:
    """Ask for the MathML of the formulas of the EPUBs' chapters: their bodies' (as for feeds) and their titles'."""
    posts = book_posts(site)
    formulas = request_feed_math(posts, site, config, requests)
    uses = {key: list(holders) for key, holders in formulas.uses.items()}
    for post in posts:
        for tex, display in formulas_in(post.title, title=True):
            holders = uses.setdefault(requests.add(tex, display, formulas.macros[post.source], MATHML), [])
            if not holders or holders[-1] is not post:
                holders.append(post)
    return FeedFormulas(formulas.macros, {key: tuple(holders) for key, holders in uses.items()})


def _books_line(config: SiteConfig, metas: Sequence[SeriesMeta], source: Path) -> tuple[str, int]:
    """Where an EPUB is asked for: the first series file that says `books: {epub: true}`, else site.yaml."""
    for meta in sorted(metas, key=lambda m: m.source):
        if dict(meta.books).get("epub"):
            return meta.source, meta.line_of("books")
    return CONFIG_FILE, config_line(source, "books")


def _books_need_katex(setup: KatexSetup, failure: str) -> str:
    """What to install for an EPUB, whose math is MathML made by the pinned KaTeX."""
    why, fix = katex_advice(setup) or (f"KaTeX did not run: {failure}", "fix that")
    return (
        f"books: an EPUB carries its math as MathML made by KaTeX {KATEX_VERSION} (the KaTeX the pages load) under "
        f"Node.js, but {why}: {fix}; or leave `epub` out of `books:`"
    )


def math_without_katex(
    config: SiteConfig,
    documents: Sequence[Document],
    bodies: Sequence[RenderedBody],
    metas: Sequence[SeriesMeta],
    series_bodies: Sequence[RenderedBody],
    drafts: bool = False,
) -> list[Diagnostic]:
    """The checks that need no Node, over every formula the check would read (math_sources): a build that does
    not ask KaTeX (--no-check-math) still stops on unbalanced braces or environments and on unclosed `$`."""
    return problems_without_katex(math_sources(config, documents, bodies, metas, series_bodies, drafts))


def _feeds_need_katex(setup: KatexSetup, failure: str) -> str:
    """What to install (or change) for full-content feeds, whose math is MathML made by the pinned KaTeX."""
    why, fix = katex_advice(setup) or (f"KaTeX did not run: {failure}", "fix that")
    return (
        f"feeds: full content carries its math as MathML made by KaTeX {KATEX_VERSION} (the KaTeX the pages load) "
        f"under Node.js, but {why}: {fix}; or set `feeds: {{content: summary}}`"
    )
