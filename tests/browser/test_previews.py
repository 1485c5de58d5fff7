"""Previews of references in Chromium: hover and keyboard focus show the target, typeset, in a role="tooltip"
within 300 ms, from what the build wrote into the page (no request); Escape closes it; without JavaScript the links
work and nothing of the previews shows; axe finds nothing wrong with a preview open; copying typeset math copies
its TeX."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from .harness import AXE_JS, Chromium, build_site, require, serve, visit, watch
from .test_accessibility import describe_violation

pytestmark = pytest.mark.browser

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20"/></svg>\n'


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture(scope="module", params=["browser", "build"])
def primer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(f"previews-{request.param}")
    _write(
        root / "source",
        {
            "site.yaml": f"title: Previews\nbase_url: https://example.org/\nmath: {{render: {request.param}}}\n",
            "series/primer.md": "---\ntitle: Primer\nnumber_sections: true\n---\n",
            "content/dot.svg": SVG,
            "content/ch03.md": r"""
                ---
                title: Three
                date: 2026-01-03
                series: primer
                chapter: 3
                ---
                ## Softmax

                The softmax turns scores into probabilities.

                ::: definition {#def:softmax} Softmax
                $s_i = e^{z_i} / \sum_j e^{z_j}$.
                :::

                ::: theorem {#thm:shift} Shift invariance
                $s(z + c) = s(z)$ for every $c$.
                :::

                $$
                \frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j)
                $$ (eq:jacobian)

                ![A dot](dot.svg "A dot"){#fig:dot}
                """,
            "content/ch04.md": r"""
                ---
                title: Four
                date: 2026-01-04
                series: primer
                chapter: 4
                ---
                By [](ch03.md#thm:shift), and [](ch03.md#eq:jacobian); see [](ch03.md#fig:dot) and
                [](ch03.md#softmax). Here, [](#eq:here) and a note.[^n]

                ## Here

                $$
                E = mc^2
                $$ (eq:here)

                [^n]: The note says $x^2$.
                """,
        },
    )
    return build_site(root / "source", root / "public")


def tooltip(page: Any) -> Any:
    return page.locator('[role="tooltip"]')


def test_hover_shows_the_target_typeset_from_the_page_itself(chromium: Chromium, primer: Path) -> None:
    require("chromium", "playwright", "katex")
    with serve(primer) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)
        visit(page, log, base + "posts/ch04/")
        assert tooltip(page).count() == 0
        cases = [
            ("Theorem 3.2", "Theorem 3.2 (Shift invariance)."),
            ("Eq. (3.1)", "(3.1)"),
            ("Figure 3.1", "Figure 3.1: A dot"),
            ("3.1 Softmax", "The softmax turns scores into probabilities."),
            ("Eq. (4.1)", "(4.1)"),
        ]
        # the page's own clock, from the pointer's arrival on a link to the tooltip in the page (the machine's
        # load adds to Playwright's round trips, not to this)
        page.evaluate(
            """() => {
                window.arrived = 0; window.shownAfter = [];
                document.addEventListener('mouseover', e => { if (e.target.closest('a')) arrived = performance.now(); });
                new MutationObserver(() => {
                    if (document.querySelector('[role=tooltip]') && arrived) {
                        shownAfter.push(performance.now() - arrived); arrived = 0;
                    }
                }).observe(document.body, {childList: true, subtree: true});
            }"""
        )
        for name, shown in cases:
            log.requests.clear()
            link = page.get_by_role("link", name=name, exact=True)
            link.hover()
            tooltip(page).wait_for(state="visible", timeout=5000)
            assert page.evaluate("() => shownAfter.pop()") < 300, name  # within 300 ms of the pointer arriving
            assert shown in tooltip(page).inner_text(), name
            assert link.get_attribute("aria-describedby") == tooltip(page).get_attribute("id")
            if name.startswith("Eq.") or name.startswith("Theorem"):
                assert tooltip(page).locator(".katex").count() >= 1, name
                assert tooltip(page).locator(".katex-error").count() == 0
            # read from the page: nothing fetched (the figure's image is the one request a preview may make)
            assert [u for u in log.requests if not u.endswith("dot.svg")] == [], name
            page.mouse.move(1, 1)
            tooltip(page).wait_for(state="detached", timeout=1000)
        # a footnote reference
        page.locator("sup.footnote-ref a").hover()
        tooltip(page).wait_for(state="visible", timeout=5000)
        assert "The note says" in tooltip(page).inner_text()
        assert not log.console_errors, log.console_errors
        context.close()


def test_keyboard_focus_shows_it_and_escape_closes_it_and_axe_is_content(chromium: Chromium, primer: Path) -> None:
    require("chromium", "playwright", "katex", "axe")
    with serve(primer) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)
        visit(page, log, base + "posts/ch04/")
        link = page.get_by_role("link", name="Theorem 3.2", exact=True)
        link.focus()
        tooltip(page).wait_for(state="visible", timeout=5000)
        assert "Shift invariance" in tooltip(page).inner_text()
        page.add_script_tag(path=str(AXE_JS))
        violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        assert not violations, "\n".join(describe_violation(v) for v in violations)
        page.keyboard.press("Escape")
        tooltip(page).wait_for(state="detached", timeout=5000)
        assert link.get_attribute("aria-describedby") is None
        assert page.evaluate("() => document.activeElement.textContent") == "Theorem 3.2"  # focus stays
        context.close()


def test_without_javascript_the_links_work_and_no_preview_shows(chromium: Chromium, primer: Path) -> None:
    require("chromium", "playwright")
    with serve(primer) as base:
        context = chromium.new_context(base, javascript=False)
        page = context.new_page()
        page.goto(base + "posts/ch04/", wait_until="load")  # not visit(): it waits on the page's own scripts
        text = page.inner_text("body")
        assert "Shift invariance" not in text and "A dot" not in text  # the previews' copies stay in their template
        link = page.get_by_role("link", name="Theorem 3.2", exact=True)
        link.hover()
        page.wait_for_timeout(400)
        assert tooltip(page).count() == 0
        link.click()
        page.wait_for_url(base + "posts/ch03/#thm:shift")
        assert page.evaluate("() => document.querySelector(':target').id") == "thm:shift"
        context.close()


def test_equation_numbers_link_to_themselves_and_copying_math_copies_its_tex(chromium: Chromium, primer: Path) -> None:
    require("chromium", "playwright", "katex")
    with serve(primer) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)
        visit(page, log, base + "posts/ch03/")
        assert page.locator("#eq\\:jacobian a.eqno").get_attribute("href") == "#eq:jacobian"
        copied = page.evaluate(
            """() => {
                const range = document.createRange();
                range.selectNodeContents(document.querySelector('#thm\\\\:shift p:last-child'));
                getSelection().removeAllRanges();
                getSelection().addRange(range);
                const event = new ClipboardEvent('copy', {clipboardData: new DataTransfer(), bubbles: true, cancelable: true});
                document.dispatchEvent(event);
                return event.clipboardData.getData('text/plain');
            }"""
        )
        assert copied == "$s(z + c) = s(z)$ for every $c$."
        context.close()
