"""`primer-site new`: a new site that builds and checks, and new posts placed and numbered as a new author expects."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fixture_sites import REPO, make_site, post, run_cli
from primer_site.sources.config import KATEX_VERSION

NOTE = "(a draft: build with --drafts to see it, remove 'draft: true' to publish)"


def series_site(root: Path) -> Path:
    return make_site(
        root,
        {
            "series/info-theory.md": "---\ntitle: Information Theory\nchapters: 4\n---\nA series.\n",
            "content/info/ch1.md": post("Entropy", series="info-theory", chapter=1),
            "content/info/ch2.md": post("Cross-entropy", series="info-theory", chapter=2),
            "content/info/ch2-1.md": post("An aside", series="info-theory", chapter='"2.1"'),
        },
    )


def test_a_new_post_in_a_series_gets_the_next_free_chapter_and_says_which(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    result = run_cli("new", "post", "Mutual Information", "--series", "info-theory", "-s", str(site))
    assert result.returncode == 0 and result.stderr == ""
    created = site / "content/info/mutual-information.md"
    assert result.stdout == (f"created {created} as chapter 3 of series 'info-theory', the next free one {NOTE}\n")
    text = created.read_text()
    assert "series: 'info-theory'\nchapter: '3'\n" in text and "draft: true\n" in text
    built = run_cli("build", "-s", str(site), "-D", "-F", "--now", "2026-06-01")  # a draft dated today
    assert built.returncode == 0, built.stderr
    assert "Chapter 3 of 4" in (site / "public/posts/mutual-information/index.html").read_text()


def test_the_series_may_be_named_by_its_title(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    result = run_cli("new", "post", "KL", "--series", "Information Theory", "-s", str(site))
    assert result.returncode == 0 and "as chapter 3 of series 'info-theory'" in result.stdout


def test_a_chapter_number_already_taken_warns_before_writing(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    result = run_cli("new", "post", "Entropy again", "--series", "info-theory", "--chapter", "2", "-s", str(site))
    assert result.returncode == 0
    assert result.stderr == (
        "warning: chapter 2 of series 'info-theory' is content/info/ch2.md already: the build stops until one of "
        "the two is renumbered\n"
    )
    assert (
        result.stdout
        == f"created {site / 'content/info/entropy-again.md'} as chapter 2 of series 'info-theory' {NOTE}\n"
    )


def test_an_unknown_series_warns_and_names_the_nearest(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    result = run_cli("new", "post", "Typo", "--series", "info-theroy", "-s", str(site))
    assert result.returncode == 0
    assert result.stderr == (
        "warning: series 'info-theroy': there is no series/info-theroy.md and no post in it yet (did you mean "
        '"info-theory"?); this post starts a new series\n'
    )
    assert result.stdout.startswith(f"created {site / 'content/info-theroy/typo.md'} as chapter 1 of series")


def test_a_chapter_past_the_planned_ones_warns(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    result = run_cli("new", "post", "Five", "--series", "info-theory", "--chapter", "5", "-s", str(site))
    assert result.returncode == 0
    assert result.stderr == (
        "warning: chapter 5 is past the 4 chapters planned in series/info-theory.md (chapters: 4): raise that "
        "number, or the build stops\n"
    )


def test_a_post_outside_a_series_is_dated_today_in_the_site_s_time_zone(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site", {"site.yaml": "title: T\nbase_url: https://e.org/\ntimezone: Pacific/Kiritimati\n"}
    )
    result = run_cli("new", "post", "Hello", "-s", str(site))
    assert result.stdout == f"created {site / 'content/posts/hello.md'} {NOTE}\n"
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert f"\ndate: {today}\n" in (site / "content/posts/hello.md").read_text()


def test_new_errors_are_not_worded_as_a_build(tmp_path: Path) -> None:
    site = series_site(tmp_path / "site")
    assert run_cli("new", "post", "Entropy", "-s", str(site)).returncode == 0
    again = run_cli("new", "post", "Entropy", "-s", str(site))
    assert again.returncode == 1
    assert again.stderr == (
        f"primer-site new post: error: {site / 'content/posts/entropy.md'} exists already: nothing was written\n"
    )
    nowhere = run_cli("new", "post", "X", "-s", str(tmp_path / "nowhere"))
    assert nowhere.stderr == f"primer-site new post: error: site folder {tmp_path / 'nowhere'} does not exist\n"
    for result in (again, nowhere):
        assert "build failed" not in result.stderr and "output folder" not in result.stderr


def test_a_new_site_pins_the_katex_its_pages_load_and_checks_cleanly(tmp_path: Path) -> None:
    site = tmp_path / "my-primer"
    result = run_cli("new", "site", str(site))
    assert result.returncode == 0, result.stderr
    package = json.loads((site / "package.json").read_text())
    assert package["dependencies"] == {"katex": KATEX_VERSION}
    assert json.loads((REPO / "package.json").read_text())["dependencies"] == {"katex": KATEX_VERSION}
    assert (site / ".gitignore").read_text().splitlines() == [
        "/public/",
        "/.public.staging/",
        "/.primer-cache/",
        "/node_modules/",
    ]
    assert result.stdout.endswith(f"next: cd {site} && npm install && primer-site serve\n")
    checked = run_cli("check", "-s", str(site))
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_a_new_site_in_a_folder_holding_site_yml_says_so_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "site.yml").write_text("title: Mine\n", encoding="utf-8")
    result = run_cli("new", "site", str(folder))
    assert result.returncode == 1
    assert result.stderr == (
        f"primer-site new site: error: {folder} holds site.yml, which looks like a misspelt site.yaml: rename it to "
        "site.yaml (primer-site reads only that name); nothing was written\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["site.yml"]


# ---------------------------------------------------------------- hostile places and names (issue 20 item 20)


def test_new_post_with_a_300_character_title_gets_a_short_file_name(tmp_path: Path) -> None:
    assert run_cli("new", "site", str(tmp_path / "s")).returncode == 0
    title = "word " * 60
    result = run_cli("new", "post", "-s", str(tmp_path / "s"), title)
    assert result.returncode == 0, result.stderr
    (made,) = (tmp_path / "s" / "content" / "posts").glob("word-*.md")
    assert made.name == "-".join(["word"] * 16) + ".md"  # 79 characters, cut at a word


@pytest.mark.parametrize("where", ["under a file", "under /proc", "a 300-character name"])
def test_new_site_where_no_folder_can_be_made_is_a_clear_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("x")
    folder, why = {
        "under a file": (str(tmp_path / "afile" / "x"), "Not a directory; nothing was written"),
        "under /proc": ("/proc/primer-site-test", "No such file or directory; nothing was written"),
        "a 300-character name": (
            str(tmp_path / ("n" * 300)),
            "a name is too long (file systems take at most 255 bytes a name): choose a shorter one",
        ),
    }[where]
    result = run_cli("new", "site", folder)
    assert result.returncode == 1
    assert result.stderr == f"primer-site new site: error: cannot make the folder {folder}: {why}\n"


def test_new_site_where_content_is_a_dangling_link_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "content").symlink_to(tmp_path / "nowhere")
    result = run_cli("new", "site", str(tmp_path / "d"))
    assert result.returncode == 1
    assert result.stderr == (
        f"primer-site new site: error: {tmp_path / 'd' / 'content'} is a symbolic link to {tmp_path / 'nowhere'}, "
        "which does not exist: remove the link or make its target; nothing was written\n"
    )
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["content"]


def test_scaffolds_write_yaml_that_takes_tex_as_it_is(tmp_path: Path) -> None:
    """Single quotes: a title's backslashes round-trip, and TeX typed into the empty summary stays as typed."""
    site = tmp_path / "my-primer"
    assert run_cli("new", "site", str(site)).returncode == 0
    assert "summary: ''\n" in (site / "content/posts/welcome.md").read_text()
    assert "author: ''\n" in (site / "site.yaml").read_text()
    result = run_cli("new", "post", "$\\alpha$ is Bob's", "-s", str(site))
    assert result.returncode == 0, result.stderr
    path = site / "content/posts/alpha-is-bob-s.md"
    text = path.read_text()
    assert "title: '$\\alpha$ is Bob''s'\n" in text and "summary: ''\n" in text
    path.write_text(text.replace("summary: ''", "summary: '$\\frac{1}{2}\\nabla f$ and \\beta'"))
    built = run_cli("build", "-s", str(site), "-D")
    assert built.returncode == 0, built.stderr
    page = (site / "public/posts/alpha-is-bob-s/index.html").read_text()
    assert "<title>\\alpha is Bob&#39;s · My Primer</title>" in page
    listing = (site / "public/index.html").read_text()
    assert '<span class="math inline">\\frac{1}{2}\\nabla f</span> and \\beta' in listing


def test_new_series_writes_the_series_file(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {})
    result = run_cli(
        "new", "series", "info-theory", "--title", "Information $\\mathcal{I}$", "--chapters", "6", "-s", str(site)
    )
    assert result.returncode == 0, result.stderr
    path = site / "series/info-theory.md"
    assert result.stdout == (
        f'created {path}: series "info-theory", titled "Information $\\mathcal{{I}}$" '
        "(posts join it with series: info-theory)\n"
    )
    assert path.read_text().startswith("---\ntitle: 'Information $\\mathcal{I}$'\nchapters: 6\n# number_sections")
    assert run_cli("new", "post", "Entropy", "--series", "info-theory", "-s", str(site)).returncode == 0
    built = run_cli("build", "-s", str(site), "-D")
    assert built.returncode == 0, built.stderr
    assert "Chapter 1 of 6" in (site / "public/posts/entropy/index.html").read_text()
    again = run_cli("new", "series", "info-theory", "-s", str(site))
    assert again.returncode == 1 and again.stderr == (
        f"primer-site new series: error: {path} exists already: nothing was written\n"
    )
    bad = run_cli("new", "series", "Info_Theory", "-s", str(site))
    assert bad.stderr == (
        "primer-site new series: error: 'Info_Theory' is not a series slug (lowercase letters, digits and '-'; "
        "the file's name): use 'info-theory'\n"
    )
    plain = run_cli("new", "series", "deep-nets", "-s", str(site))
    assert plain.returncode == 0
    assert (site / "series/deep-nets.md").read_text().startswith("---\ntitle: 'Deep nets'\n# chapters: 10 ")
