"""A volume as a PDF (`books: {pdf: true}`): its print page, rendered by a headless Chromium, written beside it.

Chromium, and how it is found and run: chromium.py; what it reads, a server of our own: pdfserver.py.

A PDF is made again only when what the renderer read changed: the page, and every file it asked the server for
(stylesheets, scripts, images, fonts), recorded while it rendered, as a digest kept in the build's cache with the
PDF (.primer-cache/books/). The check reads those files; it renders nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urljoin

from primer_site import __version__
from primer_site.errors import Diagnostic, SiteError
from primer_site.model import Site
from primer_site.publish.chromium import (
    PdfBook,
    check_version,
    find_renderer,
    refuse_outside,
    render_pdf,
    renderer_message,
)
from primer_site.publish.pdfpage import page_for_renderer
from primer_site.publish.pdfserver import Served
from primer_site.sources.config import CONFIG_FILE, SiteConfig, config_line
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.store import stamp_of
from primer_site.urls import output_path

_FORMAT = "1"  # what this module makes of a page: a change here makes every PDF again
_CACHE_FOLDER = "books"


def pdf_books(site: Site, config: SiteConfig, metas: list[SeriesMeta], source: Path) -> list[PdfBook]:
    """The volumes to write as PDFs (`books: {pdf: true}`, with a published chapter), each with the `books:` line
    that asks for it."""
    own = {meta.slug: meta for meta in metas if dict(meta.books).get("pdf")}
    site_line = None
    books = []
    for series in site.series_wanting("pdf"):
        meta = own.get(series.slug)
        if meta is not None:
            asked = (meta.source, meta.line_of("books"))
        else:
            site_line = site_line or config_line(source, "books")
            asked = (CONFIG_FILE, site_line)
        page = unquote(series.print_url)[len(config.base_path) - 1 :]
        pdf = unquote(series.book_url("pdf"))[len(config.base_path) - 1 :]
        url = urljoin(config.base_url, series.print_url)
        date = max(post.date for post in series.posts)
        books.append(PdfBook(series.slug, output_path(page), output_path(pdf), url, asked, date))
    return books


def renderer_problems(books: list[PdfBook], environ: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """An error at each `books:` line that asks for a PDF (site.yaml's, or a series file's) when no renderer can
    run here, saying what to install; none when one can, or no volume is written as a PDF."""
    if not books:
        return []
    renderer, advice = find_renderer(environ)
    if renderer is not None:
        return []
    places = sorted({book.asked for book in books})
    return [Diagnostic(path, line, 0, "error", renderer_message(advice)) for path, line in places]


def pdf_finisher(
    books: list[PdfBook],
    config: SiteConfig,
    katex_dist: Path | None,
    cache: Path | None,
    live: Path,
    then: Callable[[Path], None] | None,
) -> Callable[[Path], None] | None:
    """The staging folder's finishing step that writes the PDFs (write_pdfs; `live`: the live output folder), then
    does `then` (the search index); None when there is nothing to do."""
    if not books:
        return then
    katex_url = None if config.self_hosted_katex else config.katex_url

    def finish(folder: Path) -> None:
        renderer, advice = find_renderer()
        if renderer is None:  # renderer_problems said so before anything was written
            raise SiteError(renderer_message(advice), *books[0].asked)
        write_pdfs(folder, books, renderer, config.base_path, katex_url, katex_dist, cache, live)
        if then is not None:
            then(folder)

    return finish


def write_pdfs(
    folder: Path,
    books: list[PdfBook],
    renderer: str,
    base_path: str,
    katex_url: str | None,
    katex_dist: Path | None,
    cache: Path | None,
    live: Path | None = None,
) -> int:
    """Write each book's PDF into `folder` (the finished site, in the staging folder): the one kept in `cache` (a
    folder, or None for none) when nothing the renderer read changed (the live folder's `live`, a hard link to it,
    when it holds that very PDF: its time stays, so a deploy that syncs by time leaves it), else made afresh. Returns how many were
    rendered. SiteError when Chromium fails, or the page asks for a file the site does not have."""
    rendered = 0
    for book in books:
        text, outside = page_for_renderer((folder / book.page).read_text(encoding="utf-8"), book.url, katex_url)
        if outside:
            refuse_outside(book, set(outside))
        served = Served(
            folder,
            base_path,
            base_path + book.page.removesuffix("index.html"),
            text.encode("utf-8"),
            katex_dist,
            set(),
            set(),
            set(),
        )
        target = folder / book.pdf
        if cache is not None and _from_cache(cache, book, served, renderer, target, live):
            continue
        if not rendered:
            check_version(renderer, book)
        render_pdf(served, renderer, target, book)
        rendered += 1
        if cache is not None:
            _keep(cache, book, served, renderer, target)
    return rendered


def _digest(served: Served, reads: list[str], renderer: str) -> str:
    """Of what a render read: the page as the renderer got it, each file it asked for (path and bytes), and the
    renderer (its path and file stamp: a new install is a new renderer, even of the same size with its time set
    back) and this module's way of rendering."""
    made = hashlib.blake2b(digest_size=20)
    for part in (_FORMAT, __version__, renderer, repr(stamp_of(renderer))):
        made.update(part.encode("utf-8", "surrogateescape") + b"\0")
    made.update(served.page)
    for path in sorted(reads):
        found = served.resolve(path)
        data = b"\0missing" if found is None else found if isinstance(found, bytes) else found.read_bytes()
        made.update(b"\0" + path.encode("utf-8", "surrogateescape") + b"\0" + hashlib.blake2b(data).digest())
    return made.hexdigest()


def _from_cache(cache: Path, book: PdfBook, served: Served, renderer: str, target: Path, live: Path | None) -> bool:
    """Put the kept PDF at `target` if what it was made from is still the same; False if there is none."""
    folder = cache / _CACHE_FOLDER
    try:
        record = json.loads((folder / f"{book.slug}.json").read_text(encoding="utf-8"))
        reads, digest = [str(path) for path in record["reads"]], str(record["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if _digest(served, reads, renderer) != digest:
        return False
    try:
        data = (folder / f"{book.slug}.pdf").read_bytes()
    except OSError:
        return False
    if hashlib.blake2b(data, digest_size=20).hexdigest() != record.get("pdf"):
        return False  # not the file that was kept
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    published = live / book.pdf if live is not None else None
    if published is not None and _holds(published, data):
        try:
            os.link(published, target)
            return True
        except OSError:
            pass  # another file system: written
    target.write_bytes(data)
    return True


def _holds(file: Path, data: bytes) -> bool:
    try:
        return not file.is_symlink() and file.stat().st_size == len(data) and file.read_bytes() == data
    except OSError:
        return False


def _keep(cache: Path, book: PdfBook, served: Served, renderer: str, target: Path) -> None:
    """Keep the PDF just made, and the digest of what it read, for the next build (not kept: made again then)."""
    folder = cache / _CACHE_FOLDER
    data = target.read_bytes()
    record = {
        "digest": _digest(served, sorted(served.reads), renderer),
        "reads": sorted(served.reads),
        "pdf": hashlib.blake2b(data, digest_size=20).hexdigest(),
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{book.slug}.pdf").write_bytes(data)
        (folder / f"{book.slug}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written only costs the next build a render
