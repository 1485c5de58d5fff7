"""Citations in a browser: a post with References and its Cite block, and a volume's references page, are axe
clean in light and dark; the copy button puts the post's BibTeX entry on the clipboard and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_sites import make_site, post

from .harness import AXE_JS, Chromium, build_site, page_url, require, serve, visit, watch
from .test_accessibility import describe_violation

pytestmark = pytest.mark.browser

REFS = r"""
@article{vaswani2017, title={Attention Is All You Need}, author={Vaswani, Ashish and Shazeer, Noam and Parmar, Niki},
  journal={Advances in Neural Information Processing Systems}, volume={30}, year=2017}
@misc{bounds, title={Bounds of $O(n^2)$ Size}, author={Lee, Ann}, year=2015, doi={10.1000/xyz}}
"""


@pytest.fixture(scope="module")
def cited_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = make_site(
        tmp_path_factory.mktemp("cited"),
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nbibliography: content/refs.bib\nauthors: [Jane Doe]\n",
            "content/refs.bib": REFS,
            "series/vol.md": "---\ntitle: Volume\n---\nA volume.\n",
            "content/c1.md": post(
                "One & only",
                "2026-01-01",
                "As @vaswani2017 show, attention [@vaswani2017, sec. 3; @bounds] is enough.[^1]\n\n[^1]: See [-@bounds].",
                series="vol",
                chapter=1,
            ),
        },
    )
    out = build_site(root, root.parent / "cited-out")
    with serve(out) as base:
        yield out, base


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_citation_pages_have_no_axe_violations(
    chromium: Chromium, cited_site: tuple[Path, str], color_scheme: str
) -> None:
    require("chromium", "playwright", "katex", "axe")
    _, base = cited_site
    context = chromium.new_context(base, color_scheme=color_scheme)
    page = context.new_page()
    log = watch(page)
    found: list[str] = []
    for path in ("posts/c1/", "series/vol/references/", "series/vol/"):
        visit(page, log, page_url(base, path))
        page.add_script_tag(path=str(AXE_JS))
        violations = page.evaluate("() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        found += [f"{path}, {color_scheme}: {describe_violation(v)}" for v in violations]
    context.close()
    assert not found, f"{len(found)} axe violations:\n" + "\n".join(found)


def test_the_copy_button_copies_the_bibtex_entry(chromium: Chromium, cited_site: tuple[Path, str]) -> None:
    require("chromium", "playwright")
    out, base = cited_site
    context = chromium.new_context(base)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base.rstrip("/"))
    page = context.new_page()
    log = watch(page)
    visit(page, log, page_url(base, "posts/c1/"))
    button = page.locator("button.copy-button")
    assert button.is_visible()  # shown by the script, where the clipboard can be written
    button.click()
    page.wait_for_function("() => document.querySelector('.copy-status').textContent === 'Copied.'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == (out / "posts/c1/cite.bib").read_text(encoding="utf-8")
    assert copied.startswith("@incollection{doe2026-c1,\n  author = {Jane Doe},\n  title = {{One \\& only}},")
    context.close()


def test_citation_pages_are_valid_html(cited_site: tuple[Path, str]) -> None:
    """The References section, the Cite block and the references page pass the Nu Html Checker."""
    import json
    import subprocess

    from .harness import VNU_JAR

    require("java", "vnu")
    out, _ = cited_site
    files = [
        str(out / page) for page in ("posts/c1/index.html", "series/vol/references/index.html", "series/vol/index.html")
    ]
    result = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr)["messages"]
    assert [m for m in messages if m.get("type") in ("error", "non-document-error")] == []
