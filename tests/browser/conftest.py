"""Session fixtures: the example site built once with a pinned date, served on a free port, and one Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import REPO, Chromium, build_site, html_pages, serve


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
def chromium() -> Iterator[Chromium]:
    """One headless Chromium for the whole session (started on first use); tests open their own contexts in it."""
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()
