"""On a 360 px phone: a display equation wider than the column shows that it scrolls (a shadow at the edge with
more beyond it, none at an end it has reached), and the post's meta line never breaks inside "Chapter 1 of 6"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fixture_sites import make_site, post

from .harness import Chromium, build_site, page_url, require, serve, visit, watch

pytestmark = pytest.mark.browser

WIDE = " + ".join(f"\\frac{{x_{{{i}}}^{{2}}}}{{y_{{{i}}} + z_{{{i}}}}}" for i in range(1, 16))
BODY = f"A wide one:\n\n$$\n{WIDE}\n$$\n\nA short one:\n\n$$\nE = mc^2\n$$\n\n::: note\n$$\n{WIDE}\n$$\n:::\n"


@pytest.fixture(scope="module")
def phone_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("phone")
    source = make_site(
        root / "site",
        {
            "series/s.md": "---\ntitle: 'A series with a long enough title'\nchapters: 6\n---\nAbout it.\n",
            "content/ch1.md": post(
                "A chapter title long enough to fill the line",
                series="s",
                chapter=1,
                updated="2026-01-20",
                body=BODY,
            ),
        },
    )
    with serve(build_site(source, root / "out")) as base:
        yield base


# The colour at the top edge of a display box, 2 px in from its left and right sides (in its padding, where no
# glyph is), read from a screenshot of it; and whether it scrolls.
_EDGES = """(el) => {
  const r = el.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, scrolls: el.scrollWidth > el.clientWidth + 1,
          max: el.scrollWidth - el.clientWidth};
}"""


def _edge_pixels(page: Any, index: int) -> tuple[tuple[int, int, int], tuple[int, int, int], bool]:
    from io import BytesIO

    from PIL import Image

    box = page.locator(".math.display").nth(index)
    box.scroll_into_view_if_needed()
    shape = box.evaluate(_EDGES)
    shot = Image.open(BytesIO(page.screenshot())).convert("RGB")
    y = round(shape["top"] + 1)
    left = shot.getpixel((round(shape["left"]) + 1, y))
    right = shot.getpixel((round(shape["right"]) - 2, y))
    return left, right, shape["scrolls"]


def _darker(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return sum(a) + 30 < sum(b)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_wide_equation_shows_that_it_scrolls(chromium: Chromium, phone_site: str, scheme: str) -> None:
    require("chromium", "playwright", "katex")
    context = chromium.new_context(phone_site, width=360, color_scheme=scheme)
    page = context.new_page()
    log = watch(page)
    visit(page, log, page_url(phone_site, "posts/ch1/index.html"))
    surface = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    for index, where in ((0, "in the text"), (2, "in a note")):
        left, right, scrolls = _edge_pixels(page, index)
        assert scrolls, f"the wide equation {where} should scroll at 360 px"
        shadowed = _darker if scheme == "light" else (lambda a, b: _darker(b, a))
        plain = left
        # at the start: a shadow at the right edge (more beyond it), none at the left
        assert shadowed(right, plain), f"{where}: no shadow at the right edge: {right} against {plain} ({surface})"
        box = page.locator(".math.display").nth(index)
        box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        left_end, right_end, _ = _edge_pixels(page, index)
        assert shadowed(left_end, right_end), f"{where}, scrolled to its end: no shadow at the left edge"
        assert abs(sum(right_end) - sum(plain)) < 10, f"{where}, at its end: a shadow is left at the right edge"
    # an equation that fits shows no shadow at all
    left, right, scrolls = _edge_pixels(page, 1)
    assert not scrolls and abs(sum(left) - sum(right)) < 10
    assert not log.console_errors and not log.failed_requests
    context.close()


# The tops of the line boxes holding the words "Chapter 1 of 6" in the meta line, whatever the markup around them.
_LINES_OF_CHAPTER = """() => {
  const meta = document.querySelector('.post-meta');
  const text = meta.textContent.replace(/\\s+/g, ' ');
  const start = text.indexOf('Chapter 1 of 6');
  if (start < 0) return [];
  const walker = document.createTreeWalker(meta, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let seen = 0, node, begun = false, squeezed = '';
  while ((node = walker.nextNode())) {
    for (let i = 0; i < node.data.length; i++) {
      const c = /\\s/.test(node.data[i]) ? ' ' : node.data[i];
      if (c === ' ' && squeezed.endsWith(' ')) continue;
      squeezed += c;
      const at = squeezed.length - 1;
      if (at === start && !begun) { range.setStart(node, i); begun = true; }
      if (at === start + 'Chapter 1 of 6'.length - 1) { range.setEnd(node, i + 1);
        return [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)); }
    }
  }
  return [];
}"""


def test_the_meta_line_never_breaks_inside_chapter_n_of_m(chromium: Chromium, phone_site: str) -> None:
    require("chromium", "playwright", "katex")
    context = chromium.new_context(phone_site, width=360)
    page = context.new_page()
    log = watch(page)
    visit(page, log, page_url(phone_site, "posts/ch1/index.html"))
    for width in range(300, 361, 4):  # wherever the line happens to wrap
        page.set_viewport_size({"width": width, "height": 800})
        tops = page.evaluate(_LINES_OF_CHAPTER)
        assert tops, "no 'Chapter 1 of 6' in the meta line"
        assert len(set(tops)) == 1, f"at {width} px: 'Chapter 1 of 6' breaks across lines {tops}"
    context.close()
