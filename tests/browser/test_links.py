"""Every internal link and #fragment on every generated page resolves: to a generated file, and to an id in it.

No browser needed: the pages are parsed with html.parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

from .harness import REPO

LINKING = {"a": "href", "link": "href", "script": "src", "img": "src"}
ORIGIN = "https://primer-site.test"  # a stand-in origin to resolve relative links against


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    links: list[tuple[int, str]] = field(default_factory=list)  # (line, URL as written)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.page.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.page.ids.add(str(values["name"]))
        attribute = LINKING.get(tag)
        if attribute and values.get(attribute) is not None:
            self.page.links.append((self.getpos()[0], str(values[attribute])))


def parse_page(path: Path) -> ParsedPage:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def site_origin() -> str:
    """The example site's own origin: absolute links to it are internal too."""
    config = yaml.safe_load((REPO / "site.yaml").read_text(encoding="utf-8"))
    parts = urlsplit(str(config["base_url"]))
    return f"{parts.scheme}://{parts.netloc}"


def target_file(site_dir: Path, path: str) -> str | None:
    """The generated file a URL path is served from, relative to the site folder, or None."""
    relative = unquote(path).lstrip("/")
    candidates = [relative + "index.html"] if relative.endswith("/") or not relative else [relative]
    for candidate in candidates:
        if (site_dir / candidate).is_file():
            return candidate
    return None


def broken_links(site_dir: Path, pages: list[str], own_origin: str) -> list[str]:
    """Every internal link on `pages` that does not resolve, as "page:line: href: why"."""
    parsed = {page: parse_page(site_dir / page) for page in pages}
    broken: list[str] = []
    for page, content in parsed.items():
        for line, href in content.links:
            url = urljoin(f"{ORIGIN}/{page}", href.replace(own_origin + "/", ORIGIN + "/", 1))
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
                continue  # another site (the KaTeX CDN, a reference): not ours to check
            target = target_file(site_dir, parts.path)
            if target is None:
                broken.append(f"{page}:{line}: {href}: no generated file at {parts.path}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.endswith(".html"):
                ids = parsed[target].ids if target in parsed else parse_page(site_dir / target).ids
                if fragment not in ids:
                    broken.append(f"{page}:{line}: {href}: {target} has no id {fragment!r}")
    return broken


@pytest.mark.browser  # the example site asks for a PDF volume, which needs Chromium
def test_every_internal_link_and_fragment_resolves(site_dir: Path, site_pages: list[str]) -> None:
    broken = broken_links(site_dir, site_pages, site_origin())
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken)


def test_the_link_check_finds_a_missing_page_and_a_missing_id(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<h1 id="top">x</h1>\n<a href="a/">ok</a> <a href="#top">ok</a> <a href="https://elsewhere.test/x">elsewhere</a>\n'
        '<a href="/missing/">missing</a>\n<a href="a/#nowhere">no such id</a>\n',
        encoding="utf-8",
    )
    (tmp_path / "a" / "index.html").write_text(
        '<p id="here">a</p><a href="../#top">ok</a><a href="https://example.org/a/#here">ok</a>', encoding="utf-8"
    )
    assert broken_links(tmp_path, ["a/index.html", "index.html"], "https://example.org") == [
        "index.html:3: /missing/: no generated file at /missing/",
        "index.html:4: a/#nowhere: a/index.html has no id 'nowhere'",
    ]
