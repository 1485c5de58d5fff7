"""Feeds, sitemap and page metadata: parse, validate, and survive hostile front matter."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

import primer_site.math.katexsetup
from fixture_sites import NOW, make_site, post, run_cli, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.sources.config import KATEX_VERSION

ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = 'A <b>bold</b> & "quoted" ]]> </script><script>alert(1)</script> title'


@pytest.fixture(scope="module")
def example_site(example_site_dir: Path) -> Path:
    return example_site_dir  # built once per run (tests/conftest.py), as the browser tests read it too


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


SERIES_BASE = "https://primer.example.org/"


@pytest.fixture(scope="module")
def series_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A volume of four published chapters (the last one updated later, and tagged) and one scheduled, a post
    outside it, full-content feeds of three items; built on 2026-11-28."""
    root = tmp_path_factory.mktemp("series")
    chapters = {
        f"content/vol/vol-ch{n:02d}.md": post(
            f"Chapter {n}", date, f"Chapter {n} shows $x^{n}$.", series="vol", chapter=n
        )
        for n, date in ((1, "2026-01-01"), (2, "2026-01-02"), (3, "2026-01-03"), (11, "2026-12-01"))
    }
    make_site(
        root,
        {
            "site.yaml": f"title: Shelf\nbase_url: {SERIES_BASE}\ntimezone: UTC\nfeeds: {{content: full, limit: 3}}\n",
            "series/vol.md": "---\ntitle: The Volume\nchapters: 12\n---\nAbout it.\n",
            **chapters,
            "content/vol/vol-ch10.md": post(
                "Chapter 10",
                "2026-01-10",
                "Ten: $\\frac{a}{b}$.",
                series="vol",
                chapter=10,
                updated="2026-03-12",
                tags="[maths]",
            ),
            "content/notes.md": post("Notes", "2026-02-01", "Outside the volume."),
        },
    )
    out = root / "out"
    result = run_cli("build", "--source", str(root), "--output", str(out), "--now", "2026-11-28")
    assert result.returncode == 0, result.stderr
    return out


def all_feeds(out: Path) -> list[Path]:
    return sorted(out.rglob("feed.xml"))


# the example site asks for LLM Primer II as a PDF, which Chromium renders: that case is a browser test
@pytest.mark.parametrize(
    "which", [pytest.param("example_site", marks=pytest.mark.browser), "hostile_site", "series_site"]
)
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
    assert 'src="https://example.org/sub/img/x.png"' in b.content[0].value  # a root-absolute URL: under the base path


def test_json_feed(series_site: Path) -> None:
    data = json.loads((series_site / "feed.json").read_text())
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["feed_url"] == SERIES_BASE + "feed.json"
    assert [item["title"] for item in data["items"]] == ["Notes", "Chapter 10", "Chapter 3"]  # newest first, 3
    for item in data["items"]:
        assert item["url"].startswith(SERIES_BASE + "posts/")
        assert "$" not in item["content_html"]
    assert "<math" in data["items"][1]["content_html"]


def test_sitemap_and_robots(series_site: Path) -> None:
    root = ET.parse(series_site / "sitemap.xml").getroot()
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    urls = {u.findtext(f"{ns}loc"): u.findtext(f"{ns}lastmod") for u in root.findall(f"{ns}url")}
    assert urls[SERIES_BASE + "posts/vol-ch10/"].startswith("2026-03-12"), "lastmod is the post's update"
    assert urls[SERIES_BASE + "posts/vol-ch03/"].startswith("2026-01-03")
    assert SERIES_BASE + "series/vol/" in urls
    assert not any("vol-ch11" in u for u in urls), "a scheduled chapter is not in the sitemap"
    robots = (series_site / "robots.txt").read_text()
    assert f"Sitemap: {SERIES_BASE}sitemap.xml" in robots


def test_page_metadata(series_site: Path) -> None:
    page = (series_site / "posts/vol-ch10/index.html").read_text()
    assert f'<link rel="canonical" href="{SERIES_BASE}posts/vol-ch10/">' in page
    assert '<meta property="og:type" content="article">' in page
    assert 'href="/series/vol/feed.xml"' in page
    [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL)
    data = json.loads(ld)
    assert data["@type"] == "BlogPosting" and data["position"] == "10"
    assert data["isPartOf"]["@type"] == "CreativeWorkSeries" and data["isPartOf"]["name"] == "The Volume"
    home = json.loads(re.findall(r'ld\+json">(.*?)</script>', (series_site / "index.html").read_text())[0])
    series = json.loads(re.findall(r'ld\+json">(.*?)</script>', (series_site / "series/vol/index.html").read_text())[0])
    assert home["@type"] == "Blog" and series["@type"] == "CollectionPage"


def test_summary_feeds_by_default(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", body="Body text $x$.")})
    assert run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01").returncode == 0
    parsed = feedparser.parse((tmp_path / "public/feed.xml").read_bytes())
    assert "content" not in parsed.entries[0]
    assert parsed.entries[0].summary == "Body text x."


# ---------------------------------------------------------------- math in full-content feeds: KaTeX's MathML

M = '<math xmlns="http://www.w3.org/1998/Math/MathML"'
# (post, its body, the exact HTML a full-content feed carries for it). The site defines \R, the series \E.
FEED_MATH = [
    (
        'aligned',
        '$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$',
        (
            '{M} display="block"><semantics>'
            '<mtable rowspacing="0.25em" columnalign="right left" columnspacing="0em"><mtr><mtd>'
            '<mstyle scriptlevel="0" displaystyle="true"><mi>a</mi></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="true"><mrow><mrow></mrow><mo>=</mo><mi>b</mi></mrow></mstyle>'
            '</mtd></mtr><mtr><mtd><mstyle scriptlevel="0" displaystyle="true"><mi>c</mi></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="true"><mrow><mrow></mrow><mo>=</mo><mi>d</mi></mrow></mstyle>'
            '</mtd></mtr></mtable>'
            '<annotation encoding="application/x-tex">\\begin{aligned} a &amp;= b \\\\ c &amp;= d \\end{aligned}</annotation>'
            '</semantics></math>\n'
        ),
    ),
    (
        'cases',
        '$$|x| = \\begin{cases} x & x \\ge 0 \\\\ -x & x < 0 \\end{cases}$$',
        (
            '{M} display="block"><semantics><mrow><mi mathvariant="normal">∣</mi><mi>x</mi>'
            '<mi mathvariant="normal">∣</mi><mo>=</mo><mrow><mo fence="true">{</mo>'
            '<mtable rowspacing="0.36em" columnalign="left left" columnspacing="1em"><mtr><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mi>x</mi></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mrow><mi>x</mi><mo>≥</mo><mn>0</mn></mrow></mstyle>'
            '</mtd></mtr><mtr><mtd><mstyle scriptlevel="0" displaystyle="false"><mrow><mo>−</mo><mi>x</mi></mrow>'
            '</mstyle></mtd><mtd><mstyle scriptlevel="0" displaystyle="false"><mrow><mi>x</mi><mo>&lt;</mo>'
            '<mn>0</mn></mrow></mstyle></mtd></mtr></mtable></mrow></mrow>'
            '<annotation encoding="application/x-tex">|x| = \\begin{cases} x &amp; x \\ge 0 \\\\ -x &amp; x &lt; 0 \\end{cases}</annotation>'
            '</semantics></math>\n'
        ),
    ),
    (
        'pmatrix',
        '$$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$$',
        (
            '{M} display="block"><semantics><mrow><mo fence="true">(</mo>'
            '<mtable rowspacing="0.16em" columnalign="center center" columnspacing="1em"><mtr><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mn>1</mn></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mn>2</mn></mstyle></mtd></mtr><mtr><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mn>3</mn></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="false"><mn>4</mn></mstyle></mtd></mtr></mtable>'
            '<mo fence="true">)</mo></mrow>'
            '<annotation encoding="application/x-tex">\\begin{pmatrix} 1 &amp; 2 \\\\ 3 &amp; 4 \\end{pmatrix}</annotation>'
            '</semantics></math>\n'
        ),
    ),
    (
        'align',
        '\\begin{align}\na &= b \\label{eq:a}\n\\end{align}',
        (
            '<div class="equation" id="eq:a">{M} display="block"><semantics>'
            # a labelled equation has one number, ours: KaTeX is given align*, and numbers no row
            '<mtable rowspacing="0.25em" columnalign="right left" columnspacing="0em"><mtr>'
            '<mtd><mstyle scriptlevel="0" displaystyle="true"><mi>a</mi></mstyle></mtd><mtd>'
            '<mstyle scriptlevel="0" displaystyle="true"><mrow><mrow></mrow><mo>=</mo><mi>b</mi></mrow></mstyle>'
            '</mtd></mtr></mtable>'
            '<annotation encoding="application/x-tex">\\begin{align*}\na &amp;= b \n\\end{align*}</annotation>'
            '</semantics></math><a class="eqno" href="https://example.org/posts/align/#eq:a">(4.1)</a></div>\n'
        ),
    ),
    (
        'operatorname',
        '$\\operatorname{softmax}(z)_i$',
        (
            '<p>{M}><semantics><mrow><mi mathvariant="normal">softmax</mi><mo>\u2061</mo><mo stretchy="false">(</mo>'
            '<mi>z</mi><msub><mo stretchy="false">)</mo><mi>i</mi></msub></mrow>'
            '<annotation encoding="application/x-tex">\\operatorname{softmax}(z)_i</annotation></semantics></math>'
            '</p>\n'
        ),
    ),
    (
        'text',
        '$\\text{if } x > 0$',
        (
            '<p>{M}><semantics><mrow><mtext>if&nbsp;</mtext><mi>x</mi><mo>&gt;</mo><mn>0</mn></mrow>'
            '<annotation encoding="application/x-tex">\\text{if } x &gt; 0</annotation></semantics></math></p>\n'
        ),
    ),
    (
        'macros',
        '$\\E[X] \\in \\R$',
        (
            '<p>{M}><semantics><mrow><mi mathvariant="double-struck">E</mi><mo stretchy="false">[</mo><mi>X</mi>'
            '<mo stretchy="false">]</mo><mo>∈</mo><mi mathvariant="double-struck">R</mi></mrow>'
            '<annotation encoding="application/x-tex">\\E[X] \\in \\R</annotation></semantics></math></p>\n'
        ),
    ),
    (
        'stackrel',
        '$a \\stackrel{\\text{def}}{=} b$',
        (
            '<p>{M}><semantics><mrow><mi>a</mi><mrow><mover><mrow><mo>=</mo></mrow><mtext>def</mtext></mover>'
            '</mrow><mi>b</mi></mrow>'
            '<annotation encoding="application/x-tex">a \\stackrel{\\text{def}}{=} b</annotation></semantics>'
            '</math></p>\n'
        ),
    ),
    (
        'markup-in-text',
        '$\\text{<svg/onload=alert(1)>}$',
        (
            '<p>{M}><semantics><mrow><mtext>&lt;svg/onload=alert(1)&gt;</mtext></mrow>'
            '<annotation encoding="application/x-tex">\\text{&lt;svg/onload=alert(1)&gt;}</annotation></semantics>'
            '</math></p>\n'
        ),
    ),
    (
        'brackets',
        '\\(\\alpha\\) and \\[\\beta\\]',
        (
            '<p>{M}><semantics><mrow><mi>α</mi></mrow>'
            '<annotation encoding="application/x-tex">\\alpha</annotation></semantics>'
            '</math> and {M} display="block"><semantics><mrow><mi>β</mi></mrow>'
            '<annotation encoding="application/x-tex">\\beta</annotation></semantics></math></p>\n'
        ),
    ),

]  # fmt: skip


def feed_math_site(root: Path, *, summary: bool = False) -> Path:
    files = {
        "site.yaml": (
            "title: T\nbase_url: https://example.org/\n"
            f"feeds: {{content: {'summary' if summary else 'full'}}}\nmacros:\n  \\R: \\mathbb{{R}}\n"
        ),
        "series/vol.md": "---\ntitle: Vol\nmacros:\n  \\E: \\mathbb{E}\n---\n",
    }
    for number, (name, body, _) in enumerate(FEED_MATH, start=1):
        files[f"content/{name}.md"] = post(name, f"2026-01-{number:02d}", body, series="vol", chapter=number)
    return make_site(root, files)


@pytest.fixture(scope="module")
def feed_math(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """{feed: {entry title: its content}} for feed.xml, the series' feed.xml and feed.json, built without the check."""
    site = feed_math_site(tmp_path_factory.mktemp("feed-math"))
    result = run_cli("build", "--source", str(site), "--now", "2026-06-01")
    assert result.returncode == 0, result.stderr
    found = {}
    for path in ("feed.xml", "series/vol/feed.xml"):
        entries = ET.parse(site / "public" / path).getroot().findall(f"{ATOM}entry")
        found[path] = {e.findtext(f"{ATOM}title"): e.findtext(f"{ATOM}content") for e in entries}
    items = json.loads((site / "public/feed.json").read_text(encoding="utf-8"))["items"]
    found["feed.json"] = {item["title"]: item["content_html"] for item in items}
    return found


@pytest.mark.parametrize(("name", "body", "expected"), FEED_MATH, ids=[case[0] for case in FEED_MATH])
def test_full_content_feeds_carry_katex_s_mathml(
    feed_math: dict[str, dict[str, str]], name: str, body: str, expected: str
) -> None:
    """Environments, \\operatorname, \\text, the page's macros: what KaTeX makes for the page, as MathML; TeX in
    \\text is text, never markup."""
    for feed in ("feed.xml", "series/vol/feed.xml", "feed.json"):
        assert feed_math[feed][name] == expected.replace("{M}", M), feed


def test_a_formula_katex_rejects_is_an_error_where_it_is_written(tmp_path: Path) -> None:
    """No more TeX in <code> in the feed where the converter failed: the build says where and why, once."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "base_url: https://example.org/\nfeeds: {content: full}\n",
            "content/a.md": post("A", body="Fine $x$.\n\nBroken: $x^^2$ and \\(\\href{https://x.org}{x}\\)."),
        },
    )
    expected = [
        "content/a.md:7:9: error: math: KaTeX parse error: Expected group after '^' at position 2: x^^2",
        "content/a.md:7:20: error: math: \\href needs trust, which primer-site never gives TeX: a formula makes no "
        "link, image, id, class or style (a link goes in the Markdown around it)",
    ]
    for check in ([], ["--check-math"]):
        result = run_cli("build", *check, "--source", str(site), "--now", "2026-06-01")
        assert result.returncode == 1
        assert result.stderr.splitlines() == [*expected, "build failed: 2 errors; the output folder was left as it was"]
    assert not (site / "public").exists()


def test_without_raw_html_a_formula_in_what_looks_like_an_html_block_is_located_at_its_line(tmp_path: Path) -> None:
    """With `raw_html: false` the <div> is text and the formula inside it is math: its error is at its own line,
    whether the body was just rendered or came from the cache without its formulas."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "base_url: https://example.org/\nfeeds: {content: full}\nraw_html: false\n",
            "content/a.md": post("A", body="Intro.\n\n<div>\nBroken: $x^^2$\n</div>"),
        },
    )
    expected = [
        "content/a.md:8:9: error: math: KaTeX parse error: Expected group after '^' at position 2: x^^2",
        "build failed: 1 error; the output folder was left as it was",
    ]
    for check in ([], [], ["--check-math"], []):  # the second build reads the body from the cache
        result = run_cli("build", *check, "--source", str(site), "--now", "2026-06-01")
        assert (result.returncode, result.stderr.splitlines()) == (1, expected), check


def test_math_written_as_raw_html_is_located_at_the_body(tmp_path: Path) -> None:
    """The page typesets any element of class "math"; one the author wrote by hand is not in the Markdown's
    formulas, so its error is given at the first line of the body."""
    site = make_site(
        tmp_path,
        {
            "site.yaml": "base_url: https://example.org/\nfeeds: {content: full}\n",
            "content/a.md": post("A", body='Hand-made <span class="math inline">\\nope</span>'),
        },
    )
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, jobs=1, cache=False))
    assert [str(d) for d in failure.value.diagnostics] == [
        "content/a.md:5: error: math: KaTeX parse error: Undefined control sequence: \\nope at position 1: \\nope"
    ]


INSTALL = f"run `npm install katex@{KATEX_VERSION}` in the site folder"


@pytest.mark.parametrize(
    ("missing", "why"),
    [
        (
            "node",
            "Node.js (node) is not installed: install Node.js 18 or later (Debian and Ubuntu: `sudo apt-get install "
            f"nodejs npm`; elsewhere: https://nodejs.org/; npm does not install it), then {INSTALL}",
        ),
        (
            "katex",
            f"the katex npm package was not found (beside site.yaml, in a folder above it, or on NODE_PATH): {INSTALL}",
        ),
        ("version", f"the katex package found is version 0.15.0 (KATEX): {INSTALL}"),
    ],
)
def test_full_content_feeds_with_math_need_the_pinned_katex_under_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str, why: str
) -> None:
    """Never TeX, or another converter's output, silently instead: an error at the `feeds` line saying what to do."""
    old = make_site(tmp_path / "old-katex", {"package.json": '{"name": "katex", "version": "0.15.0"}'})
    if missing == "node":
        monkeypatch.setattr(primer_site.math.katexsetup.shutil, "which", lambda name: None)
    else:
        monkeypatch.setattr(
            primer_site.math.katexsetup, "find_katex", lambda site: old if missing == "version" else None
        )
    site = feed_math_site(tmp_path / "site")
    with pytest.raises(SiteError) as failure:
        build_site(BuildOptions(source=site, jobs=1, now=NOW))
    assert [str(d) for d in failure.value.diagnostics] == [
        f"site.yaml:3: error: feeds: full content carries its math as MathML made by KaTeX {KATEX_VERSION} (the "
        f"KaTeX the pages load) under Node.js, but {why.replace('KATEX', str(old))}; or set "
        "`feeds: {content: summary}`"
    ]
    # without math in what the feeds carry, or with summaries only, KaTeX is not needed
    build_site(BuildOptions(source=feed_math_site(tmp_path / "summary", summary=True), jobs=1, now=NOW))
    make_site(
        tmp_path / "no-math",
        {
            "site.yaml": "base_url: https://example.org/\nfeeds: {content: full}\n",
            "content/a.md": post("A", body="No math."),
        },
    )
    build_site(BuildOptions(source=tmp_path / "no-math", jobs=1, now=NOW))


def test_feed_math_follows_a_change_of_series_macros_in_a_rebuild(tmp_path: Path) -> None:
    site = feed_math_site(tmp_path)
    memory = BuildMemory()
    options = BuildOptions(source=site, jobs=1, now=NOW, check_math=True)
    build_site(options, memory)
    feed = site / "public/series/vol/feed.xml"
    assert '<mi mathvariant="double-struck">E</mi>' in html_of(feed)
    make_site(site, {"series/vol.md": "---\ntitle: Vol\nmacros:\n  \\E: \\operatorname{E}\n---\n"})
    build_site(options, memory)
    assert '<mi mathvariant="double-struck">E</mi>' not in html_of(feed)
    assert '<mi mathvariant="normal">E</mi><mo>\u2061</mo>' in html_of(feed)
    memory.close()


def test_feed_math_is_the_same_whatever_the_jobs_and_the_cache(tmp_path: Path) -> None:
    site = feed_math_site(tmp_path / "site")
    outputs = []
    for name, jobs, cache in (("one", 1, True), ("again", 1, True), ("two", 2, True), ("uncached", 2, False)):
        build_site(BuildOptions(source=site, output=tmp_path / name, jobs=jobs, cache=cache, now=NOW, check_math=True))
        outputs.append(tree_bytes(tmp_path / name))
    assert all(output == outputs[0] for output in outputs[1:])


def html_of(feed: Path) -> str:
    return html.unescape(feed.read_text(encoding="utf-8"))


def test_a_posts_own_macros_reach_its_feed_entry_as_its_page(tmp_path: Path) -> None:
    """The feed's MathML is made with the macros the post's page gives KaTeX (Post.macros): the site's, its series',
    its own."""
    site = feed_math_site(tmp_path / "site")
    make_site(site, {"content/own.md": post("Own", "2026-02-01", "$\\vv$", macros="\n  \\vv: \\mathbf{v}")})
    for _ in range(2):  # the second build reads the post from the document cache
        build_site(BuildOptions(source=site, jobs=1, now=NOW, check_math=True))
        assert '<mi mathvariant="bold">v</mi>' in html_of(site / "public/feed.xml")
    own = (site / "public/posts/own/index.html").read_text(encoding="utf-8")
    assert 'data-macros="{&#34;\\\\R&#34;: &#34;\\\\mathbb{R}&#34;, &#34;\\\\vv&#34;: &#34;\\\\mathbf{v}&#34;}"' in own
