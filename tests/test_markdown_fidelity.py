"""What real math blogs and other tools' bug reports broke in the Markdown around the math (issue 21): each case
with the exact HTML or message a user gets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli
from primer_site.syntax.markdown import render_body
from primer_site.syntax.rawhtml import rewrite_urls


def html_of(body: str, **options: object) -> str:
    return render_body(body, "content/x.md", 5, **options).html  # type: ignore[arg-type]


def errors_of(body: str) -> list[tuple[int, int, str]]:
    return [(e.line, e.column, e.message) for e in render_body(body, "content/x.md", 5).errors]


ANCHOR = '<a class="anchor" href="#{0}" aria-label="Link to this section">#</a>'


# 1, 14: the table of contents: no placeholder from a link in a heading; nested; numbered once


def test_toc_of_linked_numbered_and_unnumbered_headings_is_a_nested_list_numbered_once(tmp_path: Path) -> None:
    body = (
        "Intro.\n\n## Proof, as in [the lemma](b.md)\n\n### Sub one\n\n### Sub two\n\n"
        "## Preface {.unnumbered}\n\n## Third\n"
    )
    make_site(
        tmp_path,
        {
            "series/s.md": "---\ntitle: S\nnumber_sections: true\n---\n",
            "content/a.md": post("A", series="s", chapter=2, body=body),
            "content/b.md": post("B", series="s", chapter=1, body="Hello."),
        },
    )
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "public/posts/a/index.html").read_text()
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.DOTALL)
    assert toc is not None and "\x00" not in page
    entries = re.sub(r">\s+<", "><", toc.group(0))
    assert entries == (
        '<nav class="toc" aria-labelledby="toc-title" data-pagefind-ignore><h2 id="toc-title">Contents</h2>'
        '<ol class="toc-numbered">'
        '<li class="toc-level-2"><a href="#proof-as-in-the-lemma"><span class="secno">2.1</span> Proof, as in the lemma</a>'
        '<ol><li class="toc-level-3"><a href="#sub-one"><span class="secno">2.1.1</span> Sub one</a></li>'
        '<li class="toc-level-3"><a href="#sub-two"><span class="secno">2.1.2</span> Sub two</a></li></ol></li>'
        '<li class="toc-level-2"><a href="#preface">Preface</a></li>'
        '<li class="toc-level-2"><a href="#third"><span class="secno">2.2</span> Third</a></li>'
        "</ol></nav>"
    )
    # the heading itself keeps its link, resolved
    assert '<a href="/posts/b/">the lemma</a>' in page


# 2: a display formula on a lazy line stays in the list item (and the quote), as in pandoc


def test_a_lazy_display_formula_line_keeps_the_list_and_the_quote() -> None:
    assert html_of("1. First\n$$x$$\n2. Second\n") == (
        '<ol>\n<li>First\n<span class="math display">x</span></li>\n<li>Second</li>\n</ol>\n'
    )
    assert html_of("> a\n$$x$$\n> b\n") == (
        '<blockquote>\n<p>a\n<span class="math display">x</span>\nb</p>\n</blockquote>\n'
    )
    # an indented one was, and is, a block in the item
    assert html_of("- First\n  $$x$$\n- Second\n") == (
        '<ul>\n<li>First<div class="math display">x</div>\n</li>\n<li>Second</li>\n</ul>\n'
    )


# 3: math in alt text is kept as its TeX, as pandoc writes it


def test_math_in_alt_text_is_kept_as_tex() -> None:
    assert html_of("![The curve $y=x^2$ near the origin](c.png)\n") == (
        '<p><img src="\x00A0\x00" alt="The curve y=x^2 near the origin"\x00I0\x00></p>\n'
    )
    assert html_of("![$x^2$ and `code`](c.png)\n") == '<p><img src="\x00A0\x00" alt="x^2 and code"\x00I0\x00></p>\n'


# 4: admonition titles are inline Markdown


def test_an_admonition_title_is_inline_markdown_with_math() -> None:
    body = "::: warning A *very* important `note` on $\\alpha$\nbody\n:::\n\n::: tip\nx\n:::\n"
    assert html_of(body) == (
        '<aside class="admonition warning" role="note">\n'
        '<p class="admonition-title">A <em>very</em> important <code>note</code> on '
        '<span class="math inline">\\alpha</span></p>\n<p>body</p>\n</aside>\n'
        '<aside class="admonition tip" role="note">\n<p class="admonition-title">Tip</p>\n<p>x</p>\n</aside>\n'
    )
    rendered = render_body(body, "content/x.md", 5)
    assert [(f.tex, f.line, f.column) for f in rendered.formulas] == [("\\alpha", 5, 42)]  # checked by KaTeX


# 5, 6: heading ids keep math, read attributes


def test_heading_ids_keep_the_formulas_text_as_github_does() -> None:
    assert html_of("## The $P$-value\n\n## $\\alpha$\n\n## $\\alpha$\n") == (
        f'<h2 id="the-p-value">The <span class="math inline">P</span>-value {ANCHOR.format("the-p-value")}</h2>\n'
        f'<h2 id="alpha"><span class="math inline">\\alpha</span> {ANCHOR.format("alpha")}</h2>\n'
        f'<h2 id="alpha-1"><span class="math inline">\\alpha</span> {ANCHOR.format("alpha-1")}</h2>\n'
    )


def test_heading_attributes_give_the_id_classes_and_no_number() -> None:
    body = "## Heading {#custom-id}\n\n## Preface {.unnumbered .intro}\n\n## Next\n\n### Sub {-}\n\n### Sub two\n"
    assert html_of(body, number_sections=True, chapter="3") == (
        f'<h2 id="custom-id"><span class="secno">3.1</span> Heading {ANCHOR.format("custom-id")}</h2>\n'
        f'<h2 class="intro" id="preface">Preface {ANCHOR.format("preface")}</h2>\n'
        f'<h2 id="next"><span class="secno">3.2</span> Next {ANCHOR.format("next")}</h2>\n'
        f'<h3 id="sub">Sub {ANCHOR.format("sub")}</h3>\n'
        f'<h3 id="sub-two"><span class="secno">3.2.1</span> Sub two {ANCHOR.format("sub-two")}</h3>\n'
    )
    # braces that are no attribute list stay text; a key=value is not read, and says so
    assert html_of("## Set {a, b}\n") == f'<h2 id="set-a-b">Set {{a, b}} {ANCHOR.format("set-a-b")}</h2>\n'
    # key=value pairs are data- attributes, as pandoc writes them; MkDocs' data-toc-label names the contents entry
    rendered = render_body('## Heading {#a width=3 data-toc-label="Q & A"}\n', "content/x.md", 5)
    assert rendered.html == (
        f'<h2 id="a" data-width="3" data-toc-label="Q &amp; A">Heading {ANCHOR.format("a")}</h2>\n'
    )
    assert [(h.id, h.html) for h in rendered.headings] == [("a", "Q &amp; A")]
    assert rendered.errors == ()


def test_an_unlisted_heading_is_left_out_of_the_contents() -> None:
    rendered = render_body("## One\n\n## Two {.unlisted}\n", "content/x.md", 5)
    assert [h.id for h in rendered.headings] == ["one"]


# 7: math in raw HTML blocks


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '<div class="proof">\n$$\\beta$$\n</div>\n',
            (6, 1, "'$$\\beta$$'", '<span class="math display">\\beta</span>'),
        ),
        ("<aside>… $x+y$ …</aside>\n", (5, 10, "'$x+y$'", '<span class="math inline">x+y</span>')),
        ("<div>\n\\(a&b\\)\n</div>\n", (6, 1, "'\\(a&b\\)'", '<span class="math inline">a&amp;b</span>')),
    ],
)
def test_math_in_a_raw_html_block_is_an_error_saying_how_to_write_it(
    body: str, expected: tuple[int, int, str, str]
) -> None:
    line, column, written, span = expected
    assert errors_of(body) == [
        (
            line,
            column,
            f"math in raw HTML is not read, so {written} would show as written: leave a blank line after the "
            f"opening tag's line and before the closing tag (the lines between are then Markdown), or write {span}",
        )
    ]


def test_dollars_in_raw_html_that_are_no_math_pass() -> None:
    for body in (
        "<pre>$ ls $HOME$</pre>\n",
        "<div>costs $5 and $10</div>\n",
        "<!-- $x$ -->\n",
        '<a title="$x$">a</a>\n',
    ):
        assert errors_of(body) == [], body
    # and the fix the message gives is math
    assert html_of('<div class="proof">\n\n$$\\beta$$\n\n</div>\n') == (
        '<div class="proof">\n<div class="math display">\\beta</div>\n</div>\n'
    )


# 8: a blank line in a display formula


BLANK = (
    "a blank line (line {0}) inside this display formula ends it, in Markdown as in pandoc, so its TeX would show "
    "as text: delete the blank line (TeX allows none in display math either), or put a % on it"
)


def test_a_blank_line_in_an_environment_or_display_is_named_and_no_dollar_hint_is_given() -> None:
    body = "Text.\n\n\\begin{align*}\na &= b\\\\\n\nc &= d\n\\end{align*}\n\n$$\na\n\nb\n$$\n\n\\[\nx\n\n\\]\n"
    rendered = render_body(body, "content/x.md", 5)
    assert [(e.line, e.column, e.message) for e in rendered.errors] == [
        (7, 1, BLANK.format(9)),
        (13, 1, BLANK.format(15)),
        (19, 1, BLANK.format(21)),
    ]
    assert rendered.stray_dollars == ()
    # two blank lines in one display (lil-log's): one error, and its closer opens nothing
    body = "$$\na \\\\\n\nb \\\\\n\nc\n$$\n\nText.\n\n$$\nd\n$$\n"
    rendered = render_body(body, "content/x.md", 5)
    assert [(e.line, e.column, e.message) for e in rendered.errors] == [(5, 1, BLANK.format(7))]
    assert [f.tex for f in rendered.formulas] == ["d"]
    # with "%" on the line it is one formula
    assert [f.tex for f in render_body("$$\na\n%\nb\n$$\n", "content/x.md", 5).formulas] == ["a\n%\nb"]


# 9: LaTeX's references


def test_latex_references_in_prose_and_in_math_name_the_form_to_use() -> None:
    body = "See \\eqref{eq:x} and\n\\ref{fig:y}, $\\ref{eq:x}$, `\\ref{code}`.\n\n$$ a $$ (eq:x)\n"
    hint = "in the text, outside any formula (its text, such as Eq. (3), is made for you)"
    assert errors_of(body) == [
        (5, 0, f"reference '\\eqref{{eq:x}}': write a reference to a label as [](#eq:x) {hint}"),
        (6, 0, f"reference '\\ref{{fig:y}}': write a reference to a label as [](#fig:y) {hint}"),
        (6, 14, f"reference '\\ref{{eq:x}}': write a reference to a label as [](#eq:x) {hint}"),
    ]


# 10, 12: summaries without footnote references; control characters


def test_summaries_drop_footnote_references_and_control_characters_are_located_errors(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", body="First para[^1] with $x$.\n\n[^1]: a note\n")})
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 0, result.stderr
    index = (tmp_path / "public/index.html").read_text()
    assert "fnref" not in index and 'First para with <span class="math inline">x</span>.' in index
    page = (tmp_path / "public/posts/a/index.html").read_text()
    assert '<meta name="description" content="First para with x.">' in page

    make_site(tmp_path, {"content/a.md": post("A", body="Pasted\x1ffrom a PDF.\n\n```\n\x1b[1mbold\x1b[0m\n```\n")})
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 1
    assert (
        "content/a.md:5:7: error: control character U+001F (invisible; text pasted from a PDF often has one), and "
        "more on 1 other line (8): the feed's XML cannot hold them, so delete them"
    ) in result.stderr


# 11: a raw <img> with a malformed alt is read as a browser reads it


def test_a_raw_img_with_a_malformed_alt_still_has_its_src_resolved() -> None:
    seen: list[str] = []

    def on_url(value: str, line: int, image: bool, given: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        seen.append(value)
        return "/posts/a/2SAT.png", ""

    text = '<p align="center">\n  <img src="2SAT.png" alt=""Implication Graph of 2-SAT""></p>\n'
    assert rewrite_urls(text, 1, on_url, lambda line, src: None) == (
        '<p align="center">\n  <img src="/posts/a/2SAT.png" alt=""Implication Graph of 2-SAT""></p>\n'
    )
    assert seen == ["2SAT.png"]
    # and no space between attributes, as the tokenizer allows
    assert rewrite_urls('<img alt="x"src="a.png">', 1, on_url, lambda line, src: None) == (
        '<img alt="x"src="/posts/a/2SAT.png">'
    )


def test_a_malformed_raw_img_in_a_site_is_published_with_its_file(tmp_path: Path) -> None:
    body = '<p align="center">\n  <img src="2SAT.png" alt=""Implication Graph""></p>\n'
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
        b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    make_site(tmp_path, {"content/a.md": post("A", body=body)})
    (tmp_path / "content/2SAT.png").write_bytes(png)
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "public/posts/a/index.html").read_text()
    src = re.search(r'<img src="([^"]*)"', page)
    assert src is not None and src.group(1) != "2SAT.png"
    assert (tmp_path / "public" / src.group(1).lstrip("/")).exists()


# 13: pandoc's and knitr's fence attributes


def test_fence_attributes_give_the_language() -> None:
    assert html_of("```{.lua file=init.lua}\nx\n```\n") == (
        '<pre class="highlight" tabindex="0"><code class="language-lua"><span class="nv">x</span>\n</code></pre>\n\n'
    )
    assert html_of("```{r echo=FALSE}\nx\n```\n") == (
        '<pre class="highlight" tabindex="0"><code class="language-r"><span class="n">x</span>\n</code></pre>\n\n'
    )


# The new scans are linear: the work they do, counted, grows as the input does


def _python_steps(body: str, module_file: str) -> int:
    """Lines of `module_file` run while rendering `body` (the Python-level work of its scans)."""
    import sys

    steps = 0

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal steps
        if frame.f_code.co_filename != module_file:
            return None
        if event == "line":
            steps += 1
        return trace

    sys.settrace(trace)
    try:
        render_body(body, "content/x.md", 5)
    finally:
        sys.settrace(None)
    return steps


def _characters_searched(body: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """Characters the blank-line check's searches read (each search that is not answered from the last one)."""
    from primer_site.syntax import mathsyntax

    read = 0
    next_closer, next_blank = mathsyntax._BrokenDisplays._next, mathsyntax._BrokenDisplays._next_blank

    def counted_closer(self, closer, start):  # type: ignore[no-untyped-def]
        nonlocal read
        before = self.found.get(closer)
        found = next_closer(self, closer, start)
        if self.found.get(closer) is not before:
            read += (found if found >= 0 else len(self.src)) - start
        return found

    def counted_blank(self, start):  # type: ignore[no-untyped-def]
        nonlocal read
        before = self.blank
        found = next_blank(self, start)
        if self.blank is not before:
            read += (found if found >= 0 else len(self.src)) - start
        return found

    monkeypatch.setattr(mathsyntax._BrokenDisplays, "_next", counted_closer)
    monkeypatch.setattr(mathsyntax._BrokenDisplays, "_next_blank", counted_blank)
    render_body(body, "content/x.md", 5)
    monkeypatch.undo()
    return read


@pytest.mark.parametrize(
    "unit",
    [
        "\\begin{align}\na\n\nb\n\n",  # openers that never close, each with a blank line after it
        "$$\nx\n\ny\n$$\n\n",  # displays broken by a blank line
        "$$ a\n\n",  # display openers alone
    ],
)
def test_the_blank_line_check_reads_each_character_a_bounded_number_of_times(
    unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _characters_searched(unit * 200, monkeypatch)
    large = _characters_searched(unit * 800, monkeypatch)
    assert large <= 4 * small + len(unit) * 8, (small, large)
    assert large <= 6 * len(unit * 800)


@pytest.mark.parametrize(
    ("unit", "module"),
    [
        ("## Same\n\n", "headings.py"),  # GitHub's -1, -2… for repeated ids
        ("## Same {#same-1}\n\n## Same\n\n", "headings.py"),
        ("a\x1f", "markdown.py"),  # control characters on one line
    ],
)
def test_heading_ids_and_the_control_character_check_are_linear(unit: str, module: str) -> None:
    from primer_site.syntax import headings, markdown

    file = {"headings.py": headings.__file__, "markdown.py": markdown.__file__}[module]
    small = _python_steps(unit * 200, file)
    large = _python_steps(unit * 800, file)
    assert large <= 4.5 * small, (small, large)
