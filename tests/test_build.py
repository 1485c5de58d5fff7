"""Whole builds: golden pages, series behaviour, base URL with a path, determinism, the write stage."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fixture_sites import NOW_ARG as NOW
from fixture_sites import make_site, post, run_cli, tree_bytes
from primer_site.commands.build import BuildOptions, build_site
from primer_site.commands.cli import main
from primer_site.publish.output import MARKER

GOLDEN = Path(__file__).parent / "golden"


def build(site: Path, output: Path, *extra: str) -> None:
    if site == GOLDEN / "site":  # tests never write into the repository (the body cache lives in the site)
        site = Path(shutil.copytree(site, output.parent / f"{output.name}-site"))
    assert main(["build", "--source", str(site), "--output", str(output), "--now", NOW, *extra]) == 0


def html_pages(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree_bytes(folder).items() if k.endswith(".html")}


def test_golden_pages(tmp_path: Path, update_golden: bool) -> None:
    """The fixture site's pages, byte for byte (regenerate with: pytest --update-golden)."""
    build(GOLDEN / "site", tmp_path / "out")
    actual = html_pages(tmp_path / "out")
    expected_dir = GOLDEN / "expected"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for relative, data in actual.items():
            (expected_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / relative).write_bytes(data)
    expected = html_pages(expected_dir)
    assert sorted(actual) == sorted(expected)
    for relative in expected:
        assert actual[relative].decode() == expected[relative].decode(), f"{relative} differs from the golden copy"


@pytest.fixture(scope="module")
def golden_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "out"
    build(GOLDEN / "site", out)
    return out


def read(out: Path, relative: str) -> str:
    return (out / relative).read_text(encoding="utf-8")


def test_series_page_lists_chapters_in_natural_order_with_the_schedule(golden_site: Path) -> None:
    page = read(golden_site, "series/vol/index.html")
    order = re.findall(r'<span class="chapter-number">([^<]+)</span>', page)
    assert order == ["Introduction", "Chapter 1", "Section 1.3", "Chapter 2"]
    assert "1 of 4 chapters published" in page  # section 1.3 and the introduction are not chapters
    assert 'coming on <time datetime="2026-12-01">December 1, 2026</time>' in page
    assert "posts/ch02" not in page, "a scheduled chapter must not be linked"
    assert "Draft" not in page


def test_post_page_has_breadcrumb_chapter_count_neighbours_and_toc(golden_site: Path) -> None:
    page = read(golden_site, "posts/ch01-entropy/index.html")
    assert '<a href="/primer/series/vol/" data-pagefind-meta="series">Volume One: Foundations</a>' in page
    assert '<span aria-current="page" data-pagefind-meta="chapter">Chapter 1</span>' in page
    assert "Chapter 1 of 4" in page
    assert 'href="/primer/posts/intro/" rel="prev"' in page
    assert 'href="/primer/posts/ch01-3/" rel="next"' in page
    assert '<h2 id="definition">Definition' in page
    assert '<span class="kn">import</span>' in page
    assert "katex.min.js" in page


def test_links_between_sources_become_urls_under_the_base_path(golden_site: Path) -> None:
    page = read(golden_site, "posts/ch01-3/index.html")
    assert '<a href="/primer/posts/ch01-entropy/#definition">chapter 1</a>' in page
    intro = read(golden_site, "posts/intro/index.html")
    assert '<a href="/primer/posts/ch01-3/#cross-entropy">sections</a>' in intro


def test_every_internal_link_resolves_under_a_base_path(golden_site: Path) -> None:
    for relative in html_pages(golden_site):
        for href in re.findall(r'(?:href|src)="([^"#]+)', read(golden_site, relative)):
            if href.startswith("http"):
                continue
            assert href.startswith("/primer/"), f"{relative}: {href} is not under the base path"
            target = golden_site / href.removeprefix("/primer/")
            assert target.is_file() or (target / "index.html").is_file(), f"{relative}: {href} is broken"


def test_pages_without_math_load_no_katex(golden_site: Path) -> None:
    assert "katex" not in read(golden_site, "posts/hello/index.html")
    assert "katex" not in read(golden_site, "404.html")


def test_front_matter_is_escaped(golden_site: Path) -> None:
    page = read(golden_site, "posts/hello/index.html")
    assert "<title>Hello &lt;World&gt; &amp; &#34;friends&#34; · Golden Primer</title>" in page
    assert "<World>" not in page


def test_slug_drops_a_leading_date_and_home_paginates(golden_site: Path) -> None:
    assert (golden_site / "posts/hello/index.html").is_file()
    home = read(golden_site, "index.html")
    assert re.findall(r'<h2 class="entry-title"><a href="([^"]+)"', home) == [
        "/primer/posts/ch01-3/",
        "/primer/posts/ch01-entropy/",
    ]
    assert 'href="/primer/page/2/" rel="next"' in home
    assert 'href="/primer/" rel="prev"' in read(golden_site, "page/2/index.html")


def test_tags_categories_and_404(golden_site: Path) -> None:
    tag = read(golden_site, "tags/entropy/index.html")
    assert tag.count('class="entry-title"') == 2
    assert "Information Theory" in read(golden_site, "tags/index.html")
    assert "Chapter 1 — Entropy" in read(golden_site, "categories/mathematics/index.html")
    assert "Page not found" in read(golden_site, "404.html")


def test_drafts_and_future_are_included_on_request(tmp_path: Path) -> None:
    build(GOLDEN / "site", tmp_path / "out", "--drafts", "--future")
    page = read(tmp_path / "out", "series/vol/index.html")
    assert 'href="/primer/posts/draft/"' in page and 'href="/primer/posts/ch02/"' in page
    assert "coming on" not in page


def test_base_url_option_overrides_site_yaml(tmp_path: Path) -> None:
    build(GOLDEN / "site", tmp_path / "out", "--base-url", "https://user.github.io/other/")
    assert 'href="/other/posts/ch01-entropy/"' in read(tmp_path / "out", "index.html")


def test_two_builds_and_any_jobs_give_the_same_bytes(tmp_path: Path) -> None:
    # enough posts that --jobs 2 really renders on a process pool
    files = {
        f"content/p{i:03d}.md": post(
            f"Post {i}",
            f"2026-01-{1 + i % 28:02d}",
            f"## Part {i}\n\n$x_{i}$ and\n\n```python\nprint({i})\n```\n",
            series="s",
            chapter=i,
            tags=f"[t{i % 7}]",
        )
        for i in range(1, 121)
    }
    site = make_site(tmp_path / "site", files)
    runs = [("one", "1"), ("two", "2"), ("again", "2")]
    for name, jobs in runs:
        result = run_cli("build", "--source", str(site), "--output", str(tmp_path / name), "--now", NOW, "--jobs", jobs)
        assert result.returncode == 0, result.stderr
    one = tree_bytes(tmp_path / "one")
    assert len(one) > 120
    assert one == tree_bytes(tmp_path / "two") == tree_bytes(tmp_path / "again")


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "content/b.md": post("B", "2026-01-06")})
    out = tmp_path / "out"
    build(site, out)
    kept = out / "posts/a/index.html"
    inode = kept.stat().st_ino
    (site / "content/b.md").write_text(post("B changed", "2026-01-06"), encoding="utf-8")
    build(site, out)
    assert kept.stat().st_ino == inode, "an unchanged page was rewritten"
    assert "B changed" in read(out, "posts/b/index.html")


def test_stale_pages_and_leftovers_of_killed_builds_are_removed(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "content/b.md": post("B")})
    out = tmp_path / "out"
    build(site, out)
    leftover = make_site(tmp_path / ".out.tmp-99999", {MARKER: ""})  # a killed build's, so marked
    (site / "content/b.md").unlink()
    build(site, out)
    assert not (out / "posts/b").exists()
    assert not leftover.exists()
    # this build wrote in place (the folder was as the first left it): the staging folder it kept for the next
    # build holds no page of the live site, and nothing else is left beside the output
    staging = tmp_path / ".out.staging"
    assert not any(path.suffix == ".html" for path in staging.rglob("*"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == [".out.staging"]


def test_an_interrupted_two_step_swap_is_finished_by_the_next_build(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A")})
    out = tmp_path / "out"
    build(site, out)
    before = tree_bytes(out)
    out.rename(tmp_path / ".out.retired")  # killed between the two renames of the fallback swap
    make_site(site, {"site.yaml": "paginate: oops\n"})
    assert main(["build", "--source", str(site), "--output", str(out), "--now", NOW]) == 1
    assert tree_bytes(out) == before


def test_summary_shows_build_counts(tmp_path: Path) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A", tags="[x, y]")})
    result = run_cli("build", "--source", str(tmp_path), "--now", NOW)
    assert result.returncode == 0
    assert re.match(r"built \d+ pages \(1 post, 0 series, 2 tags\) in \d+\.\d\d s", result.stdout)
    assert (site / "public/posts/a/index.html").is_file()


def test_site_templates_override_the_theme_and_static_is_copied(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A"),
            "templates/404.html": "{% extends 'base.html' %}{% block main %}<p>Custom lost page</p>{% endblock %}",
            "static/img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
            "static/css/style.css": "body { color: red; }",
        },
    )
    build(site, tmp_path / "out")
    assert "Custom lost page" in read(tmp_path / "out", "404.html")
    assert read(tmp_path / "out", "img/logo.svg").startswith("<svg")
    [style] = (tmp_path / "out/css").glob("style.*.css")
    assert style.read_text() == "body { color: red; }"
    assert list((tmp_path / "out/js").glob("math.*.js")), "theme static files are copied too"


def test_a_site_with_nothing_but_content_builds_with_the_default_theme(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", body="Math $x^2$.")})
    result = build_site(BuildOptions(source=tmp_path, now=None))
    assert result.posts == 1
    assert list((tmp_path / "public/css").glob("style.*.css"))


def test_nothing_is_written_outside_the_output_folder(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site", {"content/a.md": post("A"), "site.yaml": "title: T\nbase_url: https://example.org/\n"}
    )
    before = {p for p in tmp_path.rglob("*")}
    build(site, tmp_path / "out")
    after = {p for p in tmp_path.rglob("*")}
    out, staging, cache = tmp_path / "out", tmp_path / ".out.staging", site / ".primer-cache"

    def allowed(path: Path) -> bool:
        return any(path == folder or folder in path.parents for folder in (out, staging, cache))

    # besides the output: the staging folder beside it and the body cache (no lock file)
    assert {p for p in after - before if not allowed(p)} == set()


def test_css_and_js_get_a_content_hash_in_their_names(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A", body="$x$"), "static/css/style.css": "a { }"})
    build(site, tmp_path / "out")
    page = read(tmp_path / "out", "posts/a/index.html")
    [style] = re.findall(r'href="/(css/style\.[0-9a-f]{8}\.css)"', page)
    [script] = re.findall(r'src="/(js/math\.[0-9a-f]{8}\.js)"', page)
    assert (tmp_path / "out" / style).read_text() == "a { }"
    assert (tmp_path / "out" / script).is_file()
    assert (tmp_path / "out/css/style.css").read_text() == "a { }"  # its plain name too: for @import and url()
    make_site(site, {"static/css/style.css": "a { color: red }"})
    build(site, tmp_path / "out")
    [new_style] = re.findall(r'href="/(css/style\.[0-9a-f]{8}\.css)"', read(tmp_path / "out", "posts/a/index.html"))
    assert new_style != style and not (tmp_path / "out" / style).exists()


def test_a_missing_asset_is_a_template_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = make_site(
        tmp_path,
        {
            "content/a.md": post("A"),
            "templates/404.html": "{% extends 'base.html' %}\n{% block main %}\n{{ asset('img/nope.png') }}\n{% endblock %}",
        },
    )
    assert main(["build", "--source", str(site), "--now", NOW]) == 1
    assert (
        "templates/404.html:3: error: template: asset 'img/nope.png': no such file in static/"
        in capsys.readouterr().err
    )
