"""Markdown → HTML: math passes through byte for byte, everything else is CommonMark plus extensions."""

from __future__ import annotations

import html
import re

import pytest

from primer_site.syntax.inline import render_inline
from primer_site.syntax.markdown import LINK_PLACEHOLDER, render_body

MATH = re.compile(r'<(span|div) class="math (inline|display)">(.*?)</\1>', re.DOTALL)


def math_of(markdown: str) -> list[tuple[str, str]]:
    """[(kind, TeX)] in document order, TeX as the browser will read it (text content)."""
    rendered = render_body(markdown, "content/x.md", 5).html
    return [(kind, html.unescape(tex)) for _, kind, tex in MATH.findall(rendered)]


# (markdown, expected math) — the TeX must reach the page exactly as written.
MATH_CASES = [
    pytest.param(
        r"Inline $a*b*c_1 * d_2$ here.", [("inline", r"a*b*c_1 * d_2")], id="no-emphasis-from-star-underscore"
    ),
    pytest.param(r"$\{x\} \\ y$", [("inline", r"\{x\} \\ y")], id="backslashes-kept"),
    pytest.param(
        r"$[a](b)$ and $\langle x \rangle$", [("inline", "[a](b)"), ("inline", r"\langle x \rangle")], id="no-link"
    ),
    pytest.param(r"""$"q" -- x'' --- y$""", [("inline", """"q" -- x'' --- y""")], id="no-typography"),
    pytest.param(r"$a<b>c & d$", [("inline", "a<b>c & d")], id="html-escaped-text"),
    pytest.param("It costs $5 and $10 today.", [], id="currency-not-math"),
    pytest.param(r"A \$ sign and \$x\$.", [], id="escaped-dollar"),
    pytest.param("$ x$ and $x $", [], id="space-inside-not-math"),
    pytest.param("$x$5 apples", [], id="digit-after-closing-not-math"),
    pytest.param("`$x$` and `\\(y\\)`", [], id="code-span-never-math"),
    pytest.param("```\n$$x$$\n```", [], id="fence-never-math"),
    pytest.param(r"Inline \(x_{i}^*\) bracket.", [("inline", r"x_{i}^*")], id="paren-delimiters"),
    pytest.param(
        "$$\n\\sum_{i=1}^n *a_i* \\\\ b\n$$", [("display", "\\sum_{i=1}^n *a_i* \\\\ b")], id="display-dollars-trimmed"
    ),
    pytest.param("\\[\n  E = mc^2\n\\]", [("display", "E = mc^2")], id="display-brackets"),
    pytest.param("Text $$x_1 = y_2$$ more text.", [("display", "x_1 = y_2")], id="display-in-paragraph"),
    pytest.param("Text \\[ a_b \\] more.", [("display", "a_b")], id="brackets-in-paragraph"),
    pytest.param(
        "\\begin{align}\na_1 &= b_1 \\\\\nc &= d\n\\end{align}",
        [("display", "\\begin{align}\na_1 &= b_1 \\\\\nc &= d\n\\end{align}")],
        id="bare-align",
    ),
    pytest.param(
        "\\begin{gather}\nx\n\\end{gather}", [("display", "\\begin{gather}\nx\n\\end{gather}")], id="bare-gather"
    ),
    pytest.param(
        "- item $a_1 * b_2$\n  - nested $\\{x\\}$", [("inline", "a_1 * b_2"), ("inline", r"\{x\}")], id="in-lists"
    ),
    pytest.param("> quoted $x_*$\n>\n> $$y^*$$", [("inline", "x_*"), ("display", "y^*")], id="in-quote"),
    pytest.param(
        "| a | b |\n|---|---|\n| $x_1*y$ | $\\alpha$ |", [("inline", "x_1*y"), ("inline", r"\alpha")], id="in-table"
    ),
    pytest.param("Note[^1].\n\n[^1]: see $p_{*}(x)$", [("inline", "p_{*}(x)")], id="in-footnote"),
    pytest.param("## Entropy $H(X)$ of *x*", [("inline", "H(X)")], id="in-heading"),
]


@pytest.mark.parametrize(("markdown", "expected"), MATH_CASES)
def test_math_passes_through(markdown: str, expected: list[tuple[str, str]]) -> None:
    assert math_of(markdown) == expected


def test_math_elements_are_the_documented_markup() -> None:
    rendered = render_body("A $x$.\n\n$$y$$\n", "content/x.md", 1)
    assert '<span class="math inline">x</span>' in rendered.html
    assert '<div class="math display">y</div>' in rendered.html
    assert rendered.has_math


def test_display_math_inside_a_paragraph_is_a_span_not_a_div() -> None:
    # a <div> inside <p> is invalid HTML
    assert '<p>a <span class="math display">x</span> b</p>' in render_body("a $$x$$ b", "c/x.md", 1).html


def test_no_math_means_has_math_false() -> None:
    assert not render_body("Plain $5 and $10.", "c/x.md", 1).has_math


def test_code_is_highlighted_and_unknown_languages_escaped() -> None:
    rendered = render_body("```python\ndef f(x):\n    return x\n```\n\n```nosuchlang\n<b>&\n```\n", "c/x.md", 1).html
    assert '<pre class="highlight" tabindex="0"><code class="language-python"><span class="k">def</span>' in rendered
    assert '<code class="language-nosuchlang">&lt;b&gt;&amp;\n</code>' in rendered


def test_extensions() -> None:
    text = (
        "~~gone~~\n\n- [x] done\n- [ ] todo\n\nTerm\n: Definition\n\n"
        "::: warning Careful now\nBody *here*.\n:::\n\n::: tip\nA tip.\n:::\n"
    )
    rendered = render_body(text, "c/x.md", 1).html
    assert "<s>gone</s>" in rendered
    assert 'type="checkbox" checked="checked"' in rendered or 'checked="checked"' in rendered
    assert "<dt>Term</dt>" in rendered and "<dd>Definition</dd>" in rendered
    assert '<aside class="admonition warning" role="note">\n<p class="admonition-title">Careful now</p>' in rendered
    assert '<p class="admonition-title">Tip</p>' in rendered


def test_headings_have_stable_ids_and_anchors() -> None:
    rendered = render_body("## Scaled Dot-Product Attention\n\n## Scaled Dot-Product Attention\n", "c/x.md", 1)
    ids = [h.id for h in rendered.headings]
    assert ids == ["scaled-dot-product-attention", "scaled-dot-product-attention-1"]
    assert (
        '<a class="anchor" href="#scaled-dot-product-attention" aria-label="Link to this section">#</a>'
        in rendered.html
    )


def test_links_to_sources_become_placeholders_with_their_lines() -> None:
    body = (
        "Intro.\n\nSee [three](ch03.md) and\n[the part](../other/ch04.md#part-two).\n\n[web](https://example.org/x.md)"
    )
    rendered = render_body(body, "content/vol/ch02.md", 10)
    assert [(link.target, link.fragment, link.line) for link in rendered.links] == [
        ("content/vol/ch03.md", "", 12),
        ("content/other/ch04.md", "part-two", 13),
    ]
    assert len(LINK_PLACEHOLDER.findall(rendered.html)) == 2
    assert 'href="https://example.org/x.md"' in rendered.html


def test_raw_html_can_be_switched_off() -> None:
    assert "<b>hi</b>" in render_body("<b>hi</b>", "c/x.md", 1, raw_html=True).html
    assert "&lt;b&gt;hi&lt;/b&gt;" in render_body("<b>hi</b>", "c/x.md", 1, raw_html=False).html


def test_summary_inline_math() -> None:
    rendered, has_math = render_inline("Entropy $H$ *bits*")
    assert rendered == 'Entropy <span class="math inline">H</span> <em>bits</em>' and has_math


# ---------------------------------------------------------------- math syntax (issue 11): the exact HTML


def cells(markdown: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", render_body(markdown, "content/x.md", 1).html)


def test_a_pipe_inside_math_in_a_table_cell_stays_in_its_cell() -> None:
    rendered = render_body("| expression | meaning |\n|---|---|\n| $P(A|B)$ | conditional |\n", "content/x.md", 10)
    assert '<td><span class="math inline">P(A|B)</span></td>\n<td>conditional</td>' in rendered.html
    assert [(f.tex, f.line, f.column) for f in rendered.formulas] == [("P(A|B)", 12, 3)]


def test_a_norm_in_a_table_cell_keeps_its_backslashes() -> None:
    assert cells("| norm |\n|---|\n| $\\|w\\|_2$ |\n") == ['<span class="math inline">\\|w\\|_2</span>']


def test_every_delimiter_keeps_its_pipes_in_a_cell() -> None:
    body = "| a | b | c | d |\n|---|---|---|---|\n| $a|b$ | $$c|d$$ | \\(e|f\\) | \\[g|h\\] |\n"
    assert cells(body) == [
        '<span class="math inline">a|b</span>',
        '<span class="math display">c|d</span>',
        '<span class="math inline">e|f</span>',
        '<span class="math display">g|h</span>',
    ]
    assert [f.column for f in render_body(body, "content/x.md", 1).formulas] == [3, 11, 21, 31]


def test_escaped_pipes_and_code_spans_in_cells() -> None:
    # `\|` outside math is a pipe (GFM and pandoc); a `|` in a code span stays in it (pandoc), and `\|` in
    # one is a pipe (GFM, where it is the only way to write one)
    assert cells("| a | b |\n|---|---|\n| x \\| y $z$ | `p|q` and `r\\|s` |\n") == [
        'x | y <span class="math inline">z</span>',
        "<code>p|q</code> and <code>r|s</code>",
    ]
    rendered = render_body("| a | b |\n|---|---|\n| x \\| y \\| $z$ | w |\n", "content/x.md", 1)
    assert [(f.tex, f.column) for f in rendered.formulas] == [("z", 13)]


def test_a_dollar_inside_text_braces_does_not_close_the_formula() -> None:
    assert (
        render_body("Then $a = b_\\text{c $d$ e}$ holds.", "content/x.md", 1).html
        == '<p>Then <span class="math inline">a = b_\\text{c $d$ e}</span> holds.</p>\n'
    )


def test_two_display_formulas_on_one_line_are_two() -> None:
    rendered = render_body("- $$P_6$$ is obtained from $$C_5$$\n", "content/x.md", 1)
    assert rendered.html == (
        '<ul>\n<li><span class="math display">P_6</span> is obtained from '
        '<span class="math display">C_5</span></li>\n</ul>\n'
    )
    assert [(f.tex, f.column) for f in rendered.formulas] == [("P_6", 3), ("C_5", 28)]


def test_a_display_formula_alone_on_its_lines_is_a_block() -> None:
    assert render_body("$$\nx = 1\n$$\n", "c/x.md", 1).html == '<div class="math display">x = 1</div>\n'
    assert render_body("$$x$$ (eq:x)\n", "c/x.md", 1).html.startswith('<div class="equation" id="eq:x">')


def test_a_display_formula_over_a_blank_line_is_no_formula_and_is_reported() -> None:
    rendered = render_body("$$\na\n\nb\n$$\n", "content/x.md", 4)
    assert rendered.formulas == () and "$$" in rendered.html
    # one error at the opener, naming the blank line; no "lone $" (whose hint, write \$, is the wrong fix)
    assert rendered.stray_dollars == ()
    assert [(e.line, e.column, e.message) for e in rendered.errors] == [(4, 1, BLANK_LINE_MESSAGE.format(line=6))]


BLANK_LINE_MESSAGE = (
    "a blank line (line {line}) inside this display formula ends it, in Markdown as in pandoc, so its TeX would show "
    "as text: delete the blank line (TeX allows none in display math either), or put a % on it"
)


def test_an_environment_ends_at_its_own_end() -> None:
    body = "\\begin{equation}x\\end{equation} where x is\n\nmore\n\n\\begin{equation}y\\end{equation}\n"
    rendered = render_body(body, "content/x.md", 1)
    assert [f.tex for f in rendered.formulas] == [
        "\\begin{equation}x\\end{equation}",
        "\\begin{equation}y\\end{equation}",
    ]
    assert "<p>more</p>" in rendered.html
