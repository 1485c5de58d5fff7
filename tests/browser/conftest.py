"""Session fixtures: the example site (built once per run, in tests/conftest.py) served on a free port, one Chromium
per worker, and every page of the site read once in it for the tests that only look (harness.SITE_READ)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Chromium, PageRead, html_pages, read_pages, require, serve


@pytest.fixture(scope="session")
def site_dir(example_site_dir: Path) -> Path:
    """The example site, built with the harness's pinned date (the same as EXAMPLE_NOW)."""
    return example_site_dir


@pytest.fixture(scope="session")
def site_pages(site_dir: Path) -> list[str]:
    return html_pages(site_dir)


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    with serve(site_dir) as base:
        yield base


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """One headless Chromium for the whole session (started on first use); tests open their own contexts in it."""
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def site_read(chromium: Chromium, site_dir: Path, site_url: str, site_pages: list[str]) -> dict[str, PageRead]:
    """Every page of the example site as Chromium shows it at 1280 px (harness.read_pages), with a screenshot of each
    page with math: read, never changed."""
    require("chromium", "playwright", "katex")
    with_math = {p for p in site_pages if 'class="math' in (site_dir / p).read_text(encoding="utf-8")}
    return read_pages(chromium, site_url, site_pages, with_math)
