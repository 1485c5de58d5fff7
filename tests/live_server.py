"""Talking to a running preview server from tests: raw-path requests and its server-sent events, all with timeouts."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any

from primer_site.preview.server import SiteServer

TIMEOUT = 5.0


def fetch(
    server: SiteServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent exactly as given (http.client does not normalise it)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), body
    finally:
        connection.close()


class EventStream:
    """A reader of the live-reload event stream; every read times out rather than hanging the test."""

    def __init__(
        self, server: SiteServer, path: str = "/__primer__/events", settled: Callable[[], None] | None = None
    ) -> None:
        """`settled`: called after each state is read (a Preview's wait_settled: the state's rebuild is done, its
        verification included, before the test edits again)."""
        self.settled = settled
        self.connection = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
        self.connection.request("GET", path)
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"

    def next_event(self) -> tuple[str, str]:
        """(event name, data) of the next event; comments and the retry field are skipped."""
        name, data = "message", []
        while True:
            line = self.response.fp.readline().decode()
            assert line, "the event stream ended"
            line = line.rstrip("\n")
            if not line:
                if data:
                    return name, "\n".join(data)
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def next_state(self) -> dict[str, Any]:
        name, data = self.next_event()
        assert name == "build"
        if self.settled is not None:
            self.settled()
        return json.loads(data)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
