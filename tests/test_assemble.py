"""Series assembly: planned chapters are a promise the pages keep ("Chapter 3 of 4", "N of M published")."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site


def series(root: Path, planned: int, chapters: list[str]) -> Path:
    files = {"series/s.md": f"---\ntitle: S\nchapters: {planned}\n---\nThe series.\n"}
    for number in chapters:
        files[f"content/c{number}.md"] = post(f"C{number}", "2026-01-05", series="s", chapter=f'"{number}"')
    return make_site(root, files)


def test_a_chapter_past_the_planned_number_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = series(tmp_path, 4, ["1", "2", "5"])
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr == (
        "content/c5.md:5: error: chapter: 5 is past the 4 chapters planned for series 's' (series/s.md:3 says "
        "chapters: 4): raise that number, or renumber this chapter\n"
        "build failed: 1 error; the output folder was left as it was\n"
    )
    assert not (site / "public").exists()


def test_a_section_of_the_last_planned_chapter_is_fine(tmp_path: Path) -> None:
    site = series(tmp_path, 2, ["0", "1", "2", "2.1", "2.2"])
    assert run_cli("build", "-s", str(site), "--now", "2026-06-01").returncode == 0
    page = (site / "public/series/s/index.html").read_text()
    assert "2 of 2 chapters published" in page
    assert "Chapter 2 of 2" in (site / "public/posts/c2/index.html").read_text()


@pytest.mark.parametrize(
    "chapters",
    [["1"], ["1", "1.1", "1.2", "2"], ["0", "1", "2", "3"], ["1", "2", "3", "3.1", "3.2", "3.3", "4"], ["2", "4"]],
)
def test_no_page_ever_says_more_chapters_than_planned(tmp_path: Path, chapters: list[str]) -> None:
    site = series(tmp_path, 4, chapters)
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    whole = {c for c in chapters if "." not in c and c != "0"}
    for page in (site / "public").rglob("*.html"):
        text = page.read_text()
        for count, total in re.findall(r"(\d+) of (\d+) chapters? published", text):
            assert (int(count), int(total)) == (len(whole), 4), page
        for _, total in re.findall(r"Chapter (\d+) of (\d+)", text):
            assert int(total) == 4, page


def test_a_chapter_with_a_leading_zero_clashes_with_the_same_number(tmp_path: Path) -> None:
    site = series(tmp_path, 4, ["1", "2", "02"])
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr == (
        "content/c2.md:5: error: chapter: 2 is also the chapter of content/c02.md (written 02) in series 's'\n"
        "build failed: 1 error; the output folder was left as it was\n"
    )


def test_chapters_compare_as_numbers_so_1_10_is_not_1_1(tmp_path: Path) -> None:
    site = series(tmp_path, 1, ["1", "1.1", "1.10", "1.2"])
    assert run_cli("build", "-s", str(site), "--now", "2026-06-01").returncode == 0
    page = (site / "public/series/s/index.html").read_text()
    assert re.findall(r'<span class="chapter-number">([^<]+)</span>', page) == [
        "Chapter 1", "Section 1.1", "Section 1.2", "Section 1.10",
    ]  # fmt: skip


def test_planned_chapters_compare_numbers_not_text(tmp_path: Path) -> None:
    site = series(tmp_path, 4, ["01", "04"])
    assert run_cli("build", "-s", str(site), "--now", "2026-06-01").returncode == 0
    result = run_cli("build", "-s", str(series(tmp_path / "b", 4, ["1", "05"])), "--now", "2026-06-01")
    assert "content/c05.md:5: error: chapter: 05 is past the 4 chapters planned" in result.stderr


def test_series_page_lists_a_chapter_scheduled_after_a_later_published_one_in_chapter_order(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "series/s.md": "---\ntitle: S\n---\n",
            "content/c1.md": post("One", "2026-01-05", series="s", chapter=1),
            "content/c2.md": post("Two", "2026-12-20", series="s", chapter=2),
            "content/c3.md": post("Three", "2026-01-12", series="s", chapter=3),
        },
    )
    assert run_cli("build", "-s", str(site), "--now", "2026-06-01").returncode == 0
    page = (site / "public/series/s/index.html").read_text()
    items = re.findall(r'<li class="(chapter[^"]*)">\s*<span class="chapter-number">([^<]+)</span>', page)
    assert items == [("chapter", "Chapter 1"), ("chapter scheduled", "Chapter 2"), ("chapter", "Chapter 3")]
    assert "coming on" in page.split("Chapter 2", 1)[1].split("Chapter 3", 1)[0]


def test_a_misspelt_series_is_a_warning_naming_the_nearest(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "series/llm-primer.md": "---\ntitle: LLM Primer\n---\n",
            "content/a.md": post("A", series="llm-primer", chapter=1),
            "content/b.md": post("B", series="llm-primr", chapter=2),
            "content/c.md": post("C", series="LLM Primr", chapter=3),
            "content/d.md": post("D", series="Something else", chapter=1),
            "series/volume-1.md": "---\ntitle: Volume 1\n---\n",
            "content/e.md": post("E", series="Volume 2", chapter=1),  # another volume: no warning
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        "content/b.md:4: warning: series: 'llm-primr' names no file in series/, so it starts a series of its own: "
        "did you mean 'llm-primer' (series/llm-primer.md)? (a new series gets its own series/llm-primr.md)",
        "content/c.md:4: warning: series: 'LLM Primr' names no file in series/, so it starts a series of its own: "
        "did you mean 'LLM Primer' (series/llm-primer.md)? (a new series gets its own series/llm-primr.md)",
    ]


def test_tags_sharing_a_slug_are_one_chip_and_a_warning_naming_both(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", tags='[LLM, llm, "Machine Learning", machine-learning]'),
            "content/b.md": post("B", tags="[Machine Learning]"),
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [
        "content/a.md:4: warning: tags: 'LLM' and 'llm' are one tag (both make the tag page 'llm'): keep one spelling",
        "content/a.md:4: warning: tags: 'Machine Learning' and 'machine-learning' are one tag (both make the tag "
        "page 'machine-learning'): keep one spelling",
    ]
    page = (site / "public/posts/a/index.html").read_text()
    chips = re.findall(r'<ul class="tags"[^>]*>(.*?)</ul>', page, re.DOTALL)[0]
    assert re.findall(r"<a href=\"([^\"]+)\">([^<]+)</a>", chips) == [
        ("/tags/llm/", "LLM"),
        ("/tags/machine-learning/", "Machine Learning"),
    ]
    index = (site / "public/tags/index.html").read_text()
    assert re.search(r"LLM\D*1\b", index) and not re.search(r"LLM\D*2\b", index)


def test_tags_spelt_two_ways_across_posts_warn_at_the_other_spelling(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", tags="[Optimisation]"),
            "content/b.md": post("B", tags="[optimisation]"),
            "content/c.md": post("C", tags="[Optimisation]", category="Notes"),
            "content/d.md": post("D", category="notes"),
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0
    assert [line for line in result.stderr.splitlines() if "warning" in line] == [
        "content/b.md:4: warning: tags: 'optimisation' and 'Optimisation' (content/a.md) are one tag, with one page "
        "that shows 'Optimisation': write them alike",
        "content/d.md:4: warning: category: 'notes' and 'Notes' (content/c.md) are one category, with one page "
        "that shows 'Notes': write them alike",
    ]


def test_a_link_to_a_draft_says_it_is_a_draft(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A", body="See [the draft](draft.md)."),
            "content/draft.md": post("Draft", draft="true"),
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "content/a.md:5: error: link to 'draft.md': content/draft.md is a draft (draft: true), left out of this "
        "build: publish it, or build with --drafts to preview"
    )
    assert run_cli("build", "-s", str(site), "--now", "2026-06-01", "--drafts").returncode == 0


def test_two_series_with_one_title_is_an_error_and_every_stage_reads_the_same_series(tmp_path: Path) -> None:
    """The post that names the title is listed, numbered, given macros and math-checked as one series: the first
    file by path, the one the error names as the title's owner."""
    site = make_site(
        tmp_path,
        {
            "series/a.md": "---\ntitle: Same\nchapters: 3\nmacros:\n  \\A: a\n---\n",
            "series/b.md": "---\ntitle: Same\nchapters: 1\nmacros:\n  \\B: b\n---\n",
            "content/p.md": post("P", body="Uses $\\A$.", series="Same", chapter=2),
        },
    )
    options = BuildOptions(source=site, check_math=True, cache=False, keep_going=True, now=datetime(2026, 6, 1))
    result = build_site(options)
    assert [str(d) for d in result.errors] == [
        "series/b.md:2: error: title: 'Same' is also the title of series/a.md: a post's 'series: Same' would name "
        "series/a.md only; give each series its own title"
    ]
    assert result.site is not None
    (post_p,) = result.site.posts
    assert post_p.series == "a" and post_p.macros == (("\\A", "a"),)
    listed = {s.slug: [p.source for p in s.posts] for s in result.site.series}
    assert listed == {"a": ["content/p.md"], "b": []}
    page = (site / "public/posts/p/index.html").read_text(encoding="utf-8")
    assert "Chapter 2 of 3" in page and 'href="/series/a/"' in page


def test_a_post_at_the_path_of_a_page_the_site_makes_is_an_error_at_the_post(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\npermalinks:\n  post: /{slug}/\n",
            "content/tags.md": post("Tags", tags="[x]"),
            "content/b.md": post("B", slug="categories", category="c"),
        },
    )
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr == (
        "content/b.md:4: error: page categories/index.html: a page the site makes (a listing, a tag or category "
        "page) is written there too (permalinks at site.yaml:3): change the slug or the permalink\n"
        "content/tags.md:2: error: page tags/index.html: a page the site makes (a listing, a tag or category page) "
        "is written there too (permalinks at site.yaml:3): change the slug or the permalink\n"
        "build failed: 2 errors; the output folder was left as it was\n"
    )
