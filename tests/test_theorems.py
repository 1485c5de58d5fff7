"""Theorem-like blocks: `::: theorem {#thm:x} Title` … `:::`, numbered with the equations, referenced like them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import build, make_site, post
from primer_site.errors import SiteError
from primer_site.sources.theoremkinds import TheoremKind, TheoremSettings
from primer_site.syntax.markdown import render_body
from test_typeset import katex_render

CHAPTER_THREE = """\
::: definition {#def:softmax} Softmax of $z$
For $z\\in\\mathbb{R}^n$, softmax.
:::

::: theorem {#thm:shift} Shift *invariance*
$f(z + c) = f(z)$.
:::

::: proof {of=thm:shift}
Multiply by $e^{-c}$.
:::

::: lemma {#lem:bound}
Bounded.
:::

::: proof {.folded}
Clear.
:::

::: exercise {#exr:grad} Gradient
Differentiate [](#def:softmax).
:::

::: solution {for=exr:grad}
It is $s(1-s)$.
:::
"""

EXPECTED_THREE = """\
<div class="theorem-like definition" id="def:softmax">
<p class="theorem-head"><span class="theorem-name">Definition 3.1</span> <span class="theorem-title">(Softmax of \
<span class="math inline">z</span>)</span>.</p>
<p>For <span class="math inline">z\\in\\mathbb{R}^n</span>, softmax.</p>
</div>
<div class="theorem-like theorem" id="thm:shift">
<p class="theorem-head"><span class="theorem-name">Theorem 3.2</span> <span class="theorem-title">(Shift \
<em>invariance</em>)</span>.</p>
<p><span class="math inline">f(z + c) = f(z)</span>.</p>
</div>
<div class="theorem-like proof">
<p class="theorem-head"><span class="theorem-name">Proof of <a href="#thm:shift">Theorem 3.2</a></span>.</p>
<p>Multiply by <span class="math inline">e^{-c}</span>.</p>
<p class="qed">∎</p>
</div>
<div class="theorem-like lemma" id="lem:bound">
<p class="theorem-head"><span class="theorem-name">Lemma 3.3</span>.</p>
<p>Bounded.</p>
</div>
<details class="theorem-like proof">
<summary class="theorem-head"><span class="theorem-name">Proof</span>.</summary>
<p>Clear.</p>
<p class="qed">∎</p>
</details>
<div class="theorem-like exercise" id="exr:grad">
<p class="theorem-head"><span class="theorem-name">Exercise 3.1</span> <span class="theorem-title">(Gradient)</span>.</p>
<p>Differentiate \x00L0\x00.</p>
</div>
<details class="theorem-like solution">
<summary class="theorem-head"><span class="theorem-name">Solution to <span class="theorem-target">Exercise 3.1</span>\
</span>.</summary>
<p class="theorem-target-link"><a href="#exr:grad">Exercise 3.1</a></p>
<p>It is <span class="math inline">s(1-s)</span>.</p>
</details>
"""


def html_of(body: str, chapter: str = "3", settings: TheoremSettings | None = None) -> str:
    rendered = render_body(body, "content/a.md", 5, chapter=chapter, theorem_settings=settings or TheoremSettings())
    assert rendered.errors == ()
    return re.sub('<a href="\x00L(\\d+)\x00"></a>', "\x00L\\1\x00", rendered.html)


def test_each_form_renders_its_head_number_and_end() -> None:
    assert html_of(CHAPTER_THREE) == EXPECTED_THREE


def test_outside_a_series_the_numbers_count_plainly() -> None:
    assert '<span class="theorem-name">Theorem 2</span>' in html_of(CHAPTER_THREE, chapter="")
    assert '<span class="theorem-name">Exercise 1</span>' in html_of(CHAPTER_THREE, chapter="")


def test_per_kind_counters_and_kinds_of_ones_own() -> None:
    assumption = TheoremKind("assumption", "asm", "Assumption", "shared")
    settings = TheoremSettings((*TheoremSettings().kinds, assumption), counter="per-kind")
    body = CHAPTER_THREE + "\n::: assumption {#asm:iid} I.i.d.\nData.\n:::\n"
    found = re.findall(r'<span class="theorem-name">([^<]*)<', html_of(body, settings=settings))
    assert found == [
        *("Definition 3.1", "Theorem 3.1", "Proof of ", "Lemma 3.1", "Proof", "Exercise 3.1", "Solution to "),
        "Assumption 3.1",
    ]


SOLUTIONS_AT_THE_END = """\
<div class="theorem-like exercise" id="exr:grad">
<p class="theorem-head"><span class="theorem-name">Exercise 3.1</span> <span class="theorem-title">(Gradient)</span>.</p>
<p>Differentiate \x00L0\x00.</p>
<p class="solution-link"><a href="#solution-exr:grad">Solution</a></p>
</div>
<p>After.</p>
<section class="solutions" aria-labelledby="end-solutions">
<h2 id="end-solutions">Solutions</h2>
<div class="theorem-like solution" id="solution-exr:grad">
<p class="theorem-head"><span class="theorem-name">Solution to <a href="#exr:grad">Exercise 3.1</a></span>.</p>
<p>It is <span class="math inline">s(1-s)</span>.</p>
</div>
</section>
"""


def test_solutions_gathered_at_the_end_link_both_ways() -> None:
    body = (
        "::: exercise {#exr:grad} Gradient\nDifferentiate [](#def:softmax).\n:::\n\n"
        "::: solution {for=exr:grad}\nIt is $s(1-s)$.\n:::\n\nAfter.\n"
    )
    assert html_of(body, settings=TheoremSettings(solutions="end-of-chapter")) == SOLUTIONS_AT_THE_END


SITE = "title: T\nbase_url: https://example.org/\n"
SERIES = "---\ntitle: Primer\n---\n"


def primer(root: Path, extra_site: str = "", **files: str) -> Path:
    return make_site(
        root,
        {
            "site.yaml": SITE + extra_site,
            "series/primer.md": SERIES,
            # a file beside it: its labels pass through the step that fills in the files' URLs
            "content/ch03.md": post(
                "Three", "2026-01-03", series="primer", chapter=3, body=CHAPTER_THREE + "\n![A dot](dot.svg)\n"
            ),
            "content/dot.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>',
            "content/ch10.md": post(
                "Ten",
                "2026-03-12",
                series="primer",
                chapter=10,
                body="::: theorem {#thm:later} Later\nSoon.\n:::\n\n::: theorem {#thm:ten}\nTen.\n:::\n",
            ),
            "content/ch04.md": post(
                "Four",
                "2026-01-04",
                series="primer",
                chapter=4,
                body="By [](ch03.md#thm:shift); see [](ch10.md#thm:ten).",
            ),
            **files,
        },
    )


def page(out: Path, slug: str) -> str:
    return (out / "posts" / slug / "index.html").read_text(encoding="utf-8")


def test_references_from_another_chapter_and_to_a_scheduled_one(tmp_path: Path) -> None:
    site = primer(tmp_path)
    before = page(build(site, datetime(2026, 3, 11, tzinfo=UTC)), "ch04")
    assert '<a href="/posts/ch03/#thm:shift">Theorem 3.2</a>' in before
    assert (
        '<span class="link-scheduled" title="Coming on 2026-03-12">Theorem 10.2, in Chapter 10, out on 12 March 2026'
        "</span>" in before
    )
    assert "/posts/ch10/" not in before
    on_the_day = page(build(site, datetime(2026, 3, 12, tzinfo=UTC)), "ch04")
    assert '<a href="/posts/ch10/#thm:ten">Theorem 10.2</a>' in on_the_day


@pytest.mark.parametrize("mode", ["browser", "build"])
def test_the_published_page_in_both_math_modes(tmp_path: Path, mode: str) -> None:
    site = primer(tmp_path, f"math: {{render: {mode}}}\n")
    ch03 = page(build(site, datetime(2026, 3, 12, tzinfo=UTC)), "ch03")
    expected = EXPECTED_THREE.replace("\x00L0\x00", '<a href="#def:softmax">Definition 3.1</a>')
    if mode == "build":
        texs = re.findall(r'<span class="math inline">([^<]*)</span>', expected)
        typeset = iter(katex_render([(tex, False, {}) for tex in texs]))
        expected = re.sub(
            r'<span class="math inline">[^<]*</span>',
            lambda _: f'<span class="math inline">{next(typeset)}</span>',
            expected,
        )
    assert expected in ch03


def test_errors_at_their_lines(tmp_path: Path) -> None:
    body = (
        "::: theorm\nx\n:::\n\n"  # line 5
        "::: theorem {#def:x}\nx\n:::\n\n"  # 9
        "::: theorem {#thm:a}\nx\n:::\n\n"  # 13
        "::: theorem {#thm:a}\nx\n:::\n\n"  # 17
        "::: proof {of=thm:nope}\nx\n:::\n\n"  # 21
        "::: solution {for=thm:a}\nx\n:::\n\n"  # 25
        "::: solution\nx\n:::\n\n"  # 29
        "::: theorem {.folded}\nx\n:::\n\n"  # 33
        "See [](#thm:nope).\n"  # 37
    )
    site = make_site(tmp_path, {"site.yaml": SITE, "content/a.md": post("A", body=body)})
    with pytest.raises(SiteError) as failure:
        build(site)
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:5: error: unknown block kind 'theorm' (did you mean \"theorem\"?): the kinds are note, tip, "
        "warning, important, caution, definition, theorem, lemma, proposition, corollary, example, remark, exercise, "
        "solution, proof (theorems: {kinds: …} adds one)",
        "content/a.md:9: error: label 'def:x' is on a theorem: a theorem's label starts with 'thm:'",
        "content/a.md:17: error: label 'thm:a' is already a theorem's label",
        "content/a.md:21: error: proof {of=thm:nope}: this page has no theorem-like block labelled thm:nope",
        "content/a.md:25: error: solution {for=thm:a}: this page has no exercise labelled thm:a",
        "content/a.md:29: error: a solution says which exercise it solves: ::: solution {for=exr:name}",
        "content/a.md:33: error: a theorem does not fold: only proofs and solutions do",
        "content/a.md:37: error: link to '#thm:nope': this post has no theorem labelled #thm:nope",
    ]


def test_kinds_and_counters_from_site_yaml_and_a_series_file(tmp_path: Path) -> None:
    kinds = "theorems:\n  kinds:\n    assumption: {label: asm, name: Assumption}\n"
    site = primer(
        tmp_path,
        kinds,
        **{
            "series/primer.md": "---\ntitle: Primer\ntheorems: {counter: per-kind}\n---\n",
            "content/ch05.md": post(
                "Five",
                "2026-01-05",
                series="primer",
                chapter=5,
                body="::: assumption {#asm:iid} IID\nx\n:::\n\n::: theorem {#thm:five}\ny\n:::\n\nBy [](#asm:iid).\n",
            ),
        },
    )
    ch05 = page(build(site), "ch05")
    assert '<span class="theorem-name">Assumption 5.1</span> <span class="theorem-title">(IID)</span>' in ch05
    assert '<span class="theorem-name">Theorem 5.1</span>' in ch05
    assert '<a href="#asm:iid">Assumption 5.1</a>' in ch05


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{counter: each}", "site.yaml:3: error: theorems: counter: 'each' is not shared or per-kind"),
        (
            "{kinds: {axiom: {label: thm, name: Axiom}}}",
            "site.yaml:3: error: theorems: kinds: axiom: label prefix 'thm' is already theorem's",
        ),
        ("{solutions: later}", "site.yaml:3: error: theorems: solutions: 'later' is not inline or end-of-chapter"),
    ],
)
def test_bad_settings_are_errors_at_their_line(tmp_path: Path, value: str, message: str) -> None:
    site = make_site(tmp_path, {"site.yaml": SITE + f"theorems: {value}\n", "content/a.md": post("A")})
    with pytest.raises(SiteError) as failure:
        build(site)
    assert [str(d) for d in failure.value.diagnostics] == [message]


def test_a_label_on_each_row_of_an_align_numbers_each_row() -> None:
    body = (
        "\\begin{align}\na &= b \\label{eq:one} \\\\\nc &= d \\nonumber \\\\\ne &= f \\label{eq:three}\n\\end{align}\n\n"
        "$$ x $$ (eq:x)\n"
    )
    rendered = render_body(body, "content/a.md", 5, chapter="3")
    assert rendered.errors == ()
    assert rendered.html == (
        '<div class="equation equation-rows" id="eq:one"><span class="row-anchor" id="eq:three"></span>'
        '<div class="math display">\\begin{align}\na &amp;= b \\tag{3.1} \\\\\nc &amp;= d \\nonumber \\\\\n'
        "e &amp;= f \\tag{3.2}\n\\end{align}</div></div>\n"
        '<div class="equation" id="eq:x"><div class="math display">x</div><a class="eqno" href="#eq:x">(3.3)</a></div>\n'
    )
    assert [(label.id, label.reference_html) for label in rendered.labels] == [
        ("eq:one", "Eq. (3.1)"),
        ("eq:three", "Eq. (3.2)"),
        ("eq:x", "Eq. (3.3)"),
    ]


def test_a_row_of_an_align_without_a_label_keeps_the_error() -> None:
    body = "\\begin{align}\na &= b \\label{eq:one} \\\\\nc &= d \\\\\ne &= f \\label{eq:three}\n\\end{align}\n"
    rendered = render_body(body, "content/a.md", 5, chapter="3")
    assert [d.message for d in rendered.errors] == [
        "one label per display equation: this one has eq:one, eq:three (split it in two)"
    ]


@pytest.mark.parametrize("posts", [4, 16])
def test_previews_index_each_target_once_however_many_posts_refer_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int
) -> None:
    """The work of previews grows with the links, not with links × targets' sizes: each target is indexed once."""
    import primer_site.site.previews

    indexed: list[int] = []
    real = primer_site.site.previews.element_index
    monkeypatch.setattr(
        primer_site.site.previews, "element_index", lambda body: indexed.append(len(body)) or real(body)
    )
    referring = {
        f"content/r{i:02d}.md": post(f"R{i}", "2026-01-10", body="By [](ch03.md#thm:shift) and [](ch03.md#eq:j).")
        for i in range(posts)
    }
    body = CHAPTER_THREE + "\n$$ j $$ (eq:j)\n"
    make_site(tmp_path, {"site.yaml": SITE, "content/ch03.md": post("Three", body=body), **referring})
    out = build(tmp_path)
    assert len(indexed) == 1
    copy = '<div data-preview="/posts/ch03/#thm:shift"><div class="theorem-like theorem">'
    assert copy in page(out, "r00") and copy in page(out, f"r{posts - 1:02d}")


@pytest.mark.parametrize("mode", ["browser", "build"])
def test_a_preview_from_another_series_keeps_its_macros(tmp_path: Path, mode: str) -> None:
    """A copy of another series' equation is typeset with that series' macros, as on its own page: at build
    time the build succeeds (it stopped at an undefined \\E), in the browser math.js finds them on the copy."""
    make_site(
        tmp_path,
        {
            "site.yaml": SITE + f"math: {{render: {mode}}}\n",
            "series/two.md": "---\ntitle: Two\nmacros:\n  \\E: \\mathbb{E}\n---\n",
            "content/ch01.md": post("One", "2026-01-03", series="two", chapter=1, body="$$ \\E[x] $$ (eq:mean)\n"),
            "content/other.md": post("Other", "2026-01-04", body="By [](ch01.md#eq:mean)."),
        },
    )
    out = build(tmp_path)
    other = page(out, "other")
    start = '<div data-preview="/posts/ch01/#eq:mean" data-macros="{&quot;\\\\E&quot;: &quot;\\\\mathbb{E}&quot;}">'
    assert start in other
    copy = other.split(start)[1].split("<div data-preview=")[0]
    if mode == "build":
        assert '<span class="mord mathbb">E</span>' in copy and "katex-error" not in copy
    same_series = page(out, "ch01")
    assert "data-preview" not in same_series
