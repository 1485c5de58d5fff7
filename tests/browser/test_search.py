"""Search in the browser: a word found in exactly one chapter brings that chapter up first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .harness import Chromium, require, watch

pytestmark = pytest.mark.browser

WORD = "Bernoulli"  # appears in one chapter of the example site, and the test checks that it still does


def test_search_finds_the_one_chapter_with_a_word(chromium: Chromium, site_dir: Path, site_url: str) -> None:
    require("chromium", "playwright")
    holding = [
        p.parent.relative_to(site_dir).as_posix()
        for p in sorted((site_dir / "posts").glob("*/index.html"))
        if re.search(WORD, p.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    assert holding == ["posts/primer-ii-ch11-evaluation-statistics"], f"the premise changed: {WORD} is in {holding}"
    context = chromium.new_context(site_url)
    page = context.new_page()
    log = watch(page)
    page.goto(site_url + "tags/")
    box = page.get_by_role("searchbox", name="Search the site")
    box.fill(WORD.lower())
    first = page.locator("#search-results .search-result").first
    first.wait_for(timeout=10_000)
    link = first.locator("a")
    assert link.get_attribute("href") == "/posts/primer-ii-ch11-evaluation-statistics/"
    assert "Chapter 11" in link.inner_text()
    assert (
        "LLM Primer II: Language Models Through Mathematics › Chapter 11" in first.locator(".search-where").inner_text()
    )
    assert "bernoulli" in first.locator(".search-excerpt mark").first.inner_text().lower()
    assert page.get_by_role("status").inner_text().endswith(f"for “{WORD.lower()}”")
    link.click()
    page.wait_for_url(site_url + "posts/primer-ii-ch11-evaluation-statistics/")
    assert not log.console_errors, log.console_errors
    context.close()
