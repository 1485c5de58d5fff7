"""YAML syntax errors: located, and with the fix for the commonest causes (an unquoted ": ", a TAB indent)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "title: Prices: a guide",
            'content/a.md:2: error: YAML syntax: mapping values are not allowed in this context: a value holding ": " '
            'must be quoted: title: "Prices: a guide"',
        ),
        (
            "series: LLM Primer I: Foundations",
            'content/a.md:2: error: YAML syntax: mapping values are not allowed in this context: a value holding ": " '
            'must be quoted: series: "LLM Primer I: Foundations"',
        ),
        (
            "title: $\\alpha$: it's",
            'content/a.md:2: error: YAML syntax: mapping values are not allowed in this context: a value holding ": " '
            "must be quoted: title: '$\\alpha$: it''s'",
        ),
        (
            "tags:\n\t- a",
            "content/a.md:3: error: YAML syntax: found character that cannot start any token: a TAB in the "
            "indentation (YAML indents with spaces only): replace it with spaces",
        ),
    ],
)
def test_a_yaml_syntax_error_says_how_to_fix_the_common_causes(tmp_path: Path, line: str, message: str) -> None:
    site = make_site(tmp_path, {"content/a.md": f"---\n{line}\ndate: 2026-01-05\n---\nHi.\n"})
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == message


def test_the_suggested_quoting_reads_back_as_the_value_written(tmp_path: Path) -> None:
    """The fix a hint prints, pasted in, builds, and the page shows the title as the author meant it."""
    for n, title in enumerate(["Prices: a guide", 'Chapter 1: \\log and "odds": it\'s', "a: b: c"]):
        site = make_site(tmp_path / str(n), {"content/a.md": f"---\ntitle: {title}\ndate: 2026-01-05\n---\nHi.\n"})
        hint = run_cli("build", "-s", str(site)).stderr.splitlines()[0].split("must be quoted: ", 1)[1]
        (site / "content/a.md").write_text(f"---\n{hint}\ndate: 2026-01-05\n---\nHi.\n", encoding="utf-8")
        assert run_cli("build", "-s", str(site)).returncode == 0
        page = (site / "public/posts/a/index.html").read_text()
        assert f'<h1 class="post-title">{html.escape(title, quote=False)}</h1>' in page.replace("&#34;", '"'), title


def test_an_empty_chapter_says_empty(tmp_path: Path) -> None:
    site = make_site(
        tmp_path, {"series/s.md": "---\ntitle: S\n---\n", "content/a.md": post("A", series="s", chapter="")}
    )
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[0]
        == 'content/a.md:5: error: chapter: empty: give the chapter number (like 3, or "1.3")'
    )


CANNOT_START = "found character that cannot start any token"
NOT_A_KEY = "did not find expected key"


@pytest.mark.parametrize(
    ("line", "problem", "fix"),
    [
        (
            "title: *Important* notes",
            "did not find expected alphabetic or numeric character",
            "title: '*Important* notes'",
        ),
        ("title: `code` first", CANNOT_START, "title: '`code` first'"),
        ("title: %percent", CANNOT_START, "title: '%percent'"),
        ("title: - dash", "block sequence entries are not allowed in this context", "title: '- dash'"),
        ("title: > quote", "did not find expected comment or line break", "title: '> quote'"),
        ("title: | pipe", "did not find expected comment or line break", "title: '| pipe'"),
        ("title: @home", CANNOT_START, "title: '@home'"),
        ("title: ? what", "mapping keys are not allowed in this context", "title: '? what'"),
        ("title: [draft] notes", NOT_A_KEY, "title: '[draft] notes'"),
        ('title: "Quoted" and more', NOT_A_KEY, "title: '\"Quoted\" and more'"),
        ("title: 'It' is", NOT_A_KEY, "title: '''It'' is'"),
    ],
)
def test_a_value_starting_with_yaml_syntax_gets_the_line_to_write(
    tmp_path: Path, line: str, problem: str, fix: str
) -> None:
    """Each error names the character YAML read as syntax and gives the line to write; that line builds, and the
    page shows the title exactly as the author meant it."""
    site = make_site(tmp_path, {"content/a.md": f"---\n{line}\ndate: 2026-01-05\n---\nHi.\n"})
    result = run_cli("build", "-s", str(site), "--no-check-math")
    first = "'\"'" if line[7] == '"' else f'"{line[7]}"'
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"content/a.md:2: error: YAML syntax: {problem}: a value starting with {first} is read as YAML syntax; "
        f"for the text, quote it: {fix}"
    )
    (site / "content/a.md").write_text(f"---\n{fix}\ndate: 2026-01-05\n---\nHi.\n", encoding="utf-8")
    assert run_cli("build", "-s", str(site), "--no-check-math").returncode == 0
    page = html.unescape((site / "public/posts/a/index.html").read_text(encoding="utf-8"))
    assert f"<title>{line[7:]} · Test site</title>" in page
