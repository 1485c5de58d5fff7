"""Chromium as the PDF's renderer: found (PRIMER_SITE_CHROMIUM, or on PATH), its version checked, and run as
`--headless --print-to-pdf` on one PdfBook, in a process group of its own, reading the site from pdfserver.py.

The renderer is Chromium's own `--headless --print-to-pdf`, run as a program: it needs nothing installed in Python.
Since Chromium 131 it lays out CSS's page-margin boxes (print.css puts the page number in one), and with
`--generate-pdf-document-outline` it writes the document's headings as the PDF's outline (bookmarks); links
within the page become links within the PDF, others URI links, and every font it uses is embedded. Every host name
but 127.0.0.1 resolves to nothing. The print page's load event waits for its stylesheets, scripts (KaTeX,
print.js) and the fonts its text uses. Errors are SiteError at the `books:` line that asks for the PDF.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

from primer_site.errors import SiteError
from primer_site.layout import CONFIG_FILE
from primer_site.publish.pdfpage import KATEX_PATH as _KATEX_PATH
from primer_site.publish.pdfserver import Served, ServedHandler
from primer_site.workers import die_with_parent

RENDERER_ENV = "PRIMER_SITE_CHROMIUM"  # the renderer's path, where it is not on PATH as one of _PROGRAMS


_PROGRAMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


INSTALL = "apt-get install chromium"


_TIMEOUT = 600  # seconds for one volume


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


# The dates Chromium (Skia) writes in the PDF's document information: "D:YYYYMMDDHHmmSS+HH'mm'" (PDF 1.7, 7.9.4)
_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}(?:[+-]\d{2}'\d{2}'|Z00'00')\)")


def _dated(data: bytes, date: datetime | None) -> bytes:
    """The PDF with its creation and modification dates set to `date` (UTC), in place: a value of the same length,
    so that no offset in the file moves, and the same page gives the same bytes in every build."""
    if date is None:
        return data
    stamp = date.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'").encode("ascii")
    return _DATE.sub(lambda m: b"/" + m.group(1) + b" (" + stamp + b")", data)


def refuse_outside(book: PdfBook, urls: set[str]) -> None:
    raise SiteError(
        f"books: pdf: {book.pdf}: the print page loads {', '.join(sorted(urls))} from another site, which the PDF "
        "is made without (its renderer reads only the site's own files): put the file in static/ or beside the "
        "chapter that shows it",
        *book.asked,
    )


_OLDEST = 131  # the first Chromium to lay out CSS's page-margin boxes: the page numbers


_VERSION = re.compile(r"(?:Chromium|Chrome)\D*(\d+)\.")


def check_version(renderer: str, book: PdfBook) -> None:
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


def render_pdf(served: Served, renderer: str, target: Path, book: PdfBook) -> None:
    """Chromium prints the page, served from 127.0.0.1, to `target`; SiteError if it fails."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(ServedHandler, served=served))
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
        refuse_outside(book, served.outside)
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
