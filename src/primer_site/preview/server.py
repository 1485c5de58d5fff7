"""A static host over a built site, for previews: pretty URLs, the site's 404 page, conditional GET, live reload.

It knows nothing of the build: it is given a folder to serve and is told, through `publish`, how the last rebuild
went. Pages it serves (never the files on disk) get a small script that follows those reports over server-sent
events: it reloads the page, swaps stylesheets after a CSS-only change, or shows the build's errors in an overlay.
Until a first build succeeds, every page is one that lists the build's errors, with that script.

Requests whose Host header names another machine are refused, so that a page elsewhere cannot read the preview
(drafts included) through DNS rebinding: only the address it listens on, localhost and 127.0.0.1 are served, and
when it listens on every address (0.0.0.0 or ::), any IP address, since no other site can be reached by one.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import ipaddress
import mimetypes
import os
import select
import shutil
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from primer_site.preview.livereload import (
    EVENTS,
    LIVE_FOLDER,
    LIVE_SCRIPT,
    SCRIPT,
    BuildChannel,
    BuildState,
    inject_script,
    no_build_page,
    stream_events,
)

__all__ = ["BuildChannel", "BuildState", "ServerError", "SiteServer"]

IDLE_SECONDS = 10.0  # a connection that sends no request in this time is closed


class ServerError(Exception):
    """The server could not start (the address is in use, or not ours to bind)."""


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


class _BadPath(Exception):
    """A request path that could name something outside the site: refused, whatever it would have found."""


@dataclass(frozen=True)
class _Target:
    parts: tuple[str, ...]  # decoded path segments below the base path
    directory: bool  # the URL ended in "/"


class SiteServer:
    """Serves `root` under `base_path` on its own thread until `close`; bound (port reserved) once constructed."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "/",
        live_reload: bool = False,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self.live_reload = live_reload
        self.channel = BuildChannel(BuildState())
        self._base_path = _normal_base(base_path)
        self._log = log
        self._host_given = host
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        try:
            self._httpd = _HTTPServer((host, port), _Handler, site=self)
        except OSError as error:
            raise ServerError(_bind_message(host, port, error)) from None

    # ---------------------------------------------------------------- lifecycle

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base_path}"

    @property
    def base_path(self) -> str:
        return self._base_path

    def set_base_path(self, base_path: str) -> None:
        self._base_path = _normal_base(base_path)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            args=(0.05,),
            name=f"primer-site server :{self.port}",
            daemon=True,  # close() joins it; daemon only so that an interrupted close cannot hang the exit
        )
        self._thread.start()

    def publish(self, state: BuildState) -> None:
        """Tell every open page how the last rebuild went."""
        self.channel.publish(state)

    def close(self) -> None:
        """Stop accepting, end every open connection and its thread, and release the port."""
        self.channel.close()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            with contextlib.suppress(OSError):  # wakes a handler blocked reading an idle connection
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- used by the handler

    def track(self, connection: socket.socket, is_open: bool) -> None:
        with self._connections_lock:
            if is_open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def allows_host(self, header: str | None) -> bool:
        """Whether a request's Host header names this server (see the module's docstring); a request without one
        (HTTP/1.0) comes from no browser page and is allowed."""
        if header is None:
            return True
        name = header.strip().lower()
        name = name[1 : name.index("]")] if name.startswith("[") and "]" in name else name.rsplit(":", 1)[0]
        if name in ("localhost", "127.0.0.1", self.host.lower(), self._host_given.lower().strip("[]")):
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return ipaddress.ip_address(self.host).is_unspecified

    def log(self, message: str) -> None:
        if self._log is not None:
            self._log(message)

    def resolve(self, raw_path: str) -> _Target | None:
        """The segments a request path names below the base path; None when it is outside the base path."""
        if "\\" in raw_path or "\x00" in raw_path:
            raise _BadPath(raw_path)
        pieces = raw_path.split("/")
        if pieces[0] != "":
            raise _BadPath(raw_path)  # not an absolute path from the site root
        pieces = pieces[1:]
        directory = pieces[-1] == ""
        if directory:
            pieces = pieces[:-1]
        parts = []
        for piece in pieces:
            try:
                part = unquote(piece, errors="strict")
            except UnicodeDecodeError:
                raise _BadPath(raw_path) from None
            # "" is "//" (an absolute path once joined); "/" or "\" inside a part came from %2f or %5c
            if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
                raise _BadPath(raw_path)
            parts.append(part)
        base = tuple(p for p in self.base_path.split("/") if p)
        if tuple(parts[: len(base)]) != base:
            return None
        return _Target(tuple(parts[len(base) :]), directory or len(parts) == len(base) == 0)

    def file_for(self, parts: tuple[str, ...]) -> Path | None:
        """The real file the parts name, if it exists inside the root (symlinks followed, then checked)."""
        root = Path(os.path.realpath(self.root))
        found = Path(os.path.realpath(root.joinpath(*parts))) if parts else root
        if found != root and root not in found.parents:
            raise _BadPath("/".join(parts))
        return found if found.exists() else None

    def inject(self, html: bytes, epoch: int) -> bytes:
        """The page with the live-reload script added before </body> (or at the end)."""
        return inject_script(html, self.base_path, epoch)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close joins them: no thread outlives close()
    block_on_close = True
    allow_reuse_address = True  # a restarted preview can take the port back at once
    request_queue_size = 128  # socketserver's 5 drops connections when a page asks for its assets all at once

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], site: SiteServer) -> None:
        self.site = site
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.site.track(request, True)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.site.track(request, False)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return  # the browser went away: nothing to report
        self.site.log("".join(traceback.format_exc()))


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
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
        except _BadPath:
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
        except _BadPath:
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


def _normal_base(base_path: str) -> str:
    path = "/" + base_path.strip("/")
    return path if path == "/" else path + "/"


def _bind_message(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"cannot serve on {host}:{port}: the port is in use (choose another with --port, or --port 0 for a free one)"
    if error.errno == errno.EACCES:
        return f"cannot serve on {host}:{port}: not allowed to use this port (choose one above 1023 with --port)"
    return f"cannot serve on {host}:{port}: {error.strerror or error}"
