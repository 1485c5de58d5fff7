"""Front matter, series files and site.yaml are read as written: YAML 1.1's types are not applied to text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import make_site, post
from primer_site.build import BuildOptions, build_site
from primer_site.errors import SiteError

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def build(site: Path) -> Path:
    build_site(BuildOptions(source=site, output=site / "public", now=NOW, jobs=1, cache=False))
    return site / "public"


def errors_of(site: Path) -> list[str]:
    with pytest.raises(SiteError) as caught:
        build(site)
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


def page(out: Path, url: str) -> str:
    return (out / url.strip("/") / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- YAML 1.1's types are not applied to text


def test_dotted_chapters_keep_their_digits_and_sort_naturally(tmp_path: Path) -> None:
    """`chapter: 1.10` was the float 1.1 and sorted before 1.2; `010` was octal 8."""
    make_site(
        tmp_path,
        {
            "content/a.md": post("Ten", series="s", chapter="1.10"),
            "content/b.md": post("Two", series="s", chapter="1.2"),
            "content/c.md": post("Nine", series="s", chapter="1.9"),
            "content/d.md": post("Eight", series="t", chapter="010"),
        },
    )
    out = build(tmp_path)
    listing = page(out, "series/s")
    assert listing.index("Two") < listing.index("Nine") < listing.index("Ten")
    assert "Section 1.10" in page(out, "posts/a")
    assert "Chapter 010" in page(out, "posts/d") and "Chapter 8" not in page(out, "posts/d")


def test_post_text_keys_that_look_like_numbers_booleans_or_dates(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": "---\ntitle: 2.10\ndate: 2026-01-05\nsummary: on\ndescription: 0x1F\n"
            "tags: [yes, no, 1_000]\ncategory: 2026-01-01\nslug: 007\n---\nBody.\n",
        },
    )
    out = build(tmp_path)
    html = page(out, "posts/007")
    assert '<h1 class="post-title">2.10</h1>' in html
    assert '<meta name="description" content="0x1F">' in html
    for slug, tag in (("yes", "yes"), ("no", "no"), ("1-000", "1_000")):
        assert f'<a href="/tags/{slug}/">{tag}</a>' in html
    assert (out / "categories/2026-01-01/index.html").is_file()
    assert '<p class="entry-summary">on</p>' in page(out, "")


def test_series_file_and_site_yaml_text_keys(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": "title: 1984\ndescription: yes\nauthor: 3.10\nlanguage: no\n"
            "menu: [{name: 2024, url: /series/}]\nmacros:\n  on: \\mathrm{on}\n  \\half: 0.50\n",
            "series/s.md": "---\ntitle: 2.10\ncollection: 2024\n---\nAbout.\n",
            "series/2024.md": "---\ntitle: Shelf\nkind: collection\n---\n",
            "content/a.md": post("A", series="s", chapter=1, body="$\\half$"),
        },
    )
    out = build(tmp_path)
    html = page(out, "posts/a")
    assert "<title>A · 1984</title>" in html and '<html lang="no">' in html
    assert '<li><a href="/series/">2024</a></li>' in html
    assert "<p>1984 · 3.10</p>" in html
    assert '<a href="/series/s/" data-pagefind-meta="series">2.10</a>' in html
    assert "&#34;\\\\on&#34;: &#34;\\\\mathrm{on}&#34;" in html and "&#34;\\\\half&#34;: &#34;0.50&#34;" in html
    assert '<meta name="description" content="yes">' in page(out, "")


def test_top_level_keys_are_names_not_booleans(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", on="x"), "site.yaml": "title: S\nyes: 1\n"})
    result = build_site(BuildOptions(source=tmp_path, output=tmp_path / "public", now=NOW, jobs=1, cache=False))
    assert sorted(str(w) for w in result.warnings) == [
        "content/a.md:4: warning: unknown key 'on'",
        "site.yaml:2: warning: unknown key 'yes'",
    ]


def test_null_still_means_no_value(tmp_path: Path) -> None:
    """`~`, null and an empty value mean "no value" in every YAML version: left as YAML reads them."""
    make_site(tmp_path, {"content/a.md": "---\ntitle: ~\ndate: 2026-01-05\n---\n"})
    assert errors_of(tmp_path) == ["content/a.md:2: error: title: is required"]
