"""The command line as a user runs it: through a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fixture_sites import SRC, make_site, post, run_cli
from primer_site import __version__


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"primer-site {__version__}"


def test_console_script_is_installed() -> None:
    result = subprocess.run(["primer-site", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and __version__ in result.stdout


def test_no_command_prints_help_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2 and "build" in result.stdout


def test_bad_option_values_are_refused_clearly(tmp_path: Path) -> None:
    result = run_cli("build", "--source", str(tmp_path), "--jobs", "0")
    assert result.returncode == 2 and "'0' is not a positive whole number" in result.stderr
    result = run_cli("build", "--source", str(tmp_path), "--now", "tomorrow")
    assert result.returncode == 2 and "'tomorrow' is not an ISO date" in result.stderr
    result = run_cli("build", "--source", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_new_site_then_build(tmp_path: Path) -> None:
    site = tmp_path / "my-site"
    result = run_cli("new", "site", str(site))
    assert result.returncode == 0, result.stderr
    assert (site / "site.yaml").is_file() and (site / "content/posts/welcome.md").is_file()
    built = run_cli("build", "--source", str(site))
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    page = (site / "public/posts/welcome/index.html").read_text()
    assert "Chapter 1 of 3" in page and "katex.min.js" in page
    assert "My First Series" in (site / "public/series/my-first-series/index.html").read_text()
    again = run_cli("new", "site", str(site))
    assert again.returncode == 1
    assert (
        again.stderr
        == f"primer-site new site: error: {site} holds a site already ({site}/site.yaml): nothing was written\n"
    )


def test_new_post_in_a_series_builds_as_a_draft(tmp_path: Path) -> None:
    site = tmp_path / "s"
    assert run_cli("new", "site", str(site)).returncode == 0
    title = 'Chapter 2 — "Quotes": and: colons'
    result = run_cli("new", "post", title, "--source", str(site), "--series", "my-first-series", "--chapter", "2")
    assert result.returncode == 0, result.stderr
    created = site / "content/posts/chapter-2-quotes-and-colons.md"  # beside the series' first chapter
    assert created.is_file()
    assert not run_cli("build", "--source", str(site)).stderr
    assert not (site / "public/posts/chapter-2-quotes-and-colons").exists()
    assert run_cli("build", "--source", str(site), "--drafts").returncode == 0
    page = (site / "public/posts/chapter-2-quotes-and-colons/index.html").read_text()
    assert "Chapter 2 — &#34;Quotes&#34;: and: colons" in page
    assert "Chapter 2 of 3" in page


def test_a_chapter_needs_a_series(tmp_path: Path) -> None:
    result = run_cli("new", "post", "X", "--source", str(tmp_path), "--chapter", "2")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: primer-site new post ")
    assert result.stderr.endswith(
        "primer-site new post: error: --chapter needs --series: a chapter is a chapter of a series\n"
    )


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "primer_site", "--version"], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)}
    )
    assert result.returncode == 0


# ---------------------------------------------------------------- arguments, help, counts


def test_an_argument_error_prints_the_subcommand_s_usage(tmp_path: Path) -> None:
    for args, command in (
        (["build", "stray"], "build"),
        (["check", "--drafts", "extra"], "check"),
        (["serve", "--port", "x"], "serve"),
        (["new", "post"], "new post"),
        (["clean", "--bogus"], "clean"),
    ):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert result.stderr.startswith(f"usage: primer-site {command} "), (args, result.stderr)
        assert f"\nprimer-site {command}: error: " in result.stderr, args


@pytest.mark.parametrize("command", ["build", "serve", "check", "new", "new site", "new post", "clean"])
def test_each_subcommand_s_help_starts_with_what_it_does_and_names_site_yaml(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.returncode == 0
    description = result.stdout.split("\n\n")[1]  # after the usage lines
    assert description.split()[0] in ("Build", "Start", "Make", "Write", "Remove"), description
    assert "site.yaml" in " ".join(description.split()), description


def test_the_short_flags_hugo_and_jekyll_users_type(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        {
            "content/draft.md": post("Draft", draft="true"),
            "content/future.md": post("Future", "2099-01-01"),
            "content/now.md": post("Now"),
        },
    )
    out = tmp_path / "out"
    result = run_cli("build", "-s", str(site), "-o", str(out), "-D", "-F", "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (out / "posts").iterdir()} == {"draft", "future", "now"}
    serve_help = run_cli("serve", "--help").stdout
    assert "-p PORT, --port PORT" in serve_help and "-s SOURCE, --source SOURCE" in serve_help
    assert "-D, --drafts" in serve_help and "-F, --future" in serve_help


def test_counts_are_singular_for_one(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A", tags="[x]", series="s", chapter=1)})
    result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("built ") and "(1 post, 1 series, 1 tag) in " in result.stdout
    assert "1 of 1 chapter published" in (site / "public/series/s/index.html").read_text()
    again = run_cli("build", "-s", str(site), "--now", "2026-06-01")
    assert ": 0 files written, " in again.stdout
    make_site(site, {"content/a.md": post("A", tags="[x]", series="s", chapter=1, body="Changed.")})
    rebuilt = run_cli("build", "-s", str(site), "--now", "2026-06-01").stdout
    assert re.search(r": \d+ files written, \d+ unchanged", rebuilt), rebuilt
    broken = make_site(tmp_path / "broken", {"content/a.md": "---\ntitle: A\n---\n"})
    assert run_cli("build", "-s", str(broken)).stderr.endswith(
        "build failed: 1 error; the output folder was left as it was\n"
    )


# ---------------------------------------------------------------- finding the site


def test_commands_run_from_a_subfolder_find_the_site_above(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/notes/a.md": post("A", series="s", chapter=1)})
    inside = site / "content" / "notes"
    built = run_cli("build", "--now", "2026-06-01", cwd=inside)
    assert built.returncode == 0, built.stderr
    assert built.stdout.rstrip().endswith(f"→ {site}/public")
    assert (site / "public/posts/a/index.html").is_file() and not (inside / "public").exists()
    made = run_cli("new", "post", "Entropy", cwd=site / "content")
    assert made.returncode == 0, made.stderr
    assert (site / "content/posts/entropy.md").is_file() and not (site / "content/content").exists()
    chapter = run_cli("new", "post", "Two", "--series", "s", cwd=inside)
    assert chapter.stdout.startswith(f"created {site}/content/notes/two.md as chapter 2 of series 's'")
    checked = run_cli("check", "--now", "2026-06-01", "-D", cwd=inside)
    assert checked.returncode == 0, checked.stderr
    cleaned = run_cli("clean", cwd=inside)
    assert cleaned.returncode == 0 and not (site / "public").exists()


def test_no_site_yaml_is_an_error_that_says_how_to_make_one(tmp_path: Path) -> None:
    make_site(tmp_path / "blog", {"site.yaml": None, "content/a.md": post("A")})
    result = run_cli("build", "--source", str(tmp_path / "blog"))
    assert result.returncode == 1
    assert result.stderr == (
        f"<site>: error: no site.yaml in {tmp_path / 'blog'}; `primer-site new site {tmp_path / 'blog'}` makes one\n"
        "build failed: 1 error; the output folder was left as it was\n"
    )
    assert not (tmp_path / "blog/public").exists()
    lost = run_cli("build", cwd=tmp_path / "blog" / "content")
    assert lost.returncode == 1
    assert lost.stderr.startswith(
        f"<site>: error: no site.yaml in {tmp_path / 'blog' / 'content'} or any folder above it; "
        "`primer-site new site DIR` makes one (or give the site's folder with --source)\n"
    )
    # the hint works: new site in the existing folder adds what it lacks and keeps the posts
    made = run_cli("new", "site", str(tmp_path / "blog"))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "blog/content/a.md").read_text() == post("A")
    assert run_cli("build", "--source", str(tmp_path / "blog")).returncode == 0


@pytest.mark.parametrize("name", ["site.yml", "Site.yaml", "site.yaml.txt"])
def test_a_misspelt_site_yaml_is_named(tmp_path: Path, name: str) -> None:
    site = make_site(tmp_path / "s", {"site.yaml": None, name: "title: T\n", "content/a.md": post("A")})
    for args, cwd in ((["build", "-s", str(site)], None), (["build"], site / "content")):
        result = run_cli(*args, cwd=cwd)
        assert result.returncode == 1
        assert result.stderr.startswith(
            f"<site>: error: no site.yaml in {site}, but there is {name}: did you mean site.yaml? (rename it)\n"
        ), result.stderr


# ---------------------------------------------------------------- clean


def test_clean_removes_the_output_its_staging_folder_and_the_cache(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    for body in ("One.", "Two."):  # the second build changes a page, so it swaps and keeps a staging folder
        (site / "content" / "a.md").write_text(post("A", body=body), encoding="utf-8")
        assert run_cli("build", "-s", str(site)).returncode == 0
    made = [site / "public", site / ".public.staging", site / ".primer-cache"]
    assert all(path.is_dir() for path in made)
    result = run_cli("clean", "-s", str(site))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(f"removed {path}\n" for path in [made[1], made[0], made[2]])
    assert not any(path.exists() for path in made)
    assert sorted(p.name for p in site.iterdir()) == ["content", "site.yaml"]
    assert run_cli("clean", "-s", str(site)).stdout == "nothing to remove\n"


def test_clean_leaves_a_folder_primer_site_did_not_make(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    mine = make_site(tmp_path / "thesis", {"thesis.tex": "\\documentclass{article}"})
    result = run_cli("clean", "-s", str(site), "-o", str(mine))
    assert result.returncode == 1
    assert result.stderr == (
        f"primer-site clean: error: {mine} holds files primer-site did not write (it has no .primer-site-output "
        "marker), so nothing was removed: remove it yourself, or pass --force\n"
    )
    assert (mine / "thesis.tex").is_file()


def test_clean_keeps_a_symlinked_output_and_its_target_folder(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    (tmp_path / "www").mkdir()
    (site / "public").symlink_to(tmp_path / "www")
    assert run_cli("build", "-s", str(site)).returncode == 0
    assert run_cli("clean", "-s", str(site)).returncode == 0
    assert (site / "public").is_symlink() and (tmp_path / "www").is_dir()
    assert list((tmp_path / "www").iterdir()) == []
    assert run_cli("build", "-s", str(site)).returncode == 0  # empty: claimed again without --force
