"""Discovery: which files are sources. Editors' backups and other litter are not, for the build and the watcher alike."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixture_sites import NOW, make_site, post, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import Problems, SiteError
from primer_site.preview.watch import site_relative
from primer_site.sources.discover import IGNORED_NAMES, discover_sources, discover_static, is_ignored_name

# One name of each kind an editor or a system leaves beside the files it works on.
LITTER = (
    "draft.md~",  # Emacs/Vim backup: the Markdown source of a draft
    "#draft.md#",  # Emacs auto-save
    ".#draft.md",  # Emacs lock
    ".draft.md.swp",  # Vim swap
    "draft.md.swp",  # Vim swap with `directory` set so that the name is not hidden
    "draft.md.swx",
    "draft.md.swo",
    "draft.md.tmp",
    "draft.md.bak",
    "paper.pdf.part",
    "paper.pdf.crdownload",
    "4913",
    "draft.md___jb_tmp___",
    "draft.md___jb_old___",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
)
DRAFT = post("Secret draft", body="The unpublished chapter's SECRET text.")


def test_every_ignore_rule_has_an_example_here() -> None:
    for pattern in IGNORED_NAMES:
        assert any(fnmatch.fnmatchcase(name, pattern) for name in LITTER), pattern
    assert all(is_ignored_name(name) for name in LITTER)
    for name in ("a.md", "plot.png", "style.css", "backup.md", "tmp", "4914", "notes.bak.md", "a~b.png"):
        assert not is_ignored_name(name), name


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="#.~_-abjotmpswx4913TDsd", max_size=14))
def test_the_ignore_rule_reads_each_pattern_as_fnmatchcase_does(name: str) -> None:
    """is_ignored_name checks names by their shapes (exact, X*, *X, X*Y), not by fnmatch's expressions."""
    expected = any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED_NAMES)
    assert is_ignored_name(name) == expected
    for pattern in IGNORED_NAMES:  # and each pattern's own shape, the star filled or empty
        for filled in (pattern.replace("*", ""), pattern.replace("*", name), pattern.replace("*", "#")):
            assert is_ignored_name(filled), (pattern, filled)


def _with_litter(site: Path) -> set[str]:
    """Litter under content/, series/ and static/, and in a folder whose own name is litter; the paths made."""
    made = set()
    for folder in ("content", "content/vol", "series", "static", "static/css"):
        for name in LITTER:
            made.add(f"{folder}/{name}")
    made |= {"content/old~/a.md", "content/old~/plot.png", "static/css.bak/style.css"}
    for relative in sorted(made):
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DRAFT if relative.startswith(("content", "series")) else "litter", encoding="utf-8")
    return made


def _site(root: Path) -> Path:
    return make_site(
        root,
        {
            "content/a.md": post("A", body="See [the data](vol/data.csv)."),
            "content/vol/data.csv": "x,y\n1,2\n",
            "series/s.md": "---\ntitle: S\n---\nThe series.\n",
            "content/vol/s1.md": post("S one", series="s", chapter=1),
            "static/css/extra.css": "p { color: red }\n",
        },
    )


def test_litter_is_not_discovered_and_the_watcher_ignores_the_same_paths(tmp_path: Path) -> None:
    site = _site(tmp_path / "site")
    litter = _with_litter(site)
    problems = Problems()
    sources = discover_sources(site, problems)
    static = {f"static/{p}" for p in discover_static([site / "static"])}
    assert problems.items == []
    assert sources.posts == ("content/a.md", "content/vol/s1.md")
    assert sources.series == ("series/s.md",)
    assert sources.assets == ("content/vol/data.csv",)
    assert static == {"static/css/extra.css"}
    found = {*sources.posts, *sources.series, *sources.assets, *static}
    for relative in litter | found:
        watched = site_relative(site, str(site / relative)) is not None
        assert watched == (relative in found), relative


def test_litter_is_not_published(tmp_path: Path) -> None:
    """The site built with litter beside its files is, byte for byte, the site built without it."""
    clean = _site(tmp_path / "clean")
    littered = _site(tmp_path / "littered")
    _with_litter(littered)
    for site in (clean, littered):
        build_site(BuildOptions(source=site, output=site / "public", now=NOW, jobs=1, fingerprint=False))
    made = tree_bytes(littered / "public")
    assert made == tree_bytes(clean / "public")
    assert not [p for p in made if b"SECRET" in made[p]]
    assert "vol/data.csv" in made and "css/extra.css" in made


def test_the_dev_server_agrees_with_a_fresh_build_when_litter_comes_and_goes(tmp_path: Path) -> None:
    """Rebuilt in one process, told the changed paths as the watcher reports them, as `serve` does."""
    site = _site(tmp_path / "site")
    memory = BuildMemory()
    served = BuildOptions(source=site, output=tmp_path / "served", now=NOW, jobs=1, fingerprint=False)
    build_site(served, memory)

    def rebuild(paths: set[str]) -> None:
        seen = {p for p in paths if site_relative(site, str(site / p)) is not None}
        build_site(served, memory, seen)
        fresh = tmp_path / "fresh"
        build_site(BuildOptions(source=site, output=fresh, now=NOW, jobs=1, fingerprint=False, cache=False))
        assert tree_bytes(tmp_path / "served") == tree_bytes(fresh)

    # litter saved together with a real change (an editor's backup on save), then litter alone, then removed
    (site / "content/a.md").write_text(post("A", body="Edited."), encoding="utf-8")
    rebuild({"content/a.md", *_with_litter(site)})
    (site / "content/vol/data.csv~").write_text("x,y\n", encoding="utf-8")
    rebuild({"content/vol/data.csv~"})
    for name in ("content/draft.md~", "static/css/4913", "content/vol/data.csv~"):
        (site / name).unlink()
    rebuild({"content/draft.md~", "static/css/4913", "content/vol/data.csv~"})
    assert "Edited." in (tmp_path / "served/posts/a/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["data.csv~", "data.csv.bak", "data.csv.tmp", ".data.csv"])
def test_a_link_to_litter_says_it_is_never_published(tmp_path: Path, name: str) -> None:
    site = make_site(tmp_path, {"content/a.md": post("A", body=f"Intro.\n\nSee [the data]({name}).")})
    (site / "content" / name).write_text("x,y\n", encoding="utf-8")
    with pytest.raises(SiteError) as caught:
        build_site(BuildOptions(source=site, output=site / "public", now=NOW, jobs=1))
    assert [str(d) for d in caught.value.diagnostics] == [
        f"content/a.md:7: error: link to {name!r}: content/{name} is never published, as its name is that of an"
        " editor's backup or temporary file (like *~, #*#, *.bak, *.tmp, or a name starting with '.'): rename it"
    ]


def test_links_are_judged_by_the_real_path_of_each_file_whatever_folder_they_sit_in(tmp_path: Path) -> None:
    """A file that is no link is where its folder really is: a folder linked within the site is read, a link in it
    to a file outside is refused at its path, and a link out of a plain folder too."""
    from primer_site.sources.discover import linked_within

    site = make_site(tmp_path / "site", {"content/a/one.md": post("One"), "shared/two.md": post("Two")})
    outside = tmp_path / "elsewhere.md"
    outside.write_text(post("Outside"), encoding="utf-8")
    (site / "content" / "b").symlink_to(site / "shared", target_is_directory=True)
    (site / "content" / "a" / "three.md").symlink_to(outside)
    (site / "shared" / "four.md").symlink_to(outside)
    (site / "shared" / "five.md").symlink_to(site / "content" / "a" / "one.md")
    problems = Problems()
    found = linked_within(site, discover_sources(site, problems), False, problems)
    assert found.posts == ("content/a/one.md", "content/b/five.md", "content/b/two.md")
    refused = sorted((d.path, d.message.split(",")[0]) for d in problems.errors)
    assert refused == [
        ("content/a/three.md", f"is a symbolic link to {outside}"),
        ("content/b/four.md", f"is a symbolic link to {outside}"),
    ]
    # the folder linked to a folder outside: its files are outside too, links or not
    (site / "content" / "b").unlink()
    other = make_site(tmp_path / "other", {"content/six.md": post("Six")}) / "content"
    (site / "content" / "b").symlink_to(other, target_is_directory=True)
    problems = Problems()
    sources = discover_sources(site, problems, allow_outside=True)
    assert linked_within(site, sources, False, problems).posts == ("content/a/one.md",)
    assert ("content/b/six.md", f"is a symbolic link to {other / 'six.md'}") in [
        (d.path, d.message.split(",")[0]) for d in problems.errors
    ]


def test_the_link_check_resolves_each_folder_once_not_each_file(tmp_path: Path, monkeypatch) -> None:
    """Every rebuild of the preview checks every source: the real paths resolved grow with the folders (and the
    files that are links), not with the files."""
    import os

    from primer_site.sources import discover

    def resolved(files: int) -> int:
        site = make_site(tmp_path / str(files), {f"content/s{f % 3}/p{f}.md": post(f"Post {f}") for f in range(files)})
        calls = []
        real = os.path.realpath
        monkeypatch.setattr(discover.os.path, "realpath", lambda p, *a, **k: calls.append(p) or real(p, *a, **k))
        problems = Problems()
        discover.linked_within(site, discover_sources(site, problems), False, problems)
        monkeypatch.undo()
        assert not problems.errors
        return len(calls)

    assert resolved(30) == resolved(300) <= 1 + 4  # the site folder, and each folder of posts or series files
