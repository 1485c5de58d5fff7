"""The build-time math check: each formula KaTeX rejects is reported at its file, line and column."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import primer_site.caches.bodycache
import primer_site.math.katexsetup
import primer_site.math.katexworker
import primer_site.rendering.mathpass
from fixture_sites import NOW, REPO, make_site, post, run_cli
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.commands.cli import _parser
from primer_site.errors import Diagnostic, SiteError
from primer_site.math.mathcheck import check_math, tex_problem
from primer_site.math.mathsources import MathSource
from primer_site.sources.config import KATEX_VERSION
from primer_site.syntax.markdown import Formula


def hint(name: str, series: str | None = None) -> str:
    """What the check adds to KaTeX's "Undefined control sequence": where macros are defined."""
    homes = "site.yaml 'macros:'" + (f", {series} 'macros:'" if series else "")
    return (
        f" (if \\{name} is a macro of yours, define it in {homes} or the post's front matter 'macros:'; "
        "a \\newcommand reaches only its own formula)"
    )


# Every case is the body of its own post, content/<id>.md; its front matter takes lines 1-4, so the
# body starts on line 5. The site defines \R, the series "vol" defines \KL.
CASES = [
    # valid: nothing to report
    ("inline-ok", "Fine $a^2 + b^2 = c^2$ and \\(x_i\\) and $\\R^n$ (a site macro).", []),
    ("display-ok", "$$\n\\sum_{i=1}^n i = \\frac{n(n+1)}{2}\n$$", []),
    ("align-label-ok", "\\begin{align}\na &= b \\label{eq:a}\n\\end{align}", []),
    ("dollars-not-math", "It costs $5 and $10, or \\$\\alpha, or `$\\frac{`, or &#36;\\beta. Set $HOME_DIR first.", []),
    ("comment-brace-ok", "$$\nx % a { in a comment\n$$", []),
    # KaTeX's own errors, at the formula's opening delimiter
    (
        "katex-inline",
        "Text $x^^2$ here.",
        ["5:6: error: math: KaTeX parse error: Expected group after '^' at position 2: x^^2"],
    ),
    (
        "second-line",
        "First line\nand $\\alpha$ then $\\nope$.",
        [
            "6:19: error: math: KaTeX parse error: Undefined control sequence: \\nope at position 1: \\nope"
            + hint("nope")
        ],
    ),
    (
        "in-list",
        "- item\n  - sub $\\bad$",
        ["6:9: error: math: KaTeX parse error: Undefined control sequence: \\bad at position 1: \\bad" + hint("bad")],
    ),
    (
        "in-quote",
        "> quoted\n>\n> $$\n> \\bad\n> $$",
        ["7:3: error: math: KaTeX parse error: Undefined control sequence: \\bad at position 1: \\bad" + hint("bad")],
    ),
    (
        "in-table",
        "| a | b |\n|---|---|\n| $x$ | $\\bad$ |",
        ["7:9: error: math: KaTeX parse error: Undefined control sequence: \\bad at position 1: \\bad" + hint("bad")],
    ),
    (
        "in-heading",
        "## Title $\\bad$",
        ["5:10: error: math: KaTeX parse error: Undefined control sequence: \\bad at position 1: \\bad" + hint("bad")],
    ),
    (
        "brackets-display",
        "Para.\n\n\\[\n\\bad\n\\]",
        ["7:1: error: math: KaTeX parse error: Undefined control sequence: \\bad at position 1: \\bad" + hint("bad")],
    ),
    (
        "series-macro-outside-its-series",
        "Outside the series, $\\KL(p\\|q)$ is undefined.",
        [
            "5:21: error: math: KaTeX parse error: Undefined control sequence: \\KL at position 1: \\KL(p\\|q)"
            + hint("KL")
        ],
    ),
    # found without KaTeX
    ("braces-open", "One $\\frac{1}{$ here.", ["5:5: error: math: unbalanced braces: a '{' is not closed"]),
    ("brace-close", "Then $a}$.", ["5:6: error: math: unbalanced braces: a '}' closes no '{'"]),
    (
        "env-mismatch",
        "$$\n\\begin{aligned} x \\end{align}\n$$",
        ["5:1: error: math: \\begin{aligned} ended by \\end{align}"],
    ),
    ("env-open", "Text.\n\n$$\\begin{cases} x$$", ["7:1: error: math: \\begin{cases} without \\end{cases}"]),
    (
        "lone-dollar",
        "Costs $\\frac{1}{2} and more.",
        ["5:7: error: math: a lone '$' that looks like the start of unclosed math (write \\$ for a dollar sign)"],
    ),
]


def case_site(root: Path) -> Path:
    files = {
        "site.yaml": "title: T\nmacros:\n  \\R: \\mathbb{R}\n",
        "series/vol.md": "---\ntitle: Vol\nmacros:\n  KL: D_{\\mathrm{KL}}\n---\n",
        # in its series \KL is defined, in the title too; the summary's \oops is reported at its key's line
        "content/vol/ch01.md": (
            '---\ntitle: "Ch $\\\\KL$"\ndate: 2026-01-05\nseries: vol\nchapter: 1\n'
            'summary: "About $\\\\KL(p\\\\|q)$ and $\\\\oops$"\n---\nIn the series $\\KL(p\\|q)$ is fine.\n'
        ),
    }
    for name, body, _ in CASES:
        files[f"content/{name}.md"] = f"---\ntitle: {name}\ndate: 2026-01-05\n---\n{body}\n"
    return make_site(root, files)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> list[Diagnostic]:
    root = case_site(tmp_path_factory.mktemp("math-cases"))
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=root, check_math=True, cache=False, jobs=1))
    return list(failure.value.diagnostics)


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_formula_is_reported_at_its_line_and_column(
    reported: list[Diagnostic], name: str, body: str, expected: list[str]
) -> None:
    path = f"content/{name}.md"
    assert [str(d) for d in reported if d.path == path] == [f"{path}:{e}" for e in expected]


def test_series_macros_apply_in_the_series_and_front_matter_is_checked(reported: list[Diagnostic]) -> None:
    assert [str(d) for d in reported if d.path == "content/vol/ch01.md"] == [
        "content/vol/ch01.md:6: error: math: KaTeX parse error: Undefined control sequence: \\oops at position 1: \\oops"
        + hint("oops", "series/vol.md")
    ]
    assert not [d for d in reported if d.severity == "warning"]


def test_the_check_uses_the_pinned_katex() -> None:
    """The KaTeX that checks is the KaTeX the pages load: config's pin, node_modules' package."""
    installed = json.loads((REPO / "node_modules/katex/package.json").read_text(encoding="utf-8"))["version"]
    report = check_math([MathSource("content/x.md", (Formula("x^2", False, 5, 1),))], REPO)
    assert report.katex_version == KATEX_VERSION == installed
    assert report.diagnostics == ()


def test_one_node_process_checks_the_whole_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(command: list[str], **kwargs: object) -> object:
        if str(primer_site.math.katexworker.KATEX_WORKER_JS) in command:
            started.append(command)
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    files = {
        f"content/p{i}.md": post(f"P{i}", body=f"$x_{i}$ and $$y^{i}$$ and $\\frac{{{i}}}{{2}}$") for i in range(50)
    }
    build_site(BuildOptions(source=make_site(tmp_path, files), check_math=True, cache=False, jobs=1))
    assert len(started) == 1


@pytest.mark.parametrize("missing", ["node", "katex"])
def test_without_node_or_katex_one_warning_and_the_rest_is_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    if missing == "node":
        monkeypatch.setattr(primer_site.math.katexsetup.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(primer_site.math.katexsetup, "find_katex", lambda site: None)
    files = {
        "content/a.md": post("A", body="Bad for KaTeX only: $\\nope$. Braces: $\\frac{1}{$."),
        "content/b.md": post("B", body="Also $\\nope$."),
    }
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=make_site(tmp_path, files), check_math=True, cache=False, jobs=1))
    messages = [str(d) for d in failure.value.diagnostics]
    assert messages[0].startswith(
        "<site>: warning: math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): "
    )
    assert ("Node.js (node) is not installed" in messages[0]) == (missing == "node")
    assert messages[1:] == ["content/a.md:5:38: error: math: unbalanced braces: a '{' is not closed"]


def test_a_clean_site_passes_and_an_unchecked_build_ignores_math(tmp_path: Path) -> None:
    files = {"content/a.md": post("A", body="Good $x$. Bad $\\nope$.")}
    site = make_site(tmp_path, files)
    assert build_site(BuildOptions(source=site, cache=False)).posts == 1  # no --check-math: not checked
    make_site(site, {"content/a.md": post("A", body="Good $x$ and $\\sqrt{2}$.")})
    assert build_site(BuildOptions(source=site, check_math=True, cache=False)).warnings == ()


def test_the_cli_reports_a_broken_formula_in_build_and_check(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/x.md": post("X", body="Fine $x$.\n\nBroken: $\\frac{1}{2$ and $\\sqrtt{2}$.")})
    expected = "content/x.md:7:26: error: math: KaTeX parse error: Undefined control sequence: \\sqrtt"
    for command in (["build", "--check-math"], ["check"]):
        result = run_cli(*command, "--source", str(site), "--now", "2026-06-01")
        assert result.returncode == 1, command
        assert expected in result.stderr, result.stderr
        assert "content/x.md:7:9: error: math: unbalanced braces: a '{' is not closed" in result.stderr
    # --no-check-math leaves KaTeX out, never the checks that need no Node
    result = run_cli("build", "--no-check-math", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "content/x.md:7:9: error: math: unbalanced braces: a '{' is not closed"
    assert expected not in result.stderr


def test_build_checks_every_formula_by_default(tmp_path: Path) -> None:
    """Plain `build` (the README's first command) stops on a formula KaTeX rejects, at its line and column."""
    site = make_site(tmp_path, {"content/x.md": post("X", body="Fine $x$.\n\nThen $\\KLL(p\\|q)$ here.")})
    result = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "content/x.md:7:6: error: math: KaTeX parse error: Undefined control sequence: \\KLL at position 1: \\KLL(p\\|q)"
        " (if \\KLL is a macro of yours, define it in site.yaml 'macros:' or the post's front matter 'macros:'; a "
        "\\newcommand reaches only its own formula)",
        "build failed: 1 error; the output folder was left as it was",
    ]
    assert run_cli("build", "--no-check-math", "--source", str(site), "--now", "2026-06-01").returncode == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("$\\frac{1}{2$", "content/x.md:5:1: error: math: unbalanced braces: a '{' is not closed"),
        (
            "$$\\begin{aligned} x \\end{align}$$",
            "content/x.md:5:1: error: math: \\begin{aligned} ended by \\end{align}",
        ),
        (
            "Then $x^2 and more.",
            "content/x.md:5:6: error: math: a lone '$' that looks like the start of unclosed math "
            "(write \\$ for a dollar sign)",
        ),
        ("$x^{2}}$", "content/x.md:5:1: error: math: unbalanced braces: a '}' closes no '{'"),
    ],
)
def test_without_node_build_warns_once_and_still_checks_what_needs_no_node(
    tmp_path: Path, body: str, expected: str
) -> None:
    site = make_site(tmp_path, {"content/x.md": post("X", body=body), "content/y.md": post("Y", body="$\\mathbbb{R}$")})
    no_node = tmp_path / "bin"
    no_node.mkdir()
    env = {**os.environ, "PATH": str(no_node), "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "primer_site", "build", "--source", str(site), "--now", "2026-06-01"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    warning = (
        "<site>: warning: math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): Node.js (node) is not installed: install "
        "Node.js 18 or later (Debian and Ubuntu: `sudo apt-get install nodejs npm`; elsewhere: https://nodejs.org/; "
        "npm does not install it), "
        f"then run `npm install katex@{KATEX_VERSION}` in {site}"
    )
    assert result.stderr.splitlines() == [
        warning,
        expected,
        "build failed: 1 error; the output folder was left as it was",
    ]
    # a site whose only problem is one KaTeX alone would see builds, with the warning, once
    (site / "content/x.md").write_text(post("X", body="$x$"), encoding="utf-8")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [warning]
    command.append("--check-math")  # asked for by name: an error
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1


def test_a_warm_checked_build_asks_katex_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """KaTeX's answers are kept in .primer-cache/: a new process whose formulas did not change starts no Node."""
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(command: list[str], **kwargs: object) -> object:
        if str(primer_site.math.katexworker.KATEX_WORKER_JS) in command:
            started.append(command)
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    files = {f"content/p{i}.md": post(f"P{i}", body=f"$x_{i}$ and $$y^{i}$$") for i in range(5)}
    site = make_site(tmp_path, files)
    build_site(BuildOptions(source=site, check_math=True, jobs=1))
    assert len(started) == 1
    make_site(site, {"content/p1.md": post("P1", body="$x_1$ and $$y^1$$ and new words.")})
    build_site(BuildOptions(source=site, check_math=True, jobs=1))  # as a new process: a fresh BuildMemory
    assert len(started) == 1


def test_build_and_check_check_math_by_default_serve_too() -> None:
    assert _parser().parse_args(["serve"]).check_math is True
    assert _parser().parse_args(["serve", "--no-check-math"]).check_math is False
    assert _parser().parse_args(["build"]).check_math is None  # on, a warning if KaTeX cannot run
    assert _parser().parse_args(["build", "--check-math"]).check_math is True  # on, an error if it cannot
    assert _parser().parse_args(["build", "--no-check-math"]).check_math is False


@pytest.mark.parametrize(
    ("tex", "problem"),
    [
        ("\\frac{a}{b}", None),
        ("\\{ x \\}", None),
        ("a \\% {", "unbalanced braces: a '{' is not closed"),
        ("{{x}", "unbalanced braces: a '{' is not closed"),
        ("{{x", "unbalanced braces: 2 '{' not closed"),
        ("x}", "unbalanced braces: a '}' closes no '{'"),
        ("\\begin{matrix} a \\end{matrix}", None),
        ("\\begin { matrix } a \\end{matrix}", None),
        ("\\begin{matrix} a", "\\begin{matrix} without \\end{matrix}"),
        ("a \\end{matrix}", "\\end{matrix} without \\begin{matrix}"),
        ("\\begin{a} { \\end{a} }", "\\end{a} without \\begin{a}"),
        ("\\begin{a} } \\end{a}", "unbalanced braces: a '}' inside \\begin{a} closes no '{'"),
        ("x % }\n", None),
    ],
)
def test_braces_and_environments_without_katex(tex: str, problem: str | None) -> None:
    assert tex_problem(tex) == problem


def test_cached_bodies_are_checked_too(tmp_path: Path) -> None:
    """The cache leaves formulas out of the bodies it gives an unchecked build; a checked one reads them."""
    site = make_site(tmp_path, {"content/a.md": post("A", body="Bad $\\nope$.")})
    memory = BuildMemory()
    for _ in range(2):  # fills the cache, then reads it
        build_site(BuildOptions(source=site), memory)
    with pytest.raises(SiteError) as failure:  # the same bodies, from the cache and from memory
        build_site(BuildOptions(source=site, check_math=True), memory)
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:5:5: error: math: KaTeX parse error: Undefined control sequence: \\nope at position 1: \\nope"
        + hint("nope")
    ]
    with pytest.raises(SiteError):
        build_site(BuildOptions(source=site, check_math=True))


def test_the_dev_server_checks_again_only_the_files_whose_math_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one process a rebuild asks about the edited file's formulas only, and still reports every error of the
    site: the others' verdicts are kept, and given up when their macros or the series they come from change."""
    checked: list[list[str]] = []
    real = primer_site.rendering.mathpass.request_checks
    monkeypatch.setattr(
        primer_site.rendering.mathpass,
        "request_checks",
        lambda sources, requests: checked.append([s.source for s in sources]) or real(sources, requests),
    )
    site = make_site(
        tmp_path,
        {
            "series/vol.md": "---\ntitle: Vol\nmacros:\n  KL: D_{\\mathrm{KL}}\n---\n",
            "content/a.md": post("A", body="Wrong: $\\nope$."),
            "content/b.md": post("B", body="Fine: $x^2$."),
            "content/c.md": post("C", body="In the volume: $\\KL(p, q)$.", series="vol", chapter="1"),
        },
    )
    options = BuildOptions(source=site, check_math=True, cache=False, jobs=1)
    memory = BuildMemory()

    def errors() -> list[str]:
        try:
            build_site(options, memory)
        except SiteError as failure:
            return [f"{d.path}:{d.line}" for d in failure.diagnostics if d.severity == "error"]
        return []

    assert errors() == ["content/a.md:5"]
    assert sorted(checked.pop()) == ["content/a.md", "content/b.md", "content/c.md", "series/vol.md"]
    make_site(site, {"content/b.md": post("B", body="Now wrong too: $\\alsonope$.")})
    assert errors() == ["content/a.md:5", "content/b.md:5"] and checked.pop() == ["content/b.md"]
    make_site(site, {"content/a.md": post("A", body="Fixed: $y$.")})
    assert errors() == ["content/b.md:5"] and checked.pop() == ["content/a.md"]
    make_site(site, {"series/vol.md": "---\ntitle: Vol\nmacros:\n  KL: \\undefinedthing\n---\n"})
    assert errors() == ["content/b.md:5", "content/c.md:7"]
    assert sorted(checked.pop()) == ["content/c.md", "series/vol.md"]
    memory.close()


def test_a_posts_own_macros_add_to_its_series_on_its_page_and_in_the_check(tmp_path: Path) -> None:
    """`macros:` in front matter: over the site's and the series' (a later definition of a name wins), for this
    post only; its page gives KaTeX the same macros as the check does."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nmacros:\n  \\R: \\mathbb{R}\n",
            "series/vol.md": "---\ntitle: Vol\nmacros:\n  \\KL: D_{\\mathrm{KL}}\n---\n",
            "content/a.md": (
                "---\ntitle: A $\\vv$\ndate: 2026-01-05\nseries: vol\nchapter: 1\nmacros:\n  \\vv: \\mathbf{v}\n"
                "  \\KL: \\mathrm{KL}\n---\n$\\vv \\in \\R^n$, $\\KL$.\n"
            ),
            "content/b.md": "---\ntitle: B\ndate: 2026-01-06\nseries: vol\nchapter: 2\n---\nNo $\\vv$ here.\n",
        },
    )
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, check_math=True, cache=False))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/b.md:7:4: error: math: KaTeX parse error: Undefined control sequence: \\vv at position 1: \\vv"
        + hint("vv", "series/vol.md")
    ]
    make_site(site, {"content/b.md": "---\ntitle: B\ndate: 2026-01-06\nseries: vol\nchapter: 2\n---\nNone.\n"})
    build_site(BuildOptions(source=site, check_math=True, cache=False))
    page = (site / "public/posts/a/index.html").read_text(encoding="utf-8")
    macros = json.dumps({"\\R": "\\mathbb{R}", "\\KL": "\\mathrm{KL}", "\\vv": "\\mathbf{v}"}, sort_keys=True)
    assert '<body data-macros="' + macros.replace('"', "&#34;") + '">' in page
    # its title, in the series' list of chapters, gets its macros too
    series_page = (site / "public/series/vol/index.html").read_text(encoding="utf-8")
    assert '<li class="chapter" data-macros="' + macros.replace('"', "&#34;") + '">' in series_page


def test_a_newcommand_in_one_formula_does_not_reach_the_next(tmp_path: Path) -> None:
    body = "$\\newcommand{\\foo}{x}\\foo^2$ then $\\foo$."
    site = make_site(tmp_path, {"content/a.md": post("A", body=body)})
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, check_math=True, cache=False))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:5:35: error: math: KaTeX parse error: Undefined control sequence: \\foo at position 1: \\foo"
        + hint("foo")
    ]


def test_bad_macros_in_front_matter_are_an_error_at_their_line(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A", macros="[\\vv]")})
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, cache=False))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:4: error: macros: expected a mapping of TeX macros, such as {\\E: \\mathbb{E}}"
    ]


def test_an_unbalanced_formula_typeset_at_build_time_is_reported_once(tmp_path: Path) -> None:
    """Without the KaTeX check, the check that needs no Node finds it, and the typesetter does not say it again."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nmath: {render: build}\n",
            "content/a.md": post("A", body="Bad $\\frac{1}{2$ here."),
        },
    )
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, cache=False, jobs=1))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:5:5: error: math: unbalanced braces: a '{' is not closed"
    ]


def _asked(monkeypatch: pytest.MonkeyPatch) -> tuple[list[list[str]], list[int]]:
    """The files each build asks KaTeX about, and how many bodies' formulas are decoded from the body cache."""
    checked: list[list[str]] = []
    decoded = [0]
    real_request = primer_site.rendering.mathpass.request_checks
    real_decode = primer_site.caches.bodycache._formulas

    def request(sources: list[MathSource], requests: object) -> object:
        checked.append(sorted(s.source for s in sources))
        return real_request(sources, requests)

    def decode(stored: str) -> object:
        decoded[0] += 1
        return real_decode(stored)

    monkeypatch.setattr(primer_site.rendering.mathpass, "request_checks", request)
    monkeypatch.setattr(primer_site.caches.bodycache, "_formulas", decode)
    return checked, decoded


@pytest.mark.parametrize("posts", [4, 16, 64])
def test_a_new_process_after_one_edit_checks_and_reads_only_that_posts_formulas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int
) -> None:
    """The check's verdicts are kept in .primer-cache/: a build in a new process after one post was edited asks
    about that post's formulas only, and decodes no other body's formulas, whatever the size of the site; the
    errors of the posts not asked about are still reported."""
    checked, decoded = _asked(monkeypatch)
    files = {f"content/p{i}.md": post(f"P{i} $t_{i}$", body=f"$x_{i}$ and $$y^{{{i}}}$$") for i in range(posts)}
    files["content/p1.md"] = post("P1", body="Wrong: $\\nope$.")
    site = make_site(tmp_path, files)
    options = BuildOptions(source=site, check_math=True, jobs=1, now=NOW)

    def errors() -> list[str]:  # each build as a new process would make it: a fresh memory
        try:
            build_site(options)
        except SiteError as failure:
            return [f"{d.path}:{d.line}" for d in failure.diagnostics if d.severity == "error"]
        return []

    assert errors() == ["content/p1.md:5"]
    assert len(checked.pop()) == posts
    decoded[0] = 0
    make_site(site, {"content/p2.md": post("P2 $t_2$", body="$x_2$ and $$y^{2}$$ and a new sentence.")})
    assert errors() == ["content/p1.md:5"]  # p1's verdict, kept: p1 is not read again
    assert checked.pop() == ["content/p2.md"] and decoded[0] == 1  # its formulas only
    decoded[0] = 0
    make_site(site, {"site.yaml": "title: T\nbase_url: https://example.org/\nmacros:\n  nope: n\n"})
    assert errors() == []  # the site's macros changed: every post asked again, its formulas read from the cache
    assert len(checked.pop()) == posts and decoded[0] == posts


def test_kept_verdicts_give_what_a_build_without_a_cache_gives(tmp_path: Path) -> None:
    """A differential test over a seeded sequence of edits: after each, a checked build in a new process (kept
    verdicts, formulas read only where needed) reports exactly what a build without any cache reports."""
    import random

    rng = random.Random(19)
    site = make_site(
        tmp_path,
        {
            "series/vol.md": "---\ntitle: Vol\nmacros:\n  KL: D\n---\nAbout $\\KL$.\n",
            **{f"content/p{i}.md": post(f"P{i}", body=f"$x_{i}$") for i in range(6)},
        },
    )
    bodies = ["$x$ fine", "$\\nope$ bad", "$\\KL(p)$ series macro", "$$\\frac{a}{b$$ braces", "no math", "$a$ $ b"]
    edits = [
        lambda: {f"content/p{rng.randrange(6)}.md": post("P", body=rng.choice(bodies))},
        lambda: {f"content/p{rng.randrange(6)}.md": post("P", body=rng.choice(bodies), series="vol", chapter="1")},
        lambda: {f"content/p{rng.randrange(6)}.md": post(rng.choice(["T $\\nope$", "T $x$", "T"]), body="$y$")},
        lambda: {"series/vol.md": "---\ntitle: Vol\nmacros:\n  KL: " + rng.choice(["D", "\\bad"]) + "\n---\n"},
        lambda: {"site.yaml": "title: T\nbase_url: https://example.org/\n" + rng.choice(["", "macros:\n  nope: n\n"])},
    ]

    def reported(cache: bool) -> list[str]:
        try:
            build_site(BuildOptions(source=site, check_math=True, jobs=1, now=NOW, cache=cache))
        except SiteError as failure:
            return sorted(str(d) for d in failure.diagnostics)
        return []

    for _ in range(14):
        make_site(site, rng.choice(edits)())
        assert reported(cache=True) == reported(cache=False)


def _identity_bytes(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(bytes marshalled for the files' identities, the marshalled size of the site's macros) in a checked build
    of `posts` posts in two series, under a site with 40 macros."""
    import marshal

    import primer_site.math.mathsources as sources_module

    names = [f"m{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(40)]  # a TeX name: letters only
    macros = "".join(f"  {name}: \\mathrm{{macro {name}}}\n" for name in names)
    files = {
        "site.yaml": "title: T\nbase_url: https://example.org/\nmacros:\n" + macros,
        "series/a.md": "---\ntitle: A\nmacros:\n  KL: D\n---\nAbout.\n",
        "series/b.md": "---\ntitle: B\n---\nAbout.\n",
    }
    for i in range(posts):
        files[f"content/p{i}.md"] = post(f"P{i}", body=f"$x_{i}$", series="ab"[i % 2], chapter=str(i // 2 + 1))
    site = make_site(root, files)
    written = [0]

    class Counted:
        @staticmethod
        def dumps(value: object, version: int) -> bytes:
            data = marshal.dumps(value, version)
            written[0] += len(data)
            return data

    build_site(BuildOptions(source=site, check_math=True, jobs=1, now=NOW))  # the verdicts kept
    with monkeypatch.context() as patch:
        patch.setattr(sources_module, "marshal", Counted)
        build_site(BuildOptions(source=site, check_math=True, jobs=1, now=NOW))  # as a new process: from disk
    size = len(marshal.dumps(tuple((f"\\{name}", f"\\mathrm{{macro {name}}}") for name in names), 2))
    return written[0], size


def test_a_posts_math_identity_digests_its_series_macros_once_per_series(tmp_path: Path, monkeypatch) -> None:
    # each post's identity marshalled and hashed the site's and its series' macros again: they are the same for every
    # post of a series, digested once for it. Bytes marshalled a post (8 -> 32 posts, 40 macros of 1,485 bytes):
    # main 1,825, now 98
    counts = [_identity_bytes(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
    size = counts[0][1]
    per_post = (counts[2][0] - counts[0][0]) / 24
    assert per_post < size / 4, (counts, per_post)


def test_a_damaged_verdict_row_is_checked_again_never_taken_as_clean(tmp_path: Path) -> None:
    """A kept verdict whose problems are not a list of [line, column, severity, message] rows (null, 0, false, a
    row of the wrong shape) is dropped: that file is checked again. Only a true empty list means "no problems"."""
    import sqlite3

    from primer_site.diskstore import VERDICTS_FILE, VerdictTable
    from primer_site.math.mathsources import recall_verdicts

    site = make_site(tmp_path, {"content/ok.md": post("Ok", body="$x$")})
    kept = [("content/ok.md", "i0", [])]
    kept += [
        (f"content/{name}.md", f"i{n}", stored)
        for n, (name, stored) in enumerate(
            [("null", None), ("zero", 0), ("false", False), ("short", [[1, 2]]), ("text", "oops")], 1
        )
    ]
    table = VerdictTable(site, "salt")
    table.keep(kept, [path for path, _, _ in kept])
    table.close()
    with sqlite3.connect(site / ".primer-cache" / VERDICTS_FILE) as db:  # the rows as stored: JSON text
        assert dict(db.execute("SELECT path, problems FROM verdicts"))["content/null.md"] == "null"
    memo = recall_verdicts(site, "salt", None, None)  # type: ignore[arg-type]
    assert {path: found for path, (_, found) in memo.verdicts.items()} == {"content/ok.md": ()}
