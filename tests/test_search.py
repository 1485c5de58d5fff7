"""Search: a Pagefind index is part of the built site when site.yaml turns search on, and only then."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import primer_site.commands.build
import primer_site.publish.search
from fixture_sites import make_site, post, run_cli, stats, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.commands.cli import main


def test_search_on_writes_the_index_and_the_search_box(tmp_path: Path) -> None:
    make_site(
        tmp_path,
        {
            "site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n",
            "content/a.md": post("A", body="Quokka facts."),
        },
    )
    assert run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01").returncode == 0
    out = tmp_path / "public"
    assert (out / "pagefind/pagefind.js").is_file()
    assert any((out / "pagefind/index").iterdir())
    page = (out / "posts/a/index.html").read_text()
    assert 'data-search="/pagefind/pagefind.js"' in page and re.search(r'src="/js/search\.[0-9a-f]{8}\.js"', page)
    assert "data-pagefind-body" in page


def test_search_off_builds_without_it(tmp_path: Path) -> None:
    make_site(tmp_path, {"content/a.md": post("A")})
    assert run_cli("build", "--source", str(tmp_path), "--now", "2026-06-01").returncode == 0
    out = tmp_path / "public"
    assert not (out / "pagefind").exists()
    page = (out / "posts/a/index.html").read_text()
    assert "search." not in page and 'role="search"' not in page
    assert not list((out / "js").glob("search*")), "the theme's search script published without search"


def test_a_failing_indexer_fails_the_build_and_keeps_the_old_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(
        tmp_path / "site",
        {"site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n", "content/a.md": post("A")},
    )
    out = tmp_path / "out"
    assert main(["build", "--source", str(site), "--output", str(out), "--now", "2026-06-01"]) == 0
    before = tree_bytes(out)
    make_site(site, {"content/b.md": post("B")})
    monkeypatch.setattr(primer_site.publish.search.sys, "executable", "/bin/false")
    assert main(["build", "--source", str(site), "--output", str(out), "--now", "2026-06-01"]) == 1
    assert "site.yaml: error: search: Pagefind failed" in capsys.readouterr().err
    assert tree_bytes(out) == before


def test_the_preview_s_search_index_follows_an_edit(tmp_path: Path) -> None:
    """serve's rebuilds update its folder in place: the index is made again there, the same as a fresh build's."""
    site = make_site(
        tmp_path / "site",
        {
            "site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n",
            "content/a.md": post("A", body="Quokka facts."),
            "content/b.md": post("B", body="Other facts."),
        },
    )
    memory = BuildMemory()
    options = BuildOptions(source=site, output=tmp_path / "preview", now=datetime(2026, 6, 1, tzinfo=UTC))
    build_site(options, memory)
    first = tree_bytes(tmp_path / "preview" / "pagefind")
    make_site(site, {"content/a.md": post("A", body="Wombat facts.")})
    assert build_site(options, memory, {"content/a.md"}).rendered
    fresh = BuildOptions(source=site, output=tmp_path / "fresh", now=options.now, cache=False)
    build_site(fresh)
    index = tree_bytes(tmp_path / "preview" / "pagefind")
    assert index != first
    assert {k: v for k, v in index.items() if k in tree_bytes(tmp_path / "fresh" / "pagefind")} == tree_bytes(
        tmp_path / "fresh" / "pagefind"
    )
    memory.close()


def test_turning_search_on_in_the_preview_publishes_the_script(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A", body="Quokka facts.")})
    memory = BuildMemory()
    options = BuildOptions(source=site, output=tmp_path / "preview", now=datetime(2026, 6, 1, tzinfo=UTC))
    build_site(options, memory)
    assert not list((tmp_path / "preview" / "js").glob("search*"))
    make_site(site, {"site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n"})
    build_site(options, memory, {"site.yaml"})
    assert list((tmp_path / "preview" / "js").glob("search.*.js")) or (tmp_path / "preview/js/search.js").is_file()
    memory.close()


def test_the_index_is_made_fresh_each_build(tmp_path: Path) -> None:
    # Pagefind adds to what its folder holds: the last site's fragments were published again, text removed from
    # a post among them, and the output stopped matching a clean build
    site = make_site(
        tmp_path / "site",
        {"site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n", "content/a.md": post("A")},
    )
    out = tmp_path / "out"
    for body in ("Quokka facts.", "Wombat facts.", "Numbat facts.", "Bilby facts."):
        make_site(site, {"content/a.md": post("A", body=body)})
        assert main(["build", "--source", str(site), "--output", str(out), "--now", "2026-06-01"]) == 0
    clean = tmp_path / "clean"
    assert main(["build", "--source", str(site), "--output", str(clean), "--now", "2026-06-01", "--no-cache"]) == 0
    assert sorted(tree_bytes(out / "pagefind")) == sorted(tree_bytes(clean / "pagefind"))
    assert b"Quokka" not in b"".join(tree_bytes(out).values())


def test_the_preview_s_index_is_made_fresh_each_rebuild(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        {"site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n", "content/a.md": post("A")},
    )
    memory = BuildMemory()
    options = BuildOptions(source=site, output=tmp_path / "preview", now=datetime(2026, 6, 1, tzinfo=UTC))
    for body in ("Quokka facts.", "Wombat facts.", "Numbat facts."):
        make_site(site, {"content/a.md": post("A", body=body)})
        build_site(options, memory, {"content/a.md"})
    memory.close()
    build_site(BuildOptions(source=site, output=tmp_path / "fresh", now=options.now, cache=False))
    assert sorted(tree_bytes(tmp_path / "preview" / "pagefind")) == sorted(tree_bytes(tmp_path / "fresh" / "pagefind"))


def test_a_build_that_changes_nothing_leaves_a_search_site_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index the finishing step made is primer-site's (its marker lists it), not a file put there by hand: a
    later build with the same inputs makes nothing again, neither the pages nor the index, and swaps no folder in.
    As after any real build, the output's folders changed too recently for their stamps to be kept (store.is_racy),
    so the next look at the folder lists it whole, and must not take pagefind/ for a stray (Manifest.foreign)."""
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.3)  # real builds: 2 s; the sleeps below stand for a later build
    site = make_site(
        tmp_path / "site",
        {"site.yaml": "title: S\nbase_url: https://example.org/\nsearch: true\n", "content/a.md": post("A")},
    )
    out = tmp_path / "out"
    indexed: list[Path] = []
    real = primer_site.commands.build.index_for_search
    monkeypatch.setattr(
        primer_site.commands.build, "index_for_search", lambda folder: (indexed.append(folder), real(folder))
    )
    options = BuildOptions(source=site, output=out, now=datetime(2026, 6, 1, tzinfo=UTC), jobs=1)
    time.sleep(0.4)  # the sources' stamps trusted: a build with the same inputs is known to make the same site
    build_site(options)
    assert len(indexed) == 1
    live = out.stat().st_ino
    before = stats(out)
    for _ in range(2):
        time.sleep(0.4)
        result = build_site(options)
        assert (result.written, len(indexed)) == (0, 1)  # before f5c9916: 0 written, the index not made again
        assert out.stat().st_ino == live and stats(out) == before  # nothing swapped in, nothing for a deploy to upload
