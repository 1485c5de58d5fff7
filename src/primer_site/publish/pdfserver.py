"""What Chromium reads while it prints a volume (pdf.py): a server of our own, bound to 127.0.0.1, that serves the
finished site from the staging folder and KaTeX's files from the installed katex package (when the pages load them
from a CDN), and nothing else. Every request for another host comes to it as Chromium's proxy, and it refuses it.
It gets the print page as pdfpage.py makes it (links absolute, sections nested). Each path asked for is recorded
(read, missing, or outside), for the PDF cache's digest and the build's errors."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from primer_site.publish.pdfpage import KATEX_PATH as _KATEX_PATH


@dataclass
class Served:
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


class ServedHandler(BaseHTTPRequestHandler):
    def __init__(self, *args: Any, served: Served, **kwargs: Any) -> None:
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

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:
            # the renderer closed the connection first (it dropped a request it no longer needed, or gave up on a
            # 404): nothing was lost, and socketserver would print the traceback on the build's error output
            self.close_connection = True

    def do_CONNECT(self) -> None:
        self.send_error(403)  # a tunnel says nothing of who asked: the page's https URLs are found in its HTML

    do_HEAD = do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass
