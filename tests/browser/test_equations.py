"""Numbered equations in the browser: numbers at the right margin, references that land on their equation,
and series macros that KaTeX applies (no .katex-error anywhere)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .harness import Chromium, build_site, check_math, html_pages, page_url, require, serve, visit, watch

pytestmark = pytest.mark.browser


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture(scope="module")
def two_volumes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Volume One (sections numbered) refers to equations of Volume Two, whose series defines \\KL and \\E."""
    root = tmp_path_factory.mktemp("equations")
    _write(
        root / "source",
        {
            "site.yaml": "title: Equations\nbase_url: https://example.org/\n",
            "series/one.md": "---\ntitle: Volume One\nnumber_sections: true\n---\n",
            "series/two.md": """
                ---
                title: Volume Two
                macros:
                  \\KL: D_{\\mathrm{KL}}
                  \\E: \\mathbb{E}
                ---
                """,
            "content/one/ch01.md": r"""
                ---
                title: "Entropy $H$"
                date: 2026-01-05
                series: one
                chapter: 1
                ---
                Entropy comes first.

                ## Entropy

                $$
                H(p) = -\sum_x p(x) \log p(x)
                $$ (eq:entropy)

                The penalty of [](../two/ch10.md#eq:kl) grows with [](#eq:entropy); see also
                [the objective](../two/ch10.md#eq:objective).
                """,
            "content/two/ch10.md": r"""
                ---
                title: 'Alignment with $\KL$'
                date: 2026-01-06
                series: two
                chapter: 10
                summary: 'The $\KL$ penalty, and $\E$ over prompts.'
                ---
                Two equations, the second referred to from volume one.

                $$
                \E_{x}[r(x)] = \sum_x p(x)\, r(x)
                $$ (eq:reward)

                \begin{equation}
                \KL(p \,\|\, q) = \sum_x p(x) \log \frac{p(x)}{q(x)} \label{eq:kl}
                \end{equation}

                \[
                \max_\pi \E[r] - \beta \KL(\pi \,\|\, \pi_{\mathrm{ref}})
                \] (eq:objective)

                Back to [](../one/ch01.md#eq:entropy) and [](../one/ch01.md#entropy).
                """,
        },
    )
    return build_site(root / "source", root / "public")


def test_equation_numbers_references_and_macros(chromium: Chromium, two_volumes: Path) -> None:
    require("chromium", "playwright", "katex")
    with serve(two_volumes) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)

        # every page with math typesets, with the macros of its series (a missing macro is a .katex-error)
        problems: list[str] = []
        for name in html_pages(two_volumes):
            if 'class="math' in (two_volumes / name).read_text(encoding="utf-8"):
                problems += check_math(page, log, page_url(base, name)).problems(expect_math=True)
        assert not problems, "\n".join(problems)

        # numbers sit at the right margin, beside their formula (the page's own equations: not the hidden copies
        # of the equations it refers to in other chapters, kept for previews on hover)
        visit(page, log, base + "posts/ch10/")
        numbers = page.eval_on_selector_all(
            ".equation:not(.previews .equation)",
            """els => els.map(e => {
                const box = e.getBoundingClientRect(), no = e.querySelector('.eqno').getBoundingClientRect();
                const math = e.querySelector('.math').getBoundingClientRect();
                return {id: e.id, text: e.querySelector('.eqno').textContent, gap: box.right - no.right,
                        beside: no.left >= math.right - 1, middle: Math.abs((no.top + no.bottom) - (box.top + box.bottom)) / 2};
            })""",
        )
        assert [(n["id"], n["text"]) for n in numbers] == [
            ("eq:reward", "(10.1)"),
            ("eq:kl", "(10.2)"),
            ("eq:objective", "(10.3)"),
        ]
        for number in numbers:
            assert number["gap"] < 1 and number["beside"] and number["middle"] < 8, number
        assert page.locator("#eq\\:kl .katex").count() == 1  # \KL typeset, \label gone
        copy = page.locator('[data-preview="/posts/ch01/#eq:entropy"] .eqno')
        assert copy.text_content() == "(1.1)" and not copy.is_visible()

        # a reference from another volume lands on its equation
        visit(page, log, base + "posts/ch01/")
        assert page.locator("h2#entropy").inner_text().startswith("1.1 Entropy")
        link = page.get_by_role("link", name="Eq. (10.2)")
        assert link.get_attribute("href") == "/posts/ch10/#eq:kl"
        link.click()
        page.wait_for_url(base + "posts/ch10/#eq:kl")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
        target = page.locator("#eq\\:kl")
        assert page.evaluate("() => document.querySelector(':target').id") == "eq:kl"
        box = target.bounding_box()
        assert box is not None and 0 <= box["y"] < page.viewport_size["height"]
        assert page.get_by_role("link", name="Eq. (1.1)").get_attribute("href") == "/posts/ch01/#eq:entropy"
        assert page.get_by_role("link", name="1.1 Entropy").get_attribute("href") == "/posts/ch01/#entropy"

        # the listing shows both volumes; volume two's summary typesets with its macros
        visit(page, log, base)
        assert page.locator(".entry .katex").count() >= 4  # two titles, two summary formulas
        assert page.locator(".katex-error").count() == 0
        assert not log.console_errors, log.console_errors
        context.close()


# What a reader sees at the right of each display: primer-site's number, KaTeX's automatic ones (drawn by a CSS
# counter, so counted as elements) and its \tag's
_NUMBERS_SEEN = """() => [...document.querySelectorAll('.equation, .math.display:not(.equation .math)')].map(display => {
    const seen = el => { const box = el.getBoundingClientRect(); return box.width > 0 && box.height > 0; };
    const ours = [...display.querySelectorAll('.eqno')].filter(seen).map(e => e.textContent);
    const automatic = [...display.querySelectorAll('.eqn-num')].filter(seen).length;
    const tags = [...display.querySelectorAll('.katex-tag')].filter(e => seen(e) && e.innerText.trim()).length;
    return {id: display.id, ours, katex: automatic || tags};
})"""


@pytest.mark.parametrize("mode", ["browser", "build"])
def test_a_reader_sees_one_number_per_equation(chromium: Chromium, tmp_path: Path, mode: str) -> None:
    """A chapter with labelled and unlabelled equations shows primer-site's numbers only, one per labelled
    display; a page without labels keeps KaTeX's own numbers, one per row. The same in both math modes."""
    require("chromium", "playwright", "katex")
    _write(
        tmp_path / "source",
        {
            "site.yaml": f"title: Numbers\nbase_url: https://example.org/\nmath: {{render: {mode}}}\n",
            "series/s.md": "---\ntitle: S\n---\n",
            "content/s/ch02.md": r"""
                ---
                title: Two
                date: 2026-01-05
                series: s
                chapter: 2
                ---
                \begin{equation}
                g = h \label{eq:g}
                \end{equation}

                \begin{align*}
                a &= b \\
                  &= c
                \end{align*}

                \begin{align}
                d &= e \label{eq:d}
                \end{align}

                $$ u = v $$

                $$ p = q $$ {#eq:p}

                See [](#eq:g), [](#eq:d) and [](#eq:p).
                """,
            "content/plain.md": r"""
                ---
                title: Plain
                date: 2026-01-06
                ---
                \begin{align}
                x &= 1 \\
                y &= 2
                \end{align}
                """,
        },
    )
    out = build_site(tmp_path / "source", tmp_path / "public")
    with serve(out) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)
        visit(page, log, base + "posts/ch02/")
        page.evaluate("() => document.fonts.ready")
        assert page.evaluate(_NUMBERS_SEEN) == [
            {"id": "eq:g", "ours": ["(2.1)"], "katex": 0},
            {"id": "", "ours": [], "katex": 0},
            {"id": "eq:d", "ours": ["(2.2)"], "katex": 0},
            {"id": "", "ours": [], "katex": 0},
            {"id": "eq:p", "ours": ["(2.3)"], "katex": 0},
        ]
        assert [page.get_by_role("link", name=f"Eq. (2.{n})").count() for n in (1, 2, 3)] == [1, 1, 1]
        visit(page, log, base + "posts/plain/")
        assert page.evaluate(_NUMBERS_SEEN) == [{"id": "", "ours": [], "katex": 2}]
        assert page.locator(".katex-error").count() == 0
        assert not log.console_errors, log.console_errors
        context.close()
