"""Images in a reader's browser: every <img> of every page of the example site loads, a chapter with figures does not
shift as its images arrive, and figures pass axe in light and dark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import AXE_JS, IMAGES, SITE_READ, Chromium, PageRead, page_url, require, visit, watch
from .test_accessibility import describe_violation
from .test_layout import MAX_CLS

pytestmark = pytest.mark.browser

# A chapter of the example site with figures (an SVG plot, a heat map) and a captioned table.
FIGURE_CHAPTER = "posts/primer-ii-ch04-softmax-attention/index.html"


def figure_chapter(site_dir: Path) -> str:
    if "<figure" not in (site_dir / FIGURE_CHAPTER).read_text(encoding="utf-8"):
        pytest.fail(f"{FIGURE_CHAPTER} has no figure any more: point FIGURE_CHAPTER at a chapter that has")
    return FIGURE_CHAPTER


@SITE_READ
def test_every_image_on_every_page_loads(site_pages: list[str], site_read: dict[str, PageRead]) -> None:
    require("chromium", "playwright", "katex")
    problems: list[str] = []
    seen = 0
    for path in site_pages:
        read = site_read[path]  # each image brought in (lazy ones too) and waited for
        for image in read.images:
            seen += 1
            if not image["complete"] or not image["natural"]:
                problems.append(f"{path}: {image['src']} did not load")
            if not image["width"] or not image["height"]:
                problems.append(f"{path}: {image['src']} has no width and height: it would shift the page")
        problems += [f"{path}: {failure}" for failure in read.failed_requests]
    assert seen, "the example site shows no image at all: nothing was checked"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [360, 1280])
def test_a_chapter_with_figures_does_not_shift(chromium: Chromium, site_dir: Path, site_url: str, width: int) -> None:
    require("chromium", "playwright", "katex")
    path = figure_chapter(site_dir)
    context = chromium.new_context(site_url, width=width)
    page = context.new_page()
    log = watch(page)
    # the images arrive late, after the text is laid out and the reader is at a figure below the first one
    held: list[Any] = []
    page.route("**/*.svg", lambda route: held.append(route))
    page.goto(page_url(site_url, path) + "#fig:attention-weights", wait_until="domcontentloaded")
    page.wait_for_timeout(300)
    loading = page.evaluate("() => [...document.images].map(img => img.getAttribute('loading'))")
    for route in held:
        route.continue_()
    page.evaluate(
        "() => Promise.all([...document.images].map(img => (img.loading = 'eager', img.decode().catch(() => null))))"
    )
    page.wait_for_timeout(100)
    shift = page.evaluate(
        """() => new Promise(resolve => {
          let cls = 0;
          new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) cls += e.value; })
            .observe({type: 'layout-shift', buffered: true});
          setTimeout(() => resolve(cls), 200);
        })"""
    )
    images = page.evaluate(IMAGES)
    context.close()
    assert len(images) >= 2 and all(image["natural"] for image in images), images
    assert loading[0] is None and all(value == "lazy" for value in loading[1:]), loading
    assert shift < MAX_CLS, f"cumulative layout shift {shift:.3f} at {width} px"
    assert not log.failed_requests and not log.console_errors, log


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_figures_have_no_axe_violations(chromium: Chromium, site_dir: Path, site_url: str, color_scheme: str) -> None:
    require("chromium", "playwright", "katex", "axe")
    path = figure_chapter(site_dir)
    context = chromium.new_context(site_url)
    page = context.new_page()
    page.emulate_media(color_scheme=color_scheme)
    log = watch(page)
    visit(page, log, page_url(site_url, path))
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
    context.close()
    assert not violations, "\n".join(describe_violation(v) for v in violations)
