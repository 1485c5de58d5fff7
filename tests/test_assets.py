"""Files beside the posts: published once at their path under content/, resolved from every page that shows them
(post, listings, series, tags, feeds), sized with no layout shift, and every bad reference a located build error."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from fixture_sites import NOW_ARG as NOW
from fixture_sites import build_cli, make_site, post, run_cli
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.publish.output import MARKER
from primer_site.sources.discover import is_ignored_name
from primer_site.urls import collision_key

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360"><rect width="10" height="10"/></svg>\n'


def png(path: Path, width: int, height: int, **save: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (200, 120, 40)).save(path, **save)
    return path


def build(site: Path, *extra: str) -> tuple[int, str]:
    result = build_cli(site, *extra)
    return result.returncode, result.stderr


def errors_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ": error: " in line or ": warning: " in line]


def img_tags(html: str) -> list[str]:
    return re.findall(r"<img [^>]*>", html)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """Two posts of a series sharing a folder and one image; the first shows it in its summary."""
    make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/primer/\nfeeds: {content: full}\n",
            "series/vol.md": "---\ntitle: Vol\n---\nThe volume.\n",
            "content/vol/ch01.md": post(
                "One",
                series="vol",
                chapter=1,
                tags="[maps]",
                body="The map ![Attention](attention.svg) first.\n\n"
                "Get [the data](data/results.csv) and [page 2](paper.pdf#page=2).\n\n"
                '<picture><source srcset="plot.png 1x, plot@2x.png 2x"><img src="plot.png" alt="Loss"></picture>\n\n'
                '<a href="data/results.csv">raw</a>\n',
            ),
            "content/vol/ch02.md": post(
                "Two", date="2026-01-06", series="vol", chapter=2, body="![Again](attention.svg)\n"
            ),
            "content/vol/attention.svg": SVG,
            "content/vol/data/results.csv": "a,b\n1,2\n",
            "content/vol/paper.pdf": "%PDF-1.4\n",
            "content/vol/notes.ipynb": "{}\n",
        },
    )
    png(tmp_path / "content/vol/plot.png", 800, 600)
    png(tmp_path / "content/vol/plot@2x.png", 1600, 1200)
    return tmp_path


def test_every_file_under_content_is_published_once_at_its_path(bundle: Path) -> None:
    code, stderr = build(bundle)
    assert code == 0, stderr
    out = bundle / "public"
    for name in ("attention.svg", "data/results.csv", "paper.pdf", "notes.ipynb", "plot.png", "plot@2x.png"):
        assert (out / "vol" / name).read_bytes() == (bundle / "content/vol" / name).read_bytes()
    assert not list(out.rglob("*.md"))
    one = (out / "posts/ch01/index.html").read_text()
    two = (out / "posts/ch02/index.html").read_text()
    assert 'src="/primer/vol/attention.svg"' in one and 'src="/primer/vol/attention.svg"' in two


def test_references_resolve_from_every_page_that_shows_them(bundle: Path) -> None:
    assert build(bundle)[0] == 0
    out = bundle / "public"
    page = (out / "posts/ch01/index.html").read_text()
    assert '<a href="/primer/vol/data/results.csv">the data</a>' in page
    assert '<a href="/primer/vol/paper.pdf#page=2">page 2</a>' in page
    assert '<source srcset="/primer/vol/plot.png 1x, /primer/vol/plot@2x.png 2x">' in page
    assert '<a href="/primer/vol/data/results.csv">raw</a>' in page
    summary = '<img src="/primer/vol/attention.svg" alt="Attention" width="640" height="360" decoding="async"'
    for listing in ("index.html", "series/vol/index.html", "tags/maps/index.html"):
        assert summary in (out / listing).read_text(), listing
    feed = (out / "feed.xml").read_text()
    assert 'src="https://example.org/primer/vol/attention.svg"' in feed
    assert 'srcset="https://example.org/primer/vol/plot.png 1x, https://example.org/primer/vol/plot@2x.png 2x"' in feed
    assert "/vol/attention.svg" in (out / "feed.json").read_text()


def test_images_get_their_size_async_decoding_and_lazy_loading_but_the_first(bundle: Path) -> None:
    assert build(bundle)[0] == 0
    page = (bundle / "public/posts/ch01/index.html").read_text()
    assert img_tags(page) == [
        '<img src="/primer/vol/attention.svg" alt="Attention" width="640" height="360" decoding="async">',
        '<img src="/primer/vol/plot.png" alt="Loss" width="800" height="600" decoding="async" loading="lazy">',
    ]
    home = (bundle / "public/index.html").read_text()
    assert [tag.count('loading="lazy"') for tag in img_tags(home)] == [0, 1], "the first image of each page is eager"


def test_an_authors_own_size_is_kept_and_the_other_side_follows_its_ratio(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": post(
                body='<img src="wide.png" alt="w" width="400">\n\n<img src="wide.png" alt="h" height="150" loading="eager">\n'
            )
        },
    )
    png(tmp_path / "content/wide.png", 800, 300)
    assert build(tmp_path)[0] == 0
    assert img_tags((tmp_path / "public/posts/a/index.html").read_text()) == [
        '<img src="/wide.png" alt="w" width="400" height="150" decoding="async">',
        '<img src="/wide.png" alt="h" height="150" loading="eager" width="400" decoding="async">',
    ]


def test_sizes_of_rotated_jpeg_and_svg_units(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 300 wide, 200 tall becomes 200 × 300
    files = {
        "content/a.md": post(
            body="![r](turned.jpg)\n\n![a](inches.svg)\n\n![b](half.svg)\n\n![c](box.svg)\n",
        ),
        "content/inches.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="2in" height="1in"/>',
        "content/half.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="300" viewBox="0 0 60 20"/>',
        "content/box.svg": '<?xml version="1.0"?>\n<svg width="100%" viewBox="0,0,120.4,80"></svg>',
    }
    make_site(tmp_path, files)
    png(tmp_path / "content/turned.jpg", 300, 200, exif=exif.tobytes())
    assert build(tmp_path)[0] == 0
    sizes = re.findall(r'width="(\d+)" height="(\d+)"', (tmp_path / "public/posts/a/index.html").read_text())
    assert sizes == [("200", "300"), ("192", "96"), ("300", "100"), ("120", "80")]


def test_bad_references_are_build_errors_at_their_markdown_lines(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/vol/ch01.md": post(
                body="![Attention](attentoin.png)\n\n"  # line 5
                "[data](results.cvs)\n\n"  # 7
                '<p>\n<img src="atention.png" alt="x">\n</p>\n\n'  # 10
                "![up](../../../outside.png)\n\n"  # 13
                "![s](../../static/logo.png)\n\n"  # 15
                "![d](figures)\n\n"  # 17
                "![n](nosize.svg)\n\n"  # 19
                "![e](entities.svg)\n\n"  # 21
                "![p](results.csv)\n\n"  # 23
                "![](attention.png)\n"  # 25
            ),
            "content/vol/results.csv": "a\n",
            "content/vol/figures/x.txt": "x\n",
            "content/vol/nosize.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
            "content/vol/entities.svg": '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">]>\n<svg width="1" height="1">&a;</svg>',
        },
    )
    png(tmp_path / "content/vol/attention.png", 10, 10)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / MARKER).write_text("")  # a site primer-site built before
    (tmp_path / "public/keep.html").write_text("the previous site")
    code, stderr = build(tmp_path)
    assert code == 1
    assert errors_of(stderr) == [
        "content/vol/ch01.md:5: error: image 'attentoin.png': no such file content/vol/attentoin.png "
        '(did you mean "attention.png"?)',
        "content/vol/ch01.md:7: error: link to 'results.cvs': no such file content/vol/results.cvs "
        '(did you mean "results.csv"?)',
        "content/vol/ch01.md:10: error: image 'atention.png': no such file content/vol/atention.png "
        '(did you mean "attention.png"?)',
        "content/vol/ch01.md:13: error: '../../../outside.png' is outside the site folder",
        "content/vol/ch01.md:15: error: image '../../static/logo.png': static/logo.png is not under content/, so it "
        "is not published with the posts (a file in static/ is linked as /logo.png)",
        "content/vol/ch01.md:17: error: image 'figures': content/vol/figures is a folder, not a file",
        "content/vol/ch01.md:19: error: image 'nosize.svg': content/vol/nosize.svg: the SVG has neither width and "
        "height nor a viewBox: give its <svg> a viewBox",
        "content/vol/ch01.md:21: error: image 'entities.svg': content/vol/entities.svg: the SVG declares XML "
        "entities: primer-site does not expand them (remove the DOCTYPE)",
        "content/vol/ch01.md:23: error: image 'results.csv': content/vol/results.csv: not an image Pillow can read "
        "(PNG, JPEG, GIF, WebP, AVIF…) or SVG",
        "content/vol/ch01.md:25: warning: image 'attention.png' has no alt text: say what it shows",
    ]
    assert "Traceback" not in stderr
    assert (tmp_path / "public/keep.html").read_text() == "the previous site"


def test_a_raw_img_without_alt_is_a_warning_and_alt_empty_is_decorative(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post(body='<img src="a.png">\n\n<img src="a.png" alt="">\n')})
    png(tmp_path / "content/a.png", 4, 4)
    code, stderr = build(tmp_path)
    assert code == 0
    assert errors_of(stderr) == [
        "content/a.md:5: warning: image 'a.png' has no alt attribute: say what it shows (alt=\"\" if it shows nothing)"
    ]


def test_check_locates_raw_html_at_its_markdown_line_not_in_a_template(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {"content/a.md": post(body='Intro <a href="/nowhere/">gone</a>.\n\n<img src="/missing.png" alt="m">\n')},
    )
    result = run_cli("check", "--source", str(tmp_path), "--now", NOW)
    assert [line for line in result.stderr.splitlines() if ": error: " in line] == [
        "content/a.md:5: error: link to '/nowhere/': no such page or file in the built site",
        "content/a.md:7: error: image '/missing.png': no such page or file in the built site",
    ]


def test_html_comments_and_markdown_code_are_not_read_for_files(tmp_path: Path) -> None:
    body = '<!-- <img src="old.png"> -->\n\n`<img src="code.png">`\n\n    ![x](indented.png)\n'
    make_site(tmp_path, {"content/a.md": post(body=body)})
    code, stderr = build(tmp_path)
    assert code == 0, stderr
    assert '<!-- <img src="old.png"> -->' in (tmp_path / "public/posts/a/index.html").read_text()


# ---------------------------------------------------------------- image facts are never cached with the body


def test_a_resized_image_changes_the_page_with_the_body_cache(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post(body="![a](a.png)\n")})
    png(tmp_path / "content/a.png", 40, 30)
    assert build(tmp_path)[0] == 0
    assert (tmp_path / ".primer-cache").is_dir()
    png(tmp_path / "content/a.png", 64, 48)
    assert build(tmp_path)[0] == 0
    assert 'width="64" height="48"' in (tmp_path / "public/posts/a/index.html").read_text()
    (tmp_path / "content/a.png").unlink()
    code, stderr = build(tmp_path)
    assert code == 1 and "content/a.md:5: error: image 'a.png': no such file content/a.png" in stderr


def test_a_resized_added_or_deleted_file_reaches_a_rebuild_in_one_process(tmp_path: Path) -> None:
    """As `primer-site serve` rebuilds: one BuildMemory, the output folder updated in place."""
    make_site(tmp_path, {"content/a.md": post(body="![a](a.png)\n")})
    png(tmp_path / "content/a.png", 40, 30)
    options = BuildOptions(source=tmp_path, output=tmp_path / "out", now=None, future=True)
    memory = BuildMemory()
    build_site(options, memory)
    page = tmp_path / "out/posts/a/index.html"
    assert 'width="40" height="30"' in page.read_text()
    png(tmp_path / "content/a.png", 64, 48)
    os.utime(tmp_path / "content/a.png", ns=(1, 1))  # even with an old modification time
    build_site(options, memory)
    assert 'width="64" height="48"' in page.read_text()
    assert Image.open(tmp_path / "out/a.png").size == (64, 48)
    (tmp_path / "content/data.csv").write_text("x\n")
    build_site(options, memory)
    assert (tmp_path / "out/data.csv").read_text() == "x\n"
    (tmp_path / "content/data.csv").unlink()
    build_site(options, memory)
    assert not (tmp_path / "out/data.csv").exists()
    (tmp_path / "content/a.png").unlink()
    with pytest.raises(SiteError) as error:
        build_site(options, memory)
    assert str(error.value) == "content/a.md:5: error: image 'a.png': no such file content/a.png"


# ---------------------------------------------------------------- srcset copies


def test_wide_rasters_get_srcset_copies_made_once(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nfeeds: {content: full}\nimages: {srcset: [480, 960]}\n",
            "content/a.md": post(body="![w](wide.png)\n\n![n](narrow.png)\n"),
        },
    )
    png(tmp_path / "content/wide.png", 1200, 600)
    png(tmp_path / "content/narrow.png", 400, 300)
    assert build(tmp_path)[0] == 0
    tags = img_tags((tmp_path / "public/posts/a/index.html").read_text())
    assert tags[0] == (
        '<img src="/wide.png" alt="w" width="1200" height="600" srcset="/wide-480w.png 480w, /wide-960w.png 960w, '
        '/wide.png 1200w" sizes="(min-width: 44.5rem) 42rem, calc(100vw - 2.5rem)" decoding="async">'
    )
    assert "srcset" not in tags[1]
    assert Image.open(tmp_path / "public/wide-480w.png").size == (480, 240)
    assert Image.open(tmp_path / "public/wide-960w.png").size == (960, 480)
    made = sorted((tmp_path / ".primer-cache/images").iterdir())
    stamps = [p.stat().st_mtime_ns for p in made]
    assert build(tmp_path)[0] == 0
    assert [p.stat().st_mtime_ns for p in made] == stamps, "made once, then kept"
    feed = (tmp_path / "public/feed.xml").read_text()
    assert "https://example.org/wide-480w.png 480w, https://example.org/wide-960w.png 960w" in feed


# ---------------------------------------------------------------- static/ and output paths


def test_a_page_where_a_static_file_is_is_an_error_naming_both(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            # a permalink names its extension or is a folder (config.py): pages land on .html names
            "site.yaml": "title: T\nbase_url: https://example.org/\npermalinks: {post: '/{slug}.html'}\n",
            "content/a.md": post(body="x", slug="css"),
            "content/b.md": post(body="y", slug="logo"),
            "static/logo.html": "not really",
            "static/css.html/x.css": "a{}",
        },
    )
    code, stderr = build(tmp_path)
    assert code == 1
    assert errors_of(stderr) == [
        "content/a.md:4: error: page css.html: static/css.html/x.css needs css.html/ to be a folder "
        "(change the slug or the permalink, or rename the file)",
        "content/b.md:4: error: page logo.html: static/logo.html is published there "
        "(change the slug or the permalink, or rename the file)",
    ]
    assert "Traceback" not in stderr


def test_a_content_file_where_a_static_file_or_a_generated_page_is_is_an_error_naming_both(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {"content/a.md": post(), "content/logo.png": "a", "static/logo.png": "b", "content/robots.txt": "c"},
    )
    code, stderr = build(tmp_path)
    assert code == 1
    assert errors_of(stderr) == [
        "content/logo.png: error: published at logo.png, as static/logo.png is at logo.png: on a case-insensitive host "
        "they are one file: rename one of them",
        "content/robots.txt: error: published at robots.txt, in the way of the site's page robots.txt: rename it",
    ]


def test_a_static_folder_that_is_a_symlink_is_followed(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post(), "shared/fonts/a.woff2": "font", "shared/fonts/sub/b.txt": "b"})
    (tmp_path / "static").mkdir()
    (tmp_path / "static/fonts").symlink_to(tmp_path / "shared/fonts")
    code, stderr = build(tmp_path)
    assert code == 0, stderr
    assert (tmp_path / "public/fonts/a.woff2").read_text() == "font"
    assert (tmp_path / "public/fonts/sub/b.txt").read_text() == "b"


def test_a_copy_no_smaller_in_bytes_than_its_image_is_left_out_of_the_srcset(tmp_path: Path) -> None:
    """A smooth plot's PNG can grow when resampled: sending it to a phone would cost more than the original."""
    make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nimages: {srcset: [960]}\n",
            "content/a.md": post(body="![g](g.png)\n"),
        },
    )
    shade = Image.linear_gradient("L").resize((1200, 675))
    image = Image.merge("RGB", (shade, shade.rotate(90).resize((1200, 675)), Image.new("L", (1200, 675), 7)))
    ImageDraw.Draw(image).line(
        [(40, 60), (1160, 615)], fill=(0, 40, 200), width=4
    )  # resampling blurs it into many shades
    image.save(tmp_path / "content/g.png", optimize=True)
    for _ in range(2):  # and the second build remembers it without making it again
        assert build(tmp_path)[0] == 0
        assert "srcset" not in (tmp_path / "public/posts/a/index.html").read_text()
        assert not (tmp_path / "public/g-960w.png").exists()
        assert [p.suffix for p in (tmp_path / ".primer-cache/images").iterdir()] == [".larger"]


def test_many_images_get_their_copies_made_on_several_processes(tmp_path: Path) -> None:
    names = [f"p{i:02}.png" for i in range(20)]
    make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/\nimages: {srcset: [480]}\n",
            "content/a.md": post(body="\n\n".join(f"![{n}]({n})" for n in names)),
        },
    )
    for name in names:
        png(tmp_path / "content" / name, 960, 480)
    assert build(tmp_path, "--jobs", "2")[0] == 0
    page = (tmp_path / "public/posts/a/index.html").read_text()
    for name in names:
        assert f'srcset="/{name[:-4]}-480w.png 480w, /{name} 960w"' in page
        assert Image.open(tmp_path / "public" / f"{name[:-4]}-480w.png").size == (480, 240)


# ---------------------------------------------------------------- URLs of any file name

# A file's name (one path segment): any character Linux allows but "/" and NUL, not starting with "." (hidden,
# so not published) nor ending in ".md" (a post); kept under the 255-byte limit of a name.
FILE_NAMES = (
    st.text(st.characters(exclude_characters="/\x00", exclude_categories=("Cs",)), min_size=1, max_size=30)
    .filter(lambda name: not is_ignored_name(name) and not name.endswith(".md"))  # litter is never published
    .filter(lambda name: len(name.encode()) <= 200)
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(FILE_NAMES, min_size=1, max_size=6, unique_by=collision_key))
@example(names=["x%41.png", "xA.png", "100%.png", "a b#c?d é,.png"])  # the hostile review's (F2), and more
def test_the_url_written_for_any_file_name_names_that_file_once_a_server_decodes_it(
    tmp_path_factory: pytest.TempPathFactory, names: list[str]
) -> None:
    """Percent-encoding round trip (RFC 3986): "x%41.png" is written "x%2541.png", never "x%41.png" (which a server
    reads as "xA.png"); spaces, "#", "?", ",", Unicode too. Each file is linked by its URL as an author writes it,
    in Markdown and in raw HTML, from a post in a subfolder under a base path."""
    site = tmp_path_factory.mktemp("names")
    body = "".join(
        f'[file {n}](<{quote(name, safe="")}>) and <a href="{html.escape(quote(name))}">raw {n}</a>\n\n'
        for n, name in enumerate(names)
    )
    make_site(
        site,
        {"site.yaml": "title: T\nbase_url: https://example.org/my%20site/\n", "content/vol/a.md": post(body=body)},
    )
    for n, name in enumerate(names):
        (site / "content/vol" / name).write_bytes(f"file {n}\n".encode())
    build_site(BuildOptions(source=site, output=site / "out", now=None, cache=False))
    page = (site / "out/posts/a/index.html").read_text()
    hrefs = {text: html.unescape(href) for href, text in re.findall(r'<a href="([^"]*)">((?:file|raw) \d+)</a>', page)}
    for n, name in enumerate(names):
        for text in (f"file {n}", f"raw {n}"):
            url = hrefs[text]
            assert url == quote(url, safe="/%!$&'()*+;=:@~"), f"{url!r} is not a valid URL path"
            assert url.startswith("/my%20site/vol/")
            served = site / "out" / unquote(url.removeprefix("/my%20site/"))  # as a server finds the file
            assert served.read_bytes() == f"file {n}\n".encode(), (name, url)


# ---------------------------------------------------------------- files in a front-matter summary


def test_a_summarys_files_resolve_on_listing_series_and_tag_pages(tmp_path: Path) -> None:
    """The hostile review's F3: `summary: 'Shows ![A](a.png)'` was `<img src="a.png">` on `/`, broken there."""
    summary = "'Shows ![A](a.png), [the data](data/d.csv#row=2) and [elsewhere](https://example.com/a.png)'"
    make_site(
        tmp_path,
        {
            "site.yaml": "title: T\nbase_url: https://example.org/primer/\n",
            "content/vol/ch1.md": post("One", series="vol", chapter=1, tags="[maps]", summary=summary),
            "content/vol/data/d.csv": "a\n",
        },
    )
    png(tmp_path / "content/vol/a.png", 40, 30)
    code, stderr = build(tmp_path)
    assert code == 0, stderr
    out = tmp_path / "public"
    shown = (
        'Shows <img src="/primer/vol/a.png" alt="A" width="40" height="30" decoding="async">, '
        '<a href="/primer/vol/data/d.csv#row=2">the data</a> and <a href="https://example.com/a.png">elsewhere</a>'
    )
    for page in ("index.html", "series/vol/index.html", "tags/maps/index.html"):
        assert shown in (out / page).read_text(), page
    assert "<summary>Shows , the data and elsewhere</summary>" in (out / "feed.xml").read_text()  # text only


def test_a_summarys_missing_file_or_link_to_a_post_is_an_error_at_its_line(tmp_path: Path) -> None:
    summary = "'![A](atention.png) and [next](ch2.md) and ![up](../../../x.png)'"
    make_site(
        tmp_path,
        {
            "content/vol/ch1.md": post("One", summary=summary),  # line 4
            "content/vol/ch2.md": post("Two"),
        },
    )
    png(tmp_path / "content/vol/attention.png", 4, 3)
    code, stderr = build(tmp_path)
    assert code == 1
    assert sorted(errors_of(stderr)) == [
        "content/vol/ch1.md:4: error: '../../../x.png' is outside the site folder",
        "content/vol/ch1.md:4: error: image 'atention.png': no such file content/vol/atention.png "
        '(did you mean "attention.png"?)',
        "content/vol/ch1.md:4: error: summary: link to 'ch2.md': a summary cannot link to a post (it is shown on "
        "listings and in feeds): link to it from the body",
    ]


def test_a_summarys_image_follows_its_file_across_rebuilds_in_one_process(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post(summary="'See ![a](a.png)'")})
    png(tmp_path / "content/a.png", 40, 30)
    options = BuildOptions(source=tmp_path, output=tmp_path / "out", now=None, future=True)
    memory = BuildMemory()
    build_site(options, memory)
    home = tmp_path / "out/index.html"
    assert '<img src="/a.png" alt="a" width="40" height="30"' in home.read_text()
    png(tmp_path / "content/a.png", 64, 48)
    build_site(options, memory)
    assert '<img src="/a.png" alt="a" width="64" height="48"' in home.read_text()
    (tmp_path / "content/a.md").write_text(post(summary="'Now ![b](<b b.png>)'"))
    png(tmp_path / "content/b b.png", 8, 6)
    build_site(options, memory)
    assert 'Now <img src="/b%20b.png" alt="b" width="8" height="6"' in home.read_text()
    (tmp_path / "content/b b.png").unlink()
    with pytest.raises(SiteError) as error:
        build_site(options, memory)
    assert (
        str(error.value)
        == "content/a.md:4: error: image 'b%20b.png': no such file content/b b.png (did you mean \"a.png\"?)"
    )
