"""Feeds, sitemap and page metadata: parse, validate, and survive hostile front matter."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from fixture_sites import REPO, make_site, post, run_cli

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = 'A <b>bold</b> & "quoted" ]]> </script><script>alert(1)</script> title'


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example") / "out"
    result = run_cli("build", "--source", str(REPO), "--output", str(out), "--now", "2026-11-28", "--no-cache")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    make_site(
        root,
        {
            "site.yaml": 'title: "Site & <Co> ]]>"\nbase_url: https://example.org/sub/\nfeeds: {content: full}\n',
            "series/s.md": f"---\ntitle: {json.dumps(HOSTILE)}\n---\n",
            "content/a.md": post(
                "X", "2026-01-01", "See [b](b.md) and [top](#h).\n\n## H\n\n$$a < b$$ and $x_1$", series="s", chapter=1
            ).replace("title: 'X'", f"title: {json.dumps(HOSTILE)}"),
            "content/b.md": post("B", "2026-01-02", '<img src="/img/x.png" alt="x">', tags=json.dumps([HOSTILE])),
        },
    )
    out = root / "out"
    result = run_cli("build", "--source", str(root), "--output", str(out), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    return out


def all_feeds(out: Path) -> list[Path]:
    return sorted(out.rglob("feed.xml"))


@pytest.mark.parametrize("which", ["example_site", "hostile_site"])
def test_every_atom_feed_parses_and_follows_the_atom_rules(which: str, request: pytest.FixtureRequest) -> None:
    out: Path = request.getfixturevalue(which)
    feeds = all_feeds(out)
    assert len(feeds) >= 3
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
        root = ET.parse(path).getroot()
        for element in ("id", "title", "updated"):
            assert len(root.findall(f"{ATOM}{element}")) == 1, f"{path}: feed {element}"
        assert root.find(f"{ATOM}link[@rel='self']") is not None
        entries = root.findall(f"{ATOM}entry")
        assert entries, path
        for entry in entries:
            for element in ("id", "title", "updated"):
                assert len(entry.findall(f"{ATOM}{element}")) == 1, f"{path}: entry {element}"
            [alternate] = entry.findall(f"{ATOM}link[@rel='alternate']")
            assert alternate.get("href", "").startswith("http")
        ids = [e.findtext(f"{ATOM}id") for e in entries]
        assert len(ids) == len(set(ids))


def test_hostile_titles_survive_intact(hostile_site: Path) -> None:
    parsed = feedparser.parse((hostile_site / "feed.xml").read_bytes())
    assert HOSTILE in [entry.title for entry in parsed.entries]
    assert parsed.feed.title == "Site & <Co> ]]>"
    page = (hostile_site / "posts/a/index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL)
    data = json.loads(ld)
    assert data["headline"] == HOSTILE
    assert data["isPartOf"]["name"] == HOSTILE and data["position"] == "1"
    assert page.count("</script>") == page.count("<script")


def test_full_content_has_mathml_and_absolute_links(hostile_site: Path) -> None:
    parsed = feedparser.parse((hostile_site / "series/s/feed.xml").read_bytes())
    content = parsed.entries[0].content[0].value
    assert "<math" in content and '<annotation encoding="application/x-tex">a &lt; b</annotation>' in content
    assert "$" not in content
    assert 'href="https://example.org/sub/posts/b/"' in content
    assert 'href="https://example.org/sub/posts/a/#h"' in content
    other = feedparser.parse((hostile_site / "feed.xml").read_bytes())
    b = next(e for e in other.entries if e.title == "B")
    assert 'src="https://example.org/img/x.png"' in b.content[0].value


def test_json_feed(example_site: Path) -> None:
    data = json.loads((example_site / "feed.json").read_text())
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["feed_url"] == "https://llm-primer.example.org/feed.json"
    assert len(data["items"]) == 20
    for item in data["items"]:
        assert item["url"].startswith("https://llm-primer.example.org/posts/")
        assert "$" not in item.get("content_html", "")


def test_sitemap_and_robots(example_site: Path) -> None:
    root = ET.parse(example_site / "sitemap.xml").getroot()
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    urls = {u.findtext(f"{ns}loc"): u.findtext(f"{ns}lastmod") for u in root.findall(f"{ns}url")}
    post_url = "https://llm-primer.example.org/posts/primer-ii-ch10-post-training-alignment/"
    assert urls[post_url].startswith("2026-03-12")
    assert "https://llm-primer.example.org/series/llm-primer-ii/" in urls
    assert not any("primer-iii-ch01" in u for u in urls), "a scheduled chapter is not in the sitemap"
    robots = (example_site / "robots.txt").read_text()
    assert "Sitemap: https://llm-primer.example.org/sitemap.xml" in robots


def test_page_metadata(example_site: Path) -> None:
    page = (example_site / "posts/primer-ii-ch10-post-training-alignment/index.html").read_text()
    canonical = "https://llm-primer.example.org/posts/primer-ii-ch10-post-training-alignment/"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert '<meta property="og:type" content="article">' in page
    assert 'href="/series/llm-primer-ii/feed.xml"' in page
    [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL)
    data = json.loads(ld)
    assert data["@type"] == "BlogPosting" and data["position"] == "10"
    assert data["isPartOf"]["@type"] == "CreativeWorkSeries"
    home = json.loads(re.findall(r'ld\+json">(.*?)</script>', (example_site / "index.html").read_text())[0])
    series = json.loads(
        re.findall(r'ld\+json">(.*?)</script>', (example_site / "series/llm-primer-ii/index.html").read_text())[0]
    )
    assert home["@type"] == "Blog" and series["@type"] == "CollectionPage"


def test_summary_feeds_by_default(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", body="Body text $x$.")})
    assert run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01").returncode == 0
    parsed = feedparser.parse((tmp_path / "public/feed.xml").read_bytes())
    assert "content" not in parsed.entries[0]
    assert parsed.entries[0].summary == "Body text x."
