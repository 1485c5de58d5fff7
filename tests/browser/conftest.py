"""Session fixtures: the example site built once with a pinned date, served on a free port, and one Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import REPO, build_site, html_pages, launch_chromium, require, serve


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site (the repository root is the site) built into a temp folder."""
    return build_site(REPO, tmp_path_factory.mktemp("example-site"))


@pytest.fixture(scope="session")
def site_pages(site_dir: Path) -> list[str]:
    return html_pages(site_dir)


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    with serve(site_dir) as base:
        yield base


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole session; tests open their own contexts in it."""
    require("chromium", "playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()
