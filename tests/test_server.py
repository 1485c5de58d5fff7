"""The preview server on a real port: a static host's behaviour, refusals of every path out of the site, live reload."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_server import EventStream, fetch
from primer_site.errors import Diagnostic
from primer_site.preview.server import BuildState, ServerError, SiteServer

SECRET = "SECRET: outside the site"
PAGE = "<!doctype html>\n<title>{0}</title>\n<body>\n<p>{0}</p>\n</body>\n</html>\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A built site in tmp_path/site, with a secret beside it and symlinks pointing at it."""
    root = tmp_path / "site"
    files = {
        "index.html": PAGE.format("Home"),
        "posts/x/index.html": PAGE.format("Post x"),
        "404.html": PAGE.format("Nothing here"),
        "css/style.css": "body { color: red }\n",
        "js/math.js": "console.log(1)\n",
        "feed.xml": "<feed/>\n",
        "img/a.png": "\x89PNG",
        "img/a.svg": "<svg/>",
        "fonts/a.woff2": "w",
        "data.json": "{}",
        "notes.txt": "plain",
        "unknown.qqq": "?",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET, encoding="utf-8")
    (root / "link-out.txt").symlink_to(tmp_path / "secret.txt")
    (root / "dir-out").symlink_to(tmp_path / "outside")
    (root / "link-in.txt").symlink_to(root / "notes.txt")
    return root


@pytest.fixture
def server(site: Path) -> Iterator[SiteServer]:
    with SiteServer(site, port=0) as running:
        yield running


# ---------------------------------------------------------------- a static host


def test_pretty_urls_serve_a_folder_s_index(server: SiteServer) -> None:
    assert fetch(server, "/")[2] == PAGE.format("Home").encode()
    assert fetch(server, "/posts/x/")[2] == PAGE.format("Post x").encode()
    assert fetch(server, "/posts/x/index.html")[2] == PAGE.format("Post x").encode()
    status, headers, _ = fetch(server, "/posts/x?a=1")
    assert (status, headers["Location"]) == (301, "/posts/x/?a=1")


def test_a_missing_page_gets_the_site_s_404_page_with_status_404(server: SiteServer) -> None:
    for path in ("/posts/nope/", "/nope.css", "/css/style.css/", "/posts/"):
        status, headers, body = fetch(server, path)
        assert (status, body) == (404, PAGE.format("Nothing here").encode()), path
        assert headers["Content-Type"] == "text/html; charset=utf-8"


def test_without_a_404_page_a_plain_one_is_served(site: Path) -> None:
    (site / "404.html").unlink()
    with SiteServer(site, port=0) as server:
        status, _, body = fetch(server, "/nope/")
    assert status == 404 and b"Not found" in body


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/css/style.css", "text/css; charset=utf-8"),
        ("/js/math.js", "text/javascript; charset=utf-8"),
        ("/feed.xml", "application/xml"),
        ("/img/a.png", "image/png"),
        ("/img/a.svg", "image/svg+xml"),
        ("/fonts/a.woff2", "font/woff2"),
        ("/data.json", "application/json"),
        ("/notes.txt", "text/plain; charset=utf-8"),
        ("/unknown.qqq", "application/octet-stream"),
    ],
)
def test_content_types(server: SiteServer, path: str, expected: str) -> None:
    status, headers, _ = fetch(server, path)
    assert (status, headers["Content-Type"]) == (200, expected)
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_head_sends_the_headers_of_get_and_no_body(server: SiteServer) -> None:
    get = fetch(server, "/posts/x/")
    head = fetch(server, "/posts/x/", "HEAD")
    assert head[0] == 200 and head[2] == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified"):
        assert head[1][name] == get[1][name]
    assert int(head[1]["Content-Length"]) == len(get[2])
    assert fetch(server, "/nope/", "HEAD")[:3:2] == (404, b"")


def test_conditional_get_answers_304_until_the_file_changes(server: SiteServer, site: Path) -> None:
    _, headers, _ = fetch(server, "/css/style.css")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert fetch(server, "/css/style.css", headers={"If-None-Match": etag})[0] == 304
    assert fetch(server, "/css/style.css", headers={"If-None-Match": f'"other", {etag}'})[0] == 304
    assert fetch(server, "/css/style.css", headers={"If-Modified-Since": modified})[0] == 304
    status, headers, body = fetch(server, "/css/style.css", headers={"If-None-Match": '"other"'})
    assert (status, body) == (200, b"body { color: red }\n")
    (site / "css" / "style.css").write_text("body { color: blue }\n", encoding="utf-8")
    status, _, body = fetch(server, "/css/style.css", headers={"If-None-Match": etag})
    assert (status, body) == (200, b"body { color: blue }\n")
    assert fetch(server, "/css/style.css", "HEAD", headers={"If-None-Match": etag})[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/posts/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/posts/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/posts%2f..%2f..%2fsecret.txt",
        "/%2F..%2Fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "//etc/passwd",
        "/%2fetc/passwd",
        "/%2Fetc%2Fpasswd",
        "/./notes.txt",
        "/notes.txt%00",
        "/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 for "..": not valid UTF-8, refused as such
        "http://127.0.0.1/../secret.txt",  # the absolute form of a request target
        "etc/passwd",
    ],
)
def test_paths_that_could_leave_the_site_are_refused(server: SiteServer, path: str) -> None:
    status, headers, body = fetch(server, path)
    assert status == 400, (path, status, body)
    assert SECRET.encode() not in body
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/link-out.txt", "/dir-out/secret.txt", "/dir-out/"])
def test_symlinks_pointing_out_of_the_site_are_refused(server: SiteServer, path: str) -> None:
    status, _, body = fetch(server, path)
    assert status in (400, 403) and SECRET.encode() not in body


def test_a_symlink_within_the_site_is_served(server: SiteServer) -> None:
    assert fetch(server, "/link-in.txt")[:3:2] == (200, b"plain")


def test_every_response_says_nosniff(server: SiteServer) -> None:
    for path in ("/", "/nope/", "/posts/x", "/../x"):
        assert fetch(server, path)[1]["X-Content-Type-Options"] == "nosniff", path
    etag = fetch(server, "/")[1]["ETag"]
    assert fetch(server, "/", headers={"If-None-Match": etag})[1]["X-Content-Type-Options"] == "nosniff"


def test_the_site_is_served_under_its_base_path(site: Path) -> None:
    with SiteServer(site, port=0, base_path="/primer") as server:
        assert server.url.endswith("/primer/")
        assert fetch(server, "/primer/posts/x/")[2] == PAGE.format("Post x").encode()
        assert fetch(server, "/primer/")[2] == PAGE.format("Home").encode()
        assert fetch(server, "/primer")[1]["Location"] == "/primer/"
        assert (
            fetch(server, "/")[:2] == (302, fetch(server, "/")[1]) and fetch(server, "/")[1]["Location"] == "/primer/"
        )
        assert fetch(server, "/posts/x/")[0] == 404
        assert fetch(server, "/primer/../secret.txt")[0] == 400


def test_the_server_binds_localhost_and_reports_a_port_in_use(site: Path) -> None:
    with SiteServer(site, port=0) as server:
        assert server.host == "127.0.0.1"
        with pytest.raises(ServerError, match=f"127.0.0.1:{server.port}: the port is in use"):
            SiteServer(site, port=server.port)


# ---------------------------------------------------------------- live reload


def test_live_reload_adds_a_script_to_served_pages_only(site: Path) -> None:
    with SiteServer(site, port=0, live_reload=True) as server:
        _, headers, page = fetch(server, "/posts/x/")
        assert (
            b'<script src="/__primer__/live.js" data-epoch="0" data-events="/__primer__/events"></script>\n</body>'
            in page
        )
        assert int(headers["Content-Length"]) == len(page)
        assert b"__primer__" in fetch(server, "/nope/")[2]  # the 404 page too
        assert b"__primer__" not in fetch(server, "/css/style.css")[2]
        status, headers, script = fetch(server, "/__primer__/live.js")
        assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"EventSource" in script
    assert "__primer__" not in (site / "posts" / "x" / "index.html").read_text(encoding="utf-8")


def test_without_live_reload_pages_are_served_as_they_are(server: SiteServer) -> None:
    assert fetch(server, "/posts/x/")[2] == PAGE.format("Post x").encode()
    assert fetch(server, "/__primer__/events")[0] == 404


def test_a_page_s_etag_changes_with_each_build(site: Path) -> None:
    with SiteServer(site, port=0, live_reload=True) as server:
        etag = fetch(server, "/")[1]["ETag"]
        assert fetch(server, "/", headers={"If-None-Match": etag})[0] == 304
        server.publish(BuildState(epoch=1))
        status, headers, page = fetch(server, "/", headers={"If-None-Match": etag})
        assert status == 200 and b'data-epoch="1"' in page
        # a date cannot say which build a page's script belongs to: no Last-Modified, If-Modified-Since ignored
        assert "Last-Modified" not in headers
        assert fetch(server, "/", headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})[0] == 200


def test_the_event_stream_sends_the_state_then_every_build(site: Path) -> None:
    with SiteServer(site, port=0, live_reload=True, base_path="/primer/") as server:
        server.publish(BuildState(epoch=1))
        with EventStream(server, "/primer/__primer__/events") as stream:
            assert stream.next_state() == {"epoch": 1, "change": "page", "diagnostics": []}
            broken = Diagnostic("content/x.md", 3, 0, "error", "front matter is not valid YAML")
            server.publish(BuildState(epoch=1, diagnostics=(broken,)))
            assert stream.next_state()["diagnostics"] == [
                {"path": "content/x.md", "line": 3, "column": 0, "severity": "error", "message": broken.message}
            ]
            server.publish(BuildState(epoch=2, change="css"))
            assert stream.next_state() == {"epoch": 2, "change": "css", "diagnostics": []}


def test_close_ends_every_connection_and_thread_and_releases_the_port(site: Path) -> None:
    before = set(threading.enumerate())
    server = SiteServer(site, port=0, live_reload=True)
    server.start()
    port = server.port
    stream = EventStream(server)
    stream.next_event()
    idle = socket.create_connection((server.host, port), timeout=5)  # a browser's preconnect: no request yet
    time.sleep(0.1)
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 2
    assert set(threading.enumerate()) - before == set()
    stream.close()
    idle.close()
    with SiteServer(site, port=port) as again:  # the port is free for the next preview
        assert fetch(again, "/")[0] == 200


def test_a_port_of_zero_picks_a_free_port(site: Path) -> None:
    with SiteServer(site, port=0) as one, SiteServer(site, port=0) as two:
        assert one.port and two.port and one.port != two.port
        assert one.url == f"http://127.0.0.1:{one.port}/"


def test_a_file_removed_by_a_rebuild_is_not_found(server: SiteServer, site: Path) -> None:
    os.remove(site / "posts" / "x" / "index.html")
    assert fetch(server, "/posts/x/")[0] == 404


# ---------------------------------------------------------------- DNS rebinding


@pytest.mark.parametrize("path", ["/", "/posts/x/", "/__primer__/events", "/__primer__/live.js", "/nowhere"])
def test_a_host_header_naming_another_site_is_refused(site: Path, path: str) -> None:
    """A page on evil.example whose name is re-pointed at 127.0.0.1 sends Host: evil.example: it must read nothing."""
    with SiteServer(site, port=0, live_reload=True) as server:
        status, headers, body = fetch(server, path, headers={"Host": f"evil.example:{server.port}"})
        assert status == 403 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert body.decode() == (
            f"primer-site serve: this server is not 'evil.example:{server.port}' (a page elsewhere may be trying to "
            f"read it): open http://127.0.0.1:{server.port}/, or serve with --host NAME to use another name\n"
        )


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "127.0.0.1", "localhost"])
def test_the_server_s_own_names_are_served(server: SiteServer, host: str) -> None:
    status, _, body = fetch(server, "/posts/x/", headers={"Host": host.format(port=server.port)})
    assert status == 200 and b"Post x" in body


def test_a_request_without_a_host_header_is_served(server: SiteServer) -> None:
    """HTTP/1.0 needs no Host; no browser page sends such a request, so it cannot come from a rebound name."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET /posts/x/ HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 200 ") and b"Post x" in reply


def test_on_every_address_any_ip_address_is_served_but_no_other_name(site: Path) -> None:
    with SiteServer(site, host="0.0.0.0", port=0) as server:
        for host, expected in (
            (f"192.168.1.20:{server.port}", 200),
            (f"[fe80::1]:{server.port}", 200),
            ("127.0.0.1", 200),
            (f"localhost:{server.port}", 200),
            (f"my-laptop.local:{server.port}", 403),
            (f"192.168.1.20.evil.example:{server.port}", 403),
        ):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            with connection:
                connection.sendall(f"GET /posts/x/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
                reply = b""
                while chunk := connection.recv(65536):
                    reply += chunk
            assert reply.split(b" ")[1] == str(expected).encode(), (host, reply[:80])


def test_a_server_bound_to_a_name_serves_that_name(site: Path) -> None:
    with SiteServer(site, host="localhost", port=0) as server:
        status, _, _ = fetch(server, "/", headers={"Host": f"localhost:{server.port}"})
        assert status == 200
        assert fetch(server, "/", headers={"Host": "example.org"})[0] == 403
