"""The read side of a build in a new process (caches/reading.py, documentcache.py, bodies.py): after one post is
edited, the other posts, the series files and the bodies come from .primer-cache/ with work that does not grow
with them: no post stat'ed a second time, no series file parsed, no body hashed again for its key, the bodies
looked up in one query whatever the number of series."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import ClassVar

import pytest

from fixture_sites import build_result, make_site, post, tree_bytes
from primer_site.caches import bodies, bodycache, documentcache, reading
from primer_site.commands import build as build_module

_BODY = "A paragraph of the body, long enough that hashing it is work worth counting. " * 40  # ~3,000 characters


class _CountingBlake2b:
    """hashlib.blake2b that adds the bytes it is given to `counted`."""

    counted: ClassVar[list[int]] = [0]

    def __init__(self, data: bytes = b"", **options: object) -> None:
        self.inner = hashlib.blake2b(data, **options)  # type: ignore[arg-type]
        _CountingBlake2b.counted[0] += len(data)

    def update(self, data: bytes) -> None:
        _CountingBlake2b.counted[0] += len(data)
        self.inner.update(data)

    def hexdigest(self) -> str:
        return self.inner.hexdigest()

    def digest(self) -> bytes:
        return self.inner.digest()


def _site(root: Path, posts: int, series: int) -> Path:
    files: dict[str, str | None] = {
        f"series/s{k}.md": f"---\ntitle: Series {k}\n---\nThe description of series {k}.\n" for k in range(series)
    }
    for i in range(posts):
        files[f"content/s{i % series}/p{i:03d}.md"] = post(
            f"Post {i}", series=f"s{i % series}", chapter=str(i // series + 1), body=f"{i}. {_BODY}"
        )
    return make_site(root, files)


@pytest.mark.parametrize(("posts", "series"), [(6, 2), (24, 8)])
def test_a_new_process_after_one_edit_reads_the_rest_from_the_caches_without_work_per_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int, series: int
) -> None:
    site = _site(tmp_path / "site", posts, series)
    build_result(site, output=tmp_path / "out", cache=True)
    edited = "content/s1/p001.md"
    (site / edited).write_text(post("Post 1", series="s1", chapter="1", body=f"Edited. {_BODY}"), encoding="utf-8")

    stats: list[str] = []  # the posts' and series files' stats while the sources are read (the walk's: its listing's)
    real_stat, real_read, reading_now = os.stat, build_module.read_sources, [False]

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if reading_now[0] and str(path).endswith(".md"):
            stats.append(os.path.relpath(str(path), site))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    def read_sources(*args: object, **kwargs: object) -> object:
        reading_now[0] = True
        try:
            return real_read(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            reading_now[0] = False

    parsed: list[str] = []
    real_parse = reading.parse_series_file

    def parse_series_file(root: Path, relative: str, *args: object) -> object:
        parsed.append(relative)
        return real_parse(root, relative, *args)  # type: ignore[arg-type]

    lookups = [0]
    real_get_many = bodycache.BodyCache.get_many

    def get_many(self: bodycache.BodyCache, keys: list[str], *args: object) -> object:
        lookups[0] += 1
        return real_get_many(self, keys, *args)  # type: ignore[arg-type]

    hashed = _CountingBlake2b.counted
    hashed[0] = 0
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(build_module, "read_sources", read_sources)
    monkeypatch.setattr(reading, "parse_series_file", parse_series_file)
    monkeypatch.setattr(documentcache, "parse_series_file", parse_series_file, raising=False)
    monkeypatch.setattr(bodycache.BodyCache, "get_many", get_many)
    monkeypatch.setattr(bodycache, "hashlib", type("H", (), {"blake2b": _CountingBlake2b}))
    build_result(site, output=tmp_path / "out", cache=True)  # a fresh memory: as a new process builds
    monkeypatch.undo()

    assert stats == [], "the read stats each post once, by the walk (its listing's stat), never again"
    assert parsed == [], "series files that did not change are taken parsed from the cache"
    assert lookups[0] == 2, "the posts' bodies in one query, the series' descriptions in another"
    # the edited post's body is hashed for its key; the others' digests come with their posts from the cache
    assert hashed[0] < len(_BODY) + 500 * (posts + series)  # each post's and series' key: its path, settings
    build_result(site, output=tmp_path / "cold")  # without the cache
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "cold")


def test_a_body_whose_post_came_from_the_cache_has_the_key_of_its_body(tmp_path: Path) -> None:
    """The digest kept with a post in the document cache gives the very key hashing its body gives."""
    site = _site(tmp_path / "site", 4, 2)
    build_result(site, output=tmp_path / "out", cache=True)
    from primer_site.errors import Problems
    from primer_site.sources.config import load_config
    from primer_site.store import Store

    problems = Problems()
    config = load_config(site, problems)
    memory = Store()
    _, documents, metas = reading.read_sources(site, True, memory, False, config, set(), problems)
    digests = memory.peek(reading.BODY_DIGESTS)
    assert sorted(digests) == sorted(d.source for d in documents)
    for document in documents:
        kept, digest = digests[document.source]
        assert kept is document and digest == bodycache.body_digest(document.body)
    memo = bodies.BodyMemo()
    bodies.post_bodies(memo, site, documents, metas, True, 1, True, False, digests=digests)
    for document in documents:
        _, numbered, settings, key = memo.keys[document.source]
        assert key == bodycache.body_key(bodies.body_source(document, numbered, settings))


def test_the_caches_drop_the_rows_of_a_removed_post_and_only_those(tmp_path: Path) -> None:
    """A build in a new process drops the document and body rows of a post that is gone (each table is counted
    first: when it holds only the site's rows, nothing is compared key by key), and keeps every other one."""
    import sqlite3

    site = _site(tmp_path / "site", 6, 2)
    build_result(site, output=tmp_path / "out", cache=True)

    def rows() -> tuple[list[str], int]:
        with sqlite3.connect(site / ".primer-cache/documents.sqlite3") as db:
            paths = sorted(p for (p,) in db.execute("SELECT path FROM documents"))
        with sqlite3.connect(site / ".primer-cache/bodies.sqlite3") as db:
            (posts,) = db.execute("SELECT count(*) FROM bodies WHERE key NOT LIKE 'series-%'").fetchone()
        return paths, posts

    every = sorted(
        [*(p.relative_to(site).as_posix() for p in site.glob("content/*/*.md")), "series/s0.md", "series/s1.md"]
    )
    assert rows() == (every, 6)
    build_result(site, output=tmp_path / "out", cache=True)  # nothing to drop
    assert rows() == (every, 6)
    (site / "content/s1/p003.md").unlink()
    build_result(site, output=tmp_path / "out", cache=True)
    assert rows() == ([p for p in every if p != "content/s1/p003.md"], 5)
