"""A site's .primer-cache/ is trusted only if this user's key signed it (salts.cache_key): one made elsewhere (copied
from another machine, committed to the site's repository) is ignored and made again, whatever it holds."""

from __future__ import annotations

import hashlib
import marshal
import os
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_sites import NOW_ARG, SRC, build, make_site, post
from primer_site import salts, store
from primer_site.caches.bodycache import BodyCache, cache_salt
from primer_site.model import Heading
from primer_site.syntax.markdown import RenderedBody

SITE = {
    "content/a.md": post("A", body="# One\n\nFirst post."),
    "content/b.md": post("B", date="2026-01-06", body="Second post, with `code`."),
}


@pytest.fixture
def key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process's key is read from a folder of the test's own (as if this were a new process of a user whose
    cache folder it is); the key read before is read again after the test."""
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    salts.cache_key.cache_clear()
    yield home
    salts.cache_key.cache_clear()


def new_process(monkeypatch: pytest.MonkeyPatch, cache_home: Path | None) -> None:
    """What a new process of primer-site would read its key from: `cache_home`, or nowhere (no HOME at all)."""
    if cache_home is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.delenv("HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    salts.cache_key.cache_clear()


def pages(folder: Path) -> dict[str, bytes]:
    """Every file the build published (the output folder's own stamp files aside)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
            found[relative] = path.read_bytes()
    return found


def cold(site: Path, output: Path) -> dict[str, bytes]:
    return pages(build(site, output=output, cache=False))


def build_cli(site: Path, output: Path, cache_home: Path, limit_kb: int | None = None) -> subprocess.CompletedProcess:
    """`primer-site build` in a new process with its key in `cache_home`; under `ulimit -v limit_kb` if given."""
    command = [sys.executable, "-m", "primer_site", "build", "-s", str(site), "-o", str(output), "--now", NOW_ARG]
    command += ["--jobs", "1", "--no-check-math"]
    if limit_kb is not None:
        command = ["sh", "-c", f'ulimit -v {limit_kb} && exec "$@"', "sh", *command]
    env = {**os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(cache_home)}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def unkeyed_seal(value: object) -> bytes:
    """A cell as anyone can write it without the key: marshal's bytes behind their plain BLAKE2b digest."""
    data = marshal.dumps(value) if not isinstance(value, bytes) else value
    return hashlib.blake2b(data, digest_size=16).digest() + data


def test_a_cache_signed_with_another_key_is_rebuilt_from_scratch(
    tmp_path: Path, key_home: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", SITE)
    build(site, output=tmp_path / "first", cache=True)
    assert compiled, "the first build compiles the theme's templates"
    every = sorted(compiled)
    copy = tmp_path / "copy"
    shutil.copytree(site, copy)  # .primer-cache/ with it, as if committed to the site's repository
    assert (copy / ".primer-cache").is_dir()

    new_process(monkeypatch, tmp_path / "other-user")  # another user (or machine): another key
    compiled.clear()
    warm = pages(build(copy, output=tmp_path / "warm", cache=True))
    assert sorted(compiled) == every, "no template may be loaded from a cache another key signed"
    assert warm == cold(copy, tmp_path / "cold")

    new_process(monkeypatch, tmp_path / "other-user")  # the same user again: the rebuilt cache is its own now
    compiled.clear()
    assert pages(build(copy, output=tmp_path / "warm", cache=True)) == warm
    assert compiled == []


@pytest.mark.parametrize("kind", ["huge-tuple", "wrong-type"])
def test_a_crafted_row_with_a_valid_unkeyed_digest_is_refused(tmp_path: Path, kind: str) -> None:
    """A 21-byte cell that declares a tuple of 2^31 - 1 items would make marshal allocate ~16 GB before reading
    any: under `ulimit -v` 1.5 GB the build must still pass, and give a cold build's pages; so must a row whose
    title is an int."""
    site = make_site(tmp_path / "site", SITE)
    time.sleep(store.RACY_SECONDS + 0.1)  # else the rows are not trusted (too new: store.is_racy) and never read
    key_home = tmp_path / "cache-home"
    first = build_cli(site, tmp_path / "out", key_home)
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(site / ".primer-cache/documents.sqlite3") as db:
        if kind == "huge-tuple":
            db.execute("UPDATE documents SET meta=?", (unkeyed_seal(b"(" + struct.pack("<i", 2**31 - 1)),))
        else:
            for path, meta in db.execute("SELECT path, meta FROM documents").fetchall():
                fields = list(marshal.loads(meta[16:]))
                fields[1] = 12345  # the title: an int
                db.execute("UPDATE documents SET meta=? WHERE path=?", (unkeyed_seal(tuple(fields)), path))
    # into another output folder: no record of a last build there, so every post's row is read
    again = build_cli(site, tmp_path / "again", key_home, limit_kb=1_500_000)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    assert pages(tmp_path / "again") == cold(site, tmp_path / "cold")


def test_a_crafted_compiled_template_never_runs(
    tmp_path: Path, key_home: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", SITE)
    build(site, output=tmp_path / "first", cache=True)
    marker = tmp_path / "ran"
    payload = marshal.dumps(compile(f"open({str(marker)!r}, 'w').close()", "<crafted>", "exec"))
    kept = sorted((site / ".primer-cache/compiled-templates").iterdir())
    assert kept
    for path in kept:  # the header as primer-site wrote it, then a valid unkeyed digest of the crafted code
        data = path.read_bytes()
        end = data.index(b"\n", data.index(b"\n") + 1) + 1
        path.write_bytes(data[:end] + hashlib.blake2b(payload, digest_size=16).digest() + payload)

    new_process(monkeypatch, key_home)
    compiled.clear()
    warm = pages(build(site, output=tmp_path / "warm", cache=True))
    assert not marker.exists(), "code from .primer-cache/ ran at build time"
    assert len(compiled) == len(kept)
    assert warm == cold(site, tmp_path / "cold")


def test_the_key_file_is_made_once_with_mode_0600_and_reused(
    tmp_path: Path, key_home: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", SITE)
    build(site, output=tmp_path / "first", cache=True)
    key_file = key_home / "primer-site" / "key"
    key = key_file.read_bytes()
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in (site / ".primer-cache/documents.sqlite3").read_bytes()

    new_process(monkeypatch, key_home)
    compiled.clear()
    build(site, output=tmp_path / "second", cache=True)
    assert compiled == [], "a new process of the same user trusts its own cache"
    assert key_file.read_bytes() == key


def test_processes_making_the_key_at_once_all_get_the_same_one(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(tmp_path / "cache-home")}
    code = "from primer_site.salts import cache_key; print(cache_key().hex())"
    started = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(8)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in started}
    key_file = tmp_path / "cache-home/primer-site/key"
    assert keys == {key_file.read_bytes().hex()}
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["key"]  # no temporary file left behind


@pytest.mark.parametrize("where", ["no-home", "unwritable"])
def test_without_a_key_file_builds_pass_and_trust_nothing_across_processes(
    tmp_path: Path, key_home: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    site = make_site(tmp_path / "site", SITE)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    expected = cold(site, tmp_path / "cold")
    for attempt in ("first", "second"):
        new_process(monkeypatch, None if where == "no-home" else blocked / "cache")
        compiled.clear()
        assert pages(build(site, output=tmp_path / attempt, cache=True)) == expected
        assert compiled, "with a key of the process only, a cache of another process is not trusted"
    assert not (key_home / "primer-site").exists()


def test_a_body_marshal_cannot_hold_is_not_stored_and_the_others_are(tmp_path: Path, key_home: Path) -> None:
    class Text(str):  # a str subclass: marshal refuses it
        pass

    def body(name: str, heading_id: str) -> RenderedBody:
        heading = Heading(1, heading_id, name, name)
        return RenderedBody(f"<p>{name}</p>", (heading,), frozenset(), False, 1, name, ())

    cache = BodyCache(tmp_path, cache_salt(False))
    odd = body("odd", Text("x"))
    assert cache.replace_all([("good", body("good", "g")), ("odd", odd), ("fine", body("fine", "f"))], keep=None)
    assert sorted(cache.get_many(["good", "odd", "fine"])) == ["fine", "good"]


@pytest.mark.parametrize("module", ["caches/bodycache.py", "model.py", "errors.py"])
def test_the_body_cache_is_emptied_when_its_row_layout_may_have_changed(tmp_path: Path, module: str) -> None:
    """Two fields of one type swapped in bodycache._encode (or a field moved in model.py or errors.py) without a
    new _FORMAT would read old rows wrongly: the body cache's salt names those files' text."""
    code = "from primer_site.caches.bodycache import cache_salt; print(cache_salt(False))"

    def salt(src: Path) -> str:
        env = {**os.environ, "PYTHONPATH": str(src)}
        found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert found.returncode == 0, found.stderr
        return found.stdout

    copy = tmp_path / "src"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = salt(copy)
    with open(copy / "primer_site" / module, "a", encoding="utf-8") as file:
        file.write("\n# an edit\n")
    assert salt(copy) != before


@pytest.mark.parametrize("formulas", [True, False])
def test_many_bodies_read_in_one_pass_are_those_read_by_key(
    tmp_path: Path, key_home: Path, monkeypatch: pytest.MonkeyPatch, formulas: bool
) -> None:
    """BodyCache.get_many reads more than _ONE_PASS keys in one pass over the table (a new process asks for every
    post's): the same bodies as the look-up by key, absent and repeated keys among them."""
    from primer_site.caches import bodycache
    from primer_site.syntax.markdown import render_body

    cache = BodyCache(tmp_path, cache_salt(False))
    bodies = {
        f"k{n:04d}": render_body(f"# Part {n}\n\nText $x_{{{n}}}$ and more.\n", f"content/p{n}.md", 1)
        for n in range(700)
    }
    assert cache.replace_all(bodies.items(), keep=None)
    keys = [f"k{n:04d}" for n in range(0, 700, 7)] * 2 + [f"gone{n}" for n in range(20)]
    keys += [f"k{n:04d}" for n in range(1, 700, 2)]
    assert len(keys) > bodycache._ONE_PASS
    one_pass = cache.get_many(keys, formulas)
    monkeypatch.setattr(bodycache, "_ONE_PASS", 10**9)
    by_key = cache.get_many(keys, formulas)
    assert one_pass == by_key
    assert len(one_pass) == len({k for k in keys if k in bodies})
    if formulas:
        assert all(one_pass[k] == bodies[k] for k in one_pass)


# ------------------------------------------------- the body table's cells other than the sealed one


def _series_site(root: Path, posts: int) -> Path:
    files: dict[str, str | None] = {"series/s0.md": "---\ntitle: Series 0\n---\nThe description.\n"}
    for i in range(posts):
        files[f"content/s0/p{i:03d}.md"] = post(f"Post {i}", series="s0", chapter=str(i + 1), body=f"Body {i}.")
    return make_site(root, files)


@pytest.mark.parametrize("one_pass", [True, False], ids=["one pass", "by key"])
def test_a_changed_html_cell_is_never_served_as_the_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_pass: bool
) -> None:
    """The HTML is a column of its own, outside the sealed cell: changed by anyone (another machine's cache, a
    damaged disk), the body is rendered again from its source, never published as the cell says."""
    from fixture_sites import build_result, tree_bytes
    from primer_site.caches import bodycache

    if one_pass:
        monkeypatch.setattr(bodycache, "_ONE_PASS", 0)  # the one pass a site of more than 500 posts makes
    site = _series_site(tmp_path / "site", 4)
    build_result(site, output=tmp_path / "out", cache=True)
    with sqlite3.connect(site / ".primer-cache/bodies.sqlite3") as db:
        changed = db.execute("UPDATE bodies SET html = '<p>STALE</p>' || html").rowcount
    assert changed == 5  # four posts and the series' description
    (site / "content/s0/p001.md").write_text(post("Post 1", series="s0", chapter="2", body="Edited."), "utf-8")
    build_result(site, output=tmp_path / "out", cache=True)
    build_result(site, output=tmp_path / "cold")
    assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "cold")
    assert not any(b"STALE" in data for data in tree_bytes(tmp_path / "out").values())


@pytest.mark.parametrize("bad_key", [None, b"\xab\xcd"], ids=["null", "blob"])
def test_a_body_row_whose_key_is_not_text_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_key: object
) -> None:
    """A TEXT PRIMARY KEY of an SQLite table takes NULL and bytes too: such a row (not one primer-site wrote) is
    ignored by the read and by the prune after a one-pass read, never a traceback in every later build."""
    from fixture_sites import build_result, tree_bytes
    from primer_site.caches import bodycache

    monkeypatch.setattr(bodycache, "_ONE_PASS", 0)
    site = _series_site(tmp_path / "site", 4)
    build_result(site, output=tmp_path / "out", cache=True)
    with sqlite3.connect(site / ".primer-cache/bodies.sqlite3") as db:
        db.execute("INSERT INTO bodies VALUES (?, x'00', x'00', 'junk')", (bad_key,))
    for body in ("Edited.", "Edited again."):
        (site / "content/s0/p001.md").write_text(post("Post 1", series="s0", chapter="2", body=body), "utf-8")
        build_result(site, output=tmp_path / "out", cache=True)
        build_result(site, output=tmp_path / "cold")
        assert tree_bytes(tmp_path / "out") == tree_bytes(tmp_path / "cold")
