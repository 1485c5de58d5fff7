"""The whole volume on one page in Chromium's print emulation, at A4 and US Letter: no display equation wider than
the text column (wrapped or shrunk, never cut), every in-page link resolving, no duplicate id, both math modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_sites import make_site, post

from .harness import Chromium, build_site, serve, visit, watch

pytestmark = pytest.mark.browser

# The text column at each paper size: the page's width less print.css's 18 mm margins, in CSS px (96 per inch).
COLUMNS = {"A4": (210 - 36) / 25.4 * 96, "Letter": (215.9 - 36) / 25.4 * 96}
WIDE = "a_{1} + " + " + ".join(f"\\frac{{x_{{{n}}}}}{{y_{{{n}}}}}" for n in range(2, 40))
UNBREAKABLE = "\\underbrace{" + "+".join(f"z_{{{n}}}" for n in range(60)) + "}_{\\text{sixty terms}}"

_STATE = """() => {
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const column = document.querySelector('.book .post-body').getBoundingClientRect();
  return {
    duplicates: ids.filter((id, i) => ids.indexOf(id) !== i),
    unresolved: [...document.querySelectorAll('a[href^="#"]')].map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
      .filter(id => id && !document.getElementById(id)),
    links: document.querySelectorAll('a[href^="#"]').length,
    // the extent of what a display draws (its box may be narrower than what overflows it)
    displays: [...document.querySelectorAll('.book .katex-display')].map(d => {
      const drawn = [d, ...d.querySelectorAll('.katex-html *')].map(e => e.getBoundingClientRect()).filter(r => r.width);
      return {
        left: Math.min(...drawn.map(r => r.left)) - column.left,
        right: Math.max(...drawn.map(r => r.right)) - column.left,
        column: column.width,
        zoom: getComputedStyle(d).zoom,
      };
    }),
    lazy: document.querySelectorAll('img[loading=lazy]').length,
    mathErrors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.textContent),
    own: document.querySelector('#ch-ch02 .katex .mathbb') !== null,
  };
}"""


@pytest.fixture(scope="module", params=["build", "browser"])
def volume(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(f"book-{request.param}")
    site = make_site(
        root / "site",
        {
            "site.yaml": f"title: T\nbase_url: https://example.org/\nmath: {{render: {request.param}}}\n",
            "series/vol.md": "---\ntitle: Vol\nchapters: 2\n---\n",
            "content/ch01.md": post(
                "One", "2026-01-01", f"$$\n{WIDE}\n$$ {{#eq:wide}}\n\n$$\n{UNBREAKABLE}\n$$\n", series="vol", chapter=1
            ),
            "content/ch02.md": post(
                "Two",
                "2026-01-02",
                "By [](ch01.md#eq:wide), in [](ch01.md).\n\nOwn: $\\Own{R}$.",  # a macro of this chapter's own
                series="vol",
                chapter=2,
                macros="{'\\Own': '\\mathbb{#1}'}",
            ),
        },
    )
    return build_site(site, root / "out")


@pytest.mark.parametrize("paper", sorted(COLUMNS))
def test_no_display_is_wider_than_the_column_in_print(volume: Path, chromium: Chromium, paper: str) -> None:
    with serve(volume) as base:
        context = chromium.new_context(base, width=round(COLUMNS[paper]) + 1)
        page = context.new_page()
        page.emulate_media(media="print")
        log = watch(page)
        visit(page, log, f"{base}/series/vol/print/")
        state = page.evaluate(_STATE)
        context.close()
    assert log.console_errors == [] and log.failed_requests == []
    assert state["duplicates"] == [] and state["unresolved"] == [] and state["links"] >= 4
    assert len(state["displays"]) == 2
    for display in state["displays"]:
        assert display["left"] >= -0.5 and display["right"] <= display["column"] + 0.5, display
    assert all(float(display["zoom"]) < 1 for display in state["displays"])  # both were too wide: shrunk
    assert state["lazy"] == 0
    assert state["mathErrors"] == [] and state["own"]


def test_the_example_site_s_llm_primer_ii_is_also_a_pdf_with_every_chapter_in_its_outline(site_dir: Path) -> None:
    """The example site asks for LLM Primer II as a PDF (books: in its series file): each chapter of its print
    page is an entry of the PDF's outline, in order, at a page of its own."""
    import html
    import re

    import pypdf

    page = (site_dir / "series/llm-primer-ii/print/index.html").read_text(encoding="utf-8")
    titles = [
        html.unescape(re.sub(r"<[^>]*>", "", title))
        for title in re.findall(r'<h2 class="post-title" id="[^"]*">(.*?)</h2>', page)
    ]
    reader = pypdf.PdfReader(site_dir / "series/llm-primer-ii/llm-primer-ii.pdf")
    entries = [entry for entry in reader.outline[1] if not isinstance(entry, list)]
    chapters = [entry for entry in entries if entry["/Title"] not in ("Contents", "References")]
    assert len(titles) >= 14 and [entry["/Title"] for entry in chapters] == titles
    pages = [reader.get_destination_page_number(entry) for entry in chapters]
    assert pages == sorted(set(pages)) and len(reader.pages) > len(titles)
