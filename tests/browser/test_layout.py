"""Layout on a phone and on a desktop: nothing widens the page, wide things scroll in their own box, the chapter
navigation shows, nothing jumps once KaTeX and its fonts are in; with screenshots to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import ARTIFACTS, Chromium, page_url, require, sample_pages, visit, watch

pytestmark = pytest.mark.browser

SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (360, 1280)
MAX_CLS = 0.1

_LAYOUT = """() => {
  const width = window.innerWidth;
  const boxes = [...document.querySelectorAll('.math.display, pre, table')].map(el => {
    const rect = el.getBoundingClientRect();
    return {
      what: el.tagName.toLowerCase() + (el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : ''),
      text: (el.dataset.tex || el.textContent).trim().slice(0, 60),
      left: rect.left, right: rect.right,
      overflows: el.scrollWidth > el.clientWidth + 1,
      overflowX: getComputedStyle(el).overflowX,
    };
  });
  return {width, scrollWidth: document.documentElement.scrollWidth, boxes};
}"""

# Layout shifts since navigation (buffered), once KaTeX has typeset and its fonts are in.
_CLS = """() => new Promise(resolve => {
  let cls = 0;
  const shifts = [];
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      cls += entry.value;
      const nodes = (entry.sources || []).map(s => s.node ? (s.node.nodeName + '.' + (s.node.className || '')) : '?');
      shifts.push(entry.value.toFixed(4) + ' ' + nodes.join(', '));
    }
  }).observe({type: 'layout-shift', buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => resolve({cls, shifts}), 50)));
})"""


def layout_problems(page: Any, name: str) -> list[str]:
    """What is wrong with the layout of the open page, each as one readable line."""
    state = page.evaluate(_LAYOUT)
    width = state["width"]
    problems = []
    if state["scrollWidth"] > width:
        problems.append(f"{name}: the page scrolls sideways: {state['scrollWidth']} px wide in a {width} px window")
    for box in state["boxes"]:
        where = f"{name}: {box['what']} {box['text']!r}"
        if box["left"] < -0.5 or box["right"] > width + 0.5:
            problems.append(f"{where} sticks out of the window: {box['left']:.0f}..{box['right']:.0f} of {width} px")
        if box["overflows"] and box["overflowX"] not in ("auto", "scroll"):
            problems.append(f"{where} is wider than its box but does not scroll (overflow-x: {box['overflowX']})")
    shift = page.evaluate(_CLS)
    if shift["cls"] >= MAX_CLS:
        problems.append(
            f"{name}: cumulative layout shift {shift['cls']:.3f} ≥ {MAX_CLS}: " + "; ".join(shift["shifts"])
        )
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_layout_holds_and_screenshots(chromium: Chromium, site_dir: Path, site_url: str, width: int) -> None:
    require("chromium", "playwright", "katex")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(site_url, width=width)
    page = context.new_page()
    log = watch(page)
    problems: list[str] = []
    for name, path in sample_pages(site_dir, "home", "series", "post").items():
        page.emulate_media(color_scheme="light")
        visit(page, log, page_url(site_url, path))
        problems += layout_problems(page, f"{name} at {width} px")
        if name == "post":
            nav = page.locator(".chapter-nav")
            if not nav.is_visible():
                problems.append(f"{name} at {width} px: the chapter navigation is not visible")
            elif (box := nav.bounding_box()) and box["x"] + box["width"] > width + 0.5:
                problems.append(f"{name} at {width} px: the chapter navigation sticks out of the window")
            if not page.locator(".math.display").count() or not page.locator("pre").count():
                problems.append(f"{name} ({path}) should have display math and a code block to check")
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}-light.png", full_page=True)
        page.emulate_media(color_scheme="dark")
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}-dark.png", full_page=True)
        problems += [f"{name} at {width} px: {e}" for e in log.console_errors + log.failed_requests]
    context.close()
    assert not problems, "\n".join(problems)


def test_no_page_scrolls_sideways_on_a_phone(chromium: Chromium, site_url: str, site_pages: list[str]) -> None:
    """And what scrolls inside its own box (equations, code, tables) can be reached by keyboard, to scroll it."""
    require("chromium", "playwright", "katex")
    context = chromium.new_context(site_url, width=360)
    page = context.new_page()
    log = watch(page)
    wide: list[str] = []
    for path in site_pages:
        visit(page, log, page_url(site_url, path))
        scroll_width, width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if scroll_width > width:
            culprits = page.evaluate(_WIDEST)
            wide.append(f"{path}: {scroll_width} px wide in a {width} px window; widest: {culprits}")
        wide += [
            f"{path}: {box} scrolls sideways but cannot be reached by keyboard" for box in page.evaluate(_UNREACHABLE)
        ]
    context.close()
    assert not wide, f"{len(wide)} problems at 360 px:\n" + "\n".join(wide)


# Boxes that scroll sideways with nothing in them to focus and no tabindex: a keyboard cannot scroll them.
_UNREACHABLE = """() => [...document.querySelectorAll('main *')]
  .filter(el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1)
  .filter(el => !el.hasAttribute('tabindex') && !el.querySelector('a[href], button, input, select, textarea, [tabindex]'))
  .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' +
       JSON.stringify((el.dataset.tex || el.textContent).trim().slice(0, 50)))"""


# The elements that reach furthest past the right edge: where to look when a page scrolls sideways.
_WIDEST = """() => [...document.body.querySelectorAll('*')]
  .map(el => [el, el.getBoundingClientRect().right])
  .filter(([el, right]) => right > window.innerWidth)
  .sort((a, b) => b[1] - a[1]).slice(0, 3)
  .map(([el, right]) => el.tagName.toLowerCase() + '.' + el.className + ' → ' + Math.round(right) + ' px')
  .join('; ')"""
