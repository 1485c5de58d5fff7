"""The read side of a build in a new process (caches/reading.py, documentcache.py, bodies.py): after one post is
edited, the other posts, the series files and the bodies come from .primer-cache/ with work that does not grow
with them: no post stat'ed a second time, no series file parsed, no body hashed again for its key, the bodies
looked up in one query whatever the number of series."""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from fixture_sites import build_result, make_site, post, tree_bytes
from primer_site.caches import bodies, bodycache, documentcache, reading
from primer_site.commands import build as build_module
from primer_site.errors import SiteError

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


def _rich_body(step: int, other: str) -> str:
    """A body with what a cached body keeps apart from its HTML: headings, a labelled equation, a link to another
    post, an image beside the post, a theorem-like block, a code block, a stray dollar."""
    return (
        f"Intro {step} with $x_{step}$ and a [link]({other}#part).\n\n"
        f"## Part {step} {{#part}}\n\nSee [](#eq:e{step}).\n\n$$\na = {step}\n$$ (eq:e{step})\n\n"
        f"![A figure](pic.png)\n\n::: theorem Sum {step}\nIt holds.\n:::\n\n"
        f"```python\nprint({step})\n```\n\nIt costs 5$ or {step}$.\n"
    )


def _read_edit(rng: random.Random, site: Path, step: int) -> str:
    """One seeded change to what the read stage reads: a body, a summary, front matter, a series file, a post
    added or removed, an image beside a post. Which one it was."""
    posts = sorted(p.relative_to(site).as_posix() for p in site.glob("content/*/*.md"))
    kind = rng.choice(["body", "body", "summary", "front", "series", "add", "remove", "image"])
    target = rng.choice(posts)
    folder, name = target.rsplit("/", 1)
    # a link to one of the first posts (never removed: a broken link is an error) from the post's folder
    other = "../" + rng.choice([p for p in posts if "/new" not in p]).split("/", 1)[1]
    added = [p for p in posts if "/new" in p]
    series = folder.rsplit("/", 1)[1]
    if kind == "remove" and added:
        (site / rng.choice(added)).unlink()
    elif kind == "add":
        text = post(f"New {step}", "2026-02-01", _rich_body(step, other), series=series, chapter=str(50 + step))
        (site / f"{folder}/new{step}.md").write_text(text, encoding="utf-8")
    elif kind == "summary":
        text = post(name, "2026-01-09", _rich_body(step, other), summary=f'"Sum **{step}** ![i](pic.png)"')
        (site / target).write_text(text, encoding="utf-8")
    elif kind == "front":
        front = {"tags": f"[t{step % 3}, u]", "updated": f"2026-03-0{1 + step % 8}", "extra": f"{{n: {step}.5}}"}
        (site / target).write_text(post(f"Front {step}", "2026-01-08", _rich_body(step, other), **front), "utf-8")
    elif kind == "series":
        numbered = "true" if step % 2 else "false"
        text = f"---\ntitle: Series {series} {step}\nnumber_sections: {numbered}\n---\nAbout [it]({step}.md).\n"
        (site / f"series/{series}.md").write_text(text, encoding="utf-8")
    elif kind == "image":
        (site / folder / "pic.png").write_bytes(_png(1 + step % 5, 2))
    else:
        chapter = str(100 + step)  # a chapter of its own: two posts of a series with one number is an error
        text = post(name, "2026-01-07", _rich_body(step, other), series=series, chapter=chapter)
        (site / target).write_text(text, encoding="utf-8")
    return kind


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _rich_site(root: Path) -> Path:
    """Two numbered series of three posts each, with rich bodies (links across the series, an image beside them)."""
    files: dict[str, str | None] = {
        f"series/s{k}.md": f"---\ntitle: Series {k}\nnumber_sections: true\n---\nSeries {k}.\n" for k in range(2)
    }
    for i in range(6):
        files[f"content/s{i % 2}/p{i}.md"] = post(
            f"Post {i}", series=f"s{i % 2}", chapter=str(i + 1), body=_rich_body(i, f"../s{i % 2}/p{(i + 2) % 6}.md")
        )
    site = make_site(root, files)
    for k in range(2):
        (site / f"content/s{k}/pic.png").write_bytes(_png(3, 2))
    return site


def _read_stage(site: Path, use_cache: bool) -> tuple[list, list, list]:
    """The documents, series files and bodies (without formulas) a read in a new process gives."""
    from dataclasses import replace

    from primer_site.errors import Problems
    from primer_site.sources.config import load_config
    from primer_site.store import Store

    problems = Problems()
    config = load_config(site, problems)
    memory = Store()
    _, documents, metas = reading.read_sources(site, use_cache, memory, False, config, set(), problems)
    digests = memory.peek(reading.BODY_DIGESTS)
    made = bodies.post_bodies(
        bodies.BodyMemo(), site, documents, metas, config.raw_html, 1, use_cache, False, digests=digests
    )
    return documents, metas, [replace(b, formulas=()) if not isinstance(b, Exception) else str(b) for b in made]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_read_from_the_caches_gives_the_documents_and_bodies_of_a_cold_read(tmp_path: Path, seed: int) -> None:
    """Over a seeded sequence of edits, each read in a new process (a fresh memory) gives Documents, series files
    and RenderedBodies equal to those of a read without the caches, and the build the bytes of a cold build."""
    from primer_site import store

    rng = random.Random(seed)
    site = _rich_site(tmp_path / "site")
    saved = store.RACY_SECONDS
    store.RACY_SECONDS = -1e9  # files edited milliseconds apart: trust their stamps, as after a real pause
    try:
        build_result(site, output=tmp_path / "out", cache=True)
        for step in range(10):
            kind = _read_edit(rng, site, step)
            build_result(site, output=tmp_path / "out", cache=True)  # a fresh memory: as a new process builds
            assert _read_stage(site, True) == _read_stage(site, False), f"step {step}: {kind}"
            build_result(site, output=tmp_path / f"cold{step}")
            assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / f"cold{step}"), f"step {step}: {kind}"
    finally:
        store.RACY_SECONDS = saved


@pytest.mark.parametrize(("posts", "series"), [(6, 2), (24, 8)])
def test_a_new_process_makes_no_heading_or_label_of_a_cached_body_through_its_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int, series: int
) -> None:
    """A body from the cache comes back with its headings and labels made as the body is (diskstore.maker), not
    through their frozen __init__ (each field set through object.__setattr__): only the edited post's are made so,
    however many posts the site has (main: two per post and more)."""
    from primer_site.model import Heading
    from primer_site.syntax.references import Label

    heading = "\n\n## A heading {#h}\n\nAnd $$a$$ (eq:a)\n"
    files: dict[str, str | None] = {f"series/s{k}.md": f"---\ntitle: Series {k}\n---\nS {k}.\n" for k in range(series)}
    for i in range(posts):
        files[f"content/s{i % series}/p{i:03d}.md"] = post(
            f"Post {i}", series=f"s{i % series}", chapter=str(i // series + 1), body=f"{i}. {heading}"
        )
    site = make_site(tmp_path / "site", files)
    build_result(site, output=tmp_path / "out", cache=True)
    edited = "content/s1/p001.md"
    (site / edited).write_text(post("Post 1", series="s1", chapter="1", body=f"Edited. {heading}"), encoding="utf-8")

    made = [0]
    for kind in (Heading, Label):
        real = kind.__init__

        def counting(self: object, *args: object, real: object = real, **kwargs: object) -> None:
            made[0] += 1
            real(self, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(kind, "__init__", counting)
    build_result(site, output=tmp_path / "out", cache=True)  # a fresh memory: as a new process builds
    monkeypatch.undo()
    edited_parts = made[0]
    assert edited_parts <= 6, "the edited post's heading and labels only (rendered), none of a cached body's"
    build_result(site, output=tmp_path / "cold")
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "cold")


def test_a_maker_gives_the_value_init_gives_its_dict_sharing_their_keys() -> None:
    """frozen.maker: the same value and type as the class's __init__, its __dict__ sharing keys as theirs do
    (as small a dict), and a TypeError for a count of values other than the fields'."""
    import sys
    from dataclasses import fields

    from primer_site.frozen import maker
    from primer_site.model import Heading
    from primer_site.sources.parse import Document
    from primer_site.syntax.markdown import RenderedBody

    for kind in (Heading, Document, RenderedBody):
        values = [f"v{index}" for index, _ in enumerate(fields(kind))]
        made, init = maker(kind)(*values), kind(*values)
        assert type(made) is kind and made == init and vars(made) == vars(init)
        assert sys.getsizeof(vars(made)) == sys.getsizeof(vars(init))
        with pytest.raises(TypeError):
            maker(kind)(*values[1:])


@dataclass(frozen=True)
class _Normalised:
    """A dataclass whose hand-written __init__ changes what it is given (@dataclass keeps it)."""

    name: str

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name.strip())


@dataclass(frozen=True, slots=True)
class _Slotted:
    """A dataclass whose fields live in slots: its instances have no __dict__."""

    x: int


@dataclass(frozen=True)
class _BelowSlotted(_Slotted):
    """A subclass of one with slots: its inherited field lives in a slot."""

    y: int


@pytest.mark.parametrize("kind", [_Normalised, _BelowSlotted])
def test_a_maker_refuses_a_class_whose_instance_is_not_just_its_fields(kind: type) -> None:
    """maker checked a weaker copy of frozen._only_fields' rule: it skipped a hand-written __init__ (a wrong value)
    and made a subclass of a slotted class whose inherited field could not be read (review of 2026-12-07)."""
    from primer_site.frozen import maker

    with pytest.raises(TypeError):
        maker(kind)


def _edited_site(root: Path, posts: int, series: int) -> tuple[Path, Path]:
    """A site of `posts` posts built once with the caches, then one post edited: (the site, its output)."""
    site = _site(root / "site", posts, series)
    build_result(site, output=root / "out", cache=True)
    edited = "content/s1/p001.md"
    (site / edited).write_text(post("Post 1", series="s1", chapter="1", body=f"Edited. {_BODY}"), encoding="utf-8")
    return site, root / "out"


@pytest.mark.parametrize(("posts", "series"), [(6, 2), (24, 8)])
def test_a_new_process_makes_what_a_body_renders_from_only_for_the_body_it_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int, series: int
) -> None:
    """A body the cache holds is found by its key, worked out from its document: no BodySource (what a body
    renders from) is made for it, only for the edited post's (main: one per post)."""
    site, out = _edited_site(tmp_path, posts, series)
    made: list[str] = []
    real = bodies.body_source

    def body_source(document: object, *args: object) -> object:
        made.append(document.source)  # type: ignore[attr-defined]
        return real(document, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bodies, "body_source", body_source)
    build_result(site, output=out, cache=True)  # a fresh memory: as a new process builds
    monkeypatch.undo()
    assert made == ["content/s1/p001.md"]
    build_result(site, output=tmp_path / "cold")
    assert tree_bytes(out) == tree_bytes(tmp_path / "cold")


def _body_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL statements run on the body cache from now on (each run of an executemany's statement counted)."""
    statements: list[str] = []
    real_open = bodycache.BodyCache._open

    def traced(self: bodycache.BodyCache) -> object:
        db = real_open(self)
        db.set_trace_callback(statements.append)
        return db

    monkeypatch.setattr(bodycache.BodyCache, "_open", traced)
    return statements


def _post_keys(site: Path, series: bool = False) -> set[str]:
    """The keys of the body table's rows of posts (`series`: and of series' descriptions)."""
    import sqlite3

    with sqlite3.connect(site / ".primer-cache/bodies.sqlite3") as db:
        keys = {k for (k,) in db.execute("SELECT key FROM bodies")}
    return keys if series else {k for k in keys if not k.startswith(bodycache.SERIES_KEY)}


@pytest.mark.parametrize(("posts", "series"), [(6, 2), (24, 8)])
def test_a_new_process_prunes_the_body_cache_by_the_keys_its_one_pass_saw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int, series: int
) -> None:
    """After one edit, a new process that read the body table in one pass drops the edited post's old row by its
    key: it writes no key of the site into a table to compare with (main: one per post), and the table holds the
    site's rows only, as a build that counts and compares leaves it."""
    site, out = _edited_site(tmp_path, posts, series)
    before = _post_keys(site)
    monkeypatch.setattr(bodycache, "_ONE_PASS", 0)  # the one pass a site of more than 500 posts makes
    statements = _body_statements(monkeypatch)
    build_result(site, output=out, cache=True)  # a fresh memory: as a new process builds
    monkeypatch.undo()
    keep_rows = [s for s in statements if "INTO keep" in s]
    assert keep_rows == []
    after = _post_keys(site)
    assert len(after) == posts and len(before - after) == 1 and len(after - before) == 1
    build_result(site, output=tmp_path / "cold")
    assert tree_bytes(out) == tree_bytes(tmp_path / "cold")


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_the_body_cache_pruned_after_its_one_pass_holds_what_the_counted_prune_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Over a seeded sequence of edits (bodies, summaries, series settings, posts added and removed), builds in
    new processes that prune the body cache by the keys of their one pass (BodyCache.passed) leave the rows a
    build that counts and compares leaves, and the bytes of a cold build."""
    import shutil

    from primer_site import store

    rng = random.Random(seed)
    site = _rich_site(tmp_path / "site")
    twin = tmp_path / "twin"  # the same sources, built with the counted prune
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
    for step in range(8):
        kind = _read_edit(rng, site, step) if step else "first build"
        for folder in ("content", "series"):
            shutil.rmtree(twin / folder, ignore_errors=True)
            shutil.copytree(site / folder, twin / folder)
        shutil.copy2(site / "site.yaml", twin / "site.yaml")
        monkeypatch.setattr(bodycache, "_ONE_PASS", 0)
        build_result(site, output=tmp_path / "out", cache=True)  # a fresh memory: as a new process builds
        monkeypatch.setattr(bodycache, "_ONE_PASS", 10**9)
        build_result(twin, output=tmp_path / "twin-out", cache=True)
        assert _post_keys(site, series=True) == _post_keys(twin, series=True), f"step {step}: {kind}"
        build_result(site, output=tmp_path / f"cold{step}")
        assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / f"cold{step}"), f"step {step}: {kind}"


def test_a_documents_body_key_is_the_key_of_what_its_body_renders_from(tmp_path: Path) -> None:
    """bodies.document_key (a body taken from the cache: no BodySource made) gives body_key of the document's
    body_source, for chapters, sections, numbered series and theorem settings alike: the two can never drift."""
    files: dict[str, str | None] = {
        "series/s0.md": "---\ntitle: S0\nnumber_sections: true\ntheorems: {counter: shared}\n---\nS0.\n",
        "series/s1.md": "---\ntitle: S1\n---\nS1.\n",
    }
    for i, chapter in enumerate(["1", "1.3", "3.0", "02", "0"]):
        files[f"content/s{i % 2}/p{i}.md"] = post(
            f"Post {i}", series=f"s{i % 2}", chapter=chapter, body=_rich_body(i, f"../s{i % 2}/p{i % 2}.md")
        )
    files["content/loose.md"] = post("Loose", body="No series: $x$.")
    site = make_site(tmp_path / "site", files)
    for k in range(2):
        (site / f"content/s{k}/pic.png").write_bytes(_png(3, 2))
    build_result(site, output=tmp_path / "out", cache=True)
    memo = bodies.BodyMemo()
    documents, metas, _ = _read_stage(site, True)
    bodies.post_bodies(memo, site, documents, metas, False, 1, True, False)
    checked = 0
    for document in documents:
        _, (numbered, _, theorems), _ = memo[document.source]
        source = bodies.body_source(document, numbered, theorems)
        assert bodies.document_key(document, numbered, theorems.key) == bodycache.body_key(source), document.source
        checked += 1
    assert checked == 6


def _walk_stats(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(stamps the source walk took of its own, files the build's inputs stamped) in a one-edit build in a new
    process of a site of `posts` posts (and a series file)."""
    from primer_site import store
    from primer_site.sources import discover

    files = {f"content/p{n}.md": post(f"P{n}", "2026-01-02", f"Body {n}.") for n in range(posts)}
    site = make_site(root, {**files, "series/s0.md": "---\ntitle: Volume 0\n---\nAbout.\n"})
    build_result(site, cache=True)
    (site / "content/p0.md").write_text(files["content/p0.md"] + "\nMore.\n")
    walked, stamped = [0], [0]
    real_from, real_of = discover.stamp_from, store.stamp_of

    def stamp_from(info: os.stat_result, change_time: bool = True) -> tuple[int, int, int, int]:
        walked[0] += 1
        return real_from(info, change_time)

    def stamp_of(path: object, follow_links: bool = True, change_time: bool = True) -> object:
        stamped[0] += str(path).startswith(str(site / "content"))
        return real_of(path, follow_links, change_time)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(discover, "stamp_from", stamp_from)
        patch.setattr(store, "stamp_of", stamp_of)
        result = build_result(site, cache=True)
    assert result.posts == posts and not result.errors
    return walked[0], stamped[0]


def test_a_build_in_a_new_process_stats_each_source_file_once(tmp_path: Path, monkeypatch) -> None:
    # the build's inputs are stamped first (for the last build's record: store.take_inputs); the walk of the read
    # stage takes each file's stamp from there, not from a stat of its own (at 1,000 posts, 1,050 stats of every
    # one-edit build). Counted over growing sites: the walk's own stamps, and the inputs' (one per post)
    counts = [_walk_stats(tmp_path / str(n), n, monkeypatch) for n in (4, 16)]
    assert counts == [(0, 4), (0, 16)], counts


def _access_calls(
    root: Path, posts: int, monkeypatch: pytest.MonkeyPatch, chmod: bool = False, other_groups: bool = False
) -> tuple[int, list]:
    """(files asked whether they can be read, the errors) in a one-edit build in a new process of a site of
    `posts` posts; `chmod`: post 1 made unreadable before it; `other_groups`: the build is made by a user in other
    groups than the last one (no file changed), who cannot read post 1."""
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files written milliseconds apart: their stamps trusted
    files = {f"content/p{n}.md": post(f"P{n}", "2026-01-02", f"Body {n}.") for n in range(posts)}
    site = make_site(root, files)
    build_result(site, cache=True)
    (site / "content/p0.md").write_text(files["content/p0.md"] + "\nMore.\n")
    if chmod:
        os.chmod(site / "content/p1.md", 0)
    asked = [0]
    real, groups = os.access, os.getgroups()

    def access(path: object, mode: int, **kwargs: object) -> bool:
        asked[0] += str(path).endswith(".md")
        if (chmod or other_groups) and str(path).endswith("p1.md"):
            return False  # as for a user other than root
        return real(path, mode, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(os, "access", access)
        if other_groups:  # another user, or one in other groups: no file's stamp moves
            patch.setattr(os, "getgroups", lambda: sorted(set(groups) ^ {4242}))
        try:
            result = build_result(site, cache=True)
            errors = list(result.errors)
        except SiteError as error:
            errors = [d.message for d in error.diagnostics]
    return asked[0], errors


def test_a_build_in_a_new_process_asks_no_file_the_last_build_read_whether_it_can_read_it(
    tmp_path: Path, monkeypatch
) -> None:
    # a file with the stamp it had when the last good build read it (its record's) was readable then: its mode,
    # owner or ACL changing changes its change time, so it is not asked again (1,050 calls of a one-edit build at
    # 1,000 posts), as the preview's builds do. Counted over growing sites; a file made unreadable is still refused
    assert [_access_calls(tmp_path / str(n), n, monkeypatch)[0] for n in (4, 16)] == [1, 1]  # the edited post
    asked, errors = _access_calls(tmp_path / "chmod", 4, monkeypatch, chmod=True)  # its change time moves
    assert asked == 2 and any("cannot be read" in str(e) for e in errors), errors


def test_a_build_by_another_reader_asks_every_file_whether_it_can_read_it(tmp_path: Path, monkeypatch) -> None:
    # a file's stamp says nothing of who reads it: the last build's user, or its groups, may read what this build's
    # cannot (sudo, a shared site folder, a user taken out of a group). Such a file is refused, as in a cold build,
    # not taken from the document cache at the stamp another reader read it at
    asked, errors = _access_calls(tmp_path, 4, monkeypatch, other_groups=True)
    assert asked == 4 and any("cannot be read" in str(e) for e in errors), errors  # post 1 only is refused
