"""Math typesets in the browser: KaTeX from its pinned, integrity-checked CDN URL, on every page with math, and only there."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .harness import SITE_READ, Chromium, PageRead, build_site, check_math, html_pages, page_url, require, serve, watch

pytestmark = pytest.mark.browser


@SITE_READ
def test_every_page_with_math_typesets_and_no_other_page_loads_katex(
    site_dir: Path, site_pages: list[str], site_read: dict[str, PageRead]
) -> None:
    require("chromium", "playwright", "katex")
    with_math = [p for p in site_pages if 'class="math' in (site_dir / p).read_text(encoding="utf-8")]
    assert with_math, "the example site should have pages with math"
    problems: list[str] = []
    typeset = 0
    for name in site_pages:
        report = site_read[name].math
        problems += report.problems(expect_math=name in with_math)
        typeset += report.math
    assert not problems, f"{len(problems)} problems on {len(site_pages)} pages:\n" + "\n".join(problems)
    assert typeset > 0


def test_the_math_check_reports_a_broken_formula(chromium: Chromium, tmp_path: Path) -> None:
    require("chromium", "playwright", "katex")
    source = tmp_path / "source"
    (source / "content").mkdir(parents=True)
    (source / "site.yaml").write_text("title: Broken math\nbase_url: https://example.org/\n", encoding="utf-8")
    (source / "content" / "x.md").write_text(
        textwrap.dedent(r"""
            ---
            title: A broken formula
            date: 2026-01-05
            ---
            One fine formula $a^2 + b^2 = c^2$ and one broken: $\frac{1}$.
            """).lstrip(),
        encoding="utf-8",
    )
    # The build rejects this formula itself (KaTeX runs on every formula by default); this test is of the browser
    # check, which must see what a site built with --no-check-math shows. Its braces balance, so the checks that
    # need no Node pass it too.
    output = build_site(source, tmp_path / "public", flags=("--no-check-math",))
    pages = [p for p in html_pages(output) if 'class="math' in (output / p).read_text(encoding="utf-8")]
    assert "posts/x/index.html" in pages  # and the home page, which shows the first paragraph as the summary
    with serve(output) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        report = check_math(page, watch(page), page_url(base, "posts/x/index.html"))
        context.close()
    problems = report.problems(expect_math=True)
    assert report.math == 2
    assert len(report.katex_errors) == 1, problems
    assert any(".katex-error" in p and "ParseError" in p for p in problems), problems
