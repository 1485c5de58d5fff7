"""The notation index of a series: macros with a meaning, typeset, where defined, where used; early uses warned."""

from __future__ import annotations

import re
from pathlib import Path

from fixture_sites import make_site, post, run_cli

SERIES = (
    "---\ntitle: Primer\nmacros:\n"
    "  \\KL: {tex: 'D_{\\mathrm{KL}}', means: Kullback–Leibler divergence, defined: ch02.md#kl-divergence}\n"
    "  \\E: \\mathbb{E}\n---\n"
)


def primer(root: Path, series: str = SERIES) -> Path:
    return make_site(
        root,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\n",
            "series/primer.md": series,
            "content/ch01.md": post("One", "2026-01-01", series="primer", chapter=1, body="Intro.\n\nEarly $\\KL$.\n"),
            "content/ch02.md": post(
                "Two", "2026-01-02", series="primer", chapter=2, body="## KL divergence\n\n$\\KL(p \\| q) = \\E[x]$.\n"
            ),
            "content/ch03.md": post("Three", "2026-01-03", series="primer", chapter=3, body="Not `\\KLx`.\n"),
        },
    )


def test_the_notation_page_lists_each_symbol_typeset_with_its_meaning_definition_and_uses(tmp_path: Path) -> None:
    site = primer(tmp_path)
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    page = (site / "public/series/primer/notation/index.html").read_text(encoding="utf-8")
    rows = re.search(r"<tbody>\n(.*?)\n  </tbody>", page, re.DOTALL)
    assert rows is not None and rows.group(1) == (
        "    <tr>\n"
        '      <td><span class="math inline">\\KL</span> <code>\\KL</code></td>\n'
        "      <td>Kullback–Leibler divergence</td>\n"
        '      <td><a href="/posts/ch02/#kl-divergence">Chapter 2</a></td>\n'
        '      <td><a href="/posts/ch01/">Chapter 1</a>, <a href="/posts/ch02/">Chapter 2</a></td>\n'
        "    </tr>"
    )
    # KaTeX gets the series' macros on the page, and the series page links to it
    assert "D_{\\\\mathrm{KL}}" in page and "katex.min.js" in page
    assert '<a href="/series/primer/notation/">Notation</a>' in (site / "public/series/primer/index.html").read_text()
    # chapter 1 uses \KL before chapter 2 defines it: a warning at the use
    assert result.stderr.splitlines()[0] == (
        "content/ch01.md:9: warning: \\KL (Kullback–Leibler divergence) is used here, before Chapter 2 defines it "
        "(2026-01-02): define it earlier, or say where it comes from"
    )


def test_a_series_without_meanings_has_no_notation_page(tmp_path: Path) -> None:
    site = primer(tmp_path, "---\ntitle: Primer\nmacros:\n  \\KL: D_{\\mathrm{KL}}\n  \\E: \\mathbb{E}\n---\n")
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    assert not (site / "public/series/primer/notation").exists()


def test_a_macro_entry_with_an_unknown_key_is_an_error(tmp_path: Path) -> None:
    series = SERIES.replace("  \\E: \\mathbb{E}\n", "  \\E: {tex: x, mean: y}\n")
    site = primer(tmp_path, series)
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    # the series' macros are left out, so the math check also names each use of them in the chapters
    assert (
        "series/primer.md:3: error: macros: \\E: expected {tex: its TeX, means: what it is, defined: ch02.md#where}"
        in errors
    )
    assert all(e.startswith("series/") or "Undefined control sequence" in e for e in errors), errors


def test_a_definition_in_no_chapter_of_the_series_is_an_error(tmp_path: Path) -> None:
    site = primer(tmp_path, SERIES.replace("ch02.md#", "ch09.md#"))
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "series/primer.md:3: error: macros: \\KL: defined: no chapter ch09.md in series 'primer'",
    ]


def test_a_symbol_defined_in_a_chapter_not_out_yet_names_its_date(tmp_path: Path) -> None:
    site = primer(tmp_path)
    text = (site / "content/ch02.md").read_text().replace("2026-01-02", "2026-09-01")
    make_site(site, {"content/ch02.md": text})
    result = run_cli("check", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    page = (site / "public/series/primer/notation/index.html").read_text(encoding="utf-8")
    assert "      <td>Chapter 2, out on 1 September 2026</td>\n" in page
    assert "/posts/ch02/" not in page
