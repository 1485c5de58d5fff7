"""The whole volume on one page (/series/<slug>/print/): chapters in series order with their own numbers, ids
unique, links between chapters in-page, only published chapters, rebuilt only when a chapter changes."""

from __future__ import annotations

import random
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import FrameType

import html5lib

from fixture_sites import build_result as build
from fixture_sites import make_site, post
from primer_site.commands.build import BuildMemory
from primer_site.rendering import book
from primer_site.rendering.book import print_body

SITE = (
    "title: T\nbase_url: https://example.org/\ntimezone: UTC\nbibliography: content/refs.bib\nmath: {render: build}\n"
)
REFS = "@book{knuth, author={Donald Knuth}, title={The TeXbook}, year={1984}, publisher={AW}}\n"
ONE = """## Intro {#intro}

$$
a=b
$$ {#eq:ab}

![A dot](dot.svg)

![A square](square.svg)

::: theorem {#thm:a}
True.
:::

See [](#eq:ab) and [@knuth].
"""
TWO = """By [](ch01.md#thm:a) and [](ch01.md#eq:ab) in [](ch01.md).

$$
c=d
$$ {#eq:cd}
"""
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'


def volume(root: Path) -> Path:
    """A volume of three chapters, the third scheduled after NOW."""
    return make_site(
        root,
        {
            "site.yaml": SITE,
            "content/refs.bib": REFS,
            "series/vol.md": "---\ntitle: Vol\nchapters: 3\n---\nA volume.\n",
            "content/ch01.md": post("One", "2026-01-01", ONE, series="vol", chapter=1),
            "content/ch02.md": post("Two", "2026-01-02", TWO, series="vol", chapter=2),
            "content/ch03.md": post("Three", "2026-12-30", "Later.", series="vol", chapter=3),
            "content/dot.svg": SVG,
            "content/square.svg": SVG,
        },
    )


def print_page(site: Path) -> str:
    return (site / "public/series/vol/print/index.html").read_text(encoding="utf-8")


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.fragments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids[value] += 1
            if name == "href" and value and value.startswith("#"):
                self.fragments.append(value[1:])


def test_the_volume_on_one_page_with_the_chapters_numbers_and_prefixed_ids(tmp_path: Path) -> None:
    site = volume(tmp_path)
    build(site)
    page = print_page(site)
    assert '<h1 class="book-title">Vol</h1>' in page
    assert '<li><a href="#ch-ch01"><span class="chapter-number">Chapter 1</span> One</a></li>' in page
    assert page.index('id="ch-ch01"') < page.index('id="ch-ch02"')
    assert '<h2 id="ch-ch01--intro">Intro <a class="anchor" href="#ch-ch01--intro"' in page
    assert (
        '<div class="equation" id="ch-ch01--eq:ab">' in page
        and '<a class="eqno" href="#ch-ch01--eq:ab">(1.1)</a>' in page
    )
    assert '<a class="eqno" href="#ch-ch02--eq:cd">(2.1)</a>' in page
    assert '<div class="theorem-like theorem" id="ch-ch01--thm:a">' in page
    assert (
        '<p>See <a href="#ch-ch01--eq:ab">Eq. (1.1)</a> and <span class="citation">(<a href="#ch-ch01--ref-knuth">'
        in page
    )
    assert '<li id="ch-ch01--ref-knuth">Knuth, Donald. 1984. <i>The TeXbook</i>. AW.</li>' in page
    # the volume's references, each linking to where a chapter cites it
    assert '<li id="book-ref-knuth">Knuth, Donald. 1984.' in page
    assert 'Cited in <a href="#ch-ch01--ref-knuth">Chapter 1: One</a>.' in page


def test_references_between_chapters_become_in_page_links(tmp_path: Path) -> None:
    site = volume(tmp_path)
    build(site)
    page = print_page(site)
    assert (
        '<p>By <a href="#ch-ch01--thm:a">Theorem 1.1</a> and <a href="#ch-ch01--eq:ab">Eq. (1.1)</a> in '
        '<a href="#ch-ch01">One</a>.</p>'
    ) in page
    # the chapter's own page keeps its links between pages
    two = (site / "public/posts/ch02/index.html").read_text(encoding="utf-8")
    assert '<a href="/posts/ch01/#thm:a">Theorem 1.1</a>' in two


def test_every_id_is_unique_and_every_in_page_link_resolves(tmp_path: Path) -> None:
    site = volume(tmp_path)
    build(site)
    found = _Ids()
    found.feed(print_page(site))
    assert [name for name, count in found.ids.items() if count > 1] == []
    assert [fragment for fragment in found.fragments if fragment not in found.ids] == []
    assert len(found.fragments) >= 8


def test_images_load_eagerly(tmp_path: Path) -> None:
    site = volume(tmp_path)
    build(site)
    one = (site / "public/posts/ch01/index.html").read_text(encoding="utf-8")
    assert 'loading="lazy"' in one  # the chapter page loads its second image lazily
    page = print_page(site)
    assert 'loading="lazy"' not in page and '<img src="/square.svg" alt="A square"' in page


def test_only_published_chapters_and_the_series_page_links_to_it(tmp_path: Path) -> None:
    site = volume(tmp_path)
    build(site)
    page = print_page(site)
    assert "Three" not in page and "ch03" not in page
    series = (site / "public/series/vol/index.html").read_text(encoding="utf-8")
    assert '<p class="series-print"><a href="/series/vol/print/">The whole volume on one page</a>' in series


def test_a_series_without_a_published_chapter_has_no_print_page(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "series/vol.md": "---\ntitle: Vol\n---\n",
            "content/ch01.md": post("One", "2026-12-01", "Later.", series="vol", chapter=1),
        },
    )
    build(site)
    assert not (site / "public/series/vol/print").exists()
    assert "series-print" not in (site / "public/series/vol/index.html").read_text(encoding="utf-8")


def test_a_second_build_renders_nothing_and_a_chapter_edit_re_renders_the_print_page(tmp_path: Path) -> None:
    site = volume(tmp_path)
    memory = BuildMemory()
    assert "series/vol/print/index.html" in build(site, memory).rendered
    assert build(site, memory).rendered == ()
    (site / "content/ch02.md").write_text(post("Two", "2026-01-02", TWO + "\nA new line.\n", series="vol", chapter=2))
    rendered = build(site, memory).rendered
    assert "series/vol/print/index.html" in rendered and "posts/ch01/index.html" not in rendered
    assert "A new line." in print_page(site)


def test_the_rewrite_keeps_every_other_byte() -> None:
    body = (
        '<p class=x>Text &amp; more &#169;<!-- note --><svg viewBox="0 0 1 1"><use xlink:href="#dot"/></svg>'
        "<a href='/elsewhere/#x'>out</a> <label for=name>N</label><input id=name></p>"
        '<script>if (a < b) { location.hash = "#x" }</script><img src="a.png" loading=lazy alt="">'
    )
    got = print_body(body, "c1", ["/posts/c1/"], ["c1"])
    assert got == (
        '<p class=x>Text &amp; more &#169;<!-- note --><svg viewBox="0 0 1 1"><use xlink:href="#ch-c1--dot"/></svg>'
        '<a href=\'/elsewhere/#x\'>out</a> <label for="ch-c1--name">N</label><input id="ch-c1--name"></p>'
        '<script>if (a < b) { location.hash = "#x" }</script><img src="a.png" alt="">'
    )


def test_svg_references_by_url_follow_their_prefixed_ids() -> None:
    body = (
        '<svg viewBox="0 0 2 2"><linearGradient id="g"/><rect fill="url(#g)" style="stroke: url(\'#g\')" '
        'width="2" height="2" mask="none"/></svg>'
    )
    assert print_body(body, "c1", [], []) == (
        '<svg viewBox="0 0 2 2"><linearGradient id="ch-c1--g"/><rect fill="url(#ch-c1--g)" '
        'style="stroke: url(&#x27;#ch-c1--g&#x27;)" width="2" height="2" mask="none"/></svg>'
    )


def _lines_run(body: str) -> int:
    """Python lines book's scan runs over `body` (its own and _rewrites'; the attribute rewrite's are not counted)."""
    code = {book._scan.__code__, book._rewrites.__code__}
    lines = 0

    def trace(frame: FrameType, event: str, arg: object) -> object:
        nonlocal lines
        if frame.f_code not in code:
            return None
        if event == "line":
            lines += 1
        return trace

    sys.settrace(trace)
    try:
        print_body(body, f"c{len(body)}", [], [])
    finally:
        sys.settrace(None)
    return lines


def test_the_rewrite_is_linear_and_quiet_tags_cost_no_python() -> None:
    """Tags that change nothing (text, end tags, comments, classes, svg paths) are skipped by one regex: the Python
    lines run do not grow with them; each tag that is rewritten costs the same few lines."""
    quiet = (
        '<p class="x">Text &amp; <em>more</em> <!-- a <b> comment --><span class=math>x</span> '
        "<a class='plain' title=\"see\">no link</a><IMG SRC=a.png alt='A'><br/></p>\n"
    )
    assert _lines_run(quiet * 1000) == _lines_run(quiet * 2000) == _lines_run(quiet * 4000)
    # an <svg> is read in Python (it changes how its content is read), the paths in it are not
    svg = "<svg viewBox='0 0 1 1'>{}</svg>"
    path = '<path d="M0 0" fill="red" stroke=\'none\'/><![CDATA[ <a href="#x"> ]]>'
    assert _lines_run(svg.format(path * 1000)) == _lines_run(svg.format(path * 2000))
    loud = '<p id="a"><a href="#a">x</a></p><i style="fill: url(#url(#a"></i>'
    one, two, four = (_lines_run(loud * n) for n in (1000, 2000, 4000))
    assert four - two == 2 * (two - one) and two - one < 60 * 1000  # a few dozen lines per rewritten tag


def _old_print_body(body: str, slug: str, urls: tuple[str, ...], slugs: tuple[str, ...]) -> str:
    """The rewrite as html.parser's tokenizer drove it (before the scan): the oracle where both read alike."""
    rewriter = book._Rewriter(book.chapter_prefix(slug), book._targets(urls, slugs))
    rewriter.feed(body)
    rewriter.close()
    return "".join(rewriter.pieces)


def _old_document_body(body: str, urls: tuple[str, ...], documents: tuple[str, ...]) -> str:
    rewriter = book._DocumentRewriter(dict(zip(urls, documents, strict=True)))
    rewriter.feed(body)
    rewriter.close()
    return "".join(rewriter.pieces)


def _random_body(rng: random.Random) -> str:
    """A chapter body as the renderer writes them, and as authors' raw HTML may: in every quoting and case."""

    def quote(value: str) -> str:
        return rng.choice([f'"{value}"', f"'{value}'", value if value and " " not in value else f'"{value}"'])

    ident = lambda: rng.choice(["intro", "eq:ab", "thm:a", "fn1", "g", "x-y", "ref-knuth", "a&amp;b", "&#101;q"])  # noqa: E731
    href = lambda: rng.choice(  # noqa: E731
        ["#" + ident(), "#", "/posts/c1/", "/posts/c2/#" + ident(), "/posts/c3/#x", "https://example.org/#a",
         "/posts/c2/", "mailto:a@b.c", "/posts/c1/#a&amp;b"]
    )  # fmt: skip
    parts = [
        lambda: f'<h2 id={quote(ident())}>Title <a class="anchor" href={quote(href())}>#</a></h2>\n',
        lambda: f"<p>See <a href={quote(href())}>this</a> &amp; <A HREF={quote(href())} class=x>that</a>.</p>\n",
        lambda: f'<sup class="footnote-ref"><a href="#fn{rng.randint(1, 3)}" id="fnref{rng.randint(1, 3)}">1</a></sup>',
        lambda: (
            f'<figure id={quote(ident())}><img src="a.png" alt="A &lt; b" loading={quote("lazy")}>'
            "<figcaption>Cap</figcaption></figure>\n"
        ),
        lambda: (
            "<svg viewBox='0 0 2 2'><defs><linearGradient id=\"g\"/></defs>"
            f"<rect fill={quote('url(#g)')} stroke=\"url('#g')\" style='fill: url(\"#g\")' mask=none/>"
            f'<use xlink:href={quote("#" + ident())}/><path d="M0 0L1 1" fill="red"/></svg>\n'
        ),
        lambda: '<!-- a comment with <a href="#x"> inside -->',
        lambda: f"<script>if (a<b) {{ x = '<a href=\"#{ident()}\">' }}</script>\n",
        lambda: "<style>p > a[href='#x'] { color: red }</style>",
        lambda: "<textarea>plain text &amp; more</textarea>",
        lambda: f"<DIV CLASS=theorem ID={quote(ident())}><P>Text</p></div>",
        lambda: f"<label for={quote(ident())}>L</label><input id={quote(ident())} list=a form=f>",
        lambda: f"<td headers={quote(ident() + ' ' + ident())}>1</td><div aria-labelledby='a b'>x</div>",
        lambda: "<br/><hr><p>x < y and y > z, &#169; &copy; &#x3c;</p>\n",
        lambda: '<span class="math inline">\\(a<b\\)</span>',
        lambda: f"<a href={quote(href())}/><img src=x.png data-x=\"fill:url(#g)\" title='url(#g)'>",
    ]
    return "".join(rng.choice(parts)() for _ in range(rng.randint(0, 30)))


def test_the_scan_gives_what_html_parser_gave_on_every_body_both_read_alike() -> None:
    rng = random.Random(20261207)
    urls, slugs, documents = ("/posts/c1/", "/posts/c2/"), ("c1", "c2"), ("c1.xhtml", "c2.xhtml")
    for _ in range(2000):
        body = _random_body(rng)
        assert print_body(body, "c1", urls, slugs) == _old_print_body(body, "c1", urls, slugs), body
        assert book.document_body(body, urls, documents) == _old_document_body(body, urls, documents), body


def test_the_scan_reads_as_the_html_standard_where_html_parser_did_not() -> None:
    """html.parser lowercased end tags, read tags in <textarea> and foreign <style>, cut CDATA sections, and added
    the ";" of a reference written without one; the standard's tokenizer (and so the browser) does none of it."""
    body = (
        '<DIV ID=a>x</DIV ><textarea><a href="#a"></textarea><svg><style>a{}</style><![CDATA[ <a href="#a"> ]]>'
        '<a xlink:href="#a"/></svg>&amp x<xmp><p id=a></xmp><title><b id=a></title>'
    )
    assert print_body(body, "c", [], []) == (
        '<DIV ID="ch-c--a">x</DIV ><textarea><a href="#a"></textarea><svg><style>a{}</style><![CDATA[ <a href="#a"> ]]>'
        '<a xlink:href="#ch-c--a"/></svg>&amp x<xmp><p id=a></xmp><title><b id=a></title>'
    )
    # the browser's DOM has the ids and links the scan gives
    document = html5lib.parse(print_body(body, "c", [], []), namespaceHTMLElements=False)
    assert [e.get("id") for e in document.iter() if e.get("id")] == ["ch-c--a"]
    assert [v for e in document.iter() for k, v in e.attrib.items() if k.endswith("href")] == ["#ch-c--a"]


def test_a_chapter_whose_title_names_its_number_is_not_labelled_twice(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\ntimezone: UTC\n",
            "series/vol.md": "---\ntitle: Vol\nchapters: 2\n---\nA volume.\n",
            "content/ch01.md": post("Chapter 1 — Tokens", "2026-01-01", "Text.", series="vol", chapter=1),
            "content/ch02.md": post("Embeddings", "2026-01-02", "Text.", series="vol", chapter=2),
        },
    )
    build(site)
    page = print_page(site)
    assert page.count("Chapter 1") == 2  # the table of contents and the chapter's heading, each once
    assert '<span class="chapter-number">Chapter 2</span> Embeddings' in page
    assert '<p class="chapter-number">Chapter 2</p>' in page
    assert '<p class="chapter-number">Chapter 1</p>' not in page
