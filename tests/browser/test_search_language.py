"""The search box in the site's language: its label, and the results' count with the language's plural forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixture_sites import make_site, post

from .harness import Chromium, build_site, require, serve, watch

pytestmark = pytest.mark.browser


def test_search_speaks_french_with_its_plural_forms(chromium: Chromium, tmp_path: Path) -> None:
    require("chromium", "playwright")
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: Le site\nbase_url: https://example.org/\nlanguage: fr\nsearch: true\n",
            "content/a.md": post("Entropie", "2026-01-02", "Cette entropie mesure la surprise. Bernoulli aussi."),
            "content/b.md": post("Information", "2026-01-03", "Une entropie croisée compare deux lois."),
            "content/c.md": post("Autre", "2026-01-04", "Rien à voir."),
        },
    )
    public = build_site(site, tmp_path / "public")
    with serve(public) as base:
        context = chromium.new_context(base)
        page = context.new_page()
        log = watch(page)
        page.goto(base)
        box = page.get_by_role("searchbox", name="Rechercher dans le site")
        assert box.get_attribute("placeholder") == "Rechercher"
        status = page.locator("#search-results .search-status")
        for query, expected in (
            ("entropie", "2 résultats pour «\u00a0entropie\u00a0»"),
            ("bernoulli", "1 résultat pour «\u00a0bernoulli\u00a0»"),  # CLDR: "one" in French
            ("xylophone", "Aucun résultat pour «\u00a0xylophone\u00a0»"),
        ):
            box.fill(query)
            page.wait_for_function(
                "expected => document.querySelector('#search-results .search-status')?.textContent === expected",
                arg=expected,
                timeout=10_000,
            )
            assert status.inner_text() == expected
        assert not log.console_errors, log.console_errors
        context.close()
