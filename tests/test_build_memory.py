"""What a build holds while it renders: a build in a new process lets go of the posts' Markdown once the bodies,
formulas and notation are made (commands/build.py), so neither it nor the workers it forks carry every post's
source through the render and write stages; the dev server's store keeps its documents for the next build."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from fixture_sites import build_result, make_site, post
from primer_site.commands import build as build_module
from primer_site.commands.build import BuildMemory
from primer_site.sources.parse import Document

WORDS = "The rank of the operator bounds the error of every estimate we make here. " * 20  # ~1.5 KB a post


def _site(root: Path, posts: int) -> Path:
    files = {
        f"content/p{n:03}.md": post(f"Post {n}", date=f"2026-01-{n % 28 + 1:02}", body=f"Mark-{n} $x^{n}$.\n\n{WORDS}")
        for n in range(posts)
    }
    return make_site(root, files)


def _alive_when_rendering(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Where render_site is called: (documents alive that hold their Markdown, bytes still allocated by the
    front-matter split, which is where each post's Markdown is cut from its file) at that moment."""
    seen: list[tuple[int, int]] = []
    real = build_module.render_site

    def counting(*args: object, **kwargs: object) -> object:
        gc.collect()
        documents = sum(1 for found in gc.get_objects() if type(found) is Document and found.body)
        split = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/sources/frontmatter.py")])
        seen.append((documents, sum(stat.size for stat in split.statistics("filename"))))
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "render_site", counting)
    return seen


@pytest.mark.parametrize("posts", [20, 80])
def test_a_build_in_a_new_process_renders_without_the_posts_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int
) -> None:
    site = _site(tmp_path / "site", posts)
    seen = _alive_when_rendering(monkeypatch)
    tracemalloc.start()
    try:
        result = build_result(site)
    finally:
        tracemalloc.stop()
    assert result.posts == posts
    assert seen[0][0] == 0  # no document holds its Markdown any more
    assert seen[0][1] < len(WORDS)  # less than one post's Markdown is left of the split, whatever the site's size
    for n in (0, posts - 1):  # the pages are whole: each post's body is there
        page = (site / "public" / "posts" / f"p{n:03}" / "index.html").read_text(encoding="utf-8")
        assert f"Mark-{n}" in page and "bounds the error of every estimate" in page


def test_the_dev_servers_store_keeps_its_documents_for_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store that lives on between builds (serve's) keeps every document whole: the next build compares them."""
    site = _site(tmp_path / "site", 20)
    seen = _alive_when_rendering(monkeypatch)
    tracemalloc.start()
    try:
        build_result(site, BuildMemory())
    finally:
        tracemalloc.stop()
    assert seen[0][0] == 20
    assert seen[0][1] > 20 * len(WORDS)
