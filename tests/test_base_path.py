"""Root-absolute URLs (`/posts/entropy/`, `/vol/plot.png`) are paths of the site: under the base URL's path in
every output (pages, listings, feeds), whether written in Markdown, in raw HTML or in a summary."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from fixture_sites import make_site, post, run_cli
from primer_site.commands.build import BuildOptions, build_site

SITE = "title: T\nbase_url: https://user.github.io/primer/\nfeeds: {content: full}\n"
BODY = (
    'See [x](/posts/other/#part) and ![img](/information-theory/plot.png), <a href="/tags/">tags</a>, '
    '<img alt="logo" src="/logo.png">, [elsewhere](//cdn.example.org/x) and [here](#part).\n\n## Part'
)


def _site(root: Path) -> Path:
    site = make_site(
        root,
        {
            "site.yaml": SITE,
            "content/information-theory/entropy.md": post(
                "Entropy", summary="'Read [the other](/posts/other/).'", body=BODY
            ),
            "content/other.md": post("Other", date="2026-01-04", body="## Part\n\nText."),
        },
    )
    Image.new("RGB", (40, 20)).save(site / "content/information-theory/plot.png")
    (site / "static").mkdir()
    Image.new("RGB", (4, 2)).save(site / "static/logo.png")
    return site


def test_root_absolute_urls_get_the_base_path_in_pages_listings_and_feeds(tmp_path: Path) -> None:
    site = _site(tmp_path)
    build_site(BuildOptions(source=site, cache=False, jobs=1))
    page = (site / "public/posts/entropy/index.html").read_text(encoding="utf-8")
    assert re.findall(r"<p>See .*?</p>", page) == [
        '<p>See <a href="/primer/posts/other/#part">x</a> and <img src="/primer/information-theory/plot.png" '
        'alt="img" width="40" height="20" decoding="async">, <a href="/primer/tags/">tags</a>, '
        '<img alt="logo" src="/primer/logo.png">, <a href="//cdn.example.org/x">elsewhere</a> and '
        '<a href="#part">here</a>.</p>'
    ]
    listing = (site / "public/index.html").read_text(encoding="utf-8")
    assert 'Read <a href="/primer/posts/other/">the other</a>' in listing
    feed = (site / "public/feed.xml").read_text(encoding="utf-8")
    for url in ("posts/other/#part", "information-theory/plot.png", "tags/", "logo.png"):
        assert (
            f"=&quot;https://user.github.io/primer/{url}&quot;" in feed
            or f'="https://user.github.io/primer/{url}"' in feed.replace("&quot;", '"')
        ), url
    assert "user.github.io/posts/" not in feed and "user.github.io/tags/" not in feed


def test_the_same_site_without_a_base_path_keeps_the_urls_as_written(tmp_path: Path) -> None:
    site = _site(tmp_path)
    build_site(BuildOptions(source=site, base_url="https://example.org/", cache=False, jobs=1))
    page = (site / "public/posts/entropy/index.html").read_text(encoding="utf-8")
    assert '<a href="/posts/other/#part">x</a>' in page and 'src="/information-theory/plot.png"' in page


def test_check_reads_the_base_url_from_site_yaml_and_finds_a_broken_root_link(tmp_path: Path) -> None:
    site = _site(tmp_path)
    result = run_cli("check", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    (site / "content/other.md").write_text(
        post("Other", date="2026-01-04", body="## Part\n\nGo [there](/posts/nope/).")
    )
    result = run_cli("check", "-s", str(site), "--now", "2026-06-01")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "content/other.md:7: error: link to '/primer/posts/nope/': no such page or file in the built site",
        "check failed: 1 error",
    ]
