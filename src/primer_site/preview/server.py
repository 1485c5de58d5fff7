"""A static host over a built site, for previews: pretty URLs, the site's 404 page, conditional GET, live reload
(the answer to each request: sitehandler.py).

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
import errno
import ipaddress
import os
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from primer_site.preview.livereload import BuildChannel, BuildState, inject_script
from primer_site.preview.sitehandler import BadPath, SiteHandler

__all__ = ["BuildChannel", "BuildState", "ServerError", "SiteServer"]


class ServerError(Exception):
    """The server could not start (the address is in use, or not ours to bind)."""


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
            self._httpd = _HTTPServer((host, port), SiteHandler, site=self)
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
            raise BadPath(raw_path)
        pieces = raw_path.split("/")
        if pieces[0] != "":
            raise BadPath(raw_path)  # not an absolute path from the site root
        pieces = pieces[1:]
        directory = pieces[-1] == ""
        if directory:
            pieces = pieces[:-1]
        parts = []
        for piece in pieces:
            try:
                part = unquote(piece, errors="strict")
            except UnicodeDecodeError:
                raise BadPath(raw_path) from None
            # "" is "//" (an absolute path once joined); "/" or "\" inside a part came from %2f or %5c
            if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
                raise BadPath(raw_path)
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
            raise BadPath("/".join(parts))
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


def _normal_base(base_path: str) -> str:
    path = "/" + base_path.strip("/")
    return path if path == "/" else path + "/"


def _bind_message(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"cannot serve on {host}:{port}: the port is in use (choose another with --port, or --port 0 for a free one)"
    if error.errno == errno.EACCES:
        return f"cannot serve on {host}:{port}: not allowed to use this port (choose one above 1023 with --port)"
    return f"cannot serve on {host}:{port}: {error.strerror or error}"
