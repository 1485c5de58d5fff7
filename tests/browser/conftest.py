"""Session fixtures: the example site (built once per run, in tests/conftest.py) served on a free port, and one
Chromium per worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import Chromium, html_pages, serve


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
