"""YAML syntax errors: located, and with the fix for the commonest causes (an unquoted ": ", a TAB indent)."""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------- alias bombs (issue 20 item 12)


def alias_bomb(levels: int, indent: str = "  ") -> str:
    """ "Billion laughs": level k is a list of nine aliases of level k-1, 9**levels values from ~40 bytes a level."""
    lines = [f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, levels + 1):
        lines.append(f"{indent}l{k}: &l{k} [" + ",".join([f"*l{k - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_front_matter_is_a_located_error_not_a_blow_up(tmp_path: Path) -> None:
    from primer_site.errors import SiteError
    from primer_site.sources.yamldoc import load_yaml_mapping

    text = "title: Bomb\nextra:\n" + alias_bomb(9)
    with pytest.raises(SiteError) as caught:
        load_yaml_mapping(text, "content/bomb.md", first_line=2)
    assert str(caught.value) == (
        "content/bomb.md:9:7: error: YAML: this value holds 597,871 values once its aliases (*name) are expanded, "
        "more than the 100,000 aliases may add: write the values out, or nest fewer aliases"
    )


def test_an_alias_bomb_in_site_yaml_and_through_the_cache_is_one_error(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post(),
            "content/b.md": "---\ntitle: B\ndate: 2026-01-05\nextra:\n" + alias_bomb(9) + "---\nx\n",
        },
    )
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "extra:\n" + alias_bomb(12), encoding="utf-8")
    for _ in range(2):  # the second run reads the document cache
        result = run_cli("build", "-s", str(site))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        assert any(line.startswith("content/b.md:10:7:") and "aliases (*name) are expanded" in line for line in lines)
        assert any(line.startswith("site.yaml:") and "aliases (*name) are expanded" in line for line in lines)


def test_aliases_within_the_bound_and_self_holding_values() -> None:
    from primer_site.errors import SiteError
    from primer_site.sources.yamldoc import load_yaml_mapping

    data = load_yaml_mapping("d: &d {a: 1}\ne: *d\nf: [*d, *d]\n", "x.yaml").data
    assert data == {"d": {"a": 1}, "e": {"a": 1}, "f": [{"a": 1}, {"a": 1}]}
    with pytest.raises(SiteError) as caught:
        load_yaml_mapping("a: &a [1, *a]\n", "x.yaml")
    assert str(caught.value) == (
        "x.yaml:1:4: error: YAML: this value holds itself (an alias inside its own anchor's value)"
    )


def test_the_alias_check_counts_each_node_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work counted over growing bombs: the nodes the check visits grow with the nodes written (10 per level),
    not with the values they expand to (9 times more per level)."""
    import yaml

    from primer_site.errors import SiteError
    from primer_site.sources import yamldoc, yamltext

    visits: list[int] = []
    real_isinstance = isinstance

    def counting(value: object, kinds: object) -> bool:
        if kinds is yaml.SequenceNode:
            visits[-1] += 1
        return real_isinstance(value, kinds)  # type: ignore[arg-type]

    monkeypatch.setattr(yamldoc, "isinstance", counting, raising=False)
    monkeypatch.setattr(yamltext, "isinstance", counting, raising=False)  # the text reader walks the nodes too
    for levels in (2, 4, 6, 8, 10):
        visits.append(0)
        with contextlib.suppress(SiteError):  # the larger ones are bombs
            yamldoc.load_yaml_mapping("extra:\n" + alias_bomb(levels), "x.yaml")
    per_level = [v / (levels + 1) for v, levels in zip(visits, (2, 4, 6, 8, 10), strict=True)]
    assert max(per_level) <= 3 * min(per_level), visits


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
