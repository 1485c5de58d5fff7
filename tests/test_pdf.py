"""A volume as a PDF (`books: {pdf: true}`): the print page rendered by headless Chromium, checked with pypdf: the
chapters' titles, equation numbers and bibliography in the text, a page per chapter start, the outline, the links,
the page numbers, embedded fonts; made again only when what it was made from changed; and the error, at the
`books:` line, on a machine without the renderer."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from fixture_sites import make_site, post, run_cli, tree_bytes
from primer_site.publish.chromium import RENDERER_ENV
from primer_site.publish.pdfpage import page_for_renderer

NOW = "2026-06-01"
SITE = (
    "title: T\nbase_url: https://example.org/\ntimezone: UTC\nbibliography: content/refs.bib\n"
    "math: {render: browser}\nbooks: {pdf: true}\n"
)
REFS = "@book{knuth, author={Donald Knuth}, title={The TeXbook}, year={1984}, publisher={Addison-Wesley}}\n"
ONE = """## Entropy {#entropy}

$$
H(p) = -\\sum_x p(x) \\log p(x)
$$ {#eq:entropy}

$$
D(p \\| q) = \\sum_x p(x) \\log \\frac{p(x)}{q(x)}
$$ {#eq:kl}

See [](#eq:entropy) and [@knuth]; more at [the web](https://example.com/more).

## Cross-entropy {#cross}

Text.
"""
TWO = """## Softmax {#softmax}

By [](ch01.md#eq:kl), as in [](ch01.md#entropy).

$$
\\sigma(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}
$$ {#eq:softmax}
"""
TITLES = ("Information Theory", "Attention and Softmax")
DOT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="9" fill="#000"/></svg>\n'
)


def volume(root: Path, site_yaml: str = SITE) -> Path:
    """Three chapters, the third scheduled after NOW: it must not be in the PDF."""
    return make_site(
        root,
        {
            "site.yaml": site_yaml,
            "content/refs.bib": REFS,
            "series/vol.md": "---\ntitle: The Volume\nchapters: 3\nnumber_sections: true\n---\nA volume.\n",
            "content/ch01.md": post(TITLES[0], "2026-01-01", ONE, series="vol", chapter=1),
            "content/ch02.md": post(TITLES[1], "2026-01-02", TWO + "\n![A dot](dot.svg)\n", series="vol", chapter=2),
            "content/dot.svg": DOT,
            "content/ch03.md": post("Scheduled Chapter", "2026-12-30", "Later.", series="vol", chapter=3),
        },
    )


def build(site: Path, *flags: str, env: dict[str, str] | None = None):
    previous = {key: os.environ.get(key) for key in (env or {})}
    os.environ.update(env or {})
    try:
        return run_cli("build", "-s", str(site), "--now", NOW, *flags)
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ---------------------------------------------------------------- no Chromium needed


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_build_killed_while_chromium_renders_takes_chromium_with_it(tmp_path: Path) -> None:
    """SIGKILL gives the build no chance to clean up: the kernel ends the renderer with it (PR_SET_PDEATHSIG), as
    it ends the build's workers, so no Chromium is left running for a PDF nobody will read."""
    import signal
    import subprocess
    import sys
    import time

    from test_workers import children

    site = volume(tmp_path / "site")
    fake = tmp_path / "hanging-chromium"  # answers the version probe, then never prints: exec keeps the pid
    fake.write_text(
        '#!/bin/sh\nif [ "$1" = --version ]; then echo "Chromium 156.0.0.0"; exit 0; fi\nexec sleep 300\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    env = {**os.environ, RENDERER_ENV: str(fake)}
    command = [sys.executable, "-m", "primer_site", "build", "-s", str(site), "--now", NOW, "--no-check-math"]
    build = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        renderer: set[int] = set()
        while not renderer and time.monotonic() < deadline and build.poll() is None:
            renderer = {pid for pid in children(build.pid) if "sleep" in Path(f"/proc/{pid}/cmdline").read_text()}
            time.sleep(0.05)
        assert renderer, "the build never started its renderer: the test proves nothing"
        build.send_signal(signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 10
        while any(map(_alive, renderer)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, renderer)), "Chromium outlived the build"
    finally:
        if build.poll() is None:
            build.kill()


def test_the_renderer_s_page_links_to_the_published_site_and_nests_sections() -> None:
    page = (
        '<html><head><link rel="stylesheet" href="/css/print.css">'
        '<link rel="stylesheet" href="https://cdn.example/katex/katex.min.css" integrity="x"></head><body>'
        '<a href="/posts/other/">o</a> <a href="#ch-c1--x">in</a> <a href="https://else.org/">e</a>'
        '<h2 class="post-title" id="ch-c1--title">C</h2><h2 id="ch-c1--x">S <a class="anchor" href="#ch-c1--x">#</a></h2>'
        '<h3 id="ch-c1--y">T</h3><h2 id="book-contents">Contents</h2><img src="/a.png">'
        '<img src="https://img.example/b.png" srcset="/c.png 1x, //img.example/d.png 2x"></body></html>'
    )
    got, outside = page_for_renderer(page, "https://example.org/series/v/print/", "https://cdn.example/katex/")
    assert outside == ["https://img.example/b.png", "//img.example/d.png"]
    assert got == (
        '<html><head><link rel="stylesheet" href="/css/print.css">'
        '<link rel="stylesheet" href="/.primer-site-katex/katex.min.css" integrity="x">'
        "<style>h1, h2, h3, h4, h5, h6 { white-space: pre-wrap; }</style>\n</head><body>"
        '<a href="https://example.org/posts/other/">o</a> <a href="#ch-c1--x">in</a> <a href="https://else.org/">e</a>'
        '<h2 class="post-title" id="ch-c1--title">C</h2><h2 id="ch-c1--x" aria-level="3">S<a class="anchor" '
        'href="#ch-c1--x">#</a></h2><h3 id="ch-c1--y" aria-level="4">T</h3><h2 id="book-contents">Contents</h2>'
        '<img src="/a.png"><img src="https://img.example/b.png" srcset="/c.png 1x, //img.example/d.png 2x">'
        "</body></html>"
    )


def test_the_renderer_s_rewrite_is_linear() -> None:
    """The tokenizer's work (tags seen) and the text written grow with the page, not its square."""
    from html.parser import HTMLParser

    def work(n: int) -> tuple[int, int]:
        seen = 0
        original = HTMLParser.parse_starttag

        def counting(self: HTMLParser, i: int) -> int:
            nonlocal seen
            seen += 1
            return original(self, i)

        one = '<h2 id="ch-a--s">S <a class="anchor" href="#ch-a--s">#</a></h2><img srcset="/a.png 1x, /b.png 2x">'
        HTMLParser.parse_starttag = counting  # type: ignore[method-assign]
        try:
            text, _ = page_for_renderer(one * n, "https://example.org/p/", None)
        finally:
            HTMLParser.parse_starttag = original  # type: ignore[method-assign]
        return seen, len(text)

    small, large = work(1000), work(2000)
    assert large == (2 * small[0], 2 * small[1]) and small[0] == 3000


def test_a_pdf_without_its_renderer_is_an_error_at_the_books_line_and_the_output_is_kept(tmp_path: Path) -> None:
    site = volume(tmp_path / "site", SITE.replace("books: {pdf: true}\n", ""))
    assert build(site, "--no-check-math").returncode == 0
    before = tree_bytes(site / "public")
    (site / "site.yaml").write_text(SITE, encoding="utf-8")  # books: at line 6
    (site / "series/other.md").write_text("---\ntitle: Other\nbooks:\n  pdf: true\n---\n", encoding="utf-8")
    (site / "content/o1.md").write_text(post("O", "2026-01-03", "Hi.", series="other", chapter=1), encoding="utf-8")
    (site / "content/bad.md").write_text(post("Bad", "2026-01-03", "[x](missing.md)"), encoding="utf-8")
    missing = tmp_path / "no-such-chromium"
    result = build(site, "--no-check-math", env={RENDERER_ENV: str(missing)})
    message = (
        f"error: books: pdf: the PDF is rendered by a headless Chromium; {RENDERER_ENV}={missing} is not a "
        "program that runs: set it to the path of Chromium or Chrome, or unset it and install Chromium "
        "(apt-get install chromium)"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "content/bad.md:5: error: link to 'missing.md': no post at content/missing.md\n"
        f"series/other.md:3: {message}\n"
        f"site.yaml:6: {message}\n"
        "build failed: 3 errors; the output folder was left as it was\n"
    )
    assert tree_bytes(site / "public") == before


def test_a_renderer_that_fails_is_an_error_with_what_it_said_and_the_output_is_kept(tmp_path: Path) -> None:
    site = volume(tmp_path / "site")
    (site / "series/vol.md").write_text("---\ntitle: The Volume\nbooks: {pdf: true}\n---\n", encoding="utf-8")
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'ERROR: no display, no luck' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    result = build(site, "--no-check-math", env={RENDERER_ENV: str(fake)})
    assert result.returncode == 1
    assert result.stderr == (
        f"series/vol.md:3: error: books: pdf: series/vol/vol.pdf: Chromium ({fake}) made no PDF (exit code 3): "
        "ERROR: no display, no luck\nbuild failed: 1 error; the output folder was left as it was\n"
    )
    assert not (site / "public").exists()


def test_a_chromium_too_old_to_number_the_pages_is_an_error(tmp_path: Path) -> None:
    site = volume(tmp_path / "site")
    fake = tmp_path / "old-chromium"
    fake.write_text(
        "#!/bin/sh\necho 'Chromium 120.0.6099.224 built on Debian GNU/Linux 12 (bookworm)'\n", encoding="utf-8"
    )
    fake.chmod(0o755)
    result = build(site, "--no-check-math", env={RENDERER_ENV: str(fake)})
    assert result.returncode == 1
    assert result.stderr == (
        "site.yaml:6: error: books: pdf: Chromium 120.0.6099.224 built on Debian GNU/Linux 12 (bookworm) "
        f"({fake}) cannot number a PDF's pages (Chromium 131 or later can): upgrade it (apt-get install chromium), "
        f"or set {RENDERER_ENV} to a newer Chromium or Chrome\nbuild failed: 1 error; the output folder was left as "
        "it was\n"
    )


def test_the_preview_s_warm_build_needs_no_renderer_and_writes_no_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` rebuilds with a memory (a warm build): the PDFs are left out, and so is the renderer's check."""
    from datetime import UTC, datetime

    from primer_site.commands.build import BuildMemory, BuildOptions, build_site

    site = volume(tmp_path / "site")
    monkeypatch.setenv(RENDERER_ENV, str(tmp_path / "no-such-chromium"))
    options = BuildOptions(source=site, now=datetime(2026, 6, 1, tzinfo=UTC), jobs=1)
    result = build_site(options, BuildMemory())
    assert result.errors == () and (site / "public/series/vol/print/index.html").is_file()
    assert not (site / "public/series/vol/vol.pdf").exists()


# ---------------------------------------------------------------- rendered by Chromium


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = volume(tmp_path_factory.mktemp("pdf") / "site")
    result = build(site)
    assert result.returncode == 0, result.stderr
    return site


@pytest.mark.browser
def test_the_series_page_links_its_pdf_and_check_finds_the_link_whole(made: Path) -> None:
    """The PDF is found from the series page; `check`, which renders no PDF, takes a link to one `build` makes as
    whole, and a link to a volume that asks for none as broken."""
    page = (made / "public/series/vol/index.html").read_text(encoding="utf-8")
    assert '<p class="series-books"><a href="/series/vol/vol.pdf" type="application/pdf">PDF</a></p>' in page
    assert (made / "public/series/vol/vol.pdf").is_file()
    result = run_cli("check", "-s", str(made), "--now", NOW, "--no-check-math")
    assert result.returncode == 0, result.stderr


def _reader(site: Path):
    import pypdf

    return pypdf.PdfReader(site / "public/series/vol/vol.pdf")


def _chapter_pages(reader) -> list[int]:
    """The index of the page where each chapter's title starts it (its "Chapter N" label first)."""
    starts = []
    for index, page in enumerate(reader.pages):
        text = page.extract_text()
        for number, title in enumerate(TITLES, 1):
            if re.search(rf"\A\s*\d*\s*CHAPTER {number}\s+{title}", text, re.IGNORECASE):
                starts.append(index)
    return starts


@pytest.mark.browser
def test_the_pdf_holds_the_published_chapters_in_order_with_their_numbers_and_bibliography(made: Path) -> None:
    reader = _reader(made)
    text = "\n".join(page.extract_text() for page in reader.pages)
    positions = [text.find(f"CHAPTER {n}\n{title}") for n, title in enumerate(TITLES, 1)]
    assert -1 not in positions and positions == sorted(positions), positions
    assert "Scheduled Chapter" not in text
    # the equation numbers of the chapter pages
    for number in ("(1.1)", "(1.2)", "(2.1)"):
        assert number in text
    assert "By Eq. (1.2)" in text  # the reference between chapters, with its number
    assert "Knuth, Donald. 1984. The TeXbook. Addison-Wesley." in text
    # typeset: KaTeX's glyphs, not the TeX
    assert "\\frac" not in text and "\\sum" not in text


@pytest.mark.browser
def test_each_chapter_starts_a_page_and_every_page_has_its_number(made: Path) -> None:
    reader = _reader(made)
    starts = _chapter_pages(reader)
    assert len(starts) == len(TITLES) and starts == sorted(set(starts))
    assert len(reader.pages) > len(TITLES)
    for index, page in enumerate(reader.pages, 1):
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        assert str(index) in (lines[0], lines[-1]), (index, lines[:2], lines[-2:])


@pytest.mark.browser
def test_the_outline_has_each_chapter_at_its_page_with_its_sections_beneath(made: Path) -> None:
    reader = _reader(made)
    root, children = reader.outline[0], reader.outline[1]
    assert root["/Title"] == "The Volume" and reader.get_destination_page_number(root) == 0
    entries = [entry for entry in children if not isinstance(entry, list)]
    titles = [entry["/Title"] for entry in entries]
    assert titles == ["Contents", *TITLES, "References"]
    starts = _chapter_pages(reader)
    assert [reader.get_destination_page_number(entries[i]) for i in (1, 2)] == starts
    sections = [entry for entry in children if isinstance(entry, list)]
    assert [[s["/Title"] for s in group] for group in sections] == [
        ["1.1 Entropy", "1.2 Cross-entropy", "References"],
        ["2.1 Softmax"],
    ]


@pytest.mark.browser
def test_links_in_the_volume_go_to_their_page_and_others_to_the_web(made: Path) -> None:
    reader = _reader(made)
    starts = _chapter_pages(reader)
    internal: dict[str, int] = {}
    external: set[str] = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            link = annotation.get_object()
            if "/Dest" in link:
                internal[str(link["/Dest"])] = reader.get_destination_page_number(
                    reader.named_destinations[str(link["/Dest"])]
                )
            elif "/A" in link:
                external.add(str(link["/A"]["/URI"]))
    # the contents, and references between chapters
    assert internal["/ch-ch01"] == starts[0] and internal["/ch-ch02"] == starts[1]
    assert internal["/ch-ch01--eq:kl"] == starts[0]
    assert internal["/ch-ch01--entropy"] == starts[0]
    assert internal["/ch-ch01--ref-knuth"] >= starts[0]
    assert "https://example.com/more" in external
    assert "https://example.org/posts/ch01/" in external  # the chapter's own page, on the published site
    assert not [url for url in external if "127.0.0.1" in url or "localhost" in url]


@pytest.mark.browser
def test_every_font_is_embedded_katex_s_too(made: Path) -> None:
    reader = _reader(made)
    fonts: dict[str, list[str]] = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            files = [key for key in (descriptor.get_object() if descriptor else {}) if key.startswith("/FontFile")]
            fonts[str(font["/BaseFont"])] = files
    assert fonts and all(fonts.values()), fonts
    assert any("KaTeX_Main" in name for name in fonts) and any("KaTeX_Math" in name for name in fonts)


@pytest.mark.browser
def test_the_pdf_is_made_again_only_when_what_it_shows_changed(tmp_path: Path) -> None:
    site = volume(tmp_path / "site")
    assert build(site).returncode == 0
    pdf = site / "public/series/vol/vol.pdf"
    first = pdf.read_bytes()
    kept = site / ".primer-cache/books/vol.pdf"
    made_at = kept.stat().st_mtime_ns
    published = (pdf.stat().st_ino, pdf.stat().st_mtime_ns)
    # a post outside the volume: the print page is the same, the PDF is the one kept
    (site / "content/aside.md").write_text(post("Aside", "2026-01-04", "Hi."), encoding="utf-8")
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes() == first and kept.stat().st_mtime_ns == made_at
    assert (pdf.stat().st_ino, pdf.stat().st_mtime_ns) == published  # the very file: a deploy by time leaves it
    # an image the page shows, changed where the page's HTML does not show it: made again
    page = (site / "public/series/vol/print/index.html").read_bytes()
    (site / "content/dot.svg").write_text(DOT.replace("#000", "#c00"), encoding="utf-8")
    assert build(site).returncode == 0
    assert (site / "public/series/vol/print/index.html").read_bytes() == page
    assert kept.stat().st_mtime_ns != made_at and pdf.read_bytes() != first
    made_at = kept.stat().st_mtime_ns
    # a chapter of the volume: made again, with the new text
    (site / "content/ch02.md").write_text(
        post(
            TITLES[1], "2026-01-02", TWO + "\n![A dot](dot.svg)\n\nA sentence added later.\n", series="vol", chapter=2
        ),
        encoding="utf-8",
    )
    assert build(site).returncode == 0
    assert kept.stat().st_mtime_ns != made_at
    import pypdf

    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert "A sentence added later." in text


@pytest.mark.browser
def test_a_renderer_replaced_with_the_same_size_and_time_makes_the_pdf_again(tmp_path: Path) -> None:
    """The kept PDF is keyed on its renderer's file stamp (store.stamp_of): a new program at the same path, of the
    same size with its time set back (`cp -p`, a package's own mtime), is a new renderer. Keyed on size and time,
    the PDF made by the old one was kept."""
    from primer_site.publish.chromium import find_renderer

    real, _ = find_renderer()
    assert real is not None
    wrapper = tmp_path / "chromium"

    def install(mark: str) -> None:
        wrapper.write_text(f'#!/bin/sh\n# {mark}\nexec "{real}" "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        os.utime(wrapper, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))

    install("one")
    site = volume(tmp_path / "site")
    assert build(site, env={RENDERER_ENV: str(wrapper)}).returncode == 0
    kept, pdf = site / ".primer-cache/books/vol.pdf", site / "public/series/vol/vol.pdf"
    made_at = kept.stat().st_mtime_ns
    # a post outside the volume (the build writes, the print page is the same): with the same renderer, kept
    (site / "content/aside.md").write_text(post("Aside", "2026-01-04", "Hi."), encoding="utf-8")
    assert build(site, env={RENDERER_ENV: str(wrapper)}).returncode == 0
    assert kept.stat().st_mtime_ns == made_at
    size = wrapper.stat().st_size
    install("two")
    assert wrapper.stat().st_size == size
    (site / "content/aside.md").write_text(post("Aside", "2026-01-04", "Hello."), encoding="utf-8")
    assert build(site, env={RENDERER_ENV: str(wrapper)}).returncode == 0
    assert kept.stat().st_mtime_ns != made_at and pdf.read_bytes() == kept.read_bytes()


WIDE = "a_{1} + " + " + ".join(f"\\frac{{x_{{{n}}}}}{{y_{{{n}}}}}" for n in range(2, 40))


def _left_edges(reader) -> list[float]:
    """Of each page, where its leftmost line of text starts, in points from the page's left edge."""

    def edge(page) -> float:
        found: list[float] = []

        def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
            if text.strip():
                found.append(tm[4] * cm[0] + tm[5] * cm[2] + cm[4])

        page.extract_text(visitor_text=visit)
        return min(found)

    return [edge(page) for page in reader.pages]


@pytest.mark.browser
def test_a_display_wider_than_the_column_is_fitted_to_it_not_the_page_shrunk(made: Path, tmp_path: Path) -> None:
    """Chromium shrinks every page of a document whose content overflows the paper: print.js fits the display
    instead, so the text keeps its place and size (the contents page's left edge is as in a volume without it)."""
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": SITE.replace("bibliography: content/refs.bib\n", ""),
            "series/vol.md": "---\ntitle: The Volume\n---\n",
            "content/ch01.md": post(TITLES[0], "2026-01-01", f"$$\n{WIDE}\n$$ {{#eq:wide}}\n", series="vol", chapter=1),
        },
    )
    result = build(site)
    assert result.returncode == 0, result.stderr
    import pypdf

    wide = pypdf.PdfReader(site / "public/series/vol/vol.pdf")
    assert abs(_left_edges(wide)[1] - _left_edges(_reader(made))[1]) < 0.5
    width = float(wide.pages[2].mediabox.width)
    assert all(edge < width / 4 for edge in _left_edges(wide)[1:])
    text = wide.pages[2].extract_text()
    assert "(1.1)" in text and "39" in text


@pytest.mark.browser
def test_math_typeset_at_build_time_with_katex_s_own_files_in_the_site(tmp_path: Path) -> None:
    site = volume(tmp_path / "site", SITE.replace("render: browser", "render: build") + "katex_url: self\n")
    result = build(site)
    assert result.returncode == 0, result.stderr
    reader = _reader(site)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "(1.1)" in text and "(1.2)" in text and "(2.1)" in text and "\\frac" not in text
    fonts = {
        str(f.get_object()["/BaseFont"]) for p in reader.pages for f in (p["/Resources"].get("/Font") or {}).values()
    }
    assert any("KaTeX_Math" in name for name in fonts)


@pytest.mark.browser
def test_a_file_the_page_loads_that_is_not_there_is_an_error_and_no_pdf(made: Path, tmp_path: Path) -> None:
    """KaTeX's files from a CDN are served from the katex package: without it, the PDF would show raw math."""
    from primer_site.errors import SiteError
    from primer_site.publish.chromium import PdfBook, find_renderer
    from primer_site.publish.pdf import write_pdfs
    from primer_site.sources.config import KATEX_CDN

    folder = tmp_path / "public"
    shutil.copytree(made / "public", folder)
    renderer, _ = find_renderer()
    assert renderer is not None
    book = PdfBook("vol", "series/vol/print/index.html", "series/vol/vol.pdf", "https://example.org/series/vol/print/")
    (folder / book.pdf).unlink()
    with pytest.raises(SiteError) as raised:
        write_pdfs(folder, [book], renderer, "/", KATEX_CDN, None, None)
    assert str(raised.value) == (
        "site.yaml:1: error: books: pdf: series/vol/vol.pdf: the print page loads /.primer-site-katex/katex.min.css, "
        "/.primer-site-katex/katex.min.js, which the site does not have (KaTeX's files come from the katex npm "
        "package: run npm install)"
    )
    assert not (folder / book.pdf).exists()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("files", "url"),
    [
        (
            {
                "content/ch01.md": post(
                    "One", "2026-01-01", '<img src="https://img.example/a.png" alt="A">', series="vol", chapter=1
                )
            },
            "https://img.example/a.png",
        ),
        # found only as Chromium asks for it (a stylesheet's import), by an IP address no host name rule stops
        ({"static/css/print.css": '@import url("http://10.9.9.9/more.css");\n'}, "http://10.9.9.9/more.css"),
    ],
)
def test_a_file_from_another_site_is_an_error_not_a_pdf_without_it(tmp_path: Path, files: dict, url: str) -> None:
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": SITE.replace("bibliography: content/refs.bib\n", ""),
            "series/vol.md": "---\ntitle: V\n---\n",
            "content/ch01.md": post("One", "2026-01-01", "Hi.", series="vol", chapter=1),
            **files,
        },
    )
    result = build(site)
    assert result.returncode == 1
    assert result.stderr == (
        f"site.yaml:5: error: books: pdf: series/vol/vol.pdf: the print page loads {url} from another site, which "
        "the PDF is made without (its renderer reads only the site's own files): put the file in static/ or beside "
        "the chapter that shows it\nbuild failed: 1 error; the output folder was left as it was\n"
    )
    assert not (site / "public").exists()


@pytest.mark.browser
def test_the_same_volume_gives_the_same_pdf_bytes_dated_by_its_newest_chapter(made: Path, tmp_path: Path) -> None:
    again = volume(tmp_path / "site")
    result = build(again, "--no-cache")
    assert result.returncode == 0, result.stderr
    assert (again / "public/series/vol/vol.pdf").read_bytes() == (made / "public/series/vol/vol.pdf").read_bytes()
    info = _reader(made).metadata
    assert info["/CreationDate"] == info["/ModDate"] == "D:20260102000000+00'00'"


@pytest.mark.browser
def test_a_site_under_a_base_path_renders_with_its_files_and_links_to_its_pages(tmp_path: Path) -> None:
    site = volume(tmp_path / "site", SITE.replace("https://example.org/", "https://example.org/primer/"))
    result = build(site)
    assert result.returncode == 0, result.stderr
    reader = _reader(site)
    uris = {
        str(link.get_object()["/A"]["/URI"])
        for page in reader.pages
        for link in page.get("/Annots") or []
        if "/A" in link.get_object()
    }
    assert uris == {
        "https://example.org/primer/series/vol/",
        "https://example.org/primer/posts/ch01/",
        "https://example.org/primer/posts/ch02/",
        "https://example.com/more",
    }
    assert len(_chapter_pages(reader)) == len(TITLES)


@pytest.mark.browser
def test_a_pdf_deleted_by_hand_is_made_again_by_the_next_build(made: Path, tmp_path: Path) -> None:
    site = volume(tmp_path / "site")
    assert build(site).returncode == 0
    pdf = site / "public/series/vol/vol.pdf"
    first = pdf.read_bytes()
    pdf.unlink()
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes() == first
    again = pdf.stat().st_ino
    assert build(site).returncode == 0 and pdf.stat().st_ino == again  # and then left alone


def test_a_request_the_renderer_drops_is_no_traceback_on_the_build_s_error_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chromium closing a connection before its 404 was written printed socketserver's BrokenPipeError traceback
    among the build's errors (seen in CI, 2026-12-07): requests dropped at once, by a reset, print nothing."""
    import socket
    import struct
    import threading
    from functools import partial
    from http.server import ThreadingHTTPServer

    from primer_site.publish.pdfserver import Served, ServedHandler

    served = Served(tmp_path, "/", "/print/", b"<p>page</p>", None, set(), set(), set())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(ServedHandler, served=served))
    server.daemon_threads = False
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        for number in range(40):
            with socket.create_connection(server.server_address) as client:
                client.sendall(f"GET /missing{number}.css HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # closed by a reset
    finally:
        server.shutdown()
        server.server_close()  # joins the request threads
    assert capsys.readouterr().err == ""
    assert len(served.missing) > 0  # the requests reached the handler
