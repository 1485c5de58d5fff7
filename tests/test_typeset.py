"""math: {render: build}: every formula typeset at build time, as math.js typesets it in the browser."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import primer_site.math.katexsetup
import primer_site.math.katexworker
import primer_site.math.typeset
from fixture_sites import NOW_ARG as NOW
from fixture_sites import build_cli, make_site, post, run_cli, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.math.katex import FormulaRequests, KatexService
from primer_site.math.katexsetup import locate_katex
from primer_site.math.katexworker import KATEX_WORKER_JS
from primer_site.math.typeset import KATEX_FOLDER, math_elements
from primer_site.sources.config import KATEX_INTEGRITY, KATEX_VERSION

REPO = Path(__file__).resolve().parents[1]

SERIES = """\
---
title: Volume
macros:
  \\E: \\mathbb{E}
  \\R: \\mathbf{R}
---
A volume on $\\E[X]$.
"""
CHAPTER_ONE = post(
    "Chapter $x^2$",
    series="s",
    chapter=1,
    summary="'About $\\E[x]$ and $\\frac{a}{b}$.'",
    tags="[math]",
    body="""\
Inline $\\E[x] + \\R$ and $P(A|B)$, with site and series macros.

$$ \\int_0^1 f(x)\\,dx = \\sqrt{2} $$ (eq:int)

## A heading with $\\sigma^2$

See [](#eq:int) and [the other post](b.md).

| formula | value |
|---|---|
| $P(A|B)$ | $\\frac{1}{2}$ |

$$
\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}
$$
""",
)
CHAPTER_TWO = post("Two", "2026-01-06", series="s", chapter=2, body="Again $\\E[y]$ and $a \\stackrel{?}{=} b$.")
LOOSE = post("Loose $y$", "2026-01-07", body="Site macros only: $y \\in \\R$.", tags="[math]")
SITE = "title: T\nbase_url: https://example.org/\nmacros:\n  \\R: \\mathbb{R}\n"


def math_site(root: Path, mode: str = "build", extra: str = "") -> Path:
    files = {
        "site.yaml": SITE + f"math: {{render: {mode}}}\n" + extra,
        "series/s.md": SERIES,
        "content/a.md": CHAPTER_ONE,
        "content/b.md": CHAPTER_TWO,
        "content/c.md": LOOSE,
    }
    return make_site(root, files)


def build(site: Path, output: Path, *args: str) -> None:
    result = build_cli(site, "-o", str(output), *args)
    assert result.returncode == 0, result.stderr


def pages(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.html"))}


class PageEvents(HTMLParser):
    """A page as a parser reads it, each math element one event (display, TeX): its text in a page the browser
    typesets, the TeX KaTeX keeps in its MathML's annotation in a page typeset at build time."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple] = []
        self.math: list[str] | None = None  # the element open, its tag first, while in one
        self.depth = 0
        self.tex: list[str] = []
        self.in_annotation = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if self.math is not None:
            self.depth += tag == self.math[0]
            self.in_annotation = tag == "annotation"
        elif classes in ("math inline", "math display"):
            self.math, self.depth, self.tex = [tag, classes], 1, []
        else:
            self.events.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if self.math is None:
            self.events.append(("end", tag))
            return
        self.in_annotation = False
        self.depth -= tag == self.math[0]
        if self.depth == 0:
            self.events.append(("math", self.math[1], "".join(self.tex)))
            self.math = None

    def handle_data(self, data: str) -> None:
        if self.math is None:
            self.events.append(("text", data))
        elif self.in_annotation or not self.tex_from_annotation:
            self.tex.append(data)

    tex_from_annotation = True


class BrowserPageEvents(PageEvents):
    tex_from_annotation = False


def test_pages_typeset_at_build_time_are_the_browser_s_pages_with_the_math_typeset(tmp_path: Path) -> None:
    build(math_site(tmp_path / "browser", "browser"), tmp_path / "b")
    build(math_site(tmp_path / "build"), tmp_path / "t")
    browser, typeset = pages(tmp_path / "b"), pages(tmp_path / "t")
    assert browser.keys() == typeset.keys()
    math_pages = 0
    for name, page in typeset.items():
        assert "katex.min.js" not in page, name  # no KaTeX script: the math is there already
        assert 'class="katex-error"' not in page, name
        typeset_math = re.findall(r'class="math (?:inline|display)">(.{0,30})', page)
        assert all(start.startswith(('<span class="katex">', '<span class="katex-display">')) for start in typeset_math)
        math_pages += bool(typeset_math)
        assert ("katex.min.css" in page) == bool(typeset_math), name
        # the same page, element for element: numbers, references, headings and macros holders included
        script = re.compile(r'<script src="[^"]*katex\.min\.js"[^>]*></script>\n')
        preloads = re.compile(r'<link rel="preload" href="[^"]*" as="font" type="font/woff2" crossorigin>\n')
        events = PageEvents(preloads.sub("", page)).events
        assert events == BrowserPageEvents(script.sub("", browser[name])).events, name
        # and the fonts the page's math shows text in, preloaded from KaTeX's folder (no layout shift when they come)
        fonts = re.findall(
            r'<link rel="preload" href="https://cdn\.jsdelivr\.net/npm/katex@[^/]*/dist/fonts/([^"]+)"', page
        )
        assert bool(fonts) == bool(typeset_math) and fonts == sorted(set(fonts)), name
        assert all((REPO / "node_modules/katex/dist/fonts" / font).is_file() for font in fonts)
        if typeset_math:
            assert {"KaTeX_Main-Regular.woff2", "KaTeX_Math-Italic.woff2"} <= set(fonts), name
    assert math_pages >= 6  # three posts, the home page, the series page, the tag page
    one = typeset["posts/a/index.html"]
    assert 'id="eq:int"' in one and '<a class="eqno" href="#eq:int">(1.1)</a>' in one and ">Eq. (1.1)</a>" in one


def katex_render(formulas: list[tuple[str, bool, dict[str, str]]]) -> list[str]:
    """What katex.render puts in an element in the browser, with math.js's options: KaTeX's own renderToString."""
    script = (
        f"const katex = require({json.dumps(str(REPO / 'node_modules' / 'katex'))});"
        "const formulas = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(formulas.map(([tex, display, macros]) => katex.renderToString(tex, "
        "{displayMode: display, throwOnError: false, macros: Object.assign({}, macros), trust: false}))));"
    )
    node = locate_katex(REPO).node
    done = subprocess.run(
        [str(node), "-e", script], input=json.dumps(formulas), capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def typeset_elements(page: str) -> list[tuple[bool, str]]:
    """(display, inner HTML) of each math element of a page typeset at build time."""
    found = []
    for match in re.finditer(r'<(span|div) class="math (inline|display)">', page):
        depth, at = 1, match.end()
        for tag in re.finditer(rf"<(/?){match.group(1)}[\s>]", page[at:]):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                found.append((match.group(2) == "display", page[at : at + tag.start()]))
                break
    return found


def test_each_formula_is_what_katex_render_makes_in_the_browser(tmp_path: Path) -> None:
    build(math_site(tmp_path / "site"), tmp_path / "out")
    series = {"\\E": "\\mathbb{E}", "\\R": "\\mathbf{R}"}  # the series' \R wins over the site's
    compared = repaired = 0
    for name, macros in (("a", series), ("b", series), ("c", {"\\R": "\\mathbb{R}"})):
        page = (tmp_path / "out" / "posts" / name / "index.html").read_text(encoding="utf-8")
        elements = typeset_elements(page)
        texs = [
            html.unescape(re.search(r'"application/x-tex">(.*?)</annotation>', h, re.S).group(1)) for _, h in elements
        ]
        expected = katex_render([(tex, display, macros) for tex, (display, _) in zip(texs, elements, strict=True)])
        for (_, made), want in zip(elements, expected, strict=True):
            # the visual part is KaTeX's exactly; the MathML too, but where KaTeX puts an element in a token
            # element (\stackrel), which an HTML parser would read as HTML: there an mrow holds it instead
            assert made.split('<span class="katex-html"')[1] == want.split('<span class="katex-html"')[1]
            if made == want:
                compared += 1
            else:
                assert "\\stackrel" in made
                repaired += 1
    assert compared >= 9 and repaired == 1


def test_the_macros_of_a_formula_are_those_of_its_nearest_holder() -> None:
    """As math.js gives them: the nearest element around it with data-macros, else a <script data-macros> (the
    page's, in older templates), else none."""
    attribute = html.escape(json.dumps({"\\E": "\\mathbb{E}"}))
    page = (
        f'<body data-macros="{attribute}"><p><span class="math inline">a</span></p>'
        '<article data-macros="{}"><div><article><span class="math inline">b</span></article>'
        '<span class="math inline">c</span></div></article><div class="math display">d &amp; e</div></body>'
        '<span class="math inline">f</span>'
    )
    requests = FormulaRequests()
    page_macros, none = requests.macros_id((("\\E", "\\mathbb{E}"),)), requests.macros_id(())
    elements, problems = math_elements(page, requests)
    keys = [element.key for element in elements]
    assert keys == [
        ("a", False, page_macros),
        ("b", False, none),  # an article inside the holder: still inside it
        ("c", False, none),
        ("d & e", True, page_macros),  # the element's text, as textContent reads it
        ("f", False, page_macros),  # after </body>: the parser puts it in the body all the same
    ]
    assert problems == []
    older = f'<p><span class="math inline">a</span></p><script src="/js/math.js" data-macros="{attribute}"></script>'
    assert [e.key for e in math_elements(older, requests)[0]] == [("a", False, page_macros)]
    # macros written in any order are the same macros (KaTeX reads a mapping)
    assert requests.macros_id((("\\a", "1"), ("\\b", "2"))) == requests.macros_id((("\\b", "2"), ("\\a", "1")))


BROKEN = r"""---
title: 'Broken $\nope$'
date: 2026-01-08
summary: 'Also $\frac{1}{$ here.'
---
Twice $\nope$ and $\nope$, and $\begin{x}$.

Raw HTML: <span class="math inline">\nada</span>
"""


def test_a_formula_katex_rejects_is_the_checks_error_at_every_place_it_is_written(tmp_path: Path) -> None:
    site = math_site(tmp_path / "site")
    make_site(site, {"content/d.md": BROKEN})
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "kept.txt").write_text("the previous site", encoding="utf-8")
    typeset = run_cli("build", "-s", str(site), "-o", str(tmp_path / "public"), "--now", NOW, "--force")
    assert typeset.returncode == 1
    hint = (
        " (if \\{} is a macro of yours, define it in site.yaml 'macros:' or the post's front matter 'macros:'; "
        "a \\newcommand reaches only its own formula)"
    )
    nope = "error: math: KaTeX parse error: Undefined control sequence: \\nope at position 1: \\nope" + hint.format(
        "nope"
    )
    assert typeset.stderr.splitlines() == [
        f"content/d.md:2: {nope}",
        "content/d.md:4: error: math: unbalanced braces: a '{' is not closed",
        # math written as raw HTML is no formula of the Markdown's: at the body's first line
        "content/d.md:6: error: math: KaTeX parse error: Undefined control sequence: \\nada at position 1: \\nada"
        + hint.format("nada"),
        f"content/d.md:6:7: {nope}",
        f"content/d.md:6:19: {nope}",
        "content/d.md:6:32: error: math: \\begin{x} without \\end{x}",
        "build failed: 6 errors; the output folder was left as it was",
    ]
    assert tree_bytes(tmp_path / "public") == {"kept.txt": b"the previous site"}
    # the math check says the same of each formula it checks, once
    checked = run_cli("build", "-s", str(site), "-o", str(tmp_path / "checked"), "--now", NOW, "--check-math")
    assert checked.stderr == typeset.stderr


@pytest.mark.parametrize(
    ("missing", "why"),
    [
        (
            "node",
            "Node.js (node) is not installed: install Node.js 18 or later (Debian and Ubuntu: `sudo apt-get install "
            "nodejs npm`; elsewhere: https://nodejs.org/; npm does not install it), then run `npm install "
            "katex@VERSION` in the site folder",
        ),
        (
            "katex",
            "the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH): run "
            "`npm install katex@VERSION` in the site folder",
        ),
        (
            "version",
            "the katex package found is version 0.15.0 (OLD): run `npm install katex@VERSION` in the site folder",
        ),
    ],
)
def test_render_build_without_node_or_the_pinned_katex_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str, why: str
) -> None:
    old = make_site(tmp_path / "old-katex", {"package.json": '{"name": "katex", "version": "0.15.0"}'})
    if missing == "node":
        monkeypatch.setattr(primer_site.math.katexsetup.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(
            primer_site.math.katexsetup, "find_katex", lambda site: old if missing == "version" else None
        )
    site = math_site(tmp_path / "site")
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, jobs=1))
    assert [str(d) for d in failure.value.diagnostics] == [
        f"site.yaml:5: error: math: render: build typesets every formula with KaTeX {KATEX_VERSION} (the KaTeX "
        f"whose stylesheet the pages load) under Node.js, but {why.replace('VERSION', KATEX_VERSION).replace('OLD', str(old))}"
        "; or set `math: {render: browser}`"
    ]
    assert not (site / "public").exists()


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


def test_a_warm_build_typesets_nothing_and_an_edit_sends_katex_only_its_formulas(
    tmp_path: Path, node_runs: list[list[str]]
) -> None:
    site = math_site(tmp_path / "site")
    options = BuildOptions(source=site, jobs=1)
    first = build_site(options)
    assert len(node_runs) == 1 and first.written > 10
    made = tree_bytes(site / "public")
    again = build_site(options)  # a new process's way: the caches in .primer-cache/, no memory
    assert len(node_runs) == 1, "a warm build started Node"
    assert again.written == 0 and tree_bytes(site / "public") == made
    # one edit: its pages made again, their formulas from the cache but the new one
    memory = BuildMemory()
    build_site(options, memory)
    make_site(site, {"content/c.md": LOOSE.replace("$y \\in \\R$", "$y \\in \\R^n$")})
    edited = build_site(options, memory)
    assert memory.katex is not None and memory.katex.asked == 1
    assert "posts/c/index.html" in edited.rendered and "posts/a/index.html" not in edited.rendered
    memory.close()


def test_a_new_katex_typesets_and_checks_every_formula_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node_runs: list[list[str]]
) -> None:
    """What the pages' math depends on is the KaTeX that made it (its version, and the worker's code): another
    renders every page with math again, and asks it about every formula, none of them from the cache; in the
    dev server's process and in a new one."""
    site = math_site(tmp_path / "site")
    options = BuildOptions(source=site, jobs=1, check_math=True)
    typeset: list[str] = []
    real_typeset = primer_site.math.typeset.typeset_page
    monkeypatch.setattr(
        primer_site.math.typeset, "typeset_page", lambda page, *rest: typeset.append(page) or real_typeset(page, *rest)
    )
    asked: list[int] = []
    real_ask = primer_site.math.katexworker.KatexWorker.ask
    monkeypatch.setattr(
        primer_site.math.katexworker.KatexWorker,
        "ask",
        lambda self, keys, *rest: asked.append(len(keys)) or real_ask(self, keys, *rest),
    )
    build_site(options)
    with_math = {name for name, page in pages(site / "public").items() if 'class="math ' in page}
    assert len(with_math) == len(typeset) == 7 and sum(asked) >= 12  # the volume on one page is one of them
    everything = sum(asked)
    typeset.clear(), asked.clear()
    build_site(options)
    assert typeset == [] and asked == [] and len(node_runs) == 1  # warm: nothing typeset, nothing asked

    salt = KatexService.salt

    def upgrade(version: str) -> None:
        """Another KaTeX: installed elsewhere (the same files, linked), and saying it is `version`."""
        other = tmp_path / f"katex-{version}" / "katex"
        other.parent.mkdir()
        other.symlink_to(REPO / "node_modules" / "katex", target_is_directory=True)
        monkeypatch.setattr(primer_site.math.katexsetup, "find_katex", lambda site: other)

        def upgraded(self: KatexService) -> str:
            return salt(self).replace(f"katex={KATEX_VERSION}", f"katex={version}")

        monkeypatch.setattr(KatexService, "salt", upgraded)

    upgrade("0.20.0")
    build_site(options)
    assert len(typeset) == len(with_math) and sum(asked) == everything
    typeset.clear(), asked.clear()
    memory = BuildMemory()
    build_site(options, memory)
    upgrade("0.21.0")
    result = build_site(options, memory)
    assert with_math <= set(result.rendered)  # (its answers come from a new service: another KaTeX is another setup)
    memory.close()


def test_feeds_carry_the_same_mathml_in_both_modes(tmp_path: Path) -> None:
    full = "feeds: {content: full}\n"
    build(math_site(tmp_path / "browser", "browser", full), tmp_path / "b")
    build(math_site(tmp_path / "build", "build", full), tmp_path / "t")
    feeds = [p.relative_to(tmp_path / "b").as_posix() for p in sorted((tmp_path / "b").rglob("feed.*"))]
    assert len(feeds) >= 4 and "feed.json" in feeds
    for name in feeds:
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "t" / name).read_bytes(), name
    assert "&lt;math xmlns=" in (tmp_path / "t" / "feed.xml").read_text(encoding="utf-8")


def test_output_is_the_same_bytes_across_runs_and_jobs(tmp_path: Path) -> None:
    # enough pages that --jobs 2 renders them on a process pool (paginate: 1 makes a page per post per listing)
    files = {
        f"content/p{i:03d}.md": post(
            f"Post $x_{{{i}}}$", f"2026-01-{1 + i % 28:02d}", f"$y^{{{i}}}$ and $\\R$", tags="[t]"
        )
        for i in range(150)
    }
    site = make_site(tmp_path / "site", {"site.yaml": SITE + "math: {render: build}\npaginate: 1\n", **files})
    for name, jobs in (("one", "1"), ("two", "2"), ("again", "2")):
        build(site, tmp_path / name, "--jobs", jobs, "--no-cache")
    one = tree_bytes(tmp_path / "one")
    assert len(one) > 450 and 'class="katex"' in one["index.html"].decode()
    assert one == tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "again")


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def test_the_pinned_katex_is_installed_and_its_hashes_are_its_files() -> None:
    """The pin: package.json, the installed package, KATEX_VERSION and the SRI hashes all name the same KaTeX."""
    katex = REPO / "node_modules" / "katex"
    assert json.loads((katex / "package.json").read_text())["version"] == KATEX_VERSION
    assert json.loads((REPO / "package.json").read_text())["dependencies"]["katex"] == KATEX_VERSION
    assert {name: sri(katex / "dist" / name) for name in KATEX_INTEGRITY} == KATEX_INTEGRITY


@pytest.mark.parametrize("mode", ["browser", "build"])
def test_self_hosted_katex_is_copied_from_the_package_and_loaded_from_the_site(tmp_path: Path, mode: str) -> None:
    site = math_site(tmp_path / "site", mode, "katex_url: self\n")
    make_site(site, {"site.yaml": (site / "site.yaml").read_text().replace("example.org/", "example.org/sub/")})
    build(site, tmp_path / "out")
    dist = REPO / "node_modules" / "katex" / "dist"
    copied = {
        p.relative_to(tmp_path / "out" / KATEX_FOLDER).as_posix()
        for p in (tmp_path / "out").rglob("*")
        if p.is_file() and KATEX_FOLDER in p.as_posix()
    }
    css = (dist / "katex.min.css").read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+)\)", css))
    assert len(fonts) >= 50
    assert copied == {"katex.min.css", *fonts, *(["katex.min.js"] if mode == "browser" else [])}
    for name in copied:
        assert (tmp_path / "out" / KATEX_FOLDER / name).read_bytes() == (dist / name).read_bytes()
    page = (tmp_path / "out" / "posts" / "a" / "index.html").read_text(encoding="utf-8")
    css_link = f'href="/sub/{KATEX_FOLDER}/katex.min.css" integrity="{sri(dist / "katex.min.css")}"'
    assert css_link in page
    assert (f'src="/sub/{KATEX_FOLDER}/katex.min.js" integrity="{sri(dist / "katex.min.js")}"' in page) == (
        mode == "browser"
    )
    assert "cdn.jsdelivr.net" not in page


def test_self_hosted_katex_needs_the_pinned_package_and_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = math_site(tmp_path / "site", "browser", "katex_url: self\n")
    font = f"{KATEX_FOLDER}/fonts/KaTeX_Main-Regular.woff2"
    make_site(site, {f"static/{font}": "my own"})
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, jobs=1))
    assert [str(d) for d in failure.value.diagnostics] == [
        f"static/{font}: error: static file at the path of KaTeX's (katex_url: self)"
    ]
    (site / "static" / font).unlink()
    monkeypatch.setattr(primer_site.math.katexsetup, "find_katex", lambda site: None)
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, jobs=1))
    assert [str(d) for d in failure.value.diagnostics] == [
        f"site.yaml:6: error: katex_url: self copies KaTeX {KATEX_VERSION}'s files from the katex npm package, but "
        "the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH): run "
        f"`npm install katex@{KATEX_VERSION}` in the site folder, or set katex_url to a URL"
    ]


def test_a_formula_typeset_at_build_time_is_text_never_markup(tmp_path: Path) -> None:
    """KaTeX escapes what it shows; what needs trust (links, classes, ids, styles, images) is an error."""
    hostile = r"\text{<img src=x onerror=alert(1)>} \mathrm{</span><script>alert(2)</script>} \verb|<b>|"
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": SITE + "math: {render: build}\n",
            "content/a.md": post("A", body=f"${hostile}$ and $a \\,\\&\\, b$"),
        },
    )
    build(site, tmp_path / "out")
    page = (tmp_path / "out" / "posts" / "a" / "index.html").read_text(encoding="utf-8")
    assert "<img" not in page and "<script>alert" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    for command in ("\\href{javascript:alert(1)}{x}", "\\htmlClass{x}{y}", "\\includegraphics{x.png}"):
        make_site(site, {"content/a.md": post("A", body=f"${command}$")})
        result = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "--now", NOW)
        assert result.returncode == 1 and "needs trust, which primer-site never gives TeX" in result.stderr


RAW_MATH = """\
Written as raw HTML, as math.js finds it in the browser:

<p><span class="math">x^2</span> and <span class="math inline" id="a">y_1</span></p>

<p><span id=b class='display  math'>a &lt; b</span> <em class="math">c<sub>1</sub></em></p>
"""


def test_math_written_as_raw_html_is_typeset_as_math_js_typesets_it(tmp_path: Path) -> None:
    """Any element math.js typesets (class "math" among others, any quoting or attribute order, references,
    phrasing markup inside), in a post or a series' description: the page shows KaTeX's HTML, never raw TeX."""
    site = math_site(tmp_path / "site")
    make_site(
        site,
        {"content/r.md": post("Raw", body=RAW_MATH), "series/s.md": SERIES + '\n<span class="math">\\E[Z]</span>\n'},
    )
    build(site, tmp_path / "out")
    page = (tmp_path / "out" / "posts" / "r" / "index.html").read_text(encoding="utf-8")
    assert "katex.min.css" in page  # the stylesheet is loaded though no Markdown math is on the page
    annotations = [html.unescape(t) for t in re.findall(r'"application/x-tex">(.*?)</annotation>', page, re.S)]
    assert annotations == ["x^2", "y_1", "a < b", "c1"]
    assert page.count('<span class="katex-display">') == 1  # the element with "display" among its classes
    for raw in ('class="math">x^2</span>', 'id="a">y_1</span>', ">a &lt; b</span>", "c<sub>1</sub></em>"):
        assert raw not in page
    series = (tmp_path / "out" / "series" / "s" / "index.html").read_text(encoding="utf-8")
    assert "\\E[Z]</annotation>" in series and '<span class="math">\\E[Z]</span>' not in series
    # a page whose only math is raw HTML loads KaTeX: its stylesheet here, and in the browser's mode its script
    make_site(site, {"content/q.md": post("Q", body="<p><span class='math'>q^2</span></p>")})
    build(site, tmp_path / "out")
    assert "q^2</annotation>" in (tmp_path / "out" / "posts" / "q" / "index.html").read_text(encoding="utf-8")
    make_site(site, {"site.yaml": SITE + "math: {render: browser}\n"})
    build(site, tmp_path / "browser")
    page = (tmp_path / "browser" / "posts" / "q" / "index.html").read_text(encoding="utf-8")
    assert "katex.min.js" in page and "/js/math." in page and "<span class='math'>q^2</span>" in page


def test_a_math_element_whose_text_the_browser_decides_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = math_site(tmp_path / "site")
    body = 'Fine $x$.\n\n<div>\n<span class="math">a<p>b</p></span>\n</div>\n'
    make_site(site, {"content/r.md": post("Raw", body=body)})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "kept.txt").write_text("the previous site", encoding="utf-8")
    result = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "--now", NOW, "--force")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        'content/r.md:8:1: error: math: render: build cannot typeset <span class="math">: this math element holds '
        "a <p>, which the browser may move: write its TeX as plain text (`<` as &lt;, `&` as &amp;) in "
        '<span class="math">…</span> or <div class="math display">…</div>',
        "build failed: 1 error; the output folder was left as it was",
    ]
    assert tree_bytes(tmp_path / "out") == {"kept.txt": b"the previous site"}


def test_a_template_that_writes_math_is_typeset_or_named_in_the_error(tmp_path: Path) -> None:
    site = math_site(tmp_path / "site")
    post_template = (REPO / "templates" / "post.html").read_text(encoding="utf-8")
    typeset = post_template.replace("{% block main %}", '{% block main %}<p><span class="math">\\pi</span></p>', 1)
    make_site(site, {"templates/post.html": typeset})
    build(site, tmp_path / "out")
    page = (tmp_path / "out" / "posts" / "b" / "index.html").read_text(encoding="utf-8")
    assert "\\pi</annotation>" in page and '<span class="math">\\pi</span>' not in page
    # an element the browser would build by its own repairs: the template is named, once for all its pages
    make_site(site, {"templates/post.html": typeset.replace("\\pi</span>", "\\pi<div>x</div></span>")})
    result = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "--now", NOW)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(
        'templates/post.html: error: math: render: build cannot typeset <span class="math">: this math element '
        "holds a <div>"
    )
    assert re.search(r"\(in posts/[abc]/index\.html, from its template post\.html\)$", errors[0])


def test_a_page_with_math_and_no_katex_stylesheet_names_its_template(tmp_path: Path) -> None:
    """KaTeX's HTML without its stylesheet shows each formula twice, unstyled: the build says so, not the reader."""
    site = math_site(tmp_path / "site")
    standalone = '<!doctype html><title>{{ post.title }}</title><p><span class="math">\\pi</span></p>'
    make_site(site, {"templates/post.html": standalone})
    result = run_cli("build", "-s", str(site), "-o", str(tmp_path / "out"), "--now", NOW)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and re.fullmatch(
        r"templates/post\.html: error: math: render: build: this page shows math, but its template loads no KaTeX "
        r"stylesheet \(in posts/[abc]/index\.html, from its template post\.html\): a page whose math is typeset at "
        r"build time needs KaTeX's stylesheet: link it in the template's <head> when `has_math` is true, as the "
        r"default theme's base\.html does",
        errors[0],
    )
