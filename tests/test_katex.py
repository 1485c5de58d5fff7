"""The math engine: the pinned KaTeX under Node as a service, its formula cache, and the MathML sanitizer."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import primer_site.math.katex
import primer_site.math.katexsetup
import primer_site.math.katexworker
from fixture_sites import REPO, make_site, post, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.diskstore import FORMULAS_FILE, FormulaCache
from primer_site.errors import SiteError
from primer_site.layout import CACHE_DIR
from primer_site.math.katex import CHECK, MATHML, FormulaRequests, KatexService
from primer_site.math.katexsetup import locate_katex
from primer_site.math.katexworker import KATEX_WORKER_JS, KatexError
from primer_site.math.mathmlsanitizer import clean_mathml
from primer_site.sources.config import KATEX_VERSION

KATEX_PACKAGE = REPO / "node_modules" / "katex"
TOKENS = {"mi", "mn", "mo", "ms", "mtext"}


def service() -> KatexService:
    return KatexService(locate_katex(REPO))


def test_one_pass_checks_and_renders() -> None:
    requests = FormulaRequests()
    plain, site = requests.macros_id(()), requests.macros_id(((r"\R", r"\mathbb{R}"),))
    checked = requests.add("x^2", False, plain)
    rendered = requests.add(r"\R^n", True, site, MATHML)
    wrong = requests.add(r"\nope", False, plain, MATHML)
    answers = service().answer(requests, None)
    assert answers[checked].error is None and answers[checked].mathml is None
    assert answers[rendered].mathml == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><semantics><mrow><msup>'
        '<mi mathvariant="double-struck">R</mi><mi>n</mi></msup></mrow>'
        '<annotation encoding="application/x-tex">\\R^n</annotation></semantics></math>'
    )
    assert answers[wrong] == primer_site.math.katex.FormulaResult(
        "KaTeX parse error: Undefined control sequence: \\nope at position 1: \\nope"
    )


def test_a_formula_asked_twice_is_asked_once_with_the_most_wanted() -> None:
    requests = FormulaRequests()
    macros = requests.macros_id(())
    requests.add("x", False, macros, MATHML)
    requests.add("x", False, macros, CHECK)
    requests.add("x", True, macros, CHECK)
    assert requests.wanted == {("x", False, macros): MATHML, ("x", True, macros): CHECK}
    assert requests.macros_id(()) == macros and len(macros) == 24  # a digest, the same in every process


def test_commands_that_need_trust_are_errors_not_red_text() -> None:
    """In the browser (trust: false) KaTeX shows \\href and its kind as red TeX: the build says so instead."""
    requests = FormulaRequests()
    macros = requests.macros_id(())
    keys = [requests.add(tex, False, macros) for tex in (r"\href{javascript:alert(1)}{x}", r"\url{https://x.org}")]
    answers = service().answer(requests, None)
    assert [answers[key].error for key in keys] == [
        f"{command} needs trust, which primer-site never gives TeX: a formula makes no link, image, id, class or "
        "style (a link goes in the Markdown around it)"
        for command in (r"\href", r"\url")
    ]


# ------------------------------------------------------------------------------ KaTeX's MathML, cleaned


def katex_commands_and_environments() -> list[tuple[str, bool]]:
    """Every command and environment KaTeX defines (read from its source), with arguments, inline and display."""
    names: dict[str, bool] = {}  # name → is an environment
    for folder in ("functions", "environments"):
        # KaTeX's source is TypeScript from 0.19 (JavaScript before)
        for path in sorted(p for p in (KATEX_PACKAGE / "src" / folder).iterdir() if p.suffix in (".js", ".ts")):
            for group in re.findall(r"names:\s*\[([^\]]*)\]", path.read_text(encoding="utf-8")):
                for name in re.findall(r'"((?:[^"\\]|\\.)*)"', group):
                    name = json.loads(f'"{name}"', strict=False)  # a JavaScript string literal
                    names[name] = folder == "environments" and not name.startswith("\\")
    [macros_file] = [
        p for p in (KATEX_PACKAGE / "src" / "macros.ts", KATEX_PACKAGE / "src" / "macros.js") if p.exists()
    ]
    macros = macros_file.read_text(encoding="utf-8")
    for name in re.findall(r'defineMacro\("((?:[^"\\]|\\.)*)"', macros):
        names.setdefault(json.loads(f'"{name}"', strict=False), False)
    formulas = []
    for name, environment in sorted(names.items()):
        if environment:
            formulas += [(f"\\begin{{{name}}}{body}\\end{{{name}}}", True) for body in ("a & b \\\\ c & d", "{c}a")]
        else:
            for args in ("", "{x}", "{x}{y}", "{x}{y}{z}", "{red}{x}", "[2]{x}", "{1em}"):
                formulas += [(name + args, False), (name + args, True)]
    return formulas


class MathEvents(HTMLParser):
    """Elements, attributes and text as an HTML parser (a feed reader's) reads them; token elements that hold
    an element are noted, since an HTML parser reads such an element as HTML."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []
        self.open: list[str] = []
        self.element_in_token: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.open and self.open[-1] in TOKENS:
            self.element_in_token.append(f"<{tag}> in <{self.open[-1]}>")
        # the sanitizer writes "border: 1px" as "border:1px"
        style = [(k, re.sub(r"\s*([:;])\s*", r"\1", v or "").rstrip(";") if k == "style" else v) for k, v in attrs]
        self.events.append(("start", tag, sorted(style)))
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.events and self.events[-1][0] == "text":
            self.events[-1] = ("text", self.events[-1][1] + data)
        else:
            self.events.append(("text", data))


def test_the_sanitizer_keeps_katex_s_mathml_of_every_command_and_environment() -> None:
    """What KaTeX makes for each of its commands and environments comes through nh3 as the same tree: elements,
    attributes (the MathML namespace too), <semantics> and the TeX annotation; and no token element holds an
    element (KaTeX puts some there, which every HTML parser, the sanitizer's included, would read as HTML)."""
    formulas = katex_commands_and_environments()
    lines = [
        json.dumps({"id": i, "tex": t, "display": d, "macros": "", "want": MATHML}) for i, (t, d) in enumerate(formulas)
    ]
    node = locate_katex(REPO).node
    done = subprocess.run(
        [str(node), str(KATEX_WORKER_JS), str(KATEX_PACKAGE)],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"id"')]
    made = [a["mathml"] for a in answers if "mathml" in a]
    assert len(formulas) > 5000 and len(made) > 4000  # KaTeX accepts most of them
    environments = {m.group(1) for m in re.finditer(r"\\begin\{(\w+\*?)\}", " ".join(t for t, _ in formulas))}
    assert {"aligned", "cases", "pmatrix", "bmatrix", "array", "gathered", "align", "CD"} <= environments
    changed, misplaced = [], []
    for markup in made:
        assert markup.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')
        assert '<annotation encoding="application/x-tex">' in markup
        before, after = MathEvents(markup), MathEvents(clean_mathml(markup))
        if before.events != after.events:
            changed.append(markup)
        misplaced += before.element_in_token
    assert changed == []
    assert misplaced == []


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<math><mi onclick="alert(1)" href="javascript:alert(1)">x</mi></math>', "<math><mi>x</mi></math>"),
        ("<math><mtext><svg onload=alert(1)><script>alert(1)</script></svg></mtext></math>", "<math><mtext></mtext></math>"),
        ('<math><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml></math>', "<math></math>"),
        ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "<math><mtext></mtext></math>"),
        ('<math><maction actiontype="statusline"><mi>x</mi></maction></math>', "<math><mi>x</mi></math>"),
        ('<math xmlns="http://evil.example/"><mi style="background:url(javascript:1);color:red">x</mi></math>', '<math><mi style="">x</mi></math>'),
        ('<math><mi class="evil">x</mi><mpadded class="vcenter"></mpadded></math>', '<math><mi>x</mi><mpadded class="vcenter"></mpadded></math>'),
        ("<math><semantics><mi>x</mi><annotation encoding=\"application/x-tex\">&lt;/annotation&gt;&lt;img&gt;</annotation></semantics></math>",
         "<math><semantics><mi>x</mi><annotation encoding=\"application/x-tex\">&lt;/annotation&gt;&lt;img&gt;</annotation></semantics></math>"),
        ("<mi>x</mi><b>bold</b>", "bold"),
    ],
    ids=["handler-and-url", "svg-in-mtext", "annotation-xml", "mutation", "maction", "namespace-and-style", "classes", "annotation-text", "outside-math"],
)  # fmt: skip
def test_the_sanitizer_leaves_nothing_but_katex_s_mathml(markup: str, expected: str) -> None:
    assert clean_mathml(markup) == expected


# ------------------------------------------------------------------------------ where answers come from


def math_site(root: Path, formulas: int = 30) -> Path:
    files = {
        "site.yaml": "title: T\nbase_url: https://example.org/\nfeeds: {content: full}\n",
        **{f"content/p{i}.md": post(f"P{i}", body=f"$x_{{{i}}}$ and $$\\frac{{{i}}}{{2}}$$") for i in range(formulas)},
    }
    return make_site(root, files)


@pytest.fixture
def node_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every Node process the math engine starts."""
    started: list[list[str]] = []
    real = subprocess.Popen

    def popen(command: list[str], **kwargs: object) -> object:
        if str(KATEX_WORKER_JS) in command:
            started.append(command)
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", popen)
    return started


def test_a_warm_build_sends_katex_nothing(tmp_path: Path, node_runs: list[list[str]]) -> None:
    site = math_site(tmp_path / "site")
    options = BuildOptions(source=site, check_math=True, jobs=1)
    build_site(options)
    first = tree_bytes(site / "public")
    assert len(node_runs) == 1
    assert (site / CACHE_DIR / FORMULAS_FILE).is_file()
    build_site(options)
    assert len(node_runs) == 1, "the second build started Node"
    assert tree_bytes(site / "public") == first
    build_site(BuildOptions(source=site, check_math=True, jobs=1, output=tmp_path / "uncached", cache=False))
    assert len(node_runs) == 2 and tree_bytes(tmp_path / "uncached") == first


def test_the_cache_is_keyed_on_the_katex_version_and_what_a_formula_is(tmp_path: Path) -> None:
    key = ("x", False, "macros-id")
    cache = FormulaCache(tmp_path, "katex=0.16.22")
    cache.put_many([(key, None, "<math>x</math>"), (("y", True, "m"), "bad", None)])
    cache.close()
    again = FormulaCache(tmp_path, "katex=0.16.22")
    assert again.get_many([key, ("x", True, "macros-id"), ("x", False, "other")], [key]) == {
        key: (None, "<math>x</math>")
    }
    assert again.get_many([key], []) == {key: (None, None)}  # the check reads no MathML
    again.close()
    other = FormulaCache(tmp_path, "katex=0.17.0")
    assert other.get_many([key, ("y", True, "m")], [key]) == {}
    other.close()


def test_a_corrupt_formula_cache_is_rebuilt(tmp_path: Path) -> None:
    site = math_site(tmp_path, formulas=2)
    (site / CACHE_DIR).mkdir()
    (site / CACHE_DIR / FORMULAS_FILE).write_bytes(b"not a database" * 100)
    build_site(BuildOptions(source=site, check_math=True, jobs=1))
    with sqlite3.connect(site / CACHE_DIR / FORMULAS_FILE) as db:
        assert db.execute("SELECT count(*) FROM formulas").fetchone() == (4,)


def test_a_checked_build_keeps_only_the_answers_the_site_still_needs(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A", body="$old$ and $kept$")})
    build_site(BuildOptions(source=site, check_math=True, jobs=1))
    make_site(site, {"content/a.md": post("A", body="$new$ and $kept$")})
    build_site(BuildOptions(source=site, check_math=True, jobs=1))
    with sqlite3.connect(site / CACHE_DIR / FORMULAS_FILE) as db:
        assert sorted(tex for (tex,) in db.execute("SELECT tex FROM formulas")) == ["kept", "new"]


def test_rebuilds_keep_one_node_process_and_send_only_new_formulas(tmp_path: Path, node_runs: list[list[str]]) -> None:
    """What serve does: one BuildMemory for many rebuilds, the check on, full-content feeds."""
    site = math_site(tmp_path / "site", formulas=5)
    options = BuildOptions(source=site, check_math=True, jobs=1, cache=False)
    memory = BuildMemory()
    build_site(options, memory)
    assert memory.katex is not None and memory.katex.asked == 10
    for edit in range(3):
        make_site(site, {"content/p0.md": post("P0", body=f"$x_{{0}}$ and $$\\frac{{0}}{{2}}$$ and $y^{edit}$")})
        build_site(options, memory)
        assert memory.katex.asked == 11 + edit  # the one new formula, asked for its check and its MathML at once
        assert f"<mi>y</mi><mn>{edit}</mn>" in html.unescape((site / "public/feed.xml").read_text())
    assert len(node_runs) == 1
    memory.close()
    assert memory.katex._worker is None


def test_a_broken_node_is_a_warning_for_the_check_and_an_error_for_feeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = math_site(tmp_path, formulas=1)
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho 'SyntaxError: this is not Node' >&2\nexit 3\n")
    node.chmod(0o755)
    setup = locate_katex(site, str(node))
    with pytest.raises(KatexError, match=r"^KaTeX could not run under .*/node: SyntaxError: this is not Node$"):
        KatexService(setup).answer(math_requests(), None)
    monkeypatch.setattr(primer_site.math.katexsetup.shutil, "which", lambda name: str(node))
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, check_math=True, jobs=1, cache=False))
    assert [str(d) for d in failure.value.diagnostics] == [
        f"<site>: warning: math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): KaTeX could not run under {node}: SyntaxError: this is "
        "not Node",
        f"site.yaml:3: error: feeds: full content carries its math as MathML made by KaTeX {KATEX_VERSION} (the KaTeX "
        f"the pages load) under Node.js, but KaTeX did not run: KaTeX could not run under {node}: SyntaxError: this "
        "is not Node: fix that; or set `feeds: {content: summary}`",
    ]


def math_requests() -> FormulaRequests:
    requests = FormulaRequests()
    requests.add("x", False, requests.macros_id(()))
    return requests


def test_formulas_that_print_do_not_disturb_the_answers() -> None:
    """KaTeX's \\message and \\show print to Node's stdout, where the answers go."""
    requests = FormulaRequests()
    macros = requests.macros_id(())
    keys = [requests.add(tex, False, macros, MATHML) for tex in (r"\message{hello} x", r"\show\alpha y", "z")]
    answers = service().answer(requests, None)
    assert [answers[key].error for key in keys] == [None, None, None]
    assert [re.findall(r"<mi>(\w)</mi>", answers[key].mathml or "") for key in keys] == [["x"], ["y"], ["z"]]


def test_many_formulas_in_one_batch() -> None:
    """Answers longer than a pipe's buffer, read while Node still reads its input."""
    requests = FormulaRequests()
    macros = requests.macros_id(())
    keys = {i: requests.add(f"x_{{{i}}} + \\frac{{{i}}}{{y}}", i % 2 == 0, macros, MATHML) for i in range(3000)}
    answers = service().answer(requests, None)
    assert [i for i, key in keys.items() if f"<mn>{i}</mn>" not in (answers[key].mathml or "")] == []
