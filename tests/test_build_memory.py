"""What a build holds while it renders: a build in a new process lets go of the posts' Markdown once the bodies,
formulas and notation are made, and of the assemble memo's steps once the site is assembled (commands/build.py),
so neither it nor the workers it forks carry them through the render and write stages; the dev server's store
keeps both for the next build."""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fixture_sites import build_result, make_site, post
from primer_site.commands import build as build_module
from primer_site.commands.build import BuildMemory
from primer_site.model import Post
from primer_site.site.assemblememo import AssembleMemo
from primer_site.sources.parse import Document

WORDS = "The rank of the operator bounds the error of every estimate we make here. " * 20  # ~1.5 KB a post


def _site(root: Path, posts: int) -> Path:
    files = {
        f"content/p{n:03}.md": post(f"Post {n}", date=f"2026-01-{n % 28 + 1:02}", body=f"Mark-{n} $x^{n}$.\n\n{WORDS}")
        for n in range(posts)
    }
    return make_site(root, files)


def _alive_at(monkeypatch: pytest.MonkeyPatch, *stages: str) -> dict[str, tuple[int, int, int]]:
    """When each of `stages` (functions _build calls: "site_math", "render_site") is called: (documents alive that
    hold their Markdown, bytes still allocated by the front-matter split, which is where each post's Markdown is
    cut from its file, Post objects alive that were made after this call) at that moment."""
    seen: dict[str, tuple[int, int, int]] = {}
    gc.collect()
    # Posts and documents an earlier test in this worker left alive are not this build's (one was seen held after a build that
    # failed on a template error): counted are the Posts made from here on
    earlier = {id(found) for found in gc.get_objects() if type(found) in (Post, Document)}
    for stage in stages:
        real = getattr(build_module, stage)

        def counting(*args: object, real: Any = real, stage: str = stage, **kwargs: object) -> object:
            gc.collect()
            documents = sum(
                1 for found in gc.get_objects() if type(found) is Document and found.body and id(found) not in earlier
            )
            split = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/sources/frontmatter.py")])
            posts = sum(1 for found in gc.get_objects() if type(found) is Post and id(found) not in earlier)
            seen[stage] = (documents, sum(stat.size for stat in split.statistics("filename")), posts)
            return real(*args, **kwargs)

        monkeypatch.setattr(build_module, stage, counting)
    return seen


@pytest.mark.parametrize("posts", [20, 80])
def test_a_build_in_a_new_process_renders_without_the_posts_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int
) -> None:
    site = _site(tmp_path / "site", posts)
    seen = _alive_at(monkeypatch, "site_math", "render_site")
    tracemalloc.start()
    try:
        result = build_result(site)
    finally:
        tracemalloc.stop()
    assert result.posts == posts
    assert seen["site_math"][2] == posts  # each post once, as the site has it: none of the assemble memo's steps
    assert seen["render_site"][0] == 0  # no document holds its Markdown any more
    assert seen["render_site"][1] < len(WORDS)  # less than one post's Markdown is left, whatever the site's size
    assert seen["render_site"][2] == posts
    for n in (0, posts - 1):  # the pages are whole: each post's body is there
        page = (site / "public" / "posts" / f"p{n:03}" / "index.html").read_text(encoding="utf-8")
        assert f"Mark-{n}" in page and "bounds the error of every estimate" in page


def test_the_dev_servers_store_keeps_its_documents_for_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store that lives on between builds (serve's) keeps every document whole and the assemble memo's steps:
    the next build compares them."""
    site = _site(tmp_path / "site", 20)
    seen = _alive_at(monkeypatch, "site_math", "render_site")
    memory = BuildMemory()
    tracemalloc.start()
    try:
        build_result(site, memory)
    finally:
        tracemalloc.stop()
    assert seen["render_site"][0] == 20
    assert seen["render_site"][1] > 20 * len(WORDS)
    # the assemble memo's steps too: every post as first made (here also the post the site has: with no citation,
    # link or neighbour, no later step copies it), and each step of each post
    assert seen["site_math"][2] >= 20 and seen["render_site"][2] >= 20
    steps = Counter(kind for kind, _ in memory.slot("assemble", AssembleMemo).made)
    assert steps["post"] == steps["macros"] == steps["citations"] == steps["preview links"] == 20, steps
