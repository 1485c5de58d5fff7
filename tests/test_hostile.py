"""Hostile inputs and environments: nothing outside the site is published, no active content slips past
`raw_html: false`, and each hostile case is a located error, not a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixture_sites import build, build_result, make_site, post
from primer_site.errors import SiteError


def messages(site: Path) -> list[str]:
    with pytest.raises(SiteError) as caught:
        build(site)
    return [str(d) for d in caught.value.diagnostics]


# ---------------------------------------------------------------- symbolic links (issue item 6)


@pytest.mark.parametrize("folder", ["content", "content/vol", "static", "series"])
def test_a_link_out_of_the_site_is_an_error_that_names_it_and_where_it_points(tmp_path: Path, folder: str) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOKEN=hunter2", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / folder).mkdir(parents=True, exist_ok=True)
    name = "leak.md" if folder == "series" else "leak.txt"
    (site / folder / name).symlink_to(secret)
    found = messages(site)
    assert found == [
        f"{folder}/{name}: error: is a symbolic link to {secret}, outside the site folder: nothing outside the site "
        "is published unless site.yaml says `follow_links_outside: true` (or put the file itself here)"
    ]
    assert not (site / "public").exists()


def test_a_folder_linked_from_outside_is_refused_and_not_walked(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "shadow").write_text("root:x", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / "content" / "etc").symlink_to(outside)
    (found,) = messages(site)
    assert found.startswith(f"content/etc: error: is a symbolic link to {outside}, outside the site folder")


def test_follow_links_outside_publishes_what_the_link_points_to(tmp_path: Path) -> None:
    shared = tmp_path / "shared.txt"
    shared.write_text("shared data", encoding="utf-8")
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "follow_links_outside: true\n")
    (site / "content" / "shared.txt").symlink_to(shared)
    (site / "static").mkdir()
    (site / "static" / "shared2.txt").symlink_to(shared)
    out = build(site)
    assert (out / "shared.txt").read_text() == "shared data"
    assert (out / "shared2.txt").read_text() == "shared data"


@pytest.mark.parametrize("target", ["/proc/self/environ", "/proc/self", "/dev/null", "/sys/kernel"])
@pytest.mark.parametrize("allowed", [False, True])
def test_proc_sys_and_dev_are_never_published_even_when_links_outside_are_allowed(
    tmp_path: Path, target: str, allowed: bool
) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post()})
    if allowed:
        (site / "site.yaml").write_text((site / "site.yaml").read_text() + "follow_links_outside: true\n")
    (site / "content" / "env.txt").symlink_to(target)
    (found,) = messages(site)
    assert found.startswith("content/env.txt: error: links to /"), found
    assert found.endswith(": a file under /proc, /sys or /dev is never published (remove the link)")
    assert not (site / "public").exists()


def test_links_inside_the_site_and_the_theme_s_own_static_files_are_fine(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post(), "content/real.txt": "data", "static/x.css": "a{}"})
    (site / "content" / "alias.txt").symlink_to(site / "content" / "real.txt")
    out = build(site, fingerprint=False)
    assert (out / "alias.txt").read_text() == "data"
    assert (out / "x.css").exists()


# ---------------------------------------------------------------- active content beside a post (issue item 7)

SAFE_SVG = '<svg xmlns="http://www.w3.org/2000/svg"><a href="https://example.org/"><circle r="4"/></a></svg>\n'
ACTIVE_SVGS = {
    "script": '<svg xmlns="http://www.w3.org/2000/svg">\n<script>alert(1)</script></svg>',
    "onload": '<svg xmlns="http://www.w3.org/2000/svg"\n onload="alert(1)"/>',
    "spaced handler": '<svg xmlns="http://www.w3.org/2000/svg">\n<rect ONCLICK = "alert(1)"/></svg>',
    "javascript link": '<svg xmlns="http://www.w3.org/2000/svg">\n<a href="javascript:alert(1)"><text>x</text></a></svg>',
    "entity link": '<svg>\n<a xlink:href="&#106;ava&#x09;script:alert(1)">x</a></svg>',
    "foreignObject": "<svg>\n<foreignObject><iframe src=x></iframe></foreignObject></svg>",
    "prefixed script": '<svg>\n<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></svg>',
    "entity": '<!DOCTYPE svg [\n<!ENTITY x "&#60;script>alert(1)&#60;/script>">]><svg>&x;</svg>',
    "animate": '<svg>\n<a><animate attributeName="href" values="javascript:alert(1)"/></a></svg>',
    "html data": '<svg>\n<a href="data:text/html,&lt;script>alert(1)&lt;/script>">x</a></svg>',
}


def raw_html_false(site: Path) -> Path:
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "raw_html: false\n")
    return site


@pytest.mark.parametrize("name", sorted(ACTIVE_SVGS))
def test_an_svg_carrying_script_is_an_error_at_its_line_under_raw_html_false(tmp_path: Path, name: str) -> None:
    site = raw_html_false(make_site(tmp_path, {"content/a.md": post(), "content/fig.svg": ACTIVE_SVGS[name]}))
    (found,) = messages(site)
    assert found.startswith("content/fig.svg:2: error: this SVG "), found
    assert found.endswith(
        "which a browser runs as script on the site, and raw_html is false: remove the script (a figure needs "
        "none), or set raw_html: true"
    )
    assert not (site / "public").exists()


@pytest.mark.parametrize("suffix", [".html", ".htm", ".xhtml", ".HTML"])
def test_an_html_file_beside_a_post_is_an_error_under_raw_html_false(tmp_path: Path, suffix: str) -> None:
    site = raw_html_false(make_site(tmp_path, {"content/a.md": post(), f"content/demo{suffix}": "<p>hi</p>"}))
    assert messages(site) == [
        f"content/demo{suffix}:1: error: an HTML file beside a post runs as a page of the site, and raw_html is "
        "false: remove it (or set raw_html: true)"
    ]


def test_a_plain_svg_is_published_and_raw_html_true_publishes_as_written(tmp_path: Path) -> None:
    site = raw_html_false(make_site(tmp_path, {"content/a.md": post(), "content/fig.svg": SAFE_SVG}))
    assert (build(site) / "fig.svg").read_text() == SAFE_SVG
    other = make_site(tmp_path / "trusted", {"content/a.md": post(), "content/fig.svg": ACTIVE_SVGS["script"]})
    assert (build(other) / "fig.svg").read_text() == ACTIVE_SVGS["script"]


def test_the_link_scan_of_active_content_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work counted, not timed: the characters each search and find of the link scanner covers, over inputs of
    growing size made of the units that could make it quadratic (values with no closing quote, links with no
    value). Linear: the count per input byte stays bounded."""
    from primer_site.sources import activecontent

    covered = [0]
    pattern = activecontent._LINK_START

    class Counting:
        def search(self, text: str, at: int):
            found = pattern.search(text, at)
            covered[0] += (found.end() if found else len(text)) - at
            return found

    monkeypatch.setattr(activecontent, "_LINK_START", Counting())
    for unit in ('<a href="', "<a href='x' ", "href=", 'href="javascript:x', "xlink:href = '#a' "):
        per_byte = []
        for n in (500, 1000, 2000, 4000, 8000):
            text = unit * n
            covered[0] = 0
            activecontent._unsafe_link(CountingStr(text))
            per_byte.append((covered[0] + CountingStr.examined) / len(text))
            CountingStr.examined = 0
        assert max(per_byte) <= 3, (unit, per_byte)


class CountingStr(str):
    """A str whose find counts the characters it covers (into the class: slices of it are plain str)."""

    examined = 0

    def find(self, sub, start=0, end=None):  # type: ignore[override]
        found = str.find(self, sub, start, len(self) if end is None else end)
        CountingStr.examined += (found if found >= 0 else len(self)) - start
        return found


# ---------------------------------------------------------------- command-line bounds (issue items 13 and 8)


def test_jobs_is_capped(tmp_path: Path) -> None:
    from fixture_sites import run_cli

    site = make_site(tmp_path, {"content/a.md": post()})
    result = run_cli("build", "-s", str(site), "--jobs", "100000")
    assert result.returncode == 2
    assert (
        "argument --jobs: 100000 is more than 64: each job is a process of 50-100 MB, and more than the CPUs buys "
        "nothing" in result.stderr
    )
    assert not (site / "public").exists()


def test_serve_with_an_empty_host_listens_on_loopback_only_and_says_so(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from fixture_sites import SRC

    site = make_site(tmp_path, {"content/a.md": post()})
    serve = subprocess.Popen(
        [sys.executable, "-m", "primer_site", "serve", "-s", str(site), "--host", "", "--port", "0", "--no-watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        while line and not line.startswith("serving "):
            line = serve.stdout.readline()
        assert "at http://127.0.0.1:" in line, line
    finally:
        serve.send_signal(signal.SIGINT)
        _, err = serve.communicate(timeout=30)
    assert (
        "primer-site serve: --host is empty: serving on 127.0.0.1 only (--host 0.0.0.0 serves every interface)" in err
    )


# ---------------------------------------------------------------- check --external has a deadline (issue item 10)


def test_check_external_ends_against_a_server_sending_a_byte_a_second(tmp_path: Path) -> None:
    import socket
    import threading

    from fixture_sites import run_cli

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip() -> None:  # the status line and headers, one byte every half second, for ever
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client:
                for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000:
                    if stop.wait(0.5):
                        return
                    try:
                        client.send(bytes([byte]))
                    except OSError:
                        break

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/slow"
    make_site(tmp_path, {"content/a.md": post("A", body=f"[slow]({url})\n")})
    try:
        result = run_cli("check", "--source", str(tmp_path), "--now", "2026-06-01", "--external", "--timeout", "2")
    finally:
        stop.set()
        listener.close()
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [f"content/a.md:5: error: external link '{url}': no whole answer within 2 s (--timeout)"]
    assert result.returncode == 1


# ---------------------------------------------------------------- RFC 3339 offsets (issue item 22)


def test_local_mean_time_offsets_are_whole_minutes_in_every_feed_sitemap_and_json_ld(tmp_path: Path) -> None:
    import re

    site = make_site(tmp_path, {"content/a.md": post(date="1930-05-01T00:00:00")})
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "timezone: Europe/Amsterdam\n")
    out = build(site, fingerprint=False)
    texts = {
        p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.suffix in (".xml", ".json", ".html")
    }
    found = [(name, m.group()) for name, text in texts.items() for m in re.finditer(r"1930-0[45]-\d\dT[\d:+-]+", text)]
    assert found, "the post's date appears in the feeds, the sitemap and the JSON-LD"
    assert {stamp for _, stamp in found} == {"1930-05-01T00:00:28+00:20"}, found
    assert {name.rsplit("/", 1)[-1] for name, _ in found} >= {"feed.xml", "feed.json", "sitemap.xml", "index.html"}


# ---------------------------------------------------------------- --now follows the post dates' rule (issue item 25)


def test_now_at_a_time_the_zone_skips_is_an_error_as_a_post_date_is(tmp_path: Path) -> None:
    from fixture_sites import run_cli

    site = make_site(tmp_path, {"content/a.md": post()})
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "timezone: Europe/Paris\n")
    result = run_cli("build", "-s", str(site), "--now", "2026-03-29T02:30:00")
    assert result.returncode == 1
    assert (
        "error: --now: 2026-03-29T02:30:00 does not exist in Europe/Paris (the clocks are put forward that day, "
        "from UTC+01:00 to UTC+02:00): write the time with its UTC offset, such as 2026-03-29T03:30:00+02:00"
        in result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------- names that differ only in case (issue item 16)


def test_files_whose_names_differ_only_in_case_are_an_error_naming_both(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {"content/a.md": post(), "content/Photo.txt": "a", "content/photo.txt": "b", "static/A.css": "a{}",
         "static/a.css": "b{}"},
    )  # fmt: skip
    with pytest.raises(SiteError) as caught:
        build(site, fingerprint=False)
    assert [str(d) for d in caught.value.diagnostics] == [
        "content/photo.txt: error: published at photo.txt, as content/Photo.txt is at Photo.txt: on a "
        "case-insensitive host they are one file: rename one of them",
        "static/a.css: error: published at a.css, as static/A.css is at A.css: on a case-insensitive host they are "
        "one file: rename one of them",
    ]


# ---------------------------------------------------------------- templates that never end or divide by zero (item 18)

RECURSIVE = "a template that includes or extends itself, or a macro that calls itself without end"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{% extends "post.html" %}', f"templates/post.html:1: error: template: nested too deeply: {RECURSIVE}"),
        ('x\n{% include "post.html" %}', f"templates/post.html:2: error: template: nested too deeply: {RECURSIVE}"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}\n{{ f(1) }}", f"templates/post.html:1: error: template: nested "
         f"too deeply: {RECURSIVE}"),
        ("a\n{{ 1/0 }}", "templates/post.html:2: error: template: division by zero (ZeroDivisionError)"),
    ],
)  # fmt: skip
def test_a_template_that_never_ends_or_divides_by_zero_is_an_error_at_its_line(
    tmp_path: Path, template: str, expected: str
) -> None:
    site = make_site(tmp_path, {"content/a.md": post(), "templates/post.html": template})
    assert messages(site) == [f"{expected} (while rendering content/a.md)"]


# ---------------------------------------------------------------- Ctrl-C while loading (issue item 21)


@pytest.mark.parametrize(
    "after",
    ["primer_site.errors", "yaml", "primer_site.sources.config", "jinja2", "markdown_it", "primer_site.commands.build"],
)
def test_ctrl_c_while_the_program_loads_ends_quietly(tmp_path: Path, after: str) -> None:
    """Ctrl-C at a known point of start-up: Python's -X importtime says, on stderr, each module as its import
    ends; the signal is sent when `after` has been imported, while the rest still loads."""
    import signal
    import subprocess
    import sys

    from fixture_sites import SRC

    site = make_site(tmp_path, {"content/a.md": post()})
    build = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "primer_site", "build", "-s", str(site)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert build.stderr is not None
    for line in build.stderr:
        if line.startswith("import time:") and line.split("|")[-1].strip() == after:
            build.send_signal(signal.SIGINT)
            break
    else:
        raise AssertionError(f"{after} was never imported")
    _, err = build.communicate(timeout=60)
    said = [line for line in err.splitlines() if not line.startswith("import time:")]
    assert said == ["interrupted"], said
    assert build.returncode == 130


def test_check_refuses_a_feed_date_that_is_not_rfc_3339(tmp_path: Path) -> None:
    from primer_site.commands.check import _Checker
    from primer_site.errors import Problems

    site = make_site(tmp_path, {"content/a.md": post()})
    built = build_result(site)
    out = site / "public"
    feed = out / "feed.xml"
    text = feed.read_text()
    stamp = text.split("<updated>", 1)[1].split("</updated>", 1)[0]
    feed.write_text(text.replace(stamp, "1930-05-01T00:00:00+00:19:32", 1))
    problems = Problems()
    assert built.site is not None
    _Checker(out, built.site, "/").check_feeds(problems)
    assert [str(d) for d in problems.items] == [
        "feed.xml: error: feed date '1930-05-01T00:00:00+00:19:32' is not an RFC 3339 date-time"
    ]
