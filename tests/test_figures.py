"""Figures, captioned tables and labelled equations: one attribute syntax ({#fig:…}, {#tbl:…}, {#eq:…}), numbered per
chapter, referenced from any chapter of any volume, and every misuse a located error."""

from __future__ import annotations

from pathlib import Path

from fixture_sites import make_site, post, run_cli
from primer_site.syntax.markdown import render_body

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="100"/>'


def html_of(body: str, chapter: str = "4") -> str:
    rendered = render_body(body, "content/vol/ch04.md", 5, chapter=chapter)
    assert not rendered.errors, rendered.errors
    return rendered.html


def test_an_image_alone_with_a_title_and_a_label_is_a_numbered_figure() -> None:
    body = '![Attention](attn.svg "Attention weights for one head"){#fig:attention}\n'
    assert html_of(body) == (
        '<figure class="figure" id="fig:attention">\n'
        '<img src="\x00A0\x00" alt="Attention"\x00I0\x00>'
        '<figcaption><span class="figure-number">Figure 4.1:</span> Attention weights for one head</figcaption>\n'
        "</figure>\n"
    )


def test_a_title_alone_makes_an_unnumbered_figure_and_math_in_it_is_math() -> None:
    assert html_of('![A](a.svg "Weights $\\alpha_{ij}$ < 1")\n') == (
        '<figure class="figure">\n<img src="\x00A0\x00" alt="A"\x00I0\x00>'
        '<figcaption>Weights <span class="math inline">\\alpha_{ij}</span> &lt; 1</figcaption>\n</figure>\n'
    )


def test_an_image_in_text_or_without_title_stays_an_image() -> None:
    assert html_of('Look: ![A](a.svg "T") here.\n\n![B](b.svg)\n') == (
        '<p>Look: <img src="\x00A0\x00" alt="A" title="T"\x00I0\x00> here.</p>\n'
        '<p><img src="\x00A1\x00" alt="B"\x00I1\x00></p>\n'
    )


def test_a_table_with_a_caption_and_a_label_is_a_numbered_table() -> None:
    body = "| a | b |\n|---|---|\n| 1 | 2 |\n\n: Tokens *per* step {#tbl:tokens}\n\n![F](f.svg){#fig:f}\n"
    assert html_of(body) == (
        '<figure class="figure table-figure" id="tbl:tokens">\n'
        '<figcaption><span class="figure-number">Table 4.1:</span> Tokens <em>per</em> step</figcaption>\n'
        '<table tabindex="0">\n<thead>\n<tr>\n<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n'
        "<tbody>\n<tr>\n<td>1</td>\n<td>2</td>\n</tr>\n</tbody>\n</table>\n</figure>\n"
        '<figure class="figure" id="fig:f">\n<img src="\x00A0\x00" alt="F"\x00I0\x00>'
        '<figcaption><span class="figure-number">Figure 4.1:</span> F</figcaption>\n</figure>\n'
    )


def test_display_math_takes_the_same_attribute_label() -> None:
    assert html_of("$$ a = b $$ {#eq:ab}\n\nSee [](#eq:ab).\n").startswith(
        '<div class="equation" id="eq:ab"><div class="math display">a = b</div><a class="eqno" href="#eq:ab">(4.1)</a></div>\n'
    )


def test_misused_labels_and_attributes_are_located_errors() -> None:
    body = (
        "Text ![A](a.svg){#fig:inline} more.\n\n"  # line 5
        "![B](b.svg){width=300}\n\n"  # 7
        "![C](c.svg){#tbl:c}\n\n"  # 9
        "| a |\n|---|\n| 1 |\n\n: Cap {#fig:t}\n\n"  # 15
        "| a |\n|---|\n| 1 |\n\n: Cap {#tbl:u .wide}\n\n"  # 21
        "![D](d.svg){#fig:d}\n\n![E](e.svg){#fig:d}\n"  # 23, 25
    )
    rendered = render_body(body, "content/vol/ch04.md", 5, chapter="4")
    assert [str(e) for e in rendered.errors] == [
        "content/vol/ch04.md:5: error: figure 'fig:inline' must be alone in its paragraph, with a blank line before "
        "and after it",
        "content/vol/ch04.md:7: error: image attribute 'width': only an id ({#fig:name}) and classes ({.name}) are "
        "read here",
        "content/vol/ch04.md:9: error: label 'tbl:c' is on an image: a figure's label starts with 'fig:'",
        "content/vol/ch04.md:15: error: label 'fig:t' is on a table: a table's label starts with 'tbl:'",
        "content/vol/ch04.md:21: error: table attribute 'class': only a label ({#tbl:name}) is read here",
        "content/vol/ch04.md:25: error: label 'fig:d' is already a figure's label",
    ]


SERIES = {
    "series/vol-a.md": "---\ntitle: Volume A\n---\n",
    "series/vol-b.md": "---\ntitle: Volume B\n---\n",
}


def test_references_read_figure_and_table_numbers_across_chapters_and_volumes(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            **SERIES,
            "content/a/ch03.md": post(
                "Three",
                series="vol-a",
                chapter=3,
                body='![Map](map.svg "The map"){#fig:map}\n\n![Map 2](map.svg "Again"){#fig:map2}\n\n'
                "| a |\n|---|\n| 1 |\n\n: Counts {#tbl:counts}\n",
            ),
            "content/a/map.svg": SVG,
            "content/b/ch01.md": post(
                "One",
                series="vol-b",
                chapter=1,
                body="See [](../a/ch03.md#fig:map2), [](../a/ch03.md#tbl:counts) and [the map](../a/ch03.md#fig:map).\n",
            ),
        },
    )
    result = run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "public/posts/ch01/index.html").read_text()
    assert (
        '<p>See <a href="/posts/ch03/#fig:map2">Figure 3.2</a>, <a href="/posts/ch03/#tbl:counts">Table 3.1</a> '
        'and <a href="/posts/ch03/#fig:map">the map</a>.</p>'
    ) in page
    chapter = (tmp_path / "public/posts/ch03/index.html").read_text()
    assert '<figcaption><span class="figure-number">Figure 3.2:</span> Again</figcaption>' in chapter


def test_unknown_labels_are_errors_and_scheduled_figures_name_their_release(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            **SERIES,
            "content/a/ch01.md": post(
                "One",
                series="vol-a",
                chapter=1,
                body="[](#fig:nope) and [](ch02.md#tbl:nope)\n\n[](ch02.md#fig:later) and [](ch02.md#tbl:later)\n",
            ),
            "content/a/ch02.md": post(
                "Two",
                date="2026-09-01",
                series="vol-a",
                chapter=2,
                body="![L](l.svg){#fig:later}\n\n| a |\n|---|\n| 1 |\n\n: Later {#tbl:later}\n",
            ),
            "content/a/l.svg": SVG,
        },
    )
    result = run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 1
    assert sorted(line for line in result.stderr.splitlines() if ": error: " in line) == [
        "content/a/ch01.md:7: error: link to '#fig:nope': this post has no figure labelled #fig:nope",
        "content/a/ch01.md:7: error: link to 'ch02.md#tbl:nope': content/a/ch02.md has no table labelled #tbl:nope",
    ]
    (tmp_path / "content/a/ch01.md").write_text(post("One", series="vol-a", chapter=1, body="[](ch02.md#fig:later)\n"))
    result = run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    assert (
        "Figure 2.1, in Chapter 2, out on 1 September 2026</span>"
        in (tmp_path / "public/posts/ch01/index.html").read_text()
    )
    result = run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01", "--future")
    assert result.returncode == 0, result.stderr
    assert '<a href="/posts/ch02/#fig:later">Figure 2.1</a>' in (tmp_path / "public/posts/ch01/index.html").read_text()


def test_a_labelled_image_without_a_title_takes_its_alt_text_as_caption_as_in_pandoc_crossref() -> None:
    assert html_of("![Softmax of the scores $s_i$](softmax.svg){#fig:softmax}\n") == (
        '<figure class="figure" id="fig:softmax">\n'
        '<img src="\x00A0\x00" alt="Softmax of the scores s_i"\x00I0\x00>'
        '<figcaption><span class="figure-number">Figure 4.1:</span> Softmax of the scores '
        '<span class="math inline">s_i</span></figcaption>\n'
        "</figure>\n"
    )


def test_quarto_and_citation_style_forms_and_detached_attributes_are_errors_naming_the_form_to_use(
    tmp_path: Path,
) -> None:
    """Each would otherwise reach the page as literal text, or as a plain image (the new-author trial's 3 and 11)."""
    body = (
        "![Q](a.svg){#fig-quarto}\n\n"  # line 5
        "As @fig:a shows, and [@eq:ab]; see @fig-quarto. Mail me@fig:x, or `@fig:code`.\n\n"  # 7
        '![S](a.svg "Spaced") {#fig:spaced}\n'  # 9
    )
    make_site(tmp_path, {"content/ch.md": post(body=body), "content/a.svg": SVG})
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 1
    assert sorted(line for line in result.stderr.splitlines() if ": error: " in line) == [
        "content/ch.md:5: error: label 'fig-quarto': Quarto's form; primer-site's (pandoc-crossref's) is {#fig:quarto}",
        "content/ch.md:7: error: reference '@eq:ab': write a reference to a label as [](#eq:ab) (its text is made "
        "for you)",
        "content/ch.md:7: error: reference '@fig-quarto': write a reference to a label as [](#fig:quarto) (its "
        "text is made for you)",
        "content/ch.md:7: error: reference '@fig:a': write a reference to a label as [](#fig:a) (its text is made "
        "for you)",
        "content/ch.md:9: error: attributes {#fig:spaced} are apart from the image, so they would show as text: "
        "write them right after it, with no space: ![…](…){#fig:spaced}",
    ]
