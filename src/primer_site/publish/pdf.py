"""A volume as a PDF (`books: {pdf: true}`): its print page, rendered by a headless Chromium, written beside it.

The renderer is Chromium's own `--headless --print-to-pdf`, run as a program: it needs nothing installed in Python.
Since Chromium 131 it lays out CSS's page-margin boxes (print.css puts the page number in one), and with
`--generate-pdf-document-outline` it writes the document's headings as the PDF's outline (bookmarks); links
within the page become links within the PDF, others URI links, and every font it uses is embedded.

Chromium reads the page from a server of our own, bound to 127.0.0.1, that serves the finished site from the
staging folder and KaTeX's files from the installed katex package (when the pages load them from a CDN), and
nothing else: every other host name resolves to nothing, and every request for another host comes to that server
as Chromium's proxy, which refuses it. It gets the print page as pdfpage.py makes it (links absolute, sections
nested). The print page's load event waits for its stylesheets, scripts (KaTeX, print.js) and the fonts its
text uses.

A PDF is made again only when what the renderer read changed: the page, and every file it asked the server for
(stylesheets, scripts, images, fonts), recorded while it rendered, as a digest kept in the build's cache with the
PDF (.primer-cache/books/). The check reads those files; it renders nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from primer_site import __version__
from primer_site.errors import Diagnostic, SiteError
from primer_site.model import Site
from primer_site.publish.pdfpage import KATEX_PATH as _KATEX_PATH
from primer_site.publish.pdfpage import page_for_renderer
from primer_site.sources.config import CONFIG_FILE, SiteConfig, config_line
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.urls import output_path
from primer_site.workers import die_with_parent

RENDERER_ENV = "PRIMER_SITE_CHROMIUM"  # the renderer's path, where it is not on PATH as one of _PROGRAMS
_PROGRAMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get install chromium"
_FORMAT = "1"  # what this module makes of a page: a change here makes every PDF again
_TIMEOUT = 600  # seconds for one volume
_CACHE_FOLDER = "books"


@dataclass(frozen=True)
class PdfBook:
    """One volume to write as a PDF: its slug, its print page and the PDF as paths in the output folder
    ("series/vol/print/index.html", "series/vol/vol.pdf"), and the print page's published URL (absolute)."""

    slug: str
    page: str
    pdf: str
    url: str
    asked: tuple[str, int] = (CONFIG_FILE, 1)  # the `books:` line that asks for it: site.yaml's or a series file's
    date: datetime | None = None  # its newest chapter's: the PDF's creation date (the clock's would vary)


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


def find_renderer(environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(the Chromium to run, "") or (None, what to do to get one): PRIMER_SITE_CHROMIUM when it is set, else the
    first of chromium, chromium-browser, google-chrome on PATH."""
    environ = os.environ if environ is None else environ
    given = environ.get(RENDERER_ENV)
    if given:
        found = shutil.which(given)
        if found is None:
            return None, (
                f"{RENDERER_ENV}={given} is not a program that runs: set it to the path of Chromium or Chrome, or "
                f"unset it and install Chromium ({INSTALL})"
            )
        return found, ""
    for program in _PROGRAMS:
        found = shutil.which(program, path=environ.get("PATH"))
        if found is not None:
            return found, ""
    return None, f"Chromium is not installed: {INSTALL} (or set {RENDERER_ENV}=/path/to/chromium)"


def renderer_message(advice: str) -> str:
    """The error at a `books:` line asking for a PDF when the renderer cannot run."""
    return f"books: pdf: the PDF is rendered by a headless Chromium; {advice}"


@dataclass
class _Served:
    """What the renderer's server serves: the site's files, the page as the renderer gets it, KaTeX's files."""

    folder: Path
    base_path: str  # the site's URL path, "/" or "/primer/"
    page_path: str  # the print page's URL path
    page: bytes
    katex_dist: Path | None
    reads: set[str]
    missing: set[str]
    outside: set[str]  # what the page asked for from another host (through the proxy): refused

    def resolve(self, path: str) -> bytes | Path | None:
        """The bytes or file served at URL path `path` (already unquoted), or None."""
        if path in (self.page_path, self.page_path + "index.html"):
            return self.page
        if path.startswith(_KATEX_PATH):
            return _inside(self.katex_dist, path[len(_KATEX_PATH) :]) if self.katex_dist else None
        if not path.startswith(self.base_path):
            return None
        relative = path[len(self.base_path) :]
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        return _inside(self.folder, relative)


def _inside(folder: Path, relative: str) -> Path | None:
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    file = folder.joinpath(*parts)
    return file if file.is_file() else None


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, served: _Served, **kwargs: Any) -> None:
        self.served = served
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if not self.path.startswith("/"):  # an absolute URL: a request for another host, sent to us as its proxy
            if self.headers.get("Referer"):  # the page's (Chromium's own background requests have none)
                self.served.outside.add(self.path)
            self.send_error(403)
            return
        path = unquote(urlsplit(self.path).path)
        found = self.served.resolve(path)
        if found is None:
            if path != "/favicon.ico":  # asked for by the browser, not by the page
                self.served.missing.add(path)
            self.send_error(404)
            return
        self.served.reads.add(path)
        data = found if isinstance(found, bytes) else found.read_bytes()
        name = "index.html" if isinstance(found, bytes) else found.name
        self.send_response(200)
        self.send_header("Content-Type", mimetypes.guess_type(name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_CONNECT(self) -> None:
        self.send_error(403)  # a tunnel says nothing of who asked: the page's https URLs are found in its HTML

    do_HEAD = do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


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
            _refuse_outside(book, set(outside))
        served = _Served(
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
            _check_version(renderer, book)
        _render(served, renderer, target, book)
        rendered += 1
        if cache is not None:
            _keep(cache, book, served, renderer, target)
    return rendered


def _digest(served: _Served, reads: list[str], renderer: str) -> str:
    """Of what a render read: the page as the renderer got it, each file it asked for (path and bytes), and the
    renderer (its path, size and time) and this module's way of rendering."""
    made = hashlib.blake2b(digest_size=20)
    stat = os.stat(renderer)
    for part in (_FORMAT, __version__, renderer, str(stat.st_size), str(stat.st_mtime_ns)):
        made.update(part.encode("utf-8", "surrogateescape") + b"\0")
    made.update(served.page)
    for path in sorted(reads):
        found = served.resolve(path)
        data = b"\0missing" if found is None else found if isinstance(found, bytes) else found.read_bytes()
        made.update(b"\0" + path.encode("utf-8", "surrogateescape") + b"\0" + hashlib.blake2b(data).digest())
    return made.hexdigest()


def _from_cache(cache: Path, book: PdfBook, served: _Served, renderer: str, target: Path, live: Path | None) -> bool:
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


def _keep(cache: Path, book: PdfBook, served: _Served, renderer: str, target: Path) -> None:
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


# The dates Chromium (Skia) writes in the PDF's document information: "D:YYYYMMDDHHmmSS+HH'mm'" (PDF 1.7, 7.9.4)
_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}(?:[+-]\d{2}'\d{2}'|Z00'00')\)")


def _dated(data: bytes, date: datetime | None) -> bytes:
    """The PDF with its creation and modification dates set to `date` (UTC), in place: a value of the same length,
    so that no offset in the file moves, and the same page gives the same bytes in every build."""
    if date is None:
        return data
    stamp = date.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'").encode("ascii")
    return _DATE.sub(lambda m: b"/" + m.group(1) + b" (" + stamp + b")", data)


def _refuse_outside(book: PdfBook, urls: set[str]) -> None:
    raise SiteError(
        f"books: pdf: {book.pdf}: the print page loads {', '.join(sorted(urls))} from another site, which the PDF "
        "is made without (its renderer reads only the site's own files): put the file in static/ or beside the "
        "chapter that shows it",
        *book.asked,
    )


_OLDEST = 131  # the first Chromium to lay out CSS's page-margin boxes: the page numbers
_VERSION = re.compile(r"(?:Chromium|Chrome)\D*(\d+)\.")


def _check_version(renderer: str, book: PdfBook) -> None:
    """SiteError if the renderer says it is a Chromium older than _OLDEST (whose PDF would have no page numbers);
    one that says nothing readable is let run."""
    try:
        said = subprocess.run([renderer, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return  # the render says what is wrong
    found = _VERSION.search(said)
    if found and int(found.group(1)) < _OLDEST:
        raise SiteError(
            f"books: pdf: {said.strip()} ({renderer}) cannot number a PDF's pages (Chromium {_OLDEST} or later "
            f"can): upgrade it ({INSTALL}), or set {RENDERER_ENV} to a newer Chromium or Chrome",
            *book.asked,
        )


def _run(command: list[str], book: PdfBook, renderer: str) -> tuple[int, str]:
    """Run Chromium in a process group of its own: (exit code, what it wrote to stderr). On a timeout, or when the
    build is interrupted, the whole group (its renderer and GPU processes) is killed, never left running."""
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
            preexec_fn=die_with_parent,  # a build killed outright (SIGKILL) takes Chromium with it
        )
    except OSError as error:
        raise SiteError(f"books: pdf: {book.pdf}: Chromium ({renderer}) did not start: {error}", *book.asked) from None
    try:
        _, stderr = process.communicate(timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise SiteError(
            f"books: pdf: {book.pdf}: Chromium ({renderer}) made no PDF in {_TIMEOUT} s", *book.asked
        ) from None
    except BaseException:
        _kill(process)
        raise
    return process.returncode, stderr or ""


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _render(served: _Served, renderer: str, target: Path, book: PdfBook) -> None:
    """Chromium prints the page, served from 127.0.0.1, to `target`; SiteError if it fails."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, served=served))
    thread = threading.Thread(target=server.serve_forever, name=f"pdf {book.slug}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}{quote(served.page_path)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="primer-site-chromium-") as profile:
            command = [
                renderer,
                "--headless",
                *(["--no-sandbox"] if os.geteuid() == 0 else []),  # Chromium's sandbox refuses to run as root
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                # nothing but our server: every other host name resolves to nothing, and every request for another
                # host (an IP address too) goes to our server as its proxy, which refuses it
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--proxy-server=http://127.0.0.1:{server.server_address[1]}",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",  # the page number is print.css's
                "--generate-pdf-document-outline",
                f"--print-to-pdf={target}",
                url,
            ]
            returncode, stderr = _run(command, book, renderer)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    if served.outside:
        target.unlink(missing_ok=True)
        _refuse_outside(book, served.outside)
    if served.missing:
        target.unlink(missing_ok=True)
        missing = ", ".join(sorted(served.missing))
        katex = any(path.startswith(_KATEX_PATH) for path in served.missing)
        hint = " (KaTeX's files come from the katex npm package: run npm install)" if katex else ""
        raise SiteError(
            f"books: pdf: {book.pdf}: the print page loads {missing}, which the site does not have{hint}", *book.asked
        )
    if returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        target.unlink(missing_ok=True)
        # the last line it wrote that is not about the desktop's message bus (which a server does not have)
        detail = [line for line in stderr.splitlines() if line.strip() and "dbus" not in line]
        raise SiteError(
            f"books: pdf: {book.pdf}: Chromium ({renderer}) made no PDF (exit code {returncode})"
            + (f": {detail[-1].strip()}" if detail else ""),
            *book.asked,
        )
    target.write_bytes(_dated(target.read_bytes(), book.date))
