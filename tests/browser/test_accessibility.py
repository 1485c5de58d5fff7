"""axe-core finds no accessibility violations on the kinds of page a reader meets, in light and dark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import AXE_JS, Chromium, page_url, require, sample_pages, visit, watch

pytestmark = pytest.mark.browser

PAGES = ("home", "series", "series-scheduled", "post", "tag", "404")


@pytest.mark.parametrize("width", [360, 1280])  # on a phone, equations and code scroll: they must be reachable
@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_no_axe_violations(chromium: Chromium, site_dir: Path, site_url: str, color_scheme: str, width: int) -> None:
    require("chromium", "playwright", "katex", "axe")
    context = chromium.new_context(site_url, width=width)
    page = context.new_page()
    page.emulate_media(color_scheme=color_scheme)
    log = watch(page)
    found: list[str] = []
    for name, path in sample_pages(site_dir, *PAGES).items():
        visit(page, log, page_url(site_url, path))
        page.add_script_tag(path=str(AXE_JS))
        violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        found += [f"{name} ({path}), {color_scheme}, {width} px: {describe_violation(v)}" for v in violations]
    context.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


def describe_violation(violation: dict[str, Any]) -> str:
    """One violation, readable: rule, impact, what it asks, and the first few offending elements with why."""
    lines = [f"[{violation['impact']}] {violation['id']}: {violation['help']} ({len(violation['nodes'])} elements)"]
    for node in violation["nodes"][:5]:
        why = " ".join(node.get("failureSummary", "").split())
        lines.append(f"      {' '.join(map(str, node['target']))}: {node['html'][:120]}\n        {why}")
    return "\n".join(lines)
