"""The live-reload channel of the preview: what open pages are told after each rebuild (BuildState), how event
streams wait for the next report (BuildChannel), the script added to every page served, the server-sent-event
stream that script follows, and the page shown until a first build succeeds. The static host: server.py.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from primer_site.errors import Diagnostic

LIVE_FOLDER = "__primer__"  # the live-reload endpoints, at the site root and under the base path
EVENTS = "events"
SCRIPT = "live.js"
KEEPALIVE_SECONDS = 10.0  # an SSE comment this often keeps proxies from timing out
GONE_CHECK_SECONDS = 1.0  # how often an idle event stream looks for its tab having closed

LIVE_SCRIPT = Path(__file__).with_name("live_reload.js")
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class BuildState:
    """What open pages are told after each rebuild."""

    epoch: int = 0  # successful builds so far; a page built at an older epoch is out of date
    change: str = "page"  # what the last successful build changed: "css" (stylesheets only) or "page"
    diagnostics: tuple[Diagnostic, ...] = ()  # the last rebuild's problems; empty when it succeeded

    def to_json(self) -> str:
        return json.dumps(
            {
                "epoch": self.epoch,
                "change": self.change,
                "diagnostics": [
                    {"path": d.path, "line": d.line, "column": d.column, "severity": d.severity, "message": d.message}
                    for d in self.diagnostics
                ],
            }
        )


class BuildChannel:
    """The latest BuildState, and a way for event streams to wait for the next one."""

    def __init__(self, state: BuildState) -> None:
        self._changed = threading.Condition()
        self._state = state
        self._version = 0
        self._closed = False

    @property
    def state(self) -> BuildState:
        with self._changed:
            return self._state

    def publish(self, state: BuildState) -> None:
        with self._changed:
            self._state = state
            self._version += 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def next(self, seen: int, timeout: float) -> tuple[int, BuildState] | None:
        """(version, state) once the version differs from `seen` or `timeout` passes; None once closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._version != seen, timeout)
            if self._closed:
                return None
            return self._version, self._state


def inject_script(page: bytes, base_path: str, epoch: int) -> bytes:
    """The page with the live-reload script added before </body> (or at the end)."""
    live = f"{base_path}{LIVE_FOLDER}/"
    tag = f'<script src="{live}{SCRIPT}" data-epoch="{epoch}" data-events="{live}{EVENTS}"></script>\n'.encode()
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + b"\n" + tag
    at = ends[-1].start()
    return page[:at] + tag + page[at:]


def no_build_page(state: BuildState, live: bool) -> bytes:
    """What every page is until a build succeeds: the errors (the caller adds the script that reloads it)."""
    then = (
        "Fix the problems below and save: this page reloads by itself."
        if live
        else "Fix the problems below, then start primer-site serve again (it is not watching for changes)."
    )
    items = "".join(f"<li><code>{html.escape(str(d), quote=False)}</code></li>\n" for d in sorted(state.diagnostics))
    page = (
        "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n<title>No good build yet · primer-site</title>\n"
        "<body>\n<h1>primer-site: there is no good build of the site yet</h1>\n"
        f"<p>The first build failed. {then}</p>\n"
        f"<ol>\n{items}</ol>\n</body>\n"
    ).encode()
    return page


def stream_events(
    channel: BuildChannel, write: Callable[[bytes], object], flush: Callable[[], object], gone: Callable[[], bool]
) -> None:
    """A server-sent-event stream: the current BuildState at once, then each new one as it is published, until
    the channel closes or the client is `gone()`."""
    write(b"retry: 500\n\n")  # reconnect quickly when the preview restarts
    seen = -1
    quiet = 0.0
    while True:
        # A write to a closed tab only fails on the second try, 20 s on: look for the close instead, each second.
        news = channel.next(seen, GONE_CHECK_SECONDS)
        if news is None:
            return
        version, state = news
        if version != seen:
            write(f"event: build\ndata: {state.to_json()}\n\n".encode())
            seen, quiet = version, 0.0
        elif gone():
            return
        else:
            quiet += GONE_CHECK_SECONDS
            if quiet < KEEPALIVE_SECONDS:
                continue
            write(b": keepalive\n\n")
            quiet = 0.0
        flush()
