"""`primer-site check`: broken links, fragments and images at their Markdown line; feeds; chapter gaps; external links."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixture_sites import REPO, make_site, post, run_cli

BODY = """Intro paragraph.

A [good anchor](#real-heading) and a [broken anchor](#no-such-heading).

## Real heading

See [the tag page](/tags/) and [a missing page](/nowhere/) here,
and ![a diagram](/img/missing.png) too.
"""


def test_check_reports_broken_links_fragments_and_images_at_their_markdown_lines(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", body=BODY, tags="[x]"), "content/b.md": post("B")})
    result = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01")
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        "content/a.md:8: error: link to '#no-such-heading': no element with id 'no-such-heading' on /posts/a/",
        "content/a.md:12: error: link to '/nowhere/': no such page or file in the built site",
        "content/a.md:13: error: image '/img/missing.png': no such page or file in the built site",
    ]
    assert result.returncode == 1
    assert "check failed: 3 errors" in result.stderr
    assert not (tmp_path / "public").exists(), "check builds into a temporary folder"


def test_check_passes_on_the_example_site() -> None:
    result = run_cli("check", "--source", str(REPO), "--now", "2026-11-28")
    assert result.returncode == 0, result.stderr
    assert ": error: " not in result.stderr
    assert result.stdout.startswith("checked ")


def test_broken_links_in_templates_are_reported_at_the_page(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": post("A"),
            "templates/404.html": "{% extends 'base.html' %}{% block main %}<a href=\"{{ url('/gone/') }}\">x</a>{% endblock %}",
        },
    )
    result = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01")
    assert (
        "404.html: error: link to '/gone/' (from the page's template): no such page or file in the built site"
        in result.stderr
    )
    assert result.returncode == 1


def test_chapter_gaps_are_warnings_unless_declared(tmp_path: Path) -> None:
    files = {f"content/c{n}.md": post(f"C{n}", f"2026-01-0{n}", series="s", chapter=n) for n in (1, 2, 5)}
    make_site(tmp_path, files)
    result = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 0
    assert "warning: series 's' has no chapter 3, 4 (declare it with 'gaps: [3, 4]' if intended)" in result.stderr
    make_site(tmp_path, {"series/s.md": "---\ntitle: S\ngaps: [3, 4]\n---\n"})
    assert "no chapter" not in run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01").stderr


def test_a_build_error_fails_check_too(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": "---\ntitle: A\n---\n"})
    result = run_cli("check", "--source", str(tmp_path))
    assert result.returncode == 1 and "content/a.md:2: error: date: is required" in result.stderr


class _Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        if self.path == "/no-head":
            self.send_response(405)
        else:
            self.send_response({"/ok": 200, "/gone": 404, "/no-head-ok": 200}.get(self.path, 404))
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200 if self.path in ("/ok", "/no-head") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_external_links_are_checked_on_request(tmp_path: Path, local_server: str) -> None:
    body = f"[ok]({local_server}/ok)\n\n[gone]({local_server}/gone)\n\n[head refused]({local_server}/no-head)\n"
    make_site(tmp_path, {"content/a.md": post("A", body=body)})
    quiet = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01")
    assert quiet.returncode == 0, "external links are not requested by default"
    result = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01", "--external", "--timeout", "5")
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [f"content/a.md:7: error: external link '{local_server}/gone': HTTP 404"]
    assert "3 external URLs" in result.stdout
    assert result.returncode == 1
