"""Series assembly: planned chapters are a promise the pages keep ("Chapter 3 of 4", "N of M published")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli


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
