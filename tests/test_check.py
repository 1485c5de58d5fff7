"""`primer-site check`: broken links, fragments and images at their Markdown line; feeds; chapter gaps; external links."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixture_sites import REPO, SRC, make_site, post, run_cli, time_bound

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
        # the build's own error now (a same-page anchor is checked by build as one into another post is)
        "content/a.md:8: error: link to '#no-such-heading': this post has no heading or id #no-such-heading",
        "content/a.md:12: error: link to '/nowhere/': no such page or file in the built site",
        "content/a.md:13: error: image '/img/missing.png': no such page or file in the built site",
    ]
    assert result.returncode == 1
    assert "check failed: 3 errors" in result.stderr
    assert not (tmp_path / "public").exists(), "check builds into a temporary folder"


@pytest.mark.browser  # the example site asks for a PDF: check says so when Chromium is missing
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
    assert "warning: series 's' has no chapters 3, 4 (declare them with 'gaps: [3, 4]' if intended)" in result.stderr
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


def test_check_reports_every_problem_in_one_run(tmp_path: Path) -> None:
    """A broken #fragment in a link to another post's source is a build error: it stopped the check before it
    looked at the built pages, so the broken absolute link and image below were reported only after a fix."""
    make_site(
        tmp_path,
        {
            "content/a.md": post("A", body="See [B's proof](b.md#proof).\n\n[gone](/nowhere/) and ![x](/img/x.png)"),
            "content/b.md": post("B", body="## Lemma\n\nNo proof here."),
            "content/c.md": "---\ntitle: C\n---\nNo date.\n",
        },
    )
    result = run_cli("check", "-s", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if "error" in line] == [
        "content/a.md:5: error: link to 'b.md#proof': content/b.md has no heading or id #proof",
        "content/a.md:7: error: image '/img/x.png': no such page or file in the built site",
        "content/a.md:7: error: link to '/nowhere/': no such page or file in the built site",
        "content/c.md:2: error: date: is required (a date such as 2026-03-02)",
        "check failed: 4 errors",
    ]
    assert not (tmp_path / "public").exists()


def test_after_a_template_error_links_are_not_checked_but_everything_else_is(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": post("A", body="[gone](/nowhere/) and $\\frac{1}{$"),
            "templates/post.html": "{% extends 'base.html' %}{% block main %}{{ post.nope }}{% endblock %}",
        },
    )
    result = run_cli("check", "-s", str(tmp_path), "--now", "2026-06-01")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "content/a.md:5:23: error: math: unbalanced braces: a '{' is not closed" in lines
    assert any(line.startswith("templates/post.html:1: error: template: ") for line in lines), lines
    assert "<site>: warning: links were not checked: the template errors above left pages out of the site" in lines
    assert not any("/nowhere/" in line for line in lines)


def _primer_site_without_katex_nearby(root: Path) -> dict[str, str]:
    """An environment running a copy of primer-site that has no node_modules above it, and no NODE_PATH."""
    shutil.copytree(SRC / "primer_site", root / "src" / "primer_site")
    for theme in ("templates", "static", "i18n"):
        shutil.copytree(REPO / theme, root / theme)
    env = {key: value for key, value in os.environ.items() if key != "NODE_PATH"}
    return {**env, "PYTHONPATH": str(root / "src")}


@pytest.mark.parametrize("missing", ["node", "katex"])
def test_check_without_a_working_katex_fails_unless_told_to_leave_math_out(tmp_path: Path, missing: str) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A", body="Math: $x^2$.")})
    env = _primer_site_without_katex_nearby(tmp_path / "tool")
    if missing == "node":
        env["PATH"] = str(tmp_path / "no-programs-here")
    command = [sys.executable, "-m", "primer_site", "check", "-s", str(site), "--now", "2026-06-01"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    why = {
        "node": "Node.js (node) is not installed: install Node.js 18 or later (Debian and Ubuntu: `sudo apt-get "
        "install nodejs npm`; elsewhere: https://nodejs.org/; npm does not install it), then run `npm install "
        f"katex@0.19.1` in {site}",
        "katex": "the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH): "
        f"run `npm install katex@0.19.1` in {site}",
    }[missing]
    assert result.stderr == (
        f"<site>: error: math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): {why} (or leave the math check out: --no-check-math)\n"
        "check failed: 1 error\n"
    )
    build = [*command[:3], "build", *command[4:]]
    for unchecked in ([*command, "--no-check-math"], [*build, "--no-check-math"]):
        result = subprocess.run(unchecked, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and result.stderr == "", unchecked
    # `build` checks by default: without KaTeX it builds, and says once what was not checked and what to install
    result = subprocess.run(build, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert (
        result.stderr
        == f"<site>: warning: math: formulas not checked by KaTeX (only their braces, environments and unclosed $ were): {why}\n"
    )
    result = subprocess.run([*build, "--check-math"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "error: math: formulas not checked by KaTeX" in result.stderr


def theme_css() -> str:
    return (REPO / "static/css/style.css").read_text(encoding="utf-8")


def test_a_stylesheet_s_import_and_a_script_named_plainly_work_after_build_as_in_serve(tmp_path: Path) -> None:
    """CSS and JS are fingerprinted (css/style.1a2b3c4d.css), and published under their own names too: what names
    them plainly (an @import, a url(), a template's <script src>) finds them after `build` as in `serve`."""
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A"),
            "static/css/style.css": '@import url("extra.css");\n' + theme_css(),
            "static/css/extra.css": "body { background: url(../img/dot.png); }\n",
            "static/img/dot.png": "not really a PNG",
            "static/js/hello.js": "console.log('hello');\n",
            "templates/404.html": "{% extends 'base.html' %}{% block main %}<script src=\"{{ url('/js/hello.js') }}\">"
            "</script>{% endblock %}",
        },
    )
    result = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    public = site / "public"
    assert (public / "css/extra.css").read_text() == "body { background: url(../img/dot.png); }\n"
    assert (public / "js/hello.js").is_file() and list(public.glob("js/hello.*.js"))
    assert list(public.glob("css/style.*.css"))  # the theme's links still use the fingerprinted name
    checked = run_cli("check", "--source", str(site), "--now", "2026-06-01")
    assert checked.returncode == 0, checked.stderr


def test_check_follows_a_stylesheet_s_imports_and_urls(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A"),
            "static/css/style.css": "/* url(commented.png) */\n@import 'gone.css';\n" + theme_css(),
            "static/css/more.css": 'p { color: red; }\n\nh1 { background: url("../img/none.png"); }\n'
            "h2 { background: url(data:image/png;base64,AAAA); }\n",
        },
    )
    result = run_cli("check", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if "stylesheet" in line] == [
        "static/css/more.css:3: error: stylesheet loads '../img/none.png': no such page or file in the built site",
        "static/css/style.css:2: error: stylesheet loads 'gone.css': no such page or file in the built site",
    ]


@pytest.mark.parametrize("unit", ["url(", "/*", 'url("', "@import '", "url(url(", "@import "])
def test_the_stylesheet_scan_reads_each_character_once(unit: str) -> None:
    """A stylesheet left open (a comment, a string, a url( without its parenthesis) repeated: the tokens found grow
    with the text, never with its square (each token is consumed whole: check._CSS_TOKEN)."""
    from primer_site.commands import check

    counts = []
    for n in (1_000, 2_000, 4_000):
        text = unit * n
        counts.append(sum(1 for _ in check._CSS_TOKEN.finditer(text)))
        with time_bound(10):  # a hang guard, not a measure: a quadratic scan of 4,000 units takes minutes
            check.stylesheet_urls(text * 10)
    assert counts[1] <= 2 * counts[0] + 1 and counts[2] <= 2 * counts[1] + 1
