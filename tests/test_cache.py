"""The persistent body cache: reused when sources are unchanged, ignored when it cannot be trusted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import primer_site.caches.bodies as bodies_module
from fixture_sites import build_result, make_site, post, tree_bytes
from primer_site.sources.theoremkinds import DEFAULT as DEFAULT_THEOREMS


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources rendered afresh (not taken from the cache) during a test."""
    seen: list[str] = []
    original = bodies_module.render_bodies

    def counting(items, raw_html, jobs, *highlights):
        seen.extend(item.source for item in items)
        return original(items, raw_html, jobs, *highlights)

    monkeypatch.setattr(bodies_module, "render_bodies", counting)
    return seen


def site_with_posts(root: Path) -> Path:
    return make_site(
        root,
        {
            f"content/p{i}.md": post(f"P{i}", f"2026-01-0{i}", f"## H{i}\n\n$x_{i}$ [next](p{i % 3 + 1}.md)")
            for i in (1, 2, 3)
        },
    )


def build(site: Path, out: Path, cache: bool = True) -> None:
    build_result(site, output=out, cache=cache)


def test_second_build_renders_nothing_and_an_edit_renders_one(tmp_path: Path, rendered: list[str]) -> None:
    site = site_with_posts(tmp_path / "site")
    build(site, tmp_path / "out")
    assert sorted(rendered) == ["content/p1.md", "content/p2.md", "content/p3.md"]
    rendered.clear()
    build(site, tmp_path / "out")
    assert rendered == []
    (site / "content/p2.md").write_text(post("P2", "2026-01-02", "Changed."), encoding="utf-8")
    build(site, tmp_path / "out")
    assert rendered == ["content/p2.md"]


def test_series_descriptions_come_from_the_cache_in_a_new_process(tmp_path: Path, rendered: list[str]) -> None:
    # every build in a new process rendered every series' description again (the cache held only posts')
    site = site_with_posts(tmp_path / "site")
    make_site(
        site,
        {
            f"series/{name}.md": f"---\ntitle: {name.title()}\n---\nThe {name} volume, with $y_{index}$.\n"
            for index, name in enumerate(("red", "blue"))
        },
    )
    build(site, tmp_path / "out")
    assert sorted(rendered) == ["content/p1.md", "content/p2.md", "content/p3.md", "series/blue.md", "series/red.md"]
    before = tree_bytes(tmp_path / "out")
    rendered.clear()
    (site / "content/p2.md").write_text(post("P2", "2026-01-02", "Changed."), encoding="utf-8")
    build(site, tmp_path / "out")
    assert rendered == ["content/p2.md"]  # the descriptions were taken from the cache
    build(site, tmp_path / "cold", cache=False)
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "cold") != before
    (site / "series/red.md").write_text("---\ntitle: Red\n---\nAnother red volume.\n", encoding="utf-8")
    rendered.clear()
    build(site, tmp_path / "out")
    assert rendered == ["series/red.md"]
    rendered.clear()
    build(site, tmp_path / "out")  # the posts' entries did not push out the descriptions', nor the other way
    (site / "content/p1.md").write_text(post("P1", "2026-01-01", "Changed too."), encoding="utf-8")
    build(site, tmp_path / "out")
    assert rendered == ["content/p1.md"]


def test_output_is_identical_with_and_without_the_cache(tmp_path: Path) -> None:
    site = site_with_posts(tmp_path / "site")
    build(site, tmp_path / "cold", cache=False)
    build(site, tmp_path / "fill")
    build(site, tmp_path / "warm")
    assert tree_bytes(tmp_path / "cold") == tree_bytes(tmp_path / "warm")


@pytest.mark.parametrize("damage", ["garbage", "foreign-salt", "tampered-rows", "a-folder"])
def test_a_damaged_or_foreign_cache_is_ignored_and_rebuilt(tmp_path: Path, rendered: list[str], damage: str) -> None:
    site = site_with_posts(tmp_path / "site")
    build(site, tmp_path / "ref", cache=False)
    build(site, tmp_path / "out")
    database = site / ".primer-cache" / "bodies.sqlite3"
    if damage == "garbage":
        database.write_bytes(b"\x00not a database" * 100)
    elif damage == "a-folder":
        database.unlink()
        database.mkdir()
    else:
        with sqlite3.connect(database) as db:
            if damage == "foreign-salt":
                db.execute("UPDATE meta SET salt = 'someone else'")
            else:
                db.execute("UPDATE bodies SET value = '[\"<script>alert(1)</script>\", 5]'")
    rendered.clear()
    build(site, tmp_path / "out")
    assert sorted(rendered) == ["content/p1.md", "content/p2.md", "content/p3.md"]
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "ref")


def test_bodies_rendered_without_formulas_asked_keep_none_and_the_cache_holds_them(tmp_path: Path) -> None:
    """A checked build in a new process asks for bodies without formulas: those rendered now hold none once the
    cache has them (a large site's bodies would otherwise carry hundreds of thousands of Formula objects through
    the build), and the check finds them in the cache by each document's body key."""
    from primer_site.caches.reading import read_sources
    from primer_site.errors import Problems
    from primer_site.sources.config import load_config
    from primer_site.store import Store

    site = site_with_posts(tmp_path)
    problems = Problems()
    config = load_config(site, problems)
    _, documents, metas = read_sources(site, True, Store(), False, config, set(), problems)
    memo = bodies_module.BodyMemo()
    made = bodies_module.post_bodies(memo, site, documents, metas, True, 1, True, False)
    assert [body.formulas for body in made] == [(), (), ()] and all(body.has_math for body in made)
    stored = bodies_module.StoredFormulas(site, True, memo)
    hashed = []
    real_key = bodies_module.body_key
    bodies_module.body_key = lambda item: hashed.append(item) or real_key(item)  # type: ignore[assignment]
    try:
        keys = [stored.key_of(document) for document in documents]
    finally:
        bodies_module.body_key = real_key
    assert hashed == []  # each body hashed once a build: post_bodies' keys, not worked out again
    assert keys == [real_key(bodies_module.body_source(d, False, DEFAULT_THEOREMS)) for d in documents]
    found = stored.formulas([key for key in keys if key])
    assert [[f.tex for f in found[key]] for key in keys] == [["x_1"], ["x_2"], ["x_3"]]  # type: ignore[index]
    again = bodies_module.post_bodies(
        bodies_module.BodyMemo(), site, documents, metas, True, 1, True, True
    )  # from the cache, asked
    assert [[f.tex for f in body.formulas] for body in again] == [["x_1"], ["x_2"], ["x_3"]]


def _young_after_bodies(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many objects the collector's youngest generation counts when post_bodies returns, in a one-edit build of
    one command (what came before it frozen, as `python -m primer_site` freezes its imports) that takes every other
    body from the cache, with the collector paused (so that the count only grows): what a collection there walks."""
    import gc

    import primer_site.commands.build as build_module

    files = {
        f"content/p{n}.md": post(f"P{n}", "2026-01-02", f"## H{n}\n\n$x_{n}$ [next](p{max(n - 1, 0)}.md)")
        for n in range(posts)
    }
    site = make_site(root, files)
    build(site, site / "public")
    (site / "content/p0.md").write_text(files["content/p0.md"] + "\nMore.\n")
    seen: list[int] = []
    real = build_module.post_bodies

    def counted(*args: object, **kwargs: object) -> object:
        made = real(*args, **kwargs)
        seen.append(gc.get_count()[0])
        return made

    monkeypatch.setattr(build_module, "post_bodies", counted)
    gc.freeze()
    gc.disable()
    try:
        result = build_result(site, cache=True)
    finally:
        gc.enable()
        gc.unfreeze()
    assert result.posts == posts and not result.errors and len(seen) == 1
    return seen[0]


def test_a_one_edit_build_of_one_command_leaves_the_bodies_it_read_to_no_collection(
    tmp_path: Path, monkeypatch
) -> None:
    # the bodies a build of one command reads from the cache live to its end: frozen as they are read, not walked by
    # the young collection that the first object made after the read started (at 1,000 posts, ~50,000 objects:
    # 8-11 ms of a one-edit build). Counted over growing sites: the young count when the bodies are read
    young = [_young_after_bodies(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
    assert max(young) < 200 and young[2] - young[0] < 24, young


def _series_prune_steps(root: Path, posts: int) -> int:
    """The steps of SQLite's machine that dropping a series' description no series has (BodyCache.replace_all with
    `series`, every build) takes in a body cache of `posts` posts' bodies and two series' descriptions."""
    from primer_site.caches.bodycache import SERIES_KEY, BodyCache

    root.mkdir()
    cache = BodyCache(root, "salt")
    assert cache.db is not None
    body = bodies_module.EMPTY_BODY
    cache.replace_all([(f"{n:040x}", body) for n in range(posts)], keep=None)
    cache.replace_all([(f"{SERIES_KEY}a", body), (f"{SERIES_KEY}b", body)], keep=None, series=True)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    cache.db.set_progress_handler(step, 1)
    assert cache.replace_all([], keep={f"{SERIES_KEY}a"}, series=True)
    cache.db.set_progress_handler(None, 1)
    kept = {key for (key,) in cache.db.execute("SELECT key FROM bodies")}
    cache.close()
    assert kept == {f"{n:040x}" for n in range(posts)} | {f"{SERIES_KEY}a"}  # the posts' rows untouched
    return steps[0]


def test_the_prune_of_the_series_descriptions_reads_no_posts_row(tmp_path: Path) -> None:
    # every build prunes the series' descriptions to the site's: a range of the key's index, not a scan of every
    # post's row (at 1,000 posts, ~1,000 pages of the table read in every one-edit build). Counted over growing caches
    steps = [_series_prune_steps(tmp_path / str(n), n) for n in (100, 400)]
    assert steps[1] - steps[0] < 50, steps


def test_a_lasting_read_that_found_nothing_freezes_nothing(tmp_path: Path) -> None:
    # a cold build of one command finds no body in the cache: what came before the read (the parse's garbage among
    # it) is left to the collector, as without the cache; a read that found bodies freezes them (and what came before)
    import gc

    from primer_site.caches.bodycache import BodyCache

    keys = [f"{n:040x}" for n in range(3)]
    cache = BodyCache(tmp_path, "salt")
    frozen = gc.get_freeze_count()
    try:
        assert cache.get_many(keys, lasting=True) == {} and gc.get_freeze_count() == frozen
        cache.replace_all([(key, bodies_module.EMPTY_BODY) for key in keys], keep=None)
        assert len(cache.get_many(keys, lasting=True)) == 3 and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        cache.close()
