"""Inputs at the edges: each either builds correctly or gets a clear file:line error."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_sites import build, make_site, post, run_cli, time_bound
from primer_site.errors import SiteError
from primer_site.model import ChapterNumber
from primer_site.urls import collision_key, is_valid_slug, slugify


def errors_of(site: Path, **options: object) -> list[str]:
    with pytest.raises(SiteError) as caught:
        build(site, **options)
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


def write_bytes(site: Path, relative: str, data: bytes) -> None:
    make_site(site, {})  # its site.yaml
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_byte_order_mark_crlf_lone_cr_and_tabs(tmp_path: Path) -> None:
    write_bytes(tmp_path, "content/bom.md", b"\xef\xbb\xbf---\r\ntitle: BOM\r\ndate: 2026-01-01\r\n---\r\nCRLF $x$\r\n")
    write_bytes(tmp_path, "content/cr.md", b"---\rtitle: CR\rdate: 2026-01-01\r---\rLone CR\r\rSecond para\r")
    write_bytes(tmp_path, "content/tab.md", b"---\ntitle:\tTabbed\ndate: 2026-01-01\n---\n\tindented code\n")
    out = build(tmp_path)
    assert "<title>BOM · " in (out / "posts/bom/index.html").read_text()
    assert "<p>Second para</p>" in (out / "posts/cr/index.html").read_text()
    assert "<pre><code>indented code\n</code></pre>" in (out / "posts/tab/index.html").read_text()
    assert "\r" not in (out / "posts/cr/index.html").read_text()


def test_a_10_mb_post_and_a_50000_word_post(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/words.md": post("Words", body=" ".join(["entropy"] * 50_000))})
    write_bytes(tmp_path, "content/big.md", b"---\ntitle: Big\ndate: 2026-01-01\n---\n" + b"word " * 2_000_000)
    out = build(tmp_path)
    assert (out / "posts/big/index.html").stat().st_size > 10_000_000
    assert "227 min read" in (out / "posts/words/index.html").read_text()


def test_3000_tags_and_a_5000_character_title(tmp_path: Path) -> None:
    tags = "[" + ", ".join(f"t{i}" for i in range(3000)) + "]"
    make_site(tmp_path, {"content/tags.md": post("T" * 5000, tags=tags)})
    out = build(tmp_path)
    assert len(list((out / "tags").iterdir())) == 3001  # 3,000 tag folders and the index
    assert "T" * 5000 in (out / "posts/tags/index.html").read_text()
    # the post is in 3,000 tag feeds: each entry lists a bounded number of its tags, not all 3,000
    assert (out / "tags/t2999/feed.xml").read_text().count("<category ") == 32


def test_deeply_nested_lists_and_quotes(tmp_path: Path) -> None:
    quotes = "> " * 1000 + "deep\n"
    lists = "".join("  " * i + "- a\n" for i in range(1000))
    make_site(tmp_path, {"content/deep.md": post("Deep", body=quotes + "\n" + lists)})
    out = build(tmp_path)
    assert (out / "posts/deep/index.html").is_file()


def test_unicode_titles_tags_and_slugs(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/uni.md": post("数学とエントロピー", tags="[数学, Ελληνικά, Café]", body="שלום $x$")})
    out = build(tmp_path)
    assert (out / "tags/数学/index.html").is_file()
    assert (out / "tags/ελληνικα/index.html").is_file()
    assert (out / "tags/cafe/index.html").is_file()
    assert 'href="/tags/%E6%95%B0%E5%AD%A6/"' in (out / "posts/uni/index.html").read_text()


def test_slugs_differing_by_case_or_accents_collide(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A", slug="Café"), "content/b.md": post("B", slug="cafe")})
    assert errors_of(tmp_path) == [
        "content/b.md:4: error: slug: /posts/cafe/ and content/a.md have URLs that differ only in case or accents "
        "(change one 'slug:')"
    ]


def test_control_characters_in_front_matter_are_refused(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": '---\ntitle: "nul \\0 here"\ndate: 2026-01-01\n---\n'})
    assert errors_of(tmp_path) == [
        'content/a.md:2:13: error: title: in double quotes YAML reads "\\0" as a NUL character, so "\\0" would not '
        "stay as written: write the value in single quotes or as a block scalar (|), which keep every backslash"
    ]
    make_site(tmp_path, {"content/a.md": '---\ntitle: "nul \\x00 here"\ndate: 2026-01-01\n---\n'})
    assert errors_of(tmp_path) == ["content/a.md:2: error: title: contains the control character U+0000; remove it"]


def test_yaml_anchors_aliases_and_tags(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": "---\ntitle: &t Aliased\ndate: 2026-01-01\ndescription: *t\n---\n"})
    assert '<meta name="description" content="Aliased">' in (build(tmp_path) / "posts/a/index.html").read_text()
    make_site(tmp_path, {"content/a.md": "---\ntitle: !!python/object:os.system x\ndate: 2026-01-01\n---\n"})
    [error] = errors_of(tmp_path)
    assert error.startswith("content/a.md:2:8: error: title: YAML's !!python/object:os.system is not a type")


def test_symlinked_content_and_symlink_loops(tmp_path: Path) -> None:
    make_site(tmp_path, {"elsewhere/real.md": post("Linked")})
    (tmp_path / "content/sub").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere/real.md", tmp_path / "content/linked.md")
    os.symlink(tmp_path / "content", tmp_path / "content/sub/loop")
    [error] = errors_of(tmp_path)
    assert error == "content/sub/loop: error: symlink loop: this folder is already part of the site"
    os.unlink(tmp_path / "content/sub/loop")
    assert "Linked" in (build(tmp_path) / "posts/linked/index.html").read_text()


def test_an_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_site(tmp_path, {"content/a.md": post("A"), "content/b.md": post("B")})
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "b.md":  # chmod 000 does not stop root, who runs CI: refuse as the kernel would
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert errors_of(tmp_path) == ["content/b.md: error: cannot read file: Permission denied"]


@given(st.text(max_size=60))
def test_slugify_gives_a_safe_path_segment(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or is_valid_slug(slug)
    assert "/" not in slug and ".." not in slug
    assert slugify(slug) == slug


@given(st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=3), min_size=1, max_size=12))
def test_chapters_sort_naturally(numbers: list[list[int]]) -> None:
    chapters = [ChapterNumber(".".join(map(str, parts))) for parts in numbers]
    ordered = sorted(chapters)
    assert [c.parts for c in ordered] == sorted(c.parts for c in chapters)


def test_chapter_examples_from_the_issue() -> None:
    texts = ["10", "3.2", "1", "2.2", "3.0", "1.3", "2"]
    assert [str(c) for c in sorted(ChapterNumber(t) for t in texts)] == ["1", "1.3", "2", "2.2", "3.0", "3.2", "10"]
    assert ChapterNumber.parse(1.3) == ChapterNumber("1.3")  # YAML read 1.3 unquoted as a float
    assert ChapterNumber.parse(True) is None and ChapterNumber.parse("-1") is None


@given(st.sampled_from(["Café", "cafe", "CAFE", "Cafe\u0301"]), st.sampled_from(["café", "Cafe"]))
def test_collision_key_folds_case_and_accents(a: str, b: str) -> None:
    assert collision_key(a) == collision_key(b)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(st.text("abcxyz $*_\\[]()#\n-`|", max_size=80), st.integers(1, 28), st.integers(0, 5)),
        min_size=1,
        max_size=6,
    )
)
def test_two_builds_give_the_same_bytes(tmp_path_factory: pytest.TempPathFactory, posts: list) -> None:
    site = tmp_path_factory.mktemp("site")
    for index, (body, day, chapter) in enumerate(posts):
        make_site(
            site,
            {
                f"content/p{index}.md": post(
                    f"P{index}", f"2026-01-{day:02d}", body, series="s", chapter=f"'{chapter}.{index}'"
                )
            },
        )
    first = build(site)
    snapshot = {p.relative_to(first): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    second = build(site)
    assert {p.relative_to(second): p.read_bytes() for p in second.rglob("*") if p.is_file()} == snapshot


# ---------------------------------------------------------------- more edges: links, special files, names that collide


def test_a_symlink_loop_of_files_and_a_dangling_link(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/ok.md": post("OK")})
    os.symlink(tmp_path / "content/b.md", tmp_path / "content/a.md")
    os.symlink(tmp_path / "content/a.md", tmp_path / "content/b.md")
    os.symlink(tmp_path / "content/self.md", tmp_path / "content/self.md")
    os.symlink(tmp_path / "nowhere.md", tmp_path / "content/dangling.md")
    assert errors_of(tmp_path) == [
        "content/a.md: error: cannot read file: Too many levels of symbolic links",
        "content/b.md: error: cannot read file: Too many levels of symbolic links",
        "content/dangling.md: error: cannot read file: No such file or directory",
        "content/self.md: error: cannot read file: Too many levels of symbolic links",
    ]


def test_a_file_symlinked_from_outside_the_site_is_read_not_linked(tmp_path: Path) -> None:
    outside = make_site(tmp_path / "outside", {"site.yaml": None, "shared.md": post("Shared", body="From outside.")})
    site = make_site(tmp_path / "site", {"content/own.md": post("Own")})
    # allowed: a link out of the site is an error without it (tests/test_hostile.py)
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "follow_links_outside: true\n")
    os.symlink(outside / "shared.md", site / "content/shared.md")
    out = build(site)
    page = out / "posts/shared/index.html"
    assert "From outside." in page.read_text() and not page.is_symlink()
    assert not any(p.is_symlink() for p in out.rglob("*"))
    assert sorted(p.name for p in outside.iterdir()) == ["shared.md"]  # nothing written beside the target


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            os.mkfifo,
            "content/special.md: error: not a regular file (a FIFO, a device or a socket): only files are read",
        ),
        (
            lambda path: os.symlink("/dev/zero", path),
            "content/special.md: error: links to /dev/zero: a file under /proc, /sys or /dev is never published "
            "(remove the link)",
        ),
    ],
    ids=["fifo", "dev-zero"],
)
def test_a_fifo_or_a_device_in_content_is_refused_not_read(tmp_path: Path, make, expected: str) -> None:
    """Reading a FIFO waited for ever for a writer; reading /dev/zero never ended."""
    make_site(tmp_path, {"content/ok.md": post("OK")})
    make(tmp_path / "content/special.md")
    with time_bound(30):
        assert errors_of(tmp_path) == [expected]


@pytest.mark.parametrize(
    "replaced",
    ["content/one.md", "series/vol.md", "content/fig.svg", "static/extra.css"],
)
def test_a_file_replaced_by_a_fifo_after_a_build_is_refused_not_waited_on(tmp_path: Path, replaced: str) -> None:
    """The next build's look at a file saved within the last 2 s (its stamp too recent to trust, so its bytes are
    digested) opened a FIFO put in its place and waited for a writer for ever (a series file, 2026-12-07)."""
    make_site(
        tmp_path,
        {
            "series/vol.md": "---\ntitle: Vol\n---\nAbout the volume.\n",
            "content/one.md": post("One", series="vol", chapter=1, body="![A figure](fig.svg)"),
            "content/fig.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n',
            "static/extra.css": "p { margin: 0 }\n",
        },
    )
    build(tmp_path, cache=True)
    (tmp_path / replaced).unlink()
    os.mkfifo(tmp_path / replaced)
    with time_bound(30):
        errors = errors_of(tmp_path, cache=True)
    assert [e for e in errors if e.startswith(f"{replaced}: error: ")], errors
    assert all("not a regular file" in e for e in errors if e.startswith(replaced)), errors


def test_a_template_that_is_a_fifo_or_a_broken_link_is_an_error_not_the_theme_s_template(tmp_path: Path) -> None:
    """The site's templates/post.html as a FIFO, and base.html as a broken link: Jinja's rule (regular files only)
    let the theme's templates stand in for them, a page other than the author's, with no word said."""
    make_site(tmp_path, {"content/ok.md": post("OK")})
    (tmp_path / "templates").mkdir()
    os.mkfifo(tmp_path / "templates/post.html")
    os.symlink("nowhere.html", tmp_path / "templates/base.html")
    with time_bound(30):
        errors = errors_of(tmp_path)
    assert errors == [
        f"templates/{name}:1: error: template: cannot read the file: not a regular file (a FIFO, a device, a socket "
        "or a broken link)"
        for name in ("base.html", "post.html")
    ]


def test_special_files_in_static_are_refused_not_copied(tmp_path: Path) -> None:
    """A FIFO hung the copy, /dev/zero filled the disk, a broken link crashed the build with FileNotFoundError."""
    make_site(tmp_path, {"content/ok.md": post("OK"), "static/ok.txt": "ok"})
    os.mkfifo(tmp_path / "static/fifo.txt")
    os.symlink("/dev/zero", tmp_path / "static/zero.js")
    os.symlink(tmp_path / "nowhere.css", tmp_path / "static/broken.css")
    with time_bound(30):
        assert errors_of(tmp_path) == [
            f"static/{name}: error: not a regular file (a FIFO, a device, a socket or a broken link)"
            for name in ("broken.css", "fifo.txt", "zero.js")
        ]


@pytest.mark.parametrize(
    ("first", "second"),
    [("Café.md", "Cafe.md"), ("caf\u00e9.md", "cafe\u0301.md"), ("A.md", "a.md")],
    ids=["accent", "nfc-nfd", "case"],
)
def test_file_names_that_make_the_same_url_collide(tmp_path: Path, first: str, second: str) -> None:
    make_site(tmp_path, {f"content/{first}": post("One"), f"content/{second}": post("Two")})
    [error] = errors_of(tmp_path)
    assert re.fullmatch(
        r"content/.+\.md:2: error: slug: /posts/(a|cafe)/ and content/.+\.md have the same URL .*", error
    )


def test_two_titles_that_slugify_alike_are_two_posts(tmp_path: Path) -> None:
    """A post's slug comes from its file name, not its title: 'Café' and 'Cafe' are two pages."""
    make_site(tmp_path, {"content/one.md": post("Café"), "content/two.md": post("Cafe")})
    out = build(tmp_path)
    assert '<h1 class="post-title">Café</h1>' in (out / "posts/one/index.html").read_text()
    assert '<h1 class="post-title">Cafe</h1>' in (out / "posts/two/index.html").read_text()


def test_tags_that_slugify_alike_are_one_tag(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "content/a.md": post("A", tags="[Café]"),
            "content/b.md": post("B", tags="[cafe]", date="2026-01-06"),
            "content/c.md": post("C", tags="[CAFE, Cafe\u0301]", date="2026-01-07"),
        },
    )
    out = build(tmp_path)
    assert sorted(p.name for p in (out / "tags").iterdir()) == ["cafe", "index.html"]
    listing = (out / "tags/cafe/index.html").read_text()
    assert all(f">{title}</a>" in listing for title in "ABC")


def test_crlf_inside_yaml_block_scalars(tmp_path: Path) -> None:
    text = "---\r\ntitle: Blocks\r\ndate: 2026-01-05\r\nsummary: >\r\n  folded\r\n  over lines\r\n"
    text += "description: |\r\n  kept\r\n  lines\r\n---\r\nBody.\r\n"
    write_bytes(tmp_path, "content/blocks.md", text.encode())
    page = (build(tmp_path) / "posts/blocks/index.html").read_text()
    assert "\r" not in page
    assert '<meta name="description" content="kept\nlines">' in page
    assert "folded over lines" in (tmp_path / "public/index.html").read_text()


def test_an_undecodable_file_name_is_reported_printably(tmp_path: Path) -> None:
    """The name's bytes become lone surrogates: printing them raised UnicodeEncodeError in the CLI."""
    make_site(tmp_path, {"content/ok.md": post("OK")})
    (tmp_path / "content" / os.fsdecode(b"bad-\xff.md")).write_text("---\ntitle: [\n---\n", encoding="utf-8")
    result = run_cli("build", "--source", str(tmp_path))
    assert result.returncode == 1
    assert "content/bad-\\udcff.md:3: error: YAML syntax:" in result.stderr
