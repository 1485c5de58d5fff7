"""A volume as an EPUB 3 (/series/<slug>/<slug>.epub), and the `books:` setting that asks for it (and for a PDF)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import make_site, post
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.model import Books
from primer_site.sources.config import KATEX_VERSION

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BASE = "title: T\nbase_url: https://example.org/\ntimezone: UTC\n"


# ---------------------------------------------------------------- the books setting


def _settings_site(root: Path, site_books: str = "", series_books: str = "") -> Path:
    series = "---\ntitle: Vol\n" + (f"books: {series_books}\n" if series_books else "") + "---\nA volume.\n"
    other = "---\ntitle: Other\n---\nAnother.\n"
    return make_site(
        root,
        {
            "site.yaml": BASE + (f"books: {site_books}\n" if site_books else ""),
            "series/vol.md": series,
            "series/other.md": other,
            "content/a.md": post("A", "2026-01-01", "Text.", series="vol", chapter=1),
            "content/b.md": post("B", "2026-01-01", "Text.", series="other", chapter=1),
        },
    )


def _settings_build(site: Path):
    return build_site(BuildOptions(source=site, now=NOW, cache=False, jobs=1, keep_going=True))


@pytest.mark.browser  # the site asks for a PDF, which Chromium renders
def test_books_in_site_yaml_apply_to_every_series_and_a_series_file_overrides_them_key_by_key(
    tmp_path: Path,
) -> None:
    result = _settings_build(_settings_site(tmp_path, "{pdf: true}", "{pdf: false, epub: true}"))
    assert result.errors == ()
    assert result.site is not None
    books = {one.slug: one.books for one in result.site.series}
    assert books == {"vol": Books(epub=True, pdf=False), "other": Books(epub=False, pdf=True)}
    assert [one.slug for one in result.site.series_wanting("pdf")] == ["other"]
    assert [one.slug for one in result.site.series_wanting("epub")] == ["vol"]


def test_no_books_setting_writes_no_book(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path))
    assert result.site is not None
    assert result.site.series_wanting("epub") == () == result.site.series_wanting("pdf")
    assert not list((tmp_path / "public").rglob("*.epub"))


@pytest.mark.browser  # the site asks for a PDF, which Chromium renders
def test_pdf_alone_is_read_for_the_pdf_writer(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "", "{pdf: true}"))
    assert result.errors == ()
    assert result.site is not None
    assert [one.slug for one in result.site.series_wanting("pdf")] == ["vol"]
    assert result.site.series_wanting("epub") == ()


def test_unknown_books_keys_and_values_that_are_not_booleans_are_errors_at_their_line(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "{epbu: true}", "{pdf: 'yes please'}"))
    assert sorted(str(d) for d in result.errors) == [
        "series/vol.md:3: error: books: pdf: expected true or false, got 'yes please'",
        "site.yaml:4: error: books: unknown key 'epbu' (did you mean \"epub\"?) (known keys: epub, pdf)",
    ]


def test_books_that_is_not_a_mapping_is_an_error_naming_the_keys(tmp_path: Path) -> None:
    result = _settings_build(_settings_site(tmp_path, "true"))
    assert [str(d) for d in result.errors] == [
        "site.yaml:4: error: books: expected a mapping such as {epub: true, pdf: true} (keys: epub, pdf), got True"
    ]


def test_a_collection_file_with_books_is_an_error(tmp_path: Path) -> None:
    site = _settings_site(tmp_path)
    (site / "series/shelf.md").write_text("---\ntitle: Shelf\nkind: collection\nbooks: {epub: true}\n---\n")
    result = _settings_build(site)
    assert [str(d) for d in result.errors] == [
        "series/shelf.md:4: error: books: a collection is not written as one book: set `books:` in the files of its "
        "series"
    ]


# ---------------------------------------------------------------- the EPUB of a fixture volume

XHTML = "{http://www.w3.org/1999/xhtml}"
MATHML = "{http://www.w3.org/1998/Math/MathML}"
OPF = "{http://www.idpf.org/2007/opf}"
EPUB_SITE = BASE + "language: en\nbibliography: content/refs.bib\nauthors: [Ada Lovelace]\n"
REFS = "@book{knuth, author={Donald Knuth}, title={The Art of Computer Programming}, year={1968}, publisher={AW}}\n"
ONE = r"""## Intro {#intro}

Inline $x^2 < y$ &nbsp;and&mdash;text &copy; 2026.

$$
a=b
$$ {#eq:ab}

$$
\begin{align}
f(x) &= x^2 \label{eq:first}\\
g(x) &= 2x \label{eq:second}
\end{align}
$$

![A dot](dot.png){#fig:dot}

| a | b |
|---|---|
| 1 | 2 |

: Numbers {#tbl:n}

::: theorem {#thm:a}
True for $n$ below $\lambda_{\max}$.
:::

::: proof
Obvious.
:::

```python
def f(x):
    return x < 2
```

See [](#eq:ab) and [@knuth].[^1]

[^1]: A note.
"""
TWO = r"""By [](ch01.md#thm:a), [](ch01.md#eq:second) and [](ch01.md#fig:dot) in [](ch01.md).

$$
c=d
$$ {#eq:cd}
"""
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def epub_volume(root: Path) -> Path:
    """Two published chapters of a volume that asks for an EPUB, and a third scheduled after NOW."""
    site = make_site(
        root,
        {
            "site.yaml": EPUB_SITE,
            "content/refs.bib": REFS,
            "series/vol.md": "---\ntitle: Vol & <One>\nchapters: 3\nbooks: {epub: true}\n---\nA volume.\n",
            "content/ch01.md": post("One", "2026-01-01", ONE, series="vol", chapter=1),
            "content/ch02.md": post("Two $x$", "2026-01-02", TWO, series="vol", chapter=2),
            "content/ch03.md": post("Three", "2026-12-30", "Later $z$.", series="vol", chapter=3),
        },
    )
    (site / "content/dot.png").write_bytes(PNG)
    return site


def epub_build(site: Path, now: datetime = NOW, memory: BuildMemory | None = None):
    return build_site(BuildOptions(source=site, now=now, cache=False, jobs=1), memory)


EPUB_PATH = "public/series/vol/vol.epub"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = epub_volume(tmp_path_factory.mktemp("epub"))
    epub_build(site)
    return site


def _read(site: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(site / EPUB_PATH) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def epubcheck(path: Path) -> subprocess.CompletedProcess[str]:
    """EPUBCheck on `path` (Debian's package installs /usr/bin/epubcheck as the jar itself, run by java)."""
    found = shutil.which("epubcheck")
    assert found is not None, "epubcheck is not installed: .ci/run installs it (apt-get install epubcheck)"
    command = ["java", "-jar", found] if Path(found).resolve().suffix == ".jar" else [found]
    return subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=300)


@pytest.mark.browser  # EPUBCheck runs under Java
def test_the_epub_passes_epubcheck_with_no_error_and_no_warning(built: Path) -> None:
    result = epubcheck(built / EPUB_PATH)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Messages: 0 fatals / 0 errors / 0 warnings / 0 infos" in result.stdout, result.stdout + result.stderr


def test_mimetype_comes_first_stored_and_every_entry_has_a_fixed_time(built: Path) -> None:
    with zipfile.ZipFile(built / EPUB_PATH) as archive:
        infos = archive.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert (built / EPUB_PATH).read_bytes()[30:38] == b"mimetype"  # the OCF's "magic": right after the header
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_the_package_lists_the_published_chapters_in_order_and_marks_those_with_math(built: Path) -> None:
    files = _read(built)
    package = ET.fromstring(files["EPUB/content.opf"])
    items = {item.get("id"): item for item in package.iter(f"{OPF}item")}
    spine = [ref.get("idref") for ref in package.iter(f"{OPF}itemref")]
    assert spine == ["title", "nav", "c001", "c002"]
    assert items["c001"].get("properties") == "mathml" and items["c002"].get("properties") == "mathml"
    assert items["nav"].get("properties") == "nav" and items["cover"].get("properties") == "cover-image"
    assert (items["img001"].get("href"), items["img001"].get("media-type")) == ("images/001.png", "image/png")
    assert files["EPUB/images/001.png"] == PNG
    # every file of the book is in the manifest, and nothing else
    listed = {f"EPUB/{item.get('href')}" for item in items.values()}
    assert listed == set(files) - {"mimetype", "META-INF/container.xml", "EPUB/content.opf"}
    metadata = ET.tostring(package.find(f"{OPF}metadata"), encoding="unicode")
    assert ">Vol &amp; &lt;One&gt;</dc:title>" in metadata and ">en</dc:language>" in metadata
    assert ">Ada Lovelace</dc:creator>" in metadata
    assert ">2026-01-02T00:00:00Z</ns" in metadata  # dcterms:modified: the newest chapter's date, not the clock
    assert re.search(r">urn:uuid:[0-9a-f-]{36}</dc:identifier>", metadata)
    assert not any(b"Three" in data or b"Later" in data for data in files.values())  # the scheduled chapter


def test_the_nav_lists_the_chapters_in_series_order(built: Path) -> None:
    nav = ET.fromstring(_read(built)["EPUB/nav.xhtml"])
    links = [(a.get("href"), "".join(a.itertext())) for a in nav.iter(f"{XHTML}a")]
    assert links == [("c001.xhtml", "Chapter 1 One"), ("c002.xhtml", "Chapter 2 Two x")]


def test_a_title_that_names_its_chapter_is_not_labelled_twice(tmp_path: Path) -> None:
    site = epub_volume(tmp_path)
    (site / "content/ch02.md").write_text(post("Chapter 2 — Two", "2026-01-02", TWO, series="vol", chapter=2))
    epub_build(site)
    files = _read(site)
    nav = ET.fromstring(files["EPUB/nav.xhtml"])
    assert ["".join(a.itertext()) for a in nav.iter(f"{XHTML}a")] == ["Chapter 1 One", "Chapter 2 — Two"]
    assert '<header class="chapter-header"><h1 class="chapter-title">Chapter 2 — Two</h1></header>' in (
        files["EPUB/c002.xhtml"].decode()
    )


def _documents(files: dict[str, bytes]) -> dict[str, ET.Element]:
    return {name.removeprefix("EPUB/"): ET.fromstring(data) for name, data in files.items() if name.endswith(".xhtml")}


def test_math_is_mathml_with_the_tex_as_alttext_and_equation_numbers_outside(built: Path) -> None:
    documents = _documents(_read(built))
    maths = [m for doc in documents.values() for m in doc.iter(f"{MATHML}math")]
    alttexts = [m.get("alttext") for m in maths]
    assert alttexts[:3] == [
        "x^2 < y",
        "a=b",
        "\\begin{align}\nf(x) &= x^2 \\tag{1.2}\\\\\ng(x) &= 2x \\tag{1.3}\n\\end{align}",
    ]
    assert "c=d" in alttexts and "x" in alttexts  # chapter 2's display and its title's math
    # KaTeX writes \lambda_{\max} as an <msub> of three children; MathML wants two (epubcheck says so)
    assert all(len(script) == 2 for doc in documents.values() for script in doc.iter(f"{MATHML}msub"))
    assert "\\lambda_{\\max}" in alttexts
    for math in maths:  # KaTeX's MathML keeps the TeX it was given as its annotation: the alttext is that TeX
        annotation = math.find(f".//{MATHML}annotation")
        assert annotation is not None and annotation.text == math.get("alttext")
    one = documents["c001.xhtml"]
    parents = {child: parent for parent in one.iter() for child in parent}

    def inside_math(element: ET.Element) -> bool:
        while element in parents:
            element = parents[element]
            if element.tag == f"{MATHML}math":
                return True
        return False

    numbers = [e for e in one.iter() if "eqno" in (e.get("class") or "").split()]
    assert ["".join(e.itertext()) for e in numbers] == ["(1.1)", "(1.2)", "(1.3)"]
    assert not any(inside_math(e) for e in numbers)


def test_links_between_chapters_name_existing_ids_in_existing_documents(built: Path) -> None:
    documents = _documents(_read(built))
    ids = {name: {e.get("id") for e in doc.iter() if e.get("id")} for name, doc in documents.items()}
    checked = []
    for name, doc in documents.items():
        for a in doc.iter(f"{XHTML}a"):
            href = a.get("href") or ""
            if href.startswith("https://"):
                continue
            target, _, fragment = href.partition("#")
            target = target or name
            assert target in documents, (name, href)
            assert not fragment or fragment in ids[target], (name, href)
            checked.append(href)
    assert {"c001.xhtml#thm:a", "c001.xhtml#eq:second", "c001.xhtml#fig:dot", "c001.xhtml"} <= set(checked)
    two = _read(built)["EPUB/c002.xhtml"].decode()
    assert '<a href="c001.xhtml#eq:second">Eq. (1.3)</a>' in two


def test_theorems_figures_tables_code_notes_and_references_come_through(built: Path) -> None:
    one = _read(built)["EPUB/c001.xhtml"].decode()
    assert '<div class="theorem-like theorem" id="thm:a">' in one and '<span class="theorem-name">Proof</span>' in one
    assert '<img src="images/001.png" alt="A dot" width="1" height="1"/>' in one
    assert '<span class="figure-number">Figure 1.1:</span>' in one and "<td>2</td>" in one
    assert '<pre class="highlight" tabindex="0"><code class="language-python"><span class="k">def</span>' in one
    assert '<li id="fn1" class="footnote-item">' in one
    assert '<li id="ref-knuth">Knuth, Donald. 1968. <i>The Art of Computer Programming</i>. AW.</li>' in one
    # HTML's named references are characters in XHTML, which knows only XML's five
    assert "\u00a0and\u2014text \u00a9 2026" in one and "&nbsp;" not in one and "&copy;" not in one
    css = _read(built)["EPUB/style.css"].decode()
    assert ".highlight .k {" in css  # the code's colours


def test_the_same_site_gives_the_same_bytes(built: Path, tmp_path: Path) -> None:
    again = epub_volume(tmp_path / "again")
    epub_build(again)
    assert (again / EPUB_PATH).read_bytes() == (built / EPUB_PATH).read_bytes()


def test_a_scheduled_chapter_is_in_the_book_once_now_passes_its_date(tmp_path: Path) -> None:
    site = epub_volume(tmp_path)
    epub_build(site, now=datetime(2027, 1, 1, tzinfo=UTC))
    nav = ET.fromstring(_read(site)["EPUB/nav.xhtml"])
    assert [a.get("href") for a in nav.iter(f"{XHTML}a")] == ["c001.xhtml", "c002.xhtml", "c003.xhtml"]
    assert 'alttext="z"' in _read(site)["EPUB/c003.xhtml"].decode()


def test_the_book_is_made_again_only_when_something_it_holds_changed(tmp_path: Path) -> None:
    site = epub_volume(tmp_path)
    (site / "content/other.md").write_text(post("Other", "2026-01-03", "Not in the book."))
    memory = BuildMemory()
    book = "series/vol/vol.epub"
    assert book in epub_build(site, memory=memory).rendered
    assert epub_build(site, memory=memory).rendered == ()
    (site / "content/other.md").write_text(post("Other", "2026-01-03", "Still not in the book."))
    assert book not in epub_build(site, memory=memory).rendered
    (site / "content/ch02.md").write_text(post("Two $x$", "2026-01-02", TWO + "\nMore.\n", series="vol", chapter=2))
    assert book in epub_build(site, memory=memory).rendered
    (site / "content/dot.png").write_bytes(PNG + b"\0")  # the same size, other bytes: the body's HTML is the same
    assert book in epub_build(site, memory=memory).rendered
    with zipfile.ZipFile(site / EPUB_PATH) as archive:
        assert archive.read("EPUB/images/001.png") == PNG + b"\0"


def test_a_remote_image_is_an_error_at_its_line(tmp_path: Path) -> None:
    site = epub_volume(tmp_path)
    body = "Text.\n\n![Far](https://example.com/far.png)\n"
    (site / "content/ch02.md").write_text(post("Two", "2026-01-02", body, series="vol", chapter=2))
    with pytest.raises(SiteError) as raised:
        epub_build(site)
    assert [str(d) for d in raised.value.diagnostics] == [
        "content/ch02.md:9: error: books: epub: the image 'https://example.com/far.png' is not a file of the site, "
        "and an EPUB shows only the images it holds: save it beside the post and link to that file"
    ]


def test_an_epub_with_math_needs_katex_under_node_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never TeX instead of MathML silently: an error at the `books` line of the series file that asks for it."""
    import primer_site.math.katexsetup

    monkeypatch.setattr(primer_site.math.katexsetup.shutil, "which", lambda name: None)
    site = epub_volume(tmp_path / "math")
    with pytest.raises(SiteError) as raised:
        epub_build(site)
    assert [str(d) for d in raised.value.diagnostics] == [
        f"series/vol.md:4: error: books: an EPUB carries its math as MathML made by KaTeX {KATEX_VERSION} (the KaTeX "
        "the pages load) under Node.js, but Node.js (node) is not installed: install Node.js 18 or later (Debian "
        "and Ubuntu: `sudo apt-get install nodejs npm`; elsewhere: https://nodejs.org/; npm does not install it), "
        f"then run `npm install katex@{KATEX_VERSION}` in the site folder; or leave `epub` out of `books:`"
    ]
    # a volume without math needs no KaTeX
    plain = make_site(
        tmp_path / "plain",
        {
            "site.yaml": BASE + "books: {epub: true}\n",
            "content/a.md": post("A", "2026-01-01", "No math.", series="vol", chapter=1),
        },
    )
    epub_build(plain)
    assert (plain / EPUB_PATH).is_file()


class _CountedLinks(tuple):
    """A post's links that count how many of them are read."""

    read = 0

    def __iter__(self):
        for link in tuple.__iter__(self):
            _CountedLinks.read += 1
            yield link

    def __reversed__(self):
        for link in tuple.__iter__(self[::-1]):
            _CountedLinks.read += 1
            yield link


def test_locating_a_chapter_s_bad_images_is_linear_in_its_images() -> None:
    """Each remote image is an error at its line: the lines are found by one pass over the chapter's links, not
    one per image (n images, n links: n², or 2n for twice as many)."""
    from primer_site.model import Link, Post, Series
    from primer_site.rendering.epub import BookWords, epub_book
    from primer_site.sources.config import SiteConfig

    def work(n: int) -> int:
        srcs = [f"https://example.com/{i}.png" for i in range(n)]
        body = "".join(f'<p><img src="{src}" alt=""></p>\n' for src in srcs)
        links = _CountedLinks(Link(src, 10 + i) for i, src in enumerate(srcs))
        one = Post("content/a.md", "A", NOW, "a", "/posts/a/", "posts/a/index.html", body, "", "", "", (), False, 1)
        one = Post(**{**one.__dict__, "links": links})
        volume = Series("vol", "Vol", "/series/vol/", "", None, None, 0, None, posts=(one,))
        _CountedLinks.read = 0
        with pytest.raises(SiteError) as raised:
            epub_book(volume, SiteConfig(), None, BookWords("Contents", lambda chapter, title: ""), lambda path: None)
        assert len(raised.value.diagnostics) == n and raised.value.diagnostics[-1].line == 10 + n - 1
        return _CountedLinks.read

    assert work(400) <= 2 * work(200) + 1
    assert work(200) <= 200


@pytest.mark.browser  # EPUBCheck runs under Java
def test_embedded_media_is_an_error_and_a_script_is_declared(tmp_path: Path) -> None:
    site = epub_volume(tmp_path)
    body = 'Text.\n\n<iframe src="https://video.example/v"></iframe>\n'
    (site / "content/ch02.md").write_text(post("Two", "2026-01-02", body, series="vol", chapter=2))
    with pytest.raises(SiteError) as raised:
        epub_build(site)
    assert [str(d) for d in raised.value.diagnostics] == [
        "content/ch02.md:9: error: books: epub: <iframe src='https://video.example/v'> cannot be in an EPUB, which "
        "holds only text and images: link to it instead (<a href=…>), or leave `epub` out of `books:`"
    ]
    body = 'Text.\n\n<script>document.title = "x";</script>\n'
    (site / "content/ch02.md").write_text(post("Two", "2026-01-02", body, series="vol", chapter=2))
    epub_build(site)
    package = ET.fromstring(_read(site)["EPUB/content.opf"])
    items = {item.get("id"): item.get("properties") for item in package.iter(f"{OPF}item")}
    assert items["c002"] == "scripted"
    assert epubcheck(site / EPUB_PATH).returncode == 0


def test_a_site_whose_math_is_typeset_at_build_time_has_the_same_mathml_in_its_epub(tmp_path: Path) -> None:
    """The pages' typesetting reads HTML: the EPUB, a zip, is passed by (it once was read as UTF-8 and failed)."""
    site = epub_volume(tmp_path)
    (site / "site.yaml").write_text(EPUB_SITE + "math: {render: build}\n")
    epub_build(site)
    two = _read(site)["EPUB/c002.xhtml"].decode()
    assert 'alttext="c=d" display="block"><semantics><mrow><mi>c</mi>' in two
    assert 'class="katex' not in two  # MathML, not the pages' typeset HTML


def test_the_series_page_links_to_its_epub(built: Path, tmp_path: Path) -> None:
    page = (built / "public/series/vol/index.html").read_text(encoding="utf-8")
    assert (
        '<p class="series-books"><a href="/series/vol/vol.epub" type="application/epub+zip" download>EPUB</a></p>'
    ) in page
    plain = _settings_site(tmp_path)  # no books: no link
    _settings_build(plain)
    assert "series-books" not in (plain / "public/series/vol/index.html").read_text(encoding="utf-8")


def test_an_image_whose_bytes_are_not_what_its_name_says_or_that_runs_script_is_an_error_at_its_line(
    tmp_path: Path,
) -> None:
    """EPUB readers go by an image's type and run no script, and EPUBCheck rejects a book whose images lie about
    their type (OPF-029), run script (OPF-014) or show another host's file (RSC-006): each is an error at the line
    that shows the image, never a book that fails EPUBCheck."""
    site = epub_volume(tmp_path)
    svg_script = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">\n<script>alert(1)</script>\n</svg>'
    svg_remote = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="4" height="4">'
        '<image xlink:href="https://evil.example/x.png" width="4" height="4"/></svg>'
    )
    (site / "content/photo.jpg").write_bytes(PNG)  # a PNG under a JPEG's name
    (site / "content/script.svg").write_text(svg_script)
    (site / "content/remote.svg").write_text(svg_remote)
    body = "Text.\n\n![P](photo.jpg)\n\n![S](script.svg)\n\n![R](remote.svg)\n"
    (site / "content/ch02.md").write_text(post("Two", "2026-01-02", body, series="vol", chapter=2))
    with pytest.raises(SiteError) as raised:
        epub_build(site)
    assert [str(d) for d in raised.value.diagnostics] == [
        "content/ch02.md:9: error: books: epub: the image '/photo.jpg' holds PNG data, not JPEG as its name says, and "
        "EPUB readers go by the type: save it under the name of its format (or convert it)",
        "content/ch02.md:11: error: books: epub: the image '/script.svg' runs script (line 2 of the SVG holds "
        "'<script'), and an EPUB's images run none: remove it from the SVG, or leave `epub` out of `books:`",
        "content/ch02.md:13: error: books: epub: the image '/remote.svg' shows a file from another host, and an EPUB "
        "holds every file it shows: save that file beside the SVG and link it by a relative path",
    ]
