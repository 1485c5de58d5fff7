"""The command line as a user runs it: through a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fixture_sites import SRC, run_cli
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
    assert again.returncode == 1 and "not empty" in again.stderr


def test_new_post_in_a_series_builds_as_a_draft(tmp_path: Path) -> None:
    site = tmp_path / "s"
    assert run_cli("new", "site", str(site)).returncode == 0
    title = 'Chapter 2 — "Quotes": and: colons'
    result = run_cli("new", "post", title, "--source", str(site), "--series", "my-first-series", "--chapter", "2")
    assert result.returncode == 0, result.stderr
    created = site / "content/my-first-series/chapter-2-quotes-and-colons.md"
    assert created.is_file()
    assert not run_cli("build", "--source", str(site)).stderr
    assert not (site / "public/posts/chapter-2-quotes-and-colons").exists()
    assert run_cli("build", "--source", str(site), "--drafts").returncode == 0
    page = (site / "public/posts/chapter-2-quotes-and-colons/index.html").read_text()
    assert "Chapter 2 — &#34;Quotes&#34;: and: colons" in page
    assert "Chapter 2 of 3" in page


def test_new_post_needs_series_and_chapter_together(tmp_path: Path) -> None:
    result = run_cli("new", "post", "X", "--source", str(tmp_path), "--series", "s")
    assert result.returncode == 1 and "--series and --chapter go together" in result.stderr


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "primer_site", "--version"], capture_output=True, text=True, env={"PYTHONPATH": str(SRC)}
    )
    assert result.returncode == 0
