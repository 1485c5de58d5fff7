"""Safe by default: front matter escaped in every context, script URLs refused, raw HTML switchable, live reload
only in `serve`, nosniff on every response.

A hostile site puts `"><script>`, `</script>`, `<!--`, `]]>` and `javascript:alert(1)` in every value it can (title,
description, summary, tags, category, series title, site title and author). Every page is then parsed: it must hold no
script but the theme's own, no event-handler attribute, no script URL in any href or src, and each hostile value must
come back exactly as written from the text, the attributes, the JSON-LD, the Atom feeds and the JSON feed.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fixture_sites import NOW, make_site, post, tree_bytes
from live_server import fetch
from primer_site.commands.build import BuildOptions, build_site
from primer_site.commands.serve import Preview
from primer_site.errors import SiteError
from primer_site.math.mathmlsanitizer import MATHML_ELEMENTS

EVIL = "\"><script>alert('x')</script> </script><!-- ]]> javascript:alert(1) & 'q'"
SCRIPT_URL = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)
ATOM = "{http://www.w3.org/2005/Atom}"

# Markdown links to script URLs, every way of writing them: none may become a link or an image.
SCRIPT_LINKS = [
    "[js](javascript:alert(1))",
    "[upper](JAVASCRIPT:alert(1))",
    "[spaced]( javascript:alert(1) )",
    "[entity](&#106;avascript:alert(1))",
    "[escaped](java&#x73;cript:alert(1))",
    "[vb](vbscript:msgbox(1))",
    "[html](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[ref][r]",
    "<javascript:alert(1)>",
    "![img](javascript:alert(1))",
]


def yaml_text(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


def hostile_site(root: Path, raw_html: bool = True) -> Path:
    tags = json.dumps([EVIL, "javascript:alert(1)", "]]>x"])
    return make_site(
        root,
        {
            "site.yaml": f"title: {yaml_text('Site ' + EVIL)}\nauthor: {yaml_text('Author ' + EVIL)}\n"
            f"description: {yaml_text('Described ' + EVIL)}\nbase_url: https://example.org/\n"
            f"raw_html: {str(raw_html).lower()}\n",
            "series/evil.md": f"---\ntitle: {yaml_text('Series ' + EVIL)}\n---\nA series.\n",
            "content/a.md": (
                f"---\ntitle: {yaml_text(EVIL)}\ndate: 2026-01-05\ndescription: {yaml_text('Desc ' + EVIL)}\n"
                f"summary: {yaml_text('Summary ' + EVIL)}\ntags: {tags}\ncategory: {yaml_text('Cat ' + EVIL)}\n"
                f"series: evil\nchapter: 1\n---\n"
                + "\n\n".join(SCRIPT_LINKS)
                + "\n\n[r]: javascript:alert(1)\n\n[fine](https://example.org/) $x$\n\n"
                "<b onclick=\"alert('raw')\">raw bold</b>\n\n<script>alert('raw')</script>\n"
            ),
        },
    )


class Page(HTMLParser):
    """Every element with its attributes, the text of each <script>, and the text of <title> and <h1>."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {name: value or "" for name, value in attrs}))
        if tag in ("script", "title", "h1"):
            self._open.append(tag)
            if tag == "script":
                self.scripts.append((self.elements[-1][1], ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if not self._open:
            return
        if self._open[-1] == "script":
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)
        else:
            self.texts[self._open[-1]] = self.texts.get(self._open[-1], "") + data


def check_page(path: str, html: str) -> Page:
    """No foreign script, no event handler, no script URL: whatever the front matter said."""
    page = Page(html)
    for attrs, text in page.scripts:
        if attrs.get("type") == "application/ld+json":
            assert "</" not in text and "<!--" not in text, path
            json.loads(text)
        else:
            assert text.strip() == "", f"{path}: an inline script: {text[:80]!r}"
            source = attrs.get("src", "")
            assert re.fullmatch(
                r"(/js/[\w.]+\.js|https://cdn\.jsdelivr\.net/npm/katex@[\d.]+/dist/katex\.min\.js)", source
            ), f"{path}: a script from {source!r}"
    for tag, attrs in page.elements:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"{path}: <{tag}> has {handlers}"
        for name in ("href", "src", "action", "formaction"):
            value = re.sub(r"[\x00-\x20]", "", attrs.get(name, ""))
            allowed_image = tag == "img" and value.startswith("data:image/")
            assert not SCRIPT_URL.match(value) or allowed_image, f"{path}: <{tag} {name}={value!r}>"
    return page


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    site = hostile_site(tmp_path_factory.mktemp("hostile"), raw_html=False)
    build_site(BuildOptions(source=site, now=NOW, jobs=1, cache=False))
    return tree_bytes(site / "public")


def test_no_page_holds_a_foreign_script_handler_or_script_url(built: dict[str, bytes]) -> None:
    pages = {path: data.decode() for path, data in built.items() if path.endswith(".html")}
    assert len(pages) > 8
    for path, html in pages.items():
        page = check_page(path, html)
        if path != "posts/a/index.html":
            # JSON-LD names a page by its <title>, as text: it held the title's HTML escapes (&#34;&gt;…) instead
            [ld] = [json.loads(text) for attrs, text in page.scripts if attrs.get("type") == "application/ld+json"]
            assert ld["name"] == page.texts["title"], path


def test_front_matter_comes_back_exactly_from_text_attributes_and_json_ld(built: dict[str, bytes]) -> None:
    page = check_page("posts/a", built["posts/a/index.html"].decode())
    assert page.texts["h1"] == EVIL
    assert page.texts["title"] == f"{EVIL} · Site {EVIL}"
    meta = {a.get("property") or a.get("name"): a.get("content") for t, a in page.elements if t == "meta"}
    assert meta["description"] == meta["og:description"] == f"Desc {EVIL}"
    assert meta["og:title"] == EVIL and meta["og:site_name"] == f"Site {EVIL}"
    [ld] = [json.loads(text) for attrs, text in page.scripts if attrs.get("type") == "application/ld+json"]
    assert (ld["headline"], ld["description"], ld["author"]["name"]) == (EVIL, f"Desc {EVIL}", f"Author {EVIL}")
    assert ld["isPartOf"]["name"] == f"Series {EVIL}"
    tag_links = [
        a["href"]
        for t, a in page.elements
        if t == "a" and a.get("href", "").startswith("/tags/") and a["href"] != "/tags/"
    ]
    assert all(re.fullmatch(r"/tags/[\w%-]+/", href) for href in tag_links) and len(tag_links) == 3


def test_feeds_are_well_formed_and_carry_the_values_exactly(built: dict[str, bytes]) -> None:
    for path in (p for p in built if p.endswith(".xml")):
        ET.fromstring(built[path])  # raises on a ]]> or a < that broke out
    feed = ET.fromstring(built["feed.xml"])
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert feed.findtext(f"{ATOM}title") == f"Site {EVIL}"
    assert entry.findtext(f"{ATOM}title") == EVIL
    assert entry.findtext(f"{ATOM}summary") == f"Summary {EVIL}"
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == [EVIL, "javascript:alert(1)", "]]>x"]
    item = json.loads(built["feed.json"])["items"][0]
    assert (item["title"], item["tags"][0]) == (EVIL, EVIL)


# TeX that holds markup: KaTeX takes it as symbols or text. It reached feed.xml and feed.json as elements, with
# event handlers and script URLs, when feeds converted TeX with latex2mathml, even with raw_html: false.
HOSTILE_TEX = [
    r"\text{<svg/onload=alert(1)>}",
    r"\text{\"><iframe src=javascript:alert(1)>}",
    r"\mathrm{</math><script>alert(1)</script>}",
    r"\operatorname{<b onclick=alert(1)>x}",
    r"\begin{aligned}<img src=x onerror=alert(1)> & ]]> \end{aligned}",
    r"\text{<!-- --> \&lt; ]]>}",
]


def test_tex_is_never_markup_in_full_content_feeds(tmp_path: Path) -> None:
    body = "\n\n".join(f"$${tex}$$" if "aligned" in tex else f"Inline ${tex}$." for tex in HOSTILE_TEX)
    site = make_site(
        tmp_path,
        {
            "site.yaml": "base_url: https://example.org/\nraw_html: false\nfeeds: {content: full}\n",
            "content/a.md": post("A", body=body),
        },
    )
    build_site(BuildOptions(source=site, now=NOW, jobs=1, cache=False))
    entry = ET.parse(site / "public/feed.xml").getroot().find(f"{ATOM}entry")
    assert entry is not None
    item = json.loads((site / "public/feed.json").read_text())["items"][0]
    for content in (entry.findtext(f"{ATOM}content") or "", item["content_html"]):
        page = check_page("feed", content)
        assert {tag for tag, _ in page.elements} <= {"p", *MATHML_ELEMENTS}
        assert [attrs for tag, attrs in page.elements if tag == "annotation"] == [
            {"encoding": "application/x-tex"}
        ] * len(HOSTILE_TEX)
        annotations = re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', content, re.DOTALL)
        assert [unescape(a) for a in annotations] == HOSTILE_TEX  # the TeX as written, as text


@pytest.mark.parametrize(
    "tex",
    [
        r"\href{javascript:alert(1)}{x}",
        r"\url{javascript:alert(1)}",
        r"\includegraphics{javascript:alert(1)}",
        r"\htmlData{onclick=alert(1)}{x}",
        r"\htmlStyle{background:url(javascript:alert(1))}{x}",
    ],
)
def test_tex_that_asks_for_links_images_or_attributes_is_refused(tmp_path: Path, tex: str) -> None:
    """KaTeX runs with trust off, in the browser as at build time; the build refuses what asks for trust."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "base_url: https://example.org/\nfeeds: {content: full}\n",
            "content/a.md": post("A", body=f"See ${tex}$."),
        },
    )
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, now=NOW, jobs=1, cache=False))
    command = tex.split("{")[0]
    assert [str(d) for d in failure.value.diagnostics] == [
        f"content/a.md:5:5: error: math: {command} needs trust, which primer-site never gives TeX: a formula makes no "
        "link, image, id, class or style (a link goes in the Markdown around it)"
    ]
    assert not (site / "public").exists()


def test_markdown_links_to_script_urls_are_refused(built: dict[str, bytes]) -> None:
    """markdown-it's validateLink refuses javascript:, vbscript:, file: and data: (but images) in every spelling."""
    page = check_page("posts/a", built["posts/a/index.html"].decode())
    links = [a.get("href") for t, a in page.elements if t == "a"]
    assert "https://example.org/" in links  # an ordinary link still is one
    body = built["posts/a/index.html"].decode()
    for text in ("[js](javascript:alert(1))", "[vb](vbscript:msgbox(1))", "&lt;javascript:alert(1)&gt;"):
        assert text in body  # left as the text the author wrote


def test_raw_html_false_shows_html_in_markdown_as_text(built: dict[str, bytes]) -> None:
    body = built["posts/a/index.html"].decode()
    assert "&lt;b onclick=&quot;alert('raw')&quot;&gt;raw bold&lt;/b&gt;" in body
    assert "&lt;script&gt;alert('raw')&lt;/script&gt;" in body


def test_raw_html_true_keeps_the_author_s_html_but_front_matter_stays_escaped(tmp_path: Path) -> None:
    """Authors are trusted with raw HTML in Markdown bodies (the default); their front matter is still text.

    A summary is inline Markdown (emphasis, code, math) but never raw HTML: with raw_html on, a <script> in a
    summary went into every listing the post appears in (home, series, tags, category).
    """
    site = hostile_site(tmp_path, raw_html=True)
    build_site(BuildOptions(source=site, now=NOW, jobs=1, cache=False))
    html = (site / "public/posts/a/index.html").read_text()
    assert "<b onclick=\"alert('raw')\">raw bold</b>" in html
    assert Page(html).texts["h1"] == EVIL
    for path, data in tree_bytes(site / "public").items():
        # only the body holds the author's raw HTML: the post's page, and its volume on one page
        if path.endswith(".html") and path != "posts/a/index.html" and not path.endswith("/print/index.html"):
            check_page(path, data.decode())
    whole = tree_bytes(site / "public")
    (volume,) = [path for path in whole if path.endswith("/print/index.html")]
    assert "<b onclick=\"alert('raw')\">raw bold</b>" in whole[volume].decode()
    assert "Summary &quot;&gt;&lt;script&gt;" in (site / "public/index.html").read_text()


def test_the_build_output_has_no_live_reload(built: dict[str, bytes]) -> None:
    assert [path for path, data in built.items() if b"__primer__" in data or b"EventSource" in data] == []


def test_the_preview_serves_live_reload_and_says_nosniff_on_every_response(tmp_path: Path) -> None:
    site = hostile_site(tmp_path / "site")
    with Preview(BuildOptions(source=site, now=NOW, jobs=1), port=0) as preview:
        server = preview.server
        status, headers, page = fetch(server, "/posts/a/")
        assert status == 200 and b'src="/__primer__/live.js"' in page
        etag = headers["ETag"]
        for path, expected, request_headers in [
            ("/posts/a/", 200, {}),
            ("/posts/a/", 304, {"If-None-Match": etag}),
            ("/posts/a", 301, {}),
            ("/nowhere/", 404, {}),
            ("/%2e%2e/secret", 400, {}),
            ("/__primer__/live.js", 200, {}),
            ("/__primer__/nothing", 404, {}),
            ("/feed.xml", 200, {}),
        ]:
            status, headers, _ = fetch(server, path, headers=request_headers)
            assert (status, headers.get("X-Content-Type-Options")) == (expected, "nosniff"), path
        status, headers, _ = fetch(server, "/__primer__/events", method="HEAD")
        assert (status, headers["X-Content-Type-Options"]) == (200, "nosniff")
    with Preview(BuildOptions(source=site, now=NOW, jobs=1), port=0, watch=False) as preview:
        # without watching there is nothing to reload: no script, no endpoints
        assert b"__primer__" not in fetch(preview.server, "/posts/a/")[2]
        assert fetch(preview.server, "/__primer__/live.js")[0] == 404
        assert fetch(preview.server, "/__primer__/events", method="HEAD")[0] == 404
