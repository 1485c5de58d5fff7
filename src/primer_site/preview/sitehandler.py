"""The preview's answers to HTTP requests: a request path → a file of the site (pretty URLs: a folder's
index.html; a folder without its "/" redirected), the site's 404 page, conditional GET (ETag, If-Modified-Since),
the live-reload script and its event stream, and the page that lists the build's errors until one succeeds.
Which host and folder it answers for, and which paths name a file of the site: server.py (SiteServer).
"""

from __future__ import annotations

import email.utils
import mimetypes
import os
import select
import shutil
import socket
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from primer_site.preview.livereload import (
    EVENTS,
    LIVE_FOLDER,
    LIVE_SCRIPT,
    SCRIPT,
    BuildState,
    no_build_page,
    stream_events,
)

IDLE_SECONDS = 10.0  # a connection that sends no request in this time is closed


# A fixed table, so that a page's type does not depend on the machine's /etc/mime.types.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".pdf": "application/pdf",
    ".wasm": "application/wasm",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".zip": "application/zip",
}


def content_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name, strict=True)[0] or "application/octet-stream"


class BadPath(Exception):
    """A request path that could name something outside the site: refused, whatever it would have found."""


class SiteHandler(BaseHTTPRequestHandler):
    """One connection's requests. `self.server.site` is the host (server.SiteServer): its folder, base path,
    allowed hosts and build channel."""

    server: Any
    timeout = IDLE_SECONDS

    def version_string(self) -> str:
        return "primer-site"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.site.log(format % args)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    # ---------------------------------------------------------------- routing

    def _respond(self, send_body: bool) -> None:
        site = self.server.site
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path  # as sent: http.server turns a leading "//" into "/"
        if target.startswith(("http://", "https://")):  # the absolute form: only its path counts
            target = urlsplit(target).path or "/"
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        host = self.headers.get("Host")
        if not site.allows_host(host):
            message = (
                f"primer-site serve: this server is not {host!r} (a page elsewhere may be trying to read it): "
                f"open {site.url}, or serve with --host NAME to use another name\n"
            )
            self._plain(HTTPStatus.FORBIDDEN, message, send_body)
            return
        if site.live_reload:
            for prefix in (f"/{LIVE_FOLDER}/", f"{site.base_path}{LIVE_FOLDER}/"):
                if path.startswith(prefix):
                    self._live(path[len(prefix) :], send_body)
                    return
        state = site.channel.state
        if state.epoch == 0 and state.diagnostics:
            self._no_build_yet(state, send_body)
            return
        try:
            resolved = site.resolve(path)
            if resolved is None:
                if path == "/":
                    self._redirect(HTTPStatus.FOUND, site.base_path + (f"?{query}" if query else ""))
                else:
                    self._not_found(send_body)
                return
            found = site.file_for(resolved.parts)
            if found is not None and found.is_dir():
                if not resolved.directory:
                    self._redirect(HTTPStatus.MOVED_PERMANENTLY, path + "/" + (f"?{query}" if query else ""))
                    return
                found = site.file_for((*resolved.parts, "index.html"))
            elif resolved.directory:
                found = None  # "/style.css/" names a folder, and there is none
            if found is None or not found.is_file():
                self._not_found(send_body)
                return
            self._file(found, HTTPStatus.OK, send_body)
        except BadPath:
            self._plain(HTTPStatus.BAD_REQUEST, "bad path: it could name a file outside the site\n", send_body)

    def _live(self, name: str, send_body: bool) -> None:
        if name == EVENTS:
            self._events(send_body)
        elif name == SCRIPT:
            body = LIVE_SCRIPT.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES[".js"])
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if send_body:
                self.wfile.write(body)
        else:
            self._plain(HTTPStatus.NOT_FOUND, "not found\n", send_body)

    # ---------------------------------------------------------------- responses

    def _file(self, file: Path, status: HTTPStatus, send_body: bool) -> None:
        site = self.server.site
        epoch = site.channel.state.epoch  # read before the file: a page never claims a newer build than it shows
        try:
            stream = open(file, "rb")  # noqa: SIM115 (held open while it is sent, below)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):  # gone in a rebuild since it was found
            if status == HTTPStatus.NOT_FOUND:
                self._plain(status, "not found\n", send_body)
            else:
                self._not_found(send_body)
            return
        with stream:  # the build writes a changed file anew (never in place), so the open file's bytes stay put
            stat = os.fstat(stream.fileno())
            kind = content_type(file.name)
            inject = site.live_reload and kind.startswith("text/html")
            # the inode too: the build writes a changed file anew, so even a same-size edit in the same tick shows
            etag = f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}' + (f"-e{epoch}" if inject else "") + '"'
            # a page with the script also depends on the build's epoch, which a date cannot say: the ETag decides
            modified = None if inject else datetime.fromtimestamp(int(stat.st_mtime), UTC)
            if status == HTTPStatus.OK and self._not_modified(etag, modified):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                return
            page = site.inject(stream.read(), epoch) if inject else None
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(page) if page is not None else stat.st_size))
            self.send_header("Cache-Control", "no-cache")  # always revalidate: a preview changes under the reader
            if status == HTTPStatus.OK:
                self.send_header("ETag", etag)
                if modified is not None:
                    self.send_header("Last-Modified", email.utils.format_datetime(modified, usegmt=True))
            self.end_headers()
            if send_body and page is not None:
                self.wfile.write(page)
            elif send_body:
                shutil.copyfileobj(stream, self.wfile)  # in pieces: a big file is never all in memory at once

    def _not_modified(self, etag: str, modified: datetime | None) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:  # when both are sent, the ETag decides
            tags = [t.strip().removeprefix("W/") for t in match.split(",")]
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since is None or modified is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return modified <= when

    def _not_found(self, send_body: bool) -> None:
        site = self.server.site
        try:
            page = site.file_for(("404.html",))
        except BadPath:
            page = None
        if page is not None and page.is_file():
            self._file(page, HTTPStatus.NOT_FOUND, send_body)
            return
        html = b"<!doctype html>\n<title>Not found</title>\n<h1>Not found</h1>\n<p>This site has no 404.html.</p>\n"
        if site.live_reload:
            html = site.inject(html, site.channel.state.epoch)
        self._bytes(HTTPStatus.NOT_FOUND, html, CONTENT_TYPES[".html"], send_body)

    def _no_build_yet(self, state: BuildState, send_body: bool) -> None:
        """What every page is until a build succeeds: the errors, with the script that reloads once they are fixed."""
        live = self.server.site.live_reload
        page = no_build_page(state, live)
        if live:
            page = self.server.site.inject(page, state.epoch)
        self._bytes(HTTPStatus.SERVICE_UNAVAILABLE, page, CONTENT_TYPES[".html"], send_body)

    def _redirect(self, status: HTTPStatus, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _plain(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        self._bytes(status, text.encode(), CONTENT_TYPES[".txt"], send_body)

    def _bytes(self, status: HTTPStatus, data: bytes, kind: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _events(self, send_body: bool) -> None:
        """A server-sent-event stream: the current BuildState at once, then each new one as it is published."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if not send_body:
            return
        stream_events(self.server.site.channel, self.wfile.write, self.wfile.flush, self._client_gone)

    def _client_gone(self) -> bool:
        """Whether the client closed the connection: after its request an event stream's client sends nothing."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and not self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return True
