"""Citations: pandoc's syntax read from BibTeX, both styles, References, the volume page, feeds, cite-this, errors."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_sites import NOW, build_result, make_site, post, run_cli
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.sources.bibliography import parse_bibtex, tex_to_text
from primer_site.syntax.citations import parse_bracketed
from primer_site.syntax.markdown import render_body

REFS = r"""
@article{vaswani2017,
  title = {Attention Is All You Need},
  author = {Vaswani, Ashish and Shazeer, Noam and Parmar, Niki},
  journal = {Advances in Neural Information Processing Systems},
  volume = {30},
  pages = {5998--6008},
  year = {2017}
}
@misc{rafailov2023,
  title = {Direct Preference Optimization},
  author = {Rafailov, Rafael and Sharma, Archit},
  year = {2023},
  eprint = {2305.18290},
  archivePrefix = {arXiv}
}
@misc{rafailov2023b,
  title = {A Second Paper},
  author = {Rafailov, Rafael and Sharma, Archit},
  year = {2023}
}
@book{scholkopf2002,
  title = {Learning with Kernels},
  author = {Sch{\"o}lkopf, Bernhard and Smola, Alexander J.},
  publisher = {MIT Press},
  address = {Cambridge, MA},
  year = {2002}
}
@inproceedings{ouyang2022,
  title = {Training Language Models to Follow Instructions with Human Feedback},
  author = {Ouyang, Long and others},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2022},
  doi = {10.48550/arXiv.2203.02155}
}
"""


def build(root: Path, files: dict[str, str], **options: object) -> Path:
    make_site(root, files)
    build_result(root, **{"cache": True, **options})
    return root / "public"


def body_of(page: str) -> str:
    return page.split('<div class="post-body">', 1)[1].split("</div>\n", 1)[0].strip()


def errors_of(root: Path, files: dict[str, str]) -> list[str]:
    make_site(root, files)
    with pytest.raises(SiteError) as caught:
        build_site(BuildOptions(source=root, output=root / "public", now=NOW, jobs=1))
    return [str(d) for d in caught.value.diagnostics]


SITE = "title: T\nbase_url: https://example.org/\nbibliography: content/refs.bib\n"


def one_post(tmp_path: Path, body: str, site: str = SITE, **front: object) -> str:
    out = build(tmp_path, {"site.yaml": site, "content/refs.bib": REFS, "content/a.md": post("A", body=body, **front)})
    return body_of((out / "posts/a/index.html").read_text())


# Syntax -------------------------------------------------------------------------------------------------------------


def test_each_syntax_form_in_author_year(tmp_path: Path) -> None:
    body = one_post(
        tmp_path,
        "A [@vaswani2017]. B [@vaswani2017, sec. 4]. C [@vaswani2017; @scholkopf2002]. "
        "D [see @vaswani2017, p. 3; @scholkopf2002]. E [-@scholkopf2002]. @scholkopf2002 show.",
    )
    first = body.split("<section", 1)[0]
    v = '<a href="#ref-vaswani2017">Vaswani et al. 2017</a>'
    s = '<a href="#ref-scholkopf2002">Schölkopf and Smola 2002</a>'
    assert first == (
        f'<p>A <span class="citation">({v})</span>. '
        f'B <span class="citation">({v}, sec. 4)</span>. '
        f'C <span class="citation">({v}; {s})</span>. '
        f'D <span class="citation">(see {v}, p. 3; {s})</span>. '
        'E <span class="citation">(<a href="#ref-scholkopf2002">2002</a>)</span>. '
        '<span class="citation"><a href="#ref-scholkopf2002">Schölkopf and Smola (2002)</a></span> show.</p>\n'
    )


def test_what_is_never_a_citation(tmp_path: Path) -> None:
    body = one_post(
        tmp_path,
        "Mail me@example.org, `@vaswani2017`, $@x$, [@vaswani2017](https://x.org/), \\@vaswani2017, "
        "[text](https://x.org/@vaswani2017).",
    )
    assert "<section" not in body  # nothing cited
    assert body == (
        '<p>Mail me@example.org, <code>@vaswani2017</code>, <span class="math inline">@x</span>, '
        '<a href="https://x.org/">@vaswani2017</a>, @vaswani2017, <a href="https://x.org/@vaswani2017">text</a>.</p>'
    )


def test_label_prefixes_keep_their_error(tmp_path: Path) -> None:
    found = errors_of(
        tmp_path, {"site.yaml": SITE, "content/refs.bib": REFS, "content/a.md": post("A", body="See @fig:x.")}
    )
    assert found == [
        "content/a.md:5: error: reference '@fig:x': write a reference to a label as [](#fig:x) (its text is made "
        "for you)"
    ]


def test_parse_bracketed_reads_pandoc_items() -> None:
    items = parse_bracketed("see @a, p. 3; -@b; @c sec. 2")
    assert items is not None
    assert [(i.key, i.prefix, i.suffix, i.year_only) for i in items] == [
        ("a", "see", "p. 3", False),
        ("b", "", "", True),
        ("c", "", "sec. 2", False),
    ]
    assert parse_bracketed("just text; @a") is None  # every part names a key, or it is no citation
    assert parse_bracketed("@fig:x") is None


def test_citations_in_footnotes_captions_and_admonitions(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir(parents=True)
    (tmp_path / "content/a.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"/>')
    body = one_post(
        tmp_path,
        "Text.[^1]\n\n[^1]: A note [@vaswani2017].\n\n"
        '![Alt](a.svg "Caption [@scholkopf2002]")\n\n'
        "| a |\n|---|\n| 1 |\n\n: Budgets [@rafailov2023] {#tbl:b}\n\n"
        "::: note\nAs @ouyang2022 show.\n:::\n",
    )
    assert '<li id="ref-vaswani2017">' in body
    assert re.search(r'<figcaption>.*ref-scholkopf2002">Schölkopf and Smola 2002</a>', body)
    assert re.search(
        r'Table 1:</span> Budgets <span class="citation">.*ref-rafailov2023">Rafailov and Sharma 2023</a>', body
    )
    assert 'ref-ouyang2022">Ouyang et al. (2022)</a>' in body.split("admonition", 1)[1]
    assert "footnote" in body.split("ref-vaswani2017", 1)[0]


# Styles -------------------------------------------------------------------------------------------------------------


def test_author_year_tells_years_apart_and_lists_what_is_cited(tmp_path: Path) -> None:
    body = one_post(tmp_path, "[@rafailov2023b] and [@rafailov2023]. Also @vaswani2017.")
    # the letters follow the reference list's order: author, year, then title ("A Second…" before "Direct…")
    assert '<a href="#ref-rafailov2023b">Rafailov and Sharma 2023a</a>' in body
    assert '<a href="#ref-rafailov2023">Rafailov and Sharma 2023b</a>' in body
    ids = re.findall(r'<li id="([^"]+)">', body)
    assert ids == ["ref-rafailov2023b", "ref-rafailov2023", "ref-vaswani2017"]
    assert '<h2 id="references">References</h2>' in body


def test_numeric_numbers_in_order_of_first_citation_and_collapses_ranges(tmp_path: Path) -> None:
    site = SITE + "citations: {style: numeric}\n"
    body = one_post(
        tmp_path,
        "[@scholkopf2002]. [@vaswani2017; @ouyang2022; @scholkopf2002; @rafailov2023]. @vaswani2017 show. "
        "[@vaswani2017, p. 3]",
        site=site,
    )
    text = body.split("<section", 1)[0]
    link = '<a href="#ref-{}">{}</a>'
    assert f'<span class="citation">[{link.format("scholkopf2002", 1)}]</span>' in text
    span = f"[{link.format('scholkopf2002', 1)}–{link.format('rafailov2023', 4)}]"
    assert f'<span class="citation">{span}</span>' in text
    assert f'<span class="citation">Vaswani et al. [{link.format("vaswani2017", 2)}]</span>' in text
    assert f'<span class="citation">[{link.format("vaswani2017", 2)}, p. 3]</span>' in text
    assert re.findall(r'<li id="([^"]+)"><span class="ref-label">\[(\d)\]', body) == [
        ("ref-scholkopf2002", "1"),
        ("ref-vaswani2017", "2"),
        ("ref-ouyang2022", "3"),
        ("ref-rafailov2023", "4"),
    ]


def test_entries_by_type(tmp_path: Path) -> None:
    body = one_post(tmp_path, "[@vaswani2017; @rafailov2023; @scholkopf2002; @ouyang2022]")
    entries = dict(re.findall(r'<li id="ref-([^"]+)">(.*)</li>', body))
    assert entries["vaswani2017"] == (
        "Vaswani, Ashish, Noam Shazeer, and Niki Parmar. 2017. “Attention Is All You Need.” "
        "<i>Advances in Neural Information Processing Systems</i> 30: 5998–6008."
    )
    assert entries["rafailov2023"] == (
        "Rafailov, Rafael, and Archit Sharma. 2023. “Direct Preference Optimization.” "
        '<a href="https://arxiv.org/abs/2305.18290">arXiv:2305.18290</a>.'
    )
    assert entries["scholkopf2002"] == (
        "Schölkopf, Bernhard, and Alexander J. Smola. 2002. <i>Learning with Kernels</i>. Cambridge, MA: MIT Press."
    )
    assert entries["ouyang2022"] == (
        "Ouyang, Long, et al. 2022. “Training Language Models to Follow Instructions with Human Feedback.” In "
        "<i>Advances in Neural Information Processing Systems</i>. "
        '<a href="https://doi.org/10.48550/arXiv.2203.02155">https://doi.org/10.48550/arXiv.2203.02155</a>.'
    )


def test_theses_reports_and_web_pages(tmp_path: Path) -> None:
    refs = r"""
    @phdthesis{t, author={Doe, Jane}, title={On Things}, school={MIT}, year=2020}
    @mastersthesis{m, author={Roe, Rick}, title={Less}, school={ETH}, year=2019}
    @techreport{r, author={Poe, Ed}, title={Report}, institution={Lab}, number={7}, year=2018}
    @incollection{c, author={Low, Al}, title={Chap}, booktitle={Book}, editor={Eds, Ed}, pages={1--2}, year=2017, publisher={Pub}}
    @inbook{i, author={Knuth, Donald E.}, title={The Art of Computer Programming}, chapter={Sorting}, year=1998}
    @online{w, author={{OpenAI}}, title={GPT-4 Blog}, url={https://openai.com/research/gpt-4}, year=2023, urldate={2024-01-02}}
    """
    out = build(
        tmp_path,
        {"site.yaml": SITE, "content/refs.bib": refs, "content/a.md": post("A", body="[@t; @m; @r; @c; @i; @w]")},
    )
    entries = dict(re.findall(r'<li id="ref-([^"]+)">(.*)</li>', (out / "posts/a/index.html").read_text()))
    assert entries["t"] == "Doe, Jane. 2020. “On Things.” PhD diss., MIT."
    assert entries["m"] == "Roe, Rick. 2019. “Less.” Master’s thesis, ETH."
    assert entries["r"] == "Poe, Ed. 2018. “Report.” Technical report 7. Lab."
    assert entries["c"] == "Low, Al. 2017. “Chap.” In <i>Book</i>, edited by Ed Eds, 1–2. Pub."
    assert entries["i"] == "Knuth, Donald E. 1998. “Sorting.” In <i>The Art of Computer Programming</i>."
    assert entries["w"] == (
        'OpenAI. 2023. “GPT-4 Blog.” <a href="https://openai.com/research/gpt-4">https://openai.com/research/gpt-4</a>.'
        " Accessed 2024-01-02."
    )


def test_bib_text_is_escaped_and_its_math_is_math(tmp_path: Path) -> None:
    refs = r"@misc{x, author={<b>Evil</b> & Co}, title={Bounds on $O(n^2)$ <script>alert(1)</script> -- now}, year=2020, url={javascript:alert(1)}}"
    out = build(tmp_path, {"site.yaml": SITE, "content/refs.bib": refs, "content/a.md": post("A", body="[@x]")})
    page = (out / "posts/a/index.html").read_text()
    entry = re.search(r'<li id="ref-x">(.*)</li>', page).group(1)  # type: ignore[union-attr]
    assert "<script>" not in page.split("</head>", 1)[1].replace('<script src="', "")
    assert entry == (
        '&lt;b&gt;Evil&lt;/b&gt; &amp; Co. 2020. “Bounds on <span class="math inline">O(n^2)</span> '
        "&lt;script&gt;alert(1)&lt;/script&gt; – now.” javascript:alert(1)."
    )
    assert "katex" in page  # the title's formula is typeset like any other


def test_tex_becomes_text() -> None:
    assert (
        tex_to_text(r"Sch{\"o}lkopf -- pages 1--3 \& {BERT} \'{e}t\'e --- ok")
        == "Schölkopf – pages 1–3 & BERT été — ok"
    )
    assert tex_to_text(r"Bounds $O(\sqrt{n})$ in {\em emphasis}") == r"Bounds $O(\sqrt{n})$ in emphasis"


# Where they show ----------------------------------------------------------------------------------------------------


def volume(tmp_path: Path) -> Path:
    files = {
        "site.yaml": SITE + "authors: [Jane Doe]\n",
        "content/refs.bib": REFS,
        "series/vol.md": "---\ntitle: Volume One\n---\nAbout it.\n",
        "content/c1.md": post("One", "2026-01-01", "[@vaswani2017] and [@scholkopf2002].", series="vol", chapter=1),
        "content/c2.md": post("Two", "2026-02-01", "@vaswani2017 again.", series="vol", chapter=2),
        "content/c3.md": post("Three", "2027-01-01", "Later [@ouyang2022].", series="vol", chapter=3),
    }
    return build(tmp_path, files)


def test_the_volume_references_page(tmp_path: Path) -> None:
    out = volume(tmp_path)
    page = (out / "series/vol/references/index.html").read_text()
    assert re.findall(r'<li id="ref-([^"]+)">', page) == ["scholkopf2002", "vaswani2017"]  # not the scheduled one
    cited_in = re.search(r'id="ref-vaswani2017">.*?<span class="cited-in">(.*?)</span>', page, re.DOTALL)
    assert cited_in is not None
    assert cited_in.group(1) == (
        'Cited in <a href="/posts/c1/#ref-vaswani2017">Chapter 1: One</a>, '
        '<a href="/posts/c2/#ref-vaswani2017">Chapter 2: Two</a>.'
    )
    assert '<a href="/series/vol/references/">References</a>' in (out / "series/vol/index.html").read_text()


def test_feeds_carry_citations_as_text_and_the_references(tmp_path: Path) -> None:
    files = {
        "site.yaml": SITE + "feeds: {content: full}\n",
        "content/refs.bib": REFS,
        "content/a.md": post("A", body="As [@vaswani2017] show."),
    }
    out = build(tmp_path, files)
    feed = (out / "feed.xml").read_text()
    assert "Vaswani et al. 2017" in feed
    assert "References" in feed and "Attention Is All You Need" in feed
    assert "\x00" not in feed and "\ufffd" not in feed


def test_cite_this_chapter(tmp_path: Path) -> None:
    files = {
        "site.yaml": SITE + "authors: [Jane Doe]\n",
        "content/refs.bib": REFS,
        "series/vol.md": "---\ntitle: Volume & 100% of_it\nauthors: [Ann Lee, 'Kim, Bo']\n---\n",
        "content/c1.md": post("Risk & 5% my_var", "2026-01-01", "Text.", series="vol", chapter=1, doi="10.1/x"),
        "content/solo.md": post("Solo", "2026-01-02", "Text."),
    }
    out = build(tmp_path, files)
    page = (out / "posts/c1/index.html").read_text()
    head = page.split("</head>", 1)[0]
    assert '<meta name="citation_title" content="Risk &amp; 5% my_var">' in head
    assert re.findall(r'<meta name="citation_author" content="([^"]+)">', head) == ["Ann Lee", "Kim, Bo"]
    assert '<meta name="citation_publication_date" content="2026/01/01">' in head
    assert '<meta name="citation_doi" content="10.1/x">' in head
    bib = (out / "posts/c1/cite.bib").read_text()
    assert bib == (
        "@incollection{lee2026-c1,\n"
        "  author = {Ann Lee and Kim, Bo},\n"
        "  title = {{Risk \\& 5\\% my\\_var}},\n"
        "  booktitle = {{Volume \\& 100\\% of\\_it}},\n"
        "  chapter = {1},\n"
        "  year = {2026},\n"
        "  month = jan,\n"
        "  doi = {10.1/x},\n"
        "  url = {https://example.org/posts/c1/}\n"
        "}\n"
    )
    assert "Risk \\&amp; 5\\% my\\_var" in page  # the same entry shown, escaped for HTML
    assert 'data-copy="cite-bibtex"' in page
    solo = (out / "posts/solo/cite.bib").read_text()
    assert solo.startswith("@online{doe2026-solo,\n  author = {Jane Doe},")


def test_no_authors_no_cite_block(tmp_path: Path) -> None:
    out = build(tmp_path, {"site.yaml": SITE, "content/refs.bib": REFS, "content/a.md": post("A")})
    page = (out / "posts/a/index.html").read_text()
    assert "citation_title" not in page and 'class="cite"' not in page
    assert not (out / "posts/a/cite.bib").exists()


# Sources ------------------------------------------------------------------------------------------------------------


def test_a_post_sees_the_union_nearest_first(tmp_path: Path) -> None:
    near = "@misc{vaswani2017, author={Near, N.}, title={Nearer}, year=1999}\n@misc{own, author={Own, O.}, title={O}, year=2001}"
    files = {
        "site.yaml": SITE,
        "content/refs.bib": REFS,
        "series/vol.md": "---\ntitle: V\nbibliography: [../content/vol/vol.bib]\n---\n",
        "content/vol/vol.bib": "@misc{volkey, author={Vol, V.}, title={V}, year=2005}",
        "content/vol/near.bib": near,
        "content/vol/a.md": post(
            "A", body="[@vaswani2017; @own; @volkey; @scholkopf2002]", series="vol", chapter=1, bibliography="near.bib"
        ),
    }
    out = build(tmp_path, files)
    body = body_of((out / "posts/a/index.html").read_text())
    assert "Near 1999" in body and "Own 2001" in body and "Vol 2005" in body and "Schölkopf and Smola 2002" in body


def test_without_a_bibliography_in_text_at_is_text_and_brackets_are_errors(tmp_path: Path) -> None:
    out = build(tmp_path / "a", {"content/a.md": post("A", body="Follow @someone.")})
    assert "<p>Follow @someone.</p>" in (out / "posts/a/index.html").read_text()
    found = errors_of(tmp_path / "b", {"content/a.md": post("A", body="Cited [@someone].")})
    assert found == [
        "content/a.md:5:7: error: citation [@someone]: no bibliography for this post: name a .bib file with "
        "'bibliography: refs.bib' in its front matter, its series file or site.yaml"
    ]


# Errors -------------------------------------------------------------------------------------------------------------


def test_unknown_keys_at_line_and_column_with_the_nearest_key(tmp_path: Path) -> None:
    body = "First line.\n\nSee [@vaswani2071] and\n  @nobody here."
    found = errors_of(tmp_path, {"site.yaml": SITE, "content/refs.bib": REFS, "content/a.md": post("A", body=body)})
    assert found == [
        "content/a.md:7:5: error: citation [@vaswani2071]: no entry 'vaswani2071' in content/refs.bib (did you mean "
        '"@vaswani2017"?)',
        "content/a.md:8:3: error: citation @nobody: no entry 'nobody' in content/refs.bib (an @ that is no citation: "
        "write \\@)",
    ]


def test_bib_file_errors_at_their_lines(tmp_path: Path) -> None:
    refs = REFS.lstrip("\n") + "@article{vaswani2017, title={Again}}\n@misc{late title={x}}\n@misc{open, title={x}\n"
    found = errors_of(tmp_path, {"site.yaml": SITE, "content/refs.bib": refs, "content/a.md": post("A")})
    first_line = 1 + REFS.lstrip("\n").count("\n")
    assert found == [
        f"content/refs.bib:{first_line}: error: BibTeX: key 'vaswani2017' is already the key of the entry at content/refs.bib:1: "
        "rename one",
        f"content/refs.bib:{first_line + 1}: error: BibTeX syntax error: Expected comma after entry key, but found =",
        f"content/refs.bib:{first_line + 2}: error: BibTeX syntax error: Unexpectedly reached end of file",
    ]


def test_bibliography_settings_are_checked(tmp_path: Path) -> None:
    site = (
        "title: T\nbase_url: https://example.org/\nbibliography: {a: 1}\ncitations: {style: harvard}\nauthors: {a: b}\n"
    )
    found = errors_of(tmp_path, {"site.yaml": site, "content/a.md": post("A", bibliography="../../x.bib")})
    assert found == [
        "content/a.md:4: error: bibliography: '../../x.bib' is outside the site's folder",
        "site.yaml:3: error: bibliography: expected a .bib file's path, or a list of them (relative to this file)",
        "site.yaml:4: error: citations: style: 'harvard' is not author-year or numeric",
        "site.yaml:5: error: authors: expected an author's name, or a list of names",
    ]


def test_a_missing_bib_file(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "a", {"site.yaml": SITE, "content/a.md": post("A")}) == [
        "site.yaml:3: error: bibliography: no such file content/refs.bib"
    ]
    files = {"site.yaml": SITE, "content/refs.bib": REFS, "content/a.md": post("A", bibliography="[x.bib]")}
    assert errors_of(tmp_path / "b", files) == ["content/a.md:4: error: bibliography: no such file content/x.bib"]
    outside = {"site.yaml": SITE.replace("content/refs.bib", "refs.bib"), "refs.bib": REFS, "content/a.md": post("A")}
    assert errors_of(tmp_path / "c", outside) == [
        "site.yaml:3: error: bibliography: refs.bib is outside content/ and series/: move it there, where builds and "
        "the preview see it change"
    ]


def test_the_cli_exits_1_and_names_the_bib_line(tmp_path: Path) -> None:
    make_site(tmp_path, {"site.yaml": SITE, "content/refs.bib": "@misc{a, title={x}}\n@misc{a, title={y}}\n"})
    result = run_cli("build", "-s", str(tmp_path))
    assert result.returncode == 1
    assert (
        "refs.bib:2: error: BibTeX: key 'a' is already the key of the entry at content/refs.bib:1: rename one"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_parse_bibtex_keeps_going_after_an_error() -> None:
    entries, problems = parse_bibtex("@misc{a, title={x}}\n@misc{b, title={y}\n@misc{c, title={z}}\n", "r.bib")
    assert [e.key for e in entries] == ["a", "c"]
    assert [str(p) for p in problems] == [
        "r.bib:2: error: BibTeX syntax error: the entry is not closed before the next one starts (a missing '}' or ',')"
    ]


# Incremental --------------------------------------------------------------------------------------------------------


def test_editing_one_entry_re_renders_exactly_the_pages_citing_it(tmp_path: Path) -> None:
    root = tmp_path / "site"
    make_site(
        root,
        {
            "site.yaml": SITE,
            "content/refs.bib": REFS,
            "series/vol.md": "---\ntitle: V\n---\n",
            "content/c1.md": post("One", "2026-01-01", "[@vaswani2017]", series="vol", chapter=1),
            "content/c2.md": post("Two", "2026-01-02", "[@scholkopf2002]", series="vol", chapter=2),
            "content/c3.md": post("Three", "2026-01-03", "No citation.", series="vol", chapter=3),
        },
    )
    memory = BuildMemory()
    options = BuildOptions(source=root, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False)
    build_site(options, memory)
    assert build_site(options, memory).rendered == ()  # nothing changed: nothing rendered
    (root / "content/refs.bib").write_text(REFS.replace("Learning with Kernels", "Learning with Kernels, Revised"))
    rendered = set(build_site(options, memory, {"content/refs.bib"}).rendered)  # as the preview's watcher tells it
    # the citing chapter and the volume's references page (feeds carry summaries here, which cite nothing)
    # the chapter, the volume's references, and the volume on one page (which ends with its references)
    assert rendered == {"posts/c2/index.html", "series/vol/references/index.html", "series/vol/print/index.html"}
    assert "Learning with Kernels, Revised" in (tmp_path / "out/posts/c2/index.html").read_text()


def test_a_second_build_in_a_new_process_writes_nothing_and_an_edit_writes_the_citing_pages(tmp_path: Path) -> None:
    root = tmp_path / "site"
    make_site(
        root,
        {
            "site.yaml": SITE,
            "content/refs.bib": REFS,
            "content/a.md": post("A", "2026-01-01", "[@vaswani2017]"),
            "content/b.md": post("B", "2026-01-02", "[@scholkopf2002]"),
        },
    )
    options = BuildOptions(source=root, output=tmp_path / "out", now=NOW, jobs=1)
    build_site(options)
    assert build_site(options).written == 0
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*.html")}
    (root / "content/refs.bib").write_text(REFS.replace("Attention Is All You Need", "Attention Is Not All"))
    build_site(options)
    changed = {p.relative_to(tmp_path / "out").as_posix() for p, data in before.items() if p.read_bytes() != data}
    assert changed == {"posts/a/index.html"}


# Linear work ----------------------------------------------------------------------------------------------------------


def _lines_run(text: str) -> int:
    """Python lines executed in the citation rules while one body renders: work, counted without a clock."""
    import primer_site.syntax.citations as module

    count = 0

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if frame.f_code.co_filename == module.__file__:
            if event == "line":
                count += 1
            return tracer
        return None

    sys.settrace(tracer)
    try:
        render_body(text, "content/a.md", 1)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.parametrize(
    "unit",
    ["[see @a, p. 3; @b] and @c, mail x@y.org. ", "[[[[@a ", "[ @ @ @ @ @ [ ", "@a@b@c@d ", "[@a](u) *@b* "],
)
def test_reading_citations_is_linear(unit: str) -> None:
    small, large = _lines_run(unit * 200), _lines_run(unit * 800)
    assert large <= 4.5 * small


def test_an_author_heading_named_references_keeps_ids_unique(tmp_path: Path) -> None:
    body = one_post(tmp_path, "## References\n\nSee [@vaswani2017].")
    assert re.findall(r'id="(references[^"]*)"', body) == ["references", "references-2"]
    assert '<section class="references" role="doc-bibliography" aria-labelledby="references-2">' in body


def test_a_post_s_own_bibliography_and_authors_survive_the_document_cache(tmp_path: Path) -> None:
    """A second build in a new process reads the post from .primer-cache/: its bibliography:, authors: and doi: too."""
    root = make_site(
        tmp_path / "site",
        {
            "content/refs.bib": REFS,
            "content/a.md": post(
                "A", "2026-01-01", "[@vaswani2017]", bibliography="refs.bib", authors="[Ann Lee]", doi="10.1/a"
            ),
            "content/b.md": post("B", "2026-01-02", "Text."),
        },
    )
    options = BuildOptions(source=root, output=tmp_path / "out", now=NOW, jobs=1)
    build_site(options)
    (root / "content/b.md").write_text(post("B", "2026-01-02", "Other text."))  # a change: the build runs again
    build_site(options)
    page = (tmp_path / "out/posts/a/index.html").read_text()
    assert '<li id="ref-vaswani2017">' in page
    assert '<meta name="citation_author" content="Ann Lee">' in page
    assert '<meta name="citation_doi" content="10.1/a">' in page


def test_the_document_cache_keeps_every_field_of_a_post() -> None:
    """Each Document field, set, comes back from the document cache as it was (a field added later and left out of
    the cache fails here, not on a reader's second build)."""
    import dataclasses

    from primer_site.caches import documentrows
    from primer_site.errors import Problems
    from primer_site.model import ChapterNumber
    from primer_site.sources.parse import Document

    document = Document(
        source="content/a.md",
        title="T",
        date=datetime(2026, 1, 5, tzinfo=UTC),
        body="Body.",
        body_first_line=9,
        key_lines={"title": 2},
        summary="S",
        description="D",
        series="s",
        chapter=ChapterNumber("3"),
        tags=("a",),
        category="c",
        slug="t",
        draft=True,
        updated=datetime(2026, 1, 6, tzinfo=UTC),
        extra=(("k", "v"),),
        bibliography=("content/refs.bib",),
        authors=("Ann Lee",),
        doi="10.1/x",
        macros=(("\\vv", "\\mathbf{v}"),),
    )
    defaults = Document("x", "x", datetime(2000, 1, 1, tzinfo=UTC), "", 1, {})
    unset = [f.name for f in dataclasses.fields(Document) if getattr(document, f.name) == getattr(defaults, f.name)]
    assert unset == [], "set every field here"
    encoded = documentrows.encode_post((document, "digest"), [])
    assert encoded is not None
    entry = ("", "", encoded[0], encoded[1])
    assert documentrows.decode_post(entry, document.source, Problems()) == (document, "digest")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="[]@;-, ab1`$\n*:.!()^#\\", max_size=80))
def test_any_text_reads_and_resolves_without_a_stray_placeholder(text: str) -> None:
    from primer_site.site.citeformat import resolve_citations
    from primer_site.sources.bibliography import BibEntry

    body = render_body(text, "content/a.md", 1)
    indices = [int(i) for i in re.findall("(?:\x00C|\ue000)(\\d+)(?:\x00|\ue001)", body.html)]
    assert len(indices) == len(set(indices)) and all(i < len(body.citations) for i in indices)
    keys = {item.key for c in body.citations for item in c.items}
    bib = {k: BibEntry(k, "misc", (("title", "T"), ("year", "2020")), (), (), "refs.bib", 1) for k in keys}
    for bibliography in ({}, bib):
        (html,), _, _ = resolve_citations([body.html], body.citations, bibliography, "author-year", ("a.md", 1), [])
        assert "\x00" not in html and "\ue000" not in html


def test_a_series_description_cannot_cite(tmp_path: Path) -> None:
    files = {
        "site.yaml": SITE,
        "content/refs.bib": REFS,
        "series/vol.md": "---\ntitle: V\n---\nFollow @someone.\n\nAs [@vaswani2017] shows.\n",
        "content/a.md": post("A", series="vol", chapter=1),
    }
    assert errors_of(tmp_path, files) == [
        "series/vol.md:6: error: citation [@vaswani2017]: a series description has no References: cite in a chapter"
    ]


def test_a_front_matter_summary_cannot_cite(tmp_path: Path) -> None:
    files = {
        "site.yaml": SITE,
        "content/refs.bib": REFS,
        "content/a.md": post("A", summary="'As [@vaswani2017] show.'"),
    }
    assert errors_of(tmp_path, files) == [
        "content/a.md:4: error: summary: citation [@vaswani2017]: a summary is shown without References (on listings "
        "and in feeds): name the work in words, and cite it in the body"
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab {}-`'~$!?_^ 1", max_size=40))
def test_tex_without_commands_reads_as_pylatexenc_reads_it(text: str) -> None:
    """tex_to_text does text with no command itself (pylatexenc is slow): the same text pylatexenc gives."""
    from primer_site.sources.bibliography import _latex

    assert tex_to_text(text) == " ".join(_latex().latex_to_text(text).split())
