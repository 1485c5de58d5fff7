"""site.yaml: a site must have one, with an absolute http(s) base_url; feeds and the sitemap never hold a relative URL."""

from __future__ import annotations

import json
import re
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_sites import make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError

FAILED = "build failed: 1 error; the output folder was left as it was\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("base_url: example.org", "'example.org' must be an absolute http(s) URL, such as https://example.org"),
        ("base_url: /primer/", "'/primer/' must be an absolute http(s) URL, such as https://example.org/primer/"),
        (
            "base_url: ftp://example.org/",
            "'ftp://example.org/' must be an absolute http(s) URL, such as https://example.org/",
        ),
        ("base_url: 'https://'", "'https://' must be an absolute http(s) URL, such as https://example.org"),
        (
            "base_url: https://example.org/?lang=en",
            "'https://example.org/?lang=en' must not have a query (?…) or a fragment (#…)",
        ),
        (
            "base_url: https://example.org:http/",
            "'https://example.org:http/' is not a URL (Port could not be cast to integer value as 'http')",
        ),
        ("base_url: https://exa mple.org/", "'https://exa mple.org/' must not contain spaces"),
    ],
)
def test_a_base_url_that_is_not_an_absolute_http_url_is_an_error_at_its_line(
    tmp_path: Path, line: str, message: str
) -> None:
    site = make_site(tmp_path, {"site.yaml": f"title: T\n{line}\n", "content/a.md": post("A")})
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert result.stderr == f"site.yaml:2: error: base_url: {message}\n{FAILED}"


def test_a_missing_base_url_is_an_error(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"site.yaml": "title: T\n", "content/a.md": post("A")})
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert result.stderr == (
        "site.yaml:1: error: base_url: missing: feeds, sitemap.xml and canonical links need the site's absolute URL "
        f"(add `base_url: https://example.org/` to site.yaml, or pass --base-url)\n{FAILED}"
    )
    assert run_cli("build", "-s", str(site), "--base-url", "https://example.org/").returncode == 0


def test_a_bad_base_url_option_is_named_as_the_option(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A")})
    result = run_cli("build", "-s", str(site), "--base-url", "example.org")
    assert result.returncode == 1
    assert result.stderr == (
        f"<site>: error: --base-url 'example.org': must be an absolute http(s) URL, such as https://example.org\n{FAILED}"
    )


def test_a_base_url_of_the_wrong_type_is_reported_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"site.yaml": "title: T\nbase_url: [a]\n", "content/a.md": post("A")})
    result = run_cli("build", "-s", str(site))
    assert result.stderr == f"site.yaml:2: error: base_url: expected str, got ['a']\n{FAILED}"


_URL = re.compile(r"^https?://[^/?#\s]+(/[^\s]*)?$")


def _urls_of_machine_outputs(out: Path) -> list[str]:
    """Every URL in the feeds, the JSON feed, the sitemap and robots.txt's Sitemap line."""
    urls = []
    for feed in out.rglob("feed.xml"):
        root = ET.parse(feed).getroot()
        urls += [e.text or "" for e in root.iter("{http://www.w3.org/2005/Atom}id")]
        urls += [e.get("href", "") for e in root.iter("{http://www.w3.org/2005/Atom}link")]
    data = json.loads((out / "feed.json").read_text())
    urls += [data["home_page_url"], data["feed_url"]] + [item["url"] for item in data["items"]]
    urls += [loc.text or "" for loc in ET.parse(out / "sitemap.xml").getroot().iter() if loc.tag.endswith("loc")]
    urls += [
        line.split(": ", 1)[1] for line in (out / "robots.txt").read_text().splitlines() if line.startswith("Sitemap:")
    ]
    return urls


EDGE_BASE_URLS = [
    "https://example.org/", "http://example.org", "https://user.github.io/primer/", "http://[::1]:8080/x/", "", "/",
    "/primer/", "example.org", "//example.org/", "https:example.org", "mailto:a@example.org", "file:///srv/site/",
    "javascript:alert(1)", "HTTPS://EXAMPLE.ORG/", "https://example.org/a b/",
]  # fmt: skip
base_urls = st.one_of(
    st.sampled_from(EDGE_BASE_URLS),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30),
    st.builds(lambda path: f"https://example.org/{path}", st.text(st.sampled_from("ab/-_.~%"), max_size=12)),
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(base_urls)
def test_feeds_and_the_sitemap_hold_only_absolute_urls_or_the_build_stops(base_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="primer-base-url-") as folder:
        site = make_site(
            Path(folder),
            {
                "site.yaml": f"title: T\nbase_url: {json.dumps(base_url)}\n",
                "content/a.md": post("A", tags="[t]", series="s", chapter=1),
            },
        )
        try:
            build_site(BuildOptions(source=site, jobs=1, cache=False))
        except SiteError as error:
            assert [(d.path, d.line) for d in error.diagnostics if d.severity == "error"] == [("site.yaml", 2)]
            return
        urls = _urls_of_machine_outputs(site / "public")
        assert urls and all(_URL.match(url) for url in urls), (base_url, [u for u in urls if not _URL.match(u)])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("selff", "'selff' is not self or an absolute https:// URL (did you mean \"self\"?)"),
        ("katex/", "'katex/' is not self or an absolute https:// URL (self copies KaTeX into the site)"),
        ("/katex/", "'/katex/' is not self or an absolute https:// URL (self copies KaTeX into the site)"),
        ("//cdn.example/katex/", "'//cdn.example/katex/' is not self or an absolute https:// URL (self copies KaTeX "
         "into the site)"),
        ("http://cdn.example/katex/", "'http://cdn.example/katex/' is not https: a page served over https may not "
         "load it (write https://)"),
    ],
)  # fmt: skip
def test_a_katex_url_that_is_not_self_or_an_https_url_is_an_error_at_its_line(
    tmp_path: Path, value: str, message: str
) -> None:
    site = make_site(
        tmp_path,
        {"site.yaml": f"title: T\nbase_url: https://example.org/\nkatex_url: {value}\n", "content/a.md": post("A")},
    )
    result = run_cli("build", "-s", str(site))
    assert result.returncode == 1
    assert result.stderr == f"site.yaml:3: error: katex_url: {message}\n{FAILED}"


def test_an_https_katex_url_is_used_as_the_folder_of_katex(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nkatex_url: https://cdn.example/katex\n",
            "content/a.md": post("A", body="$x$"),
        },
    )
    assert run_cli("build", "-s", str(site)).returncode == 0
    assert 'href="https://cdn.example/katex/katex.min.css"' in (site / "public/posts/a/index.html").read_text()


def test_a_macro_name_in_a_message_is_shown_as_written_with_one_backslash(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nmacros:\n  '\\bad name': x\n",
            "content/a.md": post("A"),
        },
    )
    result = run_cli("build", "-s", str(site))
    assert result.stderr == (
        "site.yaml:3: error: macros: '\\bad name' is not a TeX macro name (a backslash and letters, such as \\E)\n"
        + FAILED
    )


def test_an_empty_value_is_named_empty_not_none(tmp_path: Path) -> None:
    site = make_site(
        tmp_path, {"site.yaml": "title: T\nbase_url: https://example.org/\npaginate:\n", "content/a.md": post("A")}
    )
    result = run_cli("build", "-s", str(site))
    assert result.stderr == f"site.yaml:3: error: paginate: expected a whole number, got an empty value\n{FAILED}"


# ---------------------------------------------------------------- permalinks and base URLs (issue 20 items 23, 24)


@pytest.mark.parametrize(
    ("kind", "pattern", "why"),
    [
        (
            "post",
            "/posts/{slug}",
            "must end with / (a folder: /posts/{slug}/) or name its extension (/posts/{slug}.html)",
        ),
        ("tag", "/tags/{slug}.html", "must end with /: a listing's later pages go in its folder (page/2/)"),
    ],
)
def test_a_permalink_is_a_folder_or_names_its_extension(tmp_path: Path, kind: str, pattern: str, why: str) -> None:
    make_site(tmp_path, {"site.yaml": f"title: T\nbase_url: https://x.org/\npermalinks:\n  {kind}: {pattern}\n",
                         "content/a.md": post()})  # fmt: skip
    result = run_cli("build", "-s", str(tmp_path))
    assert result.returncode == 1
    assert f"site.yaml:3: error: permalinks: {kind}: '{pattern}' {why}" in result.stderr


def test_a_post_permalink_may_name_its_extension(tmp_path: Path) -> None:
    make_site(tmp_path, {"site.yaml": "title: T\nbase_url: https://x.org/\npermalinks: {post: '/p/{slug}.html'}\n",
                         "content/a-post.md": post()})  # fmt: skip
    result = run_cli("build", "-s", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "public" / "p" / "a-post.html").is_file()


@pytest.mark.parametrize(
    ("url", "folder"),
    [("https://x.org/a/../", "https://x.org/"), ("https://x.org/a/./b/", "https://x.org/a/b/"),
     ("https://x.org/a/%2E%2E/b/", "https://x.org/b/")],
)  # fmt: skip
def test_a_base_url_with_dot_segments_is_refused_at_its_line(tmp_path: Path, url: str, folder: str) -> None:
    make_site(tmp_path, {"site.yaml": f"title: T\nbase_url: {url}\n", "content/a.md": post()})
    result = run_cli("build", "-s", str(tmp_path))
    assert result.returncode == 1
    assert (
        f"site.yaml:2: error: base_url: '{url}' must not have '.' or '..' segments: write the folder they lead to, "
        f"{folder}" in result.stderr
    )
