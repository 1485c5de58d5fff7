"""Numbered equations and sections, references to them across chapters and volumes, series macros,
math in titles, and reading time."""

from __future__ import annotations

import html
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import build, make_site, post, run_cli
from primer_site.errors import SiteError
from primer_site.math.katexsetup import locate_katex
from primer_site.syntax.katexnumbering import katex_numbering
from primer_site.syntax.markdown import render_body

REPO = Path(__file__).resolve().parents[1]


def numbers(rendered_html: str) -> list[tuple[str, str]]:
    """(id, number) of each numbered equation, in order."""
    return re.findall(
        r'class="equation" id="([^"]*)"><(?:div|span) class="math display">.*?"eqno" href="#[^"]*">\(([^)]*)\)',
        rendered_html,
        re.DOTALL,
    )


# ---------------------------------------------------------------- numbering, in the Markdown stage


def test_labelled_equations_are_numbered_after_the_chapter() -> None:
    body = (
        "$$\na = b\n$$ (eq:first)\n\n"  # dollars with a label after them
        "$$\nc\n$$\n\n"  # no label: no number
        "\\begin{align}\nd &= e \\label{eq:second}\n\\end{align}\n\n"  # \label inside an environment
        "\\[\nf\n\\] (eq:third)\n\n"  # brackets with a label
        "Inline display $$g \\label{eq:fourth}$$ too.\n"
    )
    rendered = render_body(body, "content/v/ch10.md", 5, chapter="10")
    assert numbers(rendered.html) == [
        ("eq:first", "10.1"),
        ("eq:second", "10.2"),
        ("eq:third", "10.3"),
        ("eq:fourth", "10.4"),
    ]
    assert "\\label" not in rendered.html  # KaTeX has no \label: the number is ours
    assert '<div class="math display">c</div>' in rendered.html
    assert (
        '<span class="equation" id="eq:fourth"><span class="math display">g</span><a class="eqno" href="#eq:fourth">(10.4)</a></span>'
        in rendered.html
    )
    assert [(label.id, label.reference_html) for label in rendered.labels if label.kind == "equation"] == [
        ("eq:first", "Eq. (10.1)"),
        ("eq:second", "Eq. (10.2)"),
        ("eq:third", "Eq. (10.3)"),
        ("eq:fourth", "Eq. (10.4)"),
    ]
    assert rendered.errors == ()


def test_a_post_without_a_chapter_counts_plainly() -> None:
    rendered = render_body("$$x$$ (eq:x)\n\n$$y$$ (eq:y)\n", "content/note.md", 5)
    assert numbers(rendered.html) == [("eq:x", "1"), ("eq:y", "2")]


def test_sections_are_numbered_when_the_series_asks() -> None:
    body = "## Setup\n\n### Detail\n\n### More\n\n## Reward modelling\n\n#### Deep\n"
    plain = render_body(body, "c/x.md", 1, chapter="10")
    assert "secno" not in plain.html
    rendered = render_body(body, "c/x.md", 1, chapter="10", number_sections=True)
    assert '<h2 id="reward-modelling"><span class="secno">10.2</span> Reward modelling' in rendered.html
    assert [(h.id, h.html) for h in rendered.headings] == [
        ("setup", '<span class="secno">10.1</span> Setup'),
        ("detail", '<span class="secno">10.1.1</span> Detail'),
        ("more", '<span class="secno">10.1.2</span> More'),
        ("reward-modelling", '<span class="secno">10.2</span> Reward modelling'),
        ("deep", "Deep"),
    ]
    assert rendered.label("reward-modelling").reference_html == "10.2 Reward modelling"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("$$a$$ (eq:a)\n\n$$b$$ (eq:a)\n", "content/x.md:7:1: error: label 'eq:a' is already an equation's label"),
        ("## Intro\n\n$$a$$ (intro)\n", "content/x.md:7:1: error: label 'intro' is already a heading's label"),
        (
            # two labels on one row of an align (a label on each row numbers each row)
            "\\begin{align}\na \\label{eq:a} \\label{eq:b} \\\\\nb\n\\end{align}\n",
            "content/x.md:5:1: error: one label per display equation: this one has eq:a, eq:b (split it in two)",
        ),
    ],
)
def test_label_mistakes_are_located(body: str, message: str) -> None:
    assert [str(d) for d in render_body(body, "content/x.md", 5).errors] == [message]


# ---------------------------------------------------------------- one numbering per page: KaTeX's or ours


def katex_numbers(formulas: list[str]) -> list[tuple[int, bool]]:
    """What KaTeX shows at the right of each display formula, rendered as math.js renders it: how many automatic
    numbers, and whether there is a number (or \\tag) column at all."""
    script = (
        f"const katex = require({json.dumps(str(REPO / 'node_modules' / 'katex'))});"
        "const formulas = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(formulas.map(tex => katex.renderToString(tex, {displayMode: true, "
        "throwOnError: true, strict: 'ignore'}).split('katex-html')[1]).map(html => "
        "[html.split('class=\"eqn-num\"').length - 1, html.includes('class=\"katex-tag\"')])));"
    )
    node = str(locate_katex(REPO).node)
    done = subprocess.run([node, "-e", script], input=json.dumps(formulas), capture_output=True, text=True, check=True)
    return [(count, tagged) for count, tagged in json.loads(done.stdout)]


# Display formulas KaTeX numbers in every way it has: automatic rows, \tag, and what stops either
NUMBERING_CORPUS = [
    "x = y",
    "x = y \\tag{7}",
    "x \\tag*{A}",
    "\\begin{equation} a \\end{equation}",
    "\\begin{equation*} a \\end{equation*}",
    "\\begin{equation}\\begin{split} a &= b \\\\ &= c \\end{split}\\end{equation}",
    "\\begin{align} a &= b \\\\ c &= d \\end{align}",
    "\\begin{align}\na &= b \\\\\n\\end{align}",  # a trailing \\ makes an empty row, numbered, as in amsmath
    "\\begin{align} a &= b \\\\ c &= d \\\\[4pt] e \\end{align}",
    "\\begin{align} a &= b \\nonumber \\\\ c &= d \\end{align}",
    "\\begin{align} a &= b \\tag{x} \\\\ c &= d \\notag \\end{align}",
    "\\begin{align} \\begin{aligned} a \\\\ b \\end{aligned} \\\\ c \\end{align}",
    "\\begin{align} \\begin{pmatrix} a \\\\ b \\end{pmatrix} \\end{align}",
    "\\begin{align} a % \\\\ \\tag{2} in a comment\n \\end{align}",
    "\\begin{align*} a \\\\ b \\end{align*}",
    "\\begin{gather} a \\\\ b \\end{gather}",
    "\\begin{gather*} a \\\\ b \\tag{3} \\end{gather*}",
    "\\begin{alignat}{2} a &= b & c &= d \\\\ e &= f & g &= h \\end{alignat}",
    "\\begin{alignat*}{2} a &= b & c &= d \\end{alignat*}",
]


@pytest.mark.parametrize("tex", NUMBERING_CORPUS)
def test_katex_numbers_what_primer_site_predicts_and_none_on_a_labelled_display(tex: str) -> None:
    """The differential test: KaTeX's own count of the numbers it shows, against katex_numbering's; and on a
    labelled display either one number (ours: KaTeX shows none) or an error, never two."""
    tags, environments = katex_numbering(tex)
    automatic = sum(e.numbered_rows for e in environments)
    labelled = render_body(f"$$\n{tex}\n$$ {{#eq:x}}\n", "content/x.md", 5, chapter="3")
    [sent] = [f.tex for f in labelled.formulas]
    shown, shown_labelled = katex_numbers([tex, sent])
    assert shown == (automatic, bool(automatic or tags))
    if not labelled.errors:
        assert shown_labelled == (0, False)  # only our number
    if labelled.errors:
        assert tags or any(e.rows - e.trailing_empty > 1 for e in environments)
    else:
        assert numbers(labelled.html) == [("eq:x", "3.1")]


def test_a_labelled_environment_is_starred_so_that_katex_makes_no_number() -> None:
    body = (
        "\\begin{align}\na &= b \\label{eq:a} \\\\\n\\end{align}\n\n"
        "\\begin{alignat}{2}\nx &= 1 & y &= 2 \\label{eq:b}\n\\end{alignat}\n\n"
        "\\begin{equation}\n\\begin{split}\nc &= d \\\\\n&= e\n\\end{split} \\label{eq:c}\n\\end{equation}\n\n"
        "$$ u \\tag{*} $$\n\n"  # an unlabelled \\tag is the author's own mark: no reference can name it
        "\\begin{gather}\nv \\nonumber \\\\ w \\notag\n\\end{gather}\n"  # nothing numbered
    )
    rendered = render_body(body, "content/x.md", 5, chapter="2")
    assert rendered.errors == ()
    assert numbers(rendered.html) == [("eq:a", "2.1"), ("eq:b", "2.2"), ("eq:c", "2.3")]
    assert [f.tex for f in rendered.formulas] == [
        "\\begin{align*}\na &= b  \\\\\n\\end{align*}",
        "\\begin{alignat*}{2}\nx &= 1 & y &= 2 \n\\end{alignat*}",
        "\\begin{equation*}\n\\begin{split}\nc &= d \\\\\n&= e\n\\end{split} \n\\end{equation*}",
        "u \\tag{*}",
        "\\begin{gather}\nv \\nonumber \\\\ w \\notag\n\\end{gather}",
    ]
    # a page without labels keeps KaTeX's numbers: one numbering, KaTeX's
    plain = render_body("\\begin{align}\na \\\\ b\n\\end{align}\n", "content/x.md", 5)
    assert (plain.errors, [f.tex for f in plain.formulas]) == ((), ["\\begin{align}\na \\\\ b\n\\end{align}"])


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        (
            "$$ x = y \\tag{7} $$ {#eq:t}\n",
            [
                "content/x.md:5:1: error: equation 'eq:t' has a label, which numbers it (4.1), and \\tag, which "
                "KaTeX shows as a second number: drop one"
            ],
        ),
        (
            "Text.\n\n\\begin{align}\na &= b \\\\\n&= c \\label{eq:a}\n\\end{align}\n",
            [
                "content/x.md:7:1: error: label 'eq:a' is on a {align} of 2 rows, each of which KaTeX would number: "
                "write \\begin{align*} for one number, the label's, or split it into displays with a label each"
            ],
        ),
        (
            "\\begin{equation}\nu\n\\end{equation}\n\n$$ v $$ (eq:v)\n\n\\begin{gather}\na \\\\ b\n\\end{gather}\n",
            [
                "content/x.md:5:1: error: KaTeX numbers this {equation} itself, (1), (2)… down the page, beside the "
                "labelled equations' numbers (4.1…): write \\begin{equation*} for no number, or give it a label",
                "content/x.md:11:1: error: KaTeX numbers this {gather} itself, (1), (2)… down the page, beside the "
                "labelled equations' numbers (4.1…): write \\begin{gather*} for no number, or give it a label",
            ],
        ),
    ],
)
def test_two_numberings_on_one_page_are_errors_at_their_lines(body: str, messages: list[str]) -> None:
    assert [str(d) for d in render_body(body, "content/x.md", 5, chapter="4").errors] == messages


def test_the_page_shows_one_number_per_equation_in_both_modes_and_the_feed_agrees(tmp_path: Path) -> None:
    body = (
        "\\begin{equation}\ng = h \\label{eq:g}\n\\end{equation}\n\n"
        "\\begin{align*}\na &= b \\\\\n&= c\n\\end{align*}\n\n"
        "\\begin{align}\nd &= e \\label{eq:d}\n\\end{align}\n\n"
        "See [](#eq:g) and [](#eq:d).\n"
    )
    pages = {}
    for mode in ("browser", "build"):
        site = make_site(
            tmp_path / mode,
            {
                "site.yaml": f"title: T\nbase_url: https://example.org/\nmath: {{render: {mode}}}\nfeeds: {{content: full}}\n",
                "series/s.md": "---\ntitle: S\n---\n",
                "content/a.md": post("A", series="s", chapter=3, body=body),
            },
        )
        result = run_cli("build", "-s", str(site), "--now", "2026-06-01")
        assert result.returncode == 0, result.stderr
        pages[mode] = page(site / "public", "a")
        assert numbers(pages[mode]) == [("eq:g", "3.1"), ("eq:d", "3.2")]
        assert '<a href="#eq:g">Eq. (3.1)</a>' in pages[mode] and '<a href="#eq:d">Eq. (3.2)</a>' in pages[mode]
        feed = (site / "public" / "feed.xml").read_text(encoding="utf-8")
        assert "eqn-num" not in feed and "mlabeledtr" not in feed and "(3.2)" in feed
    # typeset at build time: KaTeX made no number of its own, in the HTML or in the MathML
    assert re.findall(r'class="(eqn-num|mml-eqn-num|katex-tag)"', pages["build"]) == []
    assert pages["build"].count('class="katex-display"') == 3
    # in the browser math.js typesets the same TeX
    assert "\\begin{equation*}" in pages["browser"] and "\\begin{align*}\nd &amp;= e" in pages["browser"]


# ---------------------------------------------------------------- references across chapters and volumes


def two_volumes(root: Path, **extra: str) -> Path:
    """Volume One numbers its sections; Volume Two does not, and has macros. Chapter 11 is scheduled."""
    files = {
        "site.yaml": "title: T\nbase_url: https://example.org/\nmacros:\n  \\R: \\mathbb{R}\n",
        "series/vol1.md": "---\ntitle: Volume One\nnumber_sections: true\n---\n",
        "series/vol2.md": "---\ntitle: Volume Two\nmacros:\n  \\KL: D_{\\mathrm{KL}}\n  \\R: \\mathbf{R}\n---\n",
        "content/vol1/ch01.md": post(
            "Entropy",
            series="vol1",
            chapter=1,
            body=(
                "## Entropy\n\n$$\nH = -\\sum p \\log p\n$$ (eq:entropy)\n\n"
                "### Cross-entropy\n\n\\begin{equation}\nH(p,q) = H(p) + D \\label{eq:ce}\n\\end{equation}\n\n"
                "Here [](#eq:ce) and [](#entropy); there [](../vol2/ch10.md#eq:kl), "
                "[the KL term](../vol2/ch10.md#eq:kl) and [](../vol2/ch10.md#reward-modelling).\n"
            ),
        ),
        "content/vol2/ch10.md": post(
            "Alignment",
            date="2026-01-06",
            series="vol2",
            chapter=10,
            summary='"The $\\\\KL$ term"',
            body=(
                "## Setup\n\n$$a$$ (eq:a)\n\n$$b$$ (eq:b)\n\n## Reward modelling\n\n"
                "\\[\n\\KL(p \\| q)\n\\] (eq:kl)\n\n"
                "Back to [](../vol1/ch01.md#eq:ce) under [](../vol1/ch01.md#cross-entropy), in [](../vol1/ch01.md).\n"
            ),
        ),
        "content/vol2/ch11.md": post("Later", date="2026-12-01", series="vol2", chapter=11, body="$$z$$ (eq:future)\n"),
        "content/note.md": post("A note", date="2026-01-07", body="$$x$$ (eq:x)\n\nAs [](#eq:x) shows.\n"),
    }
    files.update(extra)
    return make_site(root, files)


def page(out: Path, slug: str) -> str:
    return (out / "posts" / slug / "index.html").read_text(encoding="utf-8")


def test_references_render_the_number_and_link_to_the_equation(tmp_path: Path) -> None:
    out = build(two_volumes(tmp_path))
    ch01, ch10, note = page(out, "ch01"), page(out, "ch10"), page(out, "note")
    assert numbers(ch01) == [("eq:entropy", "1.1"), ("eq:ce", "1.2")]
    assert numbers(ch10) == [("eq:a", "10.1"), ("eq:b", "10.2"), ("eq:kl", "10.3")]
    assert numbers(note) == [("eq:x", "1")]
    # in the same post, in another volume, with the link's own text, to a heading
    assert '<a href="#eq:ce">Eq. (1.2)</a>' in ch01
    assert '<a href="#entropy">1.1 Entropy</a>' in ch01
    assert '<a href="/posts/ch10/#eq:kl">Eq. (10.3)</a>' in ch01
    assert '<a href="/posts/ch10/#eq:kl">the KL term</a>' in ch01
    assert '<a href="/posts/ch10/#reward-modelling">Reward modelling</a>' in ch01  # volume two: no numbers
    assert '<a href="/posts/ch01/#eq:ce">Eq. (1.2)</a>' in ch10
    assert '<a href="/posts/ch01/#cross-entropy">1.1.1 Cross-entropy</a>' in ch10
    assert '<a href="/posts/ch01/">Entropy</a>' in ch10  # an empty link to a post: its title
    # a reference in the first paragraph, the default summary, reads as text in the description
    assert '<meta name="description" content="Here Eq. (1.2) and 1.1 Entropy; there Eq. (10.3), the KL term' in ch01
    assert '<a href="#eq:x">Eq. (1)</a>' in note
    # the anchors exist, and sections are numbered in volume one only
    assert 'id="eq:kl"' in ch10 and '<span class="secno">1.1.1</span> Cross-entropy' in ch01
    assert "secno" not in ch10.partition('<div class="previews"')[0]  # its previews show volume one's


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "See [](#eq:nope).",
            "content/extra.md:5: error: link to '#eq:nope': this post has no equation labelled #eq:nope",
        ),
        (
            "Text.\n\nSee [](vol2/ch10.md#eq:nope).",
            "content/extra.md:7: error: link to 'vol2/ch10.md#eq:nope': content/vol2/ch10.md has no equation labelled #eq:nope",
        ),
        (
            "See [](#no-such-heading).",
            "content/extra.md:5: error: link to '#no-such-heading': this post has no heading or id #no-such-heading",
        ),
    ],
)
def test_an_unknown_label_is_an_error_at_its_line(tmp_path: Path, body: str, message: str) -> None:
    site = two_volumes(tmp_path, **{"content/extra.md": post("Extra", body=body)})
    with pytest.raises(SiteError) as failure:
        build(site)
    assert [str(d) for d in failure.value.diagnostics] == [message]


def test_a_reference_to_a_scheduled_chapters_equation_names_its_release_until_then(tmp_path: Path) -> None:
    site = two_volumes(tmp_path, **{"content/extra.md": post("Extra", body="Soon: [](vol2/ch11.md#eq:future).")})
    out = build(site)
    assert (
        '<span class="link-scheduled" title="Coming on 2026-12-01">Eq. (11.1), in Chapter 11, out on 1 December 2026'
        "</span>" in page(out, "extra")
    )
    assert "/posts/ch11/" not in page(out, "extra")
    out = build(site, future=True)
    assert '<a href="/posts/ch11/#eq:future">Eq. (11.1)</a>' in page(out, "extra")


def test_a_scheduled_post_may_refer_to_what_goes_live_after_it(tmp_path: Path) -> None:
    """On its own day it names the later chapter's release; on that chapter's day the same source links."""
    early = post("Early", date="2026-11-20", body="Soon: [](vol2/ch11.md#eq:future).\n\nAnd [](vol2/ch11.md).")
    site = two_volumes(tmp_path, **{"content/early.md": early})
    checked = run_cli("check", "-s", str(site), "--now", "2026-11-20")
    assert checked.returncode == 0, checked.stderr
    out = build(site, now=datetime(2026, 11, 20, tzinfo=UTC))
    assert "Eq. (11.1), in Chapter 11, out on 1 December 2026</span>" in page(out, "early")
    out = build(site, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert '<a href="/posts/ch11/#eq:future">Eq. (11.1)</a>' in page(out, "early")
    # a misspelt label is an error on every day
    make_site(site, {"content/early.md": post("Early", date="2026-11-20", body="[](vol2/ch11.md#eq:futur)")})
    with pytest.raises(SiteError) as failure:
        build(site)
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/early.md:5: error: link to 'vol2/ch11.md#eq:futur': content/vol2/ch11.md has no equation "
        "labelled #eq:futur"
    ]


# ---------------------------------------------------------------- macros, titles, reading time


def macros_on(page_html: str) -> list[dict[str, str]]:
    return [json.loads(html.unescape(m)) for m in re.findall(r'data-macros="([^"]*)"', page_html)]


def test_series_macros_reach_katex_on_their_pages(tmp_path: Path) -> None:
    out = build(two_volumes(tmp_path))
    volume_two = {"\\KL": "D_{\\mathrm{KL}}", "\\R": "\\mathbf{R}"}  # the series' \R overrides the site's
    # ch10's page is volume two's; the hidden previews of what it cites in volume one keep volume one's macros
    ch10 = page(out, "ch10")
    assert macros_on(ch10)[0] == volume_two
    assert all(m in (volume_two, {"\\R": "\\mathbb{R}"}) for m in macros_on(ch10))
    shown = ch10.split('<div class="previews"')[0]
    assert macros_on(shown) == [volume_two]
    ch01 = page(out, "ch01")
    assert macros_on(ch01.split('<div class="previews"')[0]) == [{"\\R": "\\mathbb{R}"}]
    assert all(m in (volume_two, {"\\R": "\\mathbb{R}"}) for m in macros_on(ch01))
    assert macros_on((out / "series/vol2/index.html").read_text()) == [volume_two]
    # the home page lists both volumes: the page's macros are on <body>, and an entry whose series has other
    # macros carries them (math.js, and the build's typesetting, give a formula those of its nearest holder)
    home = (out / "index.html").read_text()
    assert macros_on(home) == [{"\\R": "\\mathbb{R}"}, volume_two]
    assert re.search(r'<body data-macros="[^"]*">', home)
    assert re.search(r'<script src="/js/math\.[0-9a-f]{8}\.js"></script>', home)


def test_math_in_titles_is_typeset_on_listings_and_plain_where_only_text_goes(tmp_path: Path) -> None:
    title = "Entropy $H(X)$ & <b>"
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\n",
            "series/s.md": "---\ntitle: S\n---\n",
            "content/a.md": post(title, series="s", chapter=1, summary="'No math here.'", body="Plain text."),
            "content/b.md": post("Next", date="2026-01-06", series="s", chapter=2, body="Plain."),
        },
    )
    out = build(site)
    typeset = 'Entropy <span class="math inline">H(X)</span> &amp; &lt;b&gt;'
    home, listing = (out / "index.html").read_text(), (out / "series/s/index.html").read_text()
    for shown in (home, listing, page(out, "a"), page(out, "b")):  # b: in its "previous chapter" link
        assert typeset in shown
        assert "katex.min.js" in shown  # the title's math is typeset
    article = page(out, "a")
    assert "<title>Entropy H(X) &amp; &lt;b&gt; · T</title>" in article
    assert '<meta property="og:title" content="Entropy H(X) &amp; &lt;b&gt;">' in article
    h1 = re.search(r'<h1 class="post-title">(.*?)</h1>', article).group(1)  # what the search index reads
    assert html.unescape(re.sub(r"<[^>]+>", "", h1)) == "Entropy H(X) & <b>"
    atom = ET.parse(out / "feed.xml").getroot()
    titles = [e.text for e in atom.iter("{http://www.w3.org/2005/Atom}title")]
    assert "Entropy H(X) & <b>" in titles
    assert {i["title"] for i in json.loads((out / "feed.json").read_text())["items"]} == {"Entropy H(X) & <b>", "Next"}


def test_a_display_equation_counts_ten_seconds_of_reading(tmp_path: Path) -> None:
    long_tex = "\\alpha + " * 200 + "x"
    equations = "\n\n".join(f"$$\n{long_tex}\n$$" for _ in range(30))  # 30 × 10 s = 5 minutes
    site = make_site(tmp_path, {"content/a.md": post("A", body="Ten words " * 5 + "\n\n" + equations)})
    assert "· 5 min read" in page(build(site), "a")
