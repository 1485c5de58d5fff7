"""Live reload in Chromium: an author saves, and the open page follows within 2 seconds, without a manual reload."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fixture_sites import make_site, post
from primer_site.commands.build import BuildOptions
from primer_site.commands.serve import Preview

from .harness import Chromium

pytestmark = pytest.mark.browser

FOLLOW_MS = 2000  # the promise: the page shows a save within 2 s
LONG_BODY = "\n\n".join(f"Paragraph {n} of a long chapter, so that the page scrolls." for n in range(80))
STYLE = "body {{ background-color: {0}; }}\n"
OVERLAY = "#primer-site-error-overlay"


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_an_open_page_follows_every_save(chromium: Chromium, tmp_path: Path) -> None:
    source = make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: Live\nbase_url: https://example.org/\n",
            "content/hello.md": post("Hello", body=f"Original words.\n\n{LONG_BODY}"),
            "static/css/style.css": STYLE.format("rgb(255, 255, 255)"),
        },
    )
    post_file, css = source / "content" / "hello.md", source / "static" / "css" / "style.css"
    options = BuildOptions(source=source, now=datetime(2026, 6, 1, tzinfo=UTC))
    with Preview(options, port=0) as preview:
        context = chromium.new_context(preview.url)
        context.set_default_timeout(5000)
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(preview.url + "posts/hello/", wait_until="load")
            _wait_connected(page)

            # an edit: the new text shows, and the reader stays where they were
            page.evaluate("() => window.scrollTo(0, 1500)")
            page.wait_for_function("() => Math.abs(window.scrollY - 1500) < 2")
            write(post_file, post("Hello", body=f"Edited words.\n\n{LONG_BODY}"))
            page.wait_for_function("() => document.body.innerText.includes('Edited words.')", timeout=FOLLOW_MS)
            page.wait_for_function("() => Math.abs(window.scrollY - 1500) < 2", timeout=FOLLOW_MS)
            _wait_connected(page)

            # broken front matter: the overlay names the file; the last good page stays underneath
            write(post_file, "---\ntitle: [unclosed\ndate: 2026-01-05\n---\nBroken.\n")
            overlay = page.wait_for_selector(OVERLAY, timeout=FOLLOW_MS)
            assert overlay is not None
            text = overlay.inner_text()
            assert "content/hello.md:3" in text and "YAML" in text, text
            assert "Edited words." in page.inner_text("main")

            # fixed: the overlay goes and the fixed text shows
            write(post_file, post("Hello", body=f"Fixed words.\n\n{LONG_BODY}"))
            page.wait_for_function(
                f"() => document.body.innerText.includes('Fixed words.') && !document.querySelector('{OVERLAY}')",
                timeout=FOLLOW_MS,
            )
            _wait_connected(page)

            # a stylesheet edit: swapped in place, no navigation (what the page's script set survives)
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: frame == page.main_frame and navigations.append(frame.url))
            page.evaluate("() => { window.primerMarker = 'still here'; }")
            write(css, STYLE.format("rgb(10, 20, 30)"))
            page.wait_for_function(
                "() => getComputedStyle(document.body).backgroundColor === 'rgb(10, 20, 30)'", timeout=FOLLOW_MS
            )
            assert page.evaluate("() => window.primerMarker") == "still here"
            assert navigations == []
            assert errors == []
        finally:
            context.close()


def test_a_preview_started_on_a_broken_site_shows_the_errors_then_the_site(chromium: Chromium, tmp_path: Path) -> None:
    source = make_site(tmp_path / "site", {"content/hello.md": "---\ntitle: [unclosed\ndate: 2026-01-05\n---\nX\n"})
    options = BuildOptions(source=source, now=datetime(2026, 6, 1, tzinfo=UTC))
    with Preview(options, port=0) as preview:
        context = chromium.new_context(preview.url)
        context.set_default_timeout(5000)
        try:
            page = context.new_page()
            response = page.goto(preview.url + "posts/hello/", wait_until="load")
            assert response is not None and response.status == 503
            overlay = page.wait_for_selector(OVERLAY, timeout=FOLLOW_MS)
            assert overlay is not None
            text = overlay.inner_text()
            assert "there is no good build of the site yet" in text and "content/hello.md:3" in text, text
            _wait_connected(page)
            write(source / "content" / "hello.md", post("Hello", body="Fixed at last."))
            page.wait_for_function(
                f"() => document.body.innerText.includes('Fixed at last.') && !document.querySelector('{OVERLAY}')",
                timeout=FOLLOW_MS,
            )
        finally:
            context.close()


def _wait_connected(page: Any) -> None:
    """The page's live-reload script has its event stream open (it is, within milliseconds of loading)."""
    page.wait_for_selector('script[data-state="open"]', state="attached", timeout=FOLLOW_MS)
