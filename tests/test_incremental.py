"""Incremental rebuilds (the dev server's): a change re-renders only the pages that show what changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixture_sites import NOW, make_site, post, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, BuildResult, build_site
from primer_site.errors import SiteError


def chapter(n: int, title: str | None = None, body: str | None = None) -> str:
    return post(
        title or f"Chapter {n}", f"2026-01-{n:02d}", body or f"Body of chapter {n}.", series="s", chapter=n, tags="[t]"
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    files = {f"content/c{n}.md": chapter(n) for n in range(1, 6)}
    files["content/other.md"] = post("Other", "2025-12-01", "Not in the series.", tags="[u]")
    files["series/s.md"] = "---\ntitle: S\nchapters: 5\n---\nThe series.\n"
    return make_site(tmp_path / "site", files)


class Session:
    """A site rebuilt in one process, as `primer-site serve` does."""

    def __init__(self, site: Path) -> None:
        self.site, self.memory = site, BuildMemory()
        self.options = BuildOptions(source=site, output=site.parent / "out", now=NOW, jobs=1, fingerprint=False)

    def build(self) -> BuildResult:
        return build_site(self.options, self.memory)

    def rendered_after(self, relative: str, text: str | None) -> set[str]:
        path = self.site / relative
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return set(self.build().rendered)


def test_nothing_changed_renders_and_writes_nothing(site: Path) -> None:
    session = Session(site)
    first = session.build()
    assert len(first.rendered) > 10
    again = session.build()
    assert again.rendered == () and again.written == 0


def test_a_body_edit_re_renders_the_post_and_the_pages_that_show_it(site: Path) -> None:
    session = Session(site)
    session.build()
    rendered = session.rendered_after("content/c3.md", chapter(3, body="A new first paragraph."))
    assert rendered == {
        "posts/c3/index.html",  # the post
        "series/s/index.html",  # its series page lists its summary
        "series/s/print/index.html",  # the whole volume holds its body
        "index.html",  # the home page shows it
        "tags/t/index.html",  # so does its tag's page
        "feed.xml",
        "feed.json",
        "series/s/feed.xml",
        "tags/t/feed.xml",
    }
    assert "A new first paragraph." in (site.parent / "out/posts/c3/index.html").read_text()


def test_a_title_edit_re_renders_the_neighbours_too(site: Path) -> None:
    session = Session(site)
    session.build()
    rendered = session.rendered_after("content/c3.md", chapter(3, title="Chapter 3, renamed"))
    assert {"posts/c2/index.html", "posts/c3/index.html", "posts/c4/index.html"} <= rendered
    assert not {"posts/c1/index.html", "posts/c5/index.html", "posts/other/index.html"} & rendered
    assert "Chapter 3, renamed" in (site.parent / "out/posts/c4/index.html").read_text()


def test_a_template_change_re_renders_the_pages_using_it(site: Path) -> None:
    session = Session(site)
    session.build()
    series_template = "{% extends 'base.html' %}{% block main %}<p>Custom {{ series.title }}</p>{% endblock %}"
    assert session.rendered_after("templates/series.html", series_template) == {"series/s/index.html"}
    base = (Path(__file__).resolve().parents[1] / "templates/base.html").read_text()
    every_page = session.rendered_after("templates/base.html", base.replace("<body>", "<body class='x'>"))
    assert {"posts/c1/index.html", "series/s/index.html", "index.html", "404.html"} <= every_page


def test_a_static_file_change_copies_that_file_only(site: Path) -> None:
    session = Session(site)
    session.build()
    result_before = tree_bytes(site.parent / "out")
    assert session.rendered_after("static/css/style.css", "body { color: teal }") == set()
    after = tree_bytes(site.parent / "out")
    assert after["css/style.css"] == b"body { color: teal }"
    assert {k for k in after if after[k] != result_before.get(k)} == {"css/style.css"}


def test_deleting_and_renaming_posts_remove_their_old_pages(site: Path) -> None:
    session = Session(site)
    session.build()
    out = site.parent / "out"
    rendered = session.rendered_after("content/c5.md", None)
    assert not (out / "posts/c5").exists()
    assert "posts/c4/index.html" in rendered  # it lost its next chapter
    (site / "content/other.md").rename(site / "content/renamed.md")
    session.build()
    assert not (out / "posts/other").exists() and (out / "posts/renamed/index.html").is_file()
    # a preview that runs all day keeps nothing for files that are gone
    memory = session.memory
    kept = {*memory.slot("bodies", dict), *memory.keys("post"), *memory.keys("series"), *memory.keys("series body")}
    assert "content/c5.md" not in kept and "content/other.md" not in kept and "content/renamed.md" in kept


def test_an_incremental_build_gives_the_same_bytes_as_a_fresh_one(site: Path) -> None:
    session = Session(site)
    session.build()
    session.rendered_after("content/c2.md", chapter(2, title="Two", body="Changed. [next](c3.md)"))
    session.rendered_after("series/s.md", "---\ntitle: S renamed\nchapters: 9\n---\nNew description.\n")
    session.rendered_after("content/c9.md", chapter(9))
    fresh = BuildOptions(source=site, output=site.parent / "fresh", now=NOW, jobs=1, fingerprint=False, cache=False)
    build_site(fresh)
    assert tree_bytes(site.parent / "out") == tree_bytes(site.parent / "fresh")


def test_errors_are_reported_again_while_a_file_stays_broken(site: Path) -> None:
    from primer_site.errors import SiteError

    session = Session(site)
    session.build()
    (site / "content/c1.md").write_text("---\ntitle: X\n---\n", encoding="utf-8")
    for _ in range(2):  # the second time the file is not read again, but its error is still there
        with pytest.raises(SiteError) as caught:
            session.build()
        assert [str(d) for d in caught.value.diagnostics] == [
            "content/c1.md:2: error: date: is required (a date such as 2026-03-02)"
        ]
    (site / "content/c1.md").write_text(chapter(1), encoding="utf-8")
    assert session.build().posts == 6


def test_an_incremental_rebuild_keeps_the_other_posts_in_the_body_cache(site: Path) -> None:
    import sqlite3

    session = Session(site)
    session.options = BuildOptions(
        source=site, output=site.parent / "out", now=NOW, jobs=1, fingerprint=False, cache=True
    )
    session.build()
    database = site / ".primer-cache" / "bodies.sqlite3"
    posts = "SELECT count(*) FROM bodies WHERE key NOT LIKE 'series-%'"  # the series' descriptions are apart
    with sqlite3.connect(database) as db:
        before = db.execute(posts).fetchone()[0]
    session.rendered_after("content/c3.md", chapter(3, body="Edited."))
    with sqlite3.connect(database) as db:
        after = db.execute(posts).fetchone()[0]
    assert before == 6 and after == 7, "an edit adds its new body and drops no other post's"


# ---------------------------------------------------------------- the stale pages the live preview once served
# Each was found by an author: a change the preview did not show. Each is checked in one process (the dev server,
# told which paths changed, as its watcher tells it) and across processes (a warm `build` with the cache), against
# what the author sees: the page's HTML.


def _both_ways(site: Path, edit, expect) -> None:  # type: ignore[no-untyped-def]
    """Build, apply `edit(site)` (which returns the paths it changed), build again both ways; `expect(html_of)`."""
    session = Session(site)
    session.build()
    warm = BuildOptions(source=site, output=site.parent / "warm", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(warm)
    changed = edit(site)
    build_site(session.options, session.memory, changed)
    build_site(warm)
    fresh = BuildOptions(source=site, output=site.parent / "fresh", now=NOW, jobs=1, fingerprint=False, cache=False)
    build_site(fresh)
    for folder in ("out", "warm"):
        output = site.parent / folder
        expect(lambda page, output=output: (output / page).read_text(encoding="utf-8"))
        made, clean = tree_bytes(output), tree_bytes(site.parent / "fresh")
        assert {p for p in made.keys() | clean.keys() if made.get(p) != clean.get(p)} == set(), folder


def test_a_template_override_added_while_serving_is_used(site: Path) -> None:
    def add_override(site: Path) -> set[str]:
        (site / "templates").mkdir(exist_ok=True)
        (site / "templates/post.html").write_text(
            "{% extends 'base.html' %}{% block main %}<p class=mine>{{ post.title }}</p>{% endblock %}\n"
        )
        return {"templates", "templates/post.html"}

    _both_ways(
        site, add_override, lambda html_of: _assert_in("<p class=mine>Chapter 2</p>", html_of("posts/c2/index.html"))
    )


def test_a_volume_s_new_order_reaches_its_collection_and_the_series_index(tmp_path: Path) -> None:
    files = {
        "series/shelf.md": "---\ntitle: Shelf\nkind: collection\n---\n",
        "series/a.md": "---\ntitle: Volume A\ncollection: shelf\norder: 1\n---\n",
        "series/b.md": "---\ntitle: Volume B\ncollection: shelf\norder: 2\n---\n",
        "content/a1.md": post("A one", series="a", chapter=1),
        "content/b1.md": post("B one", series="b", chapter=1),
    }
    site = make_site(tmp_path / "site", files)

    def reorder(site: Path) -> set[str]:
        (site / "series/a.md").write_text("---\ntitle: Volume A\ncollection: shelf\norder: 3\n---\n")
        return {"series/a.md"}

    def b_first(html_of) -> None:  # type: ignore[no-untyped-def]
        for page in ("series/shelf/index.html", "series/index.html"):
            html = html_of(page)
            assert html.index("Volume B") < html.index("Volume A"), page

    _both_ways(site, reorder, b_first)


def test_a_site_template_reading_every_post_shows_a_new_title_on_every_page(site: Path) -> None:
    (site / "templates").mkdir()
    (site / "templates/base.html").write_text(
        (Path(__file__).resolve().parents[1] / "templates/base.html")
        .read_text()
        .replace(
            "<footer", "<ul class=recent>{% for p in site.posts[:3] %}<li>{{ p.title }}</li>{% endfor %}</ul><footer"
        )
    )

    def retitle(site: Path) -> set[str]:
        (site / "content/c5.md").write_text(chapter(5, title="Chapter 5, retitled"), encoding="utf-8")
        return {"content/c5.md"}

    def everywhere(html_of) -> None:  # type: ignore[no-untyped-def]
        for page in ("posts/c1/index.html", "posts/other/index.html", "tags/u/index.html", "404.html"):
            _assert_in("<li>Chapter 5, retitled</li>", html_of(page))

    _both_ways(site, retitle, everywhere)


def _assert_in(needle: str, html: str) -> None:
    assert needle in html, html[:2000]


@pytest.mark.parametrize(
    "use",
    [
        '{% import "_brand.html" as brand %}<p class=tagline>{{ brand.tagline }}</p>',
        '{% from "_brand.html" import tagline %}<p class=tagline>{{ tagline }}</p>',
    ],
)
def test_a_setting_read_by_an_imported_template_reaches_every_page(site: Path, use: str) -> None:
    # Jinja keeps an imported template's module: its top-level reads must be recorded for every page that imports
    # it, not only for the first one rendered
    (site / "templates").mkdir()
    base = (Path(__file__).resolve().parents[1] / "templates/base.html").read_text()
    (site / "templates/base.html").write_text(base.replace("<footer", use + "<footer"))
    (site / "templates/_brand.html").write_text("{% set tagline = config.description | upper %}\n")
    (site / "site.yaml").write_text("title: T\nbase_url: https://example.org/\ndescription: old words\n")

    def describe(site: Path) -> set[str]:
        (site / "site.yaml").write_text("title: T\nbase_url: https://example.org/\ndescription: new words\n")
        return {"site.yaml"}

    def everywhere(html_of) -> None:  # type: ignore[no-untyped-def]
        for page in ("posts/c1/index.html", "posts/c4/index.html", "posts/other/index.html", "tags/u/index.html"):
            _assert_in("<p class=tagline>NEW WORDS</p>", html_of(page))

    _both_ways(site, describe, everywhere)


def test_the_output_folder_deleted_between_rebuilds_is_made_whole_again(site: Path) -> None:
    """The dev server's writer updates its folder in place; once the folder is gone, the next rebuild writes the
    whole site again (staged), the pages nothing changed included, as a fresh build makes it."""
    import shutil

    session = Session(site)
    session.build()
    out = site.parent / "out"
    shutil.rmtree(out)
    result = session.build()
    fresh = build_site(BuildOptions(source=site, output=site.parent / "fresh", now=NOW, jobs=1, fingerprint=False))
    assert tree_bytes(out) == tree_bytes(site.parent / "fresh")
    assert result.pages == fresh.pages and "posts/c1/index.html" in result.rendered
    # and the next edit is in place again
    assert session.rendered_after("content/c2.md", chapter(2, body="Edited.")) >= {"posts/c2/index.html"}
    assert "Edited." in (out / "posts/c2/index.html").read_text()


def test_macros_and_previews_follow_every_edit_while_serving(tmp_path: Path) -> None:
    """What assembly keeps between rebuilds (a post's merged macros, the links a body holds for its previews) is
    made again when what it is made from changes: a post's own `macros:`, its series file's, and a body gaining
    or losing a link to another post's equation. Each step's pages are those of a fresh build."""
    series = "---\ntitle: S\nmacros:\n  \\E: \\mathbb{E}\n---\nThe series.\n"
    target = post("One", "2026-01-01", "$$ \\E[x] $$ (eq:mean)\n", series="s", chapter=1)
    files = {"series/s.md": series, "content/one.md": target, "content/two.md": post("Two", "2026-01-02", "No link.")}
    site = make_site(tmp_path / "site", files)
    session = Session(site)
    session.build()
    out = site.parent / "out"

    def page(slug: str) -> str:
        return (out / "posts" / slug / "index.html").read_text(encoding="utf-8")

    def same_as_fresh() -> None:
        fresh = build_site(BuildOptions(source=site, output=tmp_path / "fresh", now=NOW, jobs=1, fingerprint=False))
        assert fresh.posts == 2
        assert tree_bytes(tmp_path / "fresh") == tree_bytes(out)

    assert "\\\\mathbb{E}" in page("one")
    session.rendered_after("series/s.md", series.replace("mathbb", "mathbf"))
    assert "\\\\mathbf{E}" in page("one") and "\\\\mathbb{E}" not in page("one")
    same_as_fresh()
    own = post("One", "2026-01-01", "$$ \\E[x] $$ (eq:mean)\n", series="s", chapter=1, macros="{'\\F': '\\mathcal{F}'}")
    session.rendered_after("content/one.md", own)
    assert "\\\\mathcal{F}" in page("one") and "\\\\mathbf{E}" in page("one")
    same_as_fresh()
    session.rendered_after("content/two.md", post("Two", "2026-01-02", "By [](one.md#eq:mean)."))
    assert '<div data-preview="/posts/one/#eq:mean"' in page("two")
    same_as_fresh()
    session.rendered_after("content/two.md", post("Two", "2026-01-02", "No link again."))
    assert "data-preview" not in page("two")
    same_as_fresh()


def test_a_rebuild_asks_only_the_changed_files_whether_they_can_be_read(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file is looked at on every rebuild (one stat, from its folder's listing), but a file that is no link
    and was readable at the same stamp is not asked again: the calls grow with the files changed, not the site."""
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.0)  # the files were written just now: trust their stamps at once
    asked: list[str] = []
    access = os.access

    def counted(path: str, mode: int) -> bool:
        if os.path.abspath(path).startswith(f"{site}/"):  # a source (the output folder is asked too)
            asked.append(os.path.relpath(path, site))
        # as an ordinary user's access() reads the mode bits (they do not bind root, who runs CI)
        return access(path, mode) and bool(os.stat(path).st_mode & 0o444)

    monkeypatch.setattr(os, "access", counted)
    session = Session(site)
    session.build()
    assert sorted(asked) == sorted(["series/s.md", "content/other.md"] + [f"content/c{n}.md" for n in range(1, 6)])
    asked.clear()
    assert session.build().rendered == () and asked == []
    assert session.rendered_after("content/c3.md", chapter(3, body="Longer words than before.")) and asked == [
        "content/c3.md"
    ]
    asked.clear()
    (site / "content" / "c2.md").chmod(0)  # its stamp changes (the change time): asked again, and refused
    try:
        with pytest.raises(SiteError) as caught:
            session.build()
    finally:
        (site / "content" / "c2.md").chmod(0o644)
    assert asked == ["content/c2.md"]
    assert [str(d) for d in caught.value.diagnostics] == [
        "content/c2.md: error: cannot be read (permission denied): a file the build cannot read is never published"
    ]


def test_a_rebuild_renders_again_only_the_summaries_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A front matter's summary is rendered (its files' URLs found) once per text, not on every rebuild for every
    post; an edited summary is seen, and its page shows it."""
    from primer_site.site import assets

    marker = tmp_path.name  # texts no other test renders (the rendering is kept for the process)
    files = {f"content/p{n}.md": post(f"P{n}", summary=f"'Summary {n} of {marker}.'") for n in range(4)}
    site = make_site(tmp_path / "site", files)
    rendered: list[str] = []
    render_inline = assets.render_inline

    def counted(text: str, **options: object):  # type: ignore[no-untyped-def]
        rendered.append(text)
        return render_inline(text, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(assets, "render_inline", counted)
    session = Session(site)
    session.build()
    assert sorted(rendered) == [f"Summary {n} of {marker}." for n in range(4)]
    rendered.clear()
    session.rendered_after("content/p1.md", post("P1", body="A new body.", summary=f"'Summary 1 of {marker}.'"))
    assert rendered == []
    session.rendered_after("content/p2.md", post("P2", summary=f"'A new summary of {marker}.'"))
    assert rendered == [f"A new summary of {marker}."]
    assert f"A new summary of {marker}." in (site.parent / "out" / "index.html").read_text(encoding="utf-8")
