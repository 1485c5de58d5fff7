"""A build in a new process updates in place (inplace.py, write.py) an output folder that is exactly as the last build
left it: only the files that changed are written, all or none; any other folder is staged and swapped as before."""

from __future__ import annotations

import os
import stat
import time
from datetime import datetime
from pathlib import Path

import pytest

from fixture_sites import NOW, build_result, make_site, post, stats, tree_bytes
from primer_site import store
from primer_site.commands.build import BuildResult
from primer_site.errors import SiteError
from primer_site.publish.output import MARKER, read_marker_list, staging_folder


@pytest.fixture(autouse=True)
def trust_recent_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests edit files milliseconds apart: trust their stamps however recent (the racy rule has a test)."""
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)


POSTS = 20


@pytest.fixture
def site(tmp_path: Path) -> Path:
    files = {
        f"content/p{n}.md": post(f"Post {n}", date=f"2026-01-{n + 1:02d}", body=f"Words of post {n}.")
        for n in range(POSTS)
    }
    return make_site(tmp_path / "site", {**files, "static/notes.txt": "notes\n"})


def build(site: Path, now: datetime = NOW, **options: object) -> BuildResult:
    return build_result(site, **{"now": now, "output": site.parent / "out", "cache": True, **options})


def clean(site: Path) -> dict[str, bytes]:
    """The output of a build from nothing, without the marker (whose list is the only file that may differ)."""
    out = site.parent / "clean"
    build_result(site, now=NOW, output=out, cache=False)
    return {path: data for path, data in tree_bytes(out).items() if path != MARKER}


def edit(site: Path, n: int, body: str) -> None:
    (site / f"content/p{n}.md").write_text(post(f"Post {n}", date=f"2026-01-{n + 1:02d}", body=body))


def touched(before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]], out: Path) -> set[str]:
    """The files (not folders: a rename in one changes its time) whose inode, size or time changed."""
    paths = before.keys() | after.keys()
    return {path for path in paths if before.get(path) != after.get(path) and not (out / path).is_dir()}


class Links:
    """Counts hard links made (the staging writer links every unchanged file; the in-place one links only what it
    replaces, as its undo)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = os.link

        def link(*args: object, **kwargs: object) -> None:
            self.count += 1
            real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "link", link)


def test_a_one_edit_build_writes_only_the_files_whose_bytes_changed(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = site.parent / "out"
    build(site)
    build(site, now=NOW)  # nothing changed: the record of the first build stands
    before, old = stats(out), tree_bytes(out)
    edit(site, 3, "New words of post 3.")
    links = Links(monkeypatch)
    result = build(site)
    after, new = stats(out), tree_bytes(out)
    changed = {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}
    assert changed and "posts/p3/index.html" in changed and len(changed) < len(old) // 2
    assert touched(before, after, out) == changed  # no other file written, relinked or moved; the folder not swapped
    assert result.written == len(changed)
    assert links.count == len(changed)  # one undo link per file replaced, none for the rest
    assert {path: data for path, data in new.items() if path != MARKER} == clean(site)


def test_a_post_gone_is_removed_in_place_with_its_folder_and_the_marker_follows(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    root = out.stat().st_ino
    (site / "content/p5.md").unlink()
    build(site)
    assert out.stat().st_ino == root  # in place
    assert not (out / "posts/p5").exists()
    assert {path: data for path, data in tree_bytes(out).items() if path != MARKER} == clean(site)
    assert read_marker_list(out) == {*tree_bytes(out)}  # the marker lists exactly what is there


def test_a_failed_one_edit_build_leaves_the_folder_byte_for_byte_as_it_was(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = site.parent / "out"
    build(site)
    before, old = stats(out), tree_bytes(out)
    edit(site, 2, "Other words of post 2.")
    (site / "content/p6.md").unlink()
    real, calls = os.replace, []

    def replace(source: object, target: object) -> None:  # the disk fills up at the third file
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(target))
        real(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(SiteError, match=r"No space left on device.*the output folder was left as it was"):
        build(site)
    monkeypatch.setattr(os, "replace", real)
    assert len(calls) >= 3
    assert tree_bytes(out) == old
    assert stats(out) == before
    assert not [p for p in staging_folder(out).iterdir() if p.name.startswith(".in-place")]  # nothing left over
    build(site)  # and the next build makes the site
    assert {path: data for path, data in tree_bytes(out).items() if path != MARKER} == clean(site)


def test_a_build_with_an_error_touches_nothing(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    before = stats(out)
    (site / "content/p1.md").write_text("---\ntitle: [unclosed\n---\nBody.\n")
    with pytest.raises(SiteError):
        build(site)
    assert stats(out) == before


def test_a_folder_edited_by_hand_is_staged_and_made_right_not_written_in_place_blindly(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    root = out.stat().st_ino
    page = out / "posts/p1/index.html"
    page.write_text(page.read_text().replace("Words of post 1.", "Hand-made words."))
    edit(site, 3, "New words of post 3.")
    build(site)
    assert out.stat().st_ino != root  # staged and swapped in
    assert {path: data for path, data in tree_bytes(out).items() if path != MARKER} == clean(site)


def test_a_file_added_by_hand_is_refused_not_published(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    (out / "extra.html").write_text("mine")
    edit(site, 3, "New words of post 3.")
    with pytest.raises(SiteError, match="holds what primer-site did not write"):
        build(site)
    assert (out / "extra.html").read_text() == "mine"


def test_a_rebuild_that_changes_most_files_is_staged(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    root = out.stat().st_ino
    (site / "site.yaml").write_text((site / "site.yaml").read_text().replace("title:", "title: New", 1))
    result = build(site)
    assert result.written > result.unchanged
    assert out.stat().st_ino != root  # every page changed: made beside, swapped in whole
    assert {path: data for path, data in tree_bytes(out).items() if path != MARKER} == clean(site)


class Listings:
    """Counts the folders of the output listed (os.scandir) by the writer's look for files put there by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
        self.folders: list[str] = []
        real = os.scandir

        def scandir(path: object = ".") -> object:
            where = os.path.abspath(os.fspath(path))  # type: ignore[arg-type]
            if where == str(out) or where.startswith(f"{out}{os.sep}"):
                self.folders.append(where)
            return real(path)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "scandir", scandir)


def test_a_file_added_by_hand_deep_in_a_folder_whose_parents_did_not_change_is_refused(site: Path) -> None:
    out = site.parent / "out"
    build(site)
    for n in (3, 4):  # in place twice: the second write trusts the stamps of the folders the first one listed
        edit(site, n, f"New words of post {n}.")
        build(site)
    (out / "posts/p7/notes.html").write_text("mine")  # "posts/" and the top folder keep their stamps
    edit(site, 5, "New words of post 5.")
    before = tree_bytes(out)
    with pytest.raises(SiteError, match=r"holds what primer-site did not write: \S*posts/p7/notes\.html"):
        build(site)
    assert tree_bytes(out) == before
    (out / "posts/p7/notes.html").unlink()
    (out / "posts/p7/drafts").mkdir()  # a folder, empty
    with pytest.raises(SiteError, match=r"posts/p7/drafts/"):
        build(site)
    (out / "posts/p7/drafts").rmdir()
    build(site)
    assert {path: data for path, data in tree_bytes(out).items() if path != MARKER} == clean(site)


@pytest.mark.parametrize("posts", [10, 40])
def test_a_one_edit_write_lists_only_the_folders_it_changed_last_time_not_the_whole_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, posts: int
) -> None:
    files = {
        f"content/p{n}.md": post(f"Post {n}", date=f"2026-01-{n % 28 + 1:02d}", body=f"Words of post {n}.")
        for n in range(posts)
    }
    site = make_site(tmp_path / "site", files)
    out = site.parent / "out"
    build(site)
    edit(site, 3, "New words of post 3.")
    build(site)
    folders = sum(1 for path in out.rglob("*") if path.is_dir()) + 1
    edit(site, 3, "Newer words of post 3.")
    listings = Listings(monkeypatch, out)
    result = build(site)
    assert result.written > 0
    # what the last write changed (post 3's folder and those above it, the listings' and feeds'), not the others:
    # the same few folders with 10 posts as with 40
    assert len(listings.folders) <= 6 < folders // 2, sorted(listings.folders)


def test_listing_only_the_folders_whose_stamp_moved_finds_what_a_walk_of_every_folder_finds(
    tmp_path: Path,
) -> None:
    """Differential: over seeded changes made by hand (a file or folder added deep or high, a file or folder
    replaced by a symbolic link, a folder removed or moved away and back), foreign_entries_since with the stamps
    recorded before them gives exactly foreign_entries' whole walk."""
    import random

    from primer_site.publish.output import folder_stamps, folders_of, foreign_entries, foreign_entries_since
    from primer_site.store import stamp_of

    written = [f"{a}/{b}/index.html" for a in ("posts", "tags", "series") for b in "abcde"]
    written += ["index.html", "feed.xml", "posts/index.html", "css/site.css"]
    for seed in range(40):
        chance = random.Random(seed)
        live = tmp_path / f"live{seed}"
        for path in written:
            (live / path).parent.mkdir(parents=True, exist_ok=True)
            (live / path).write_text(path)
        for folder in folders_of(written):  # set back: a change made by hand now moves the modification time
            os.utime(live / folder, ns=(10**18, 10**18))
        stamps = folder_stamps(live, folders_of(written), taken=time.time())
        assert stamps.keys() == folders_of(written)
        for change in range(chance.randint(0, 3)):
            folder = chance.choice(sorted(folders_of(written)))
            kind = chance.choice(["file", "folder", "link", "folder-link", "remove", "move"])
            target = live / folder
            if not target.is_dir():
                continue  # moved away by an earlier change
            if kind == "file":
                (target / f"hand{chance.randint(0, 9)}.html").write_text("mine")
            elif kind == "folder":
                (target / f"hand{chance.randint(0, 9)}").mkdir(exist_ok=True)
            elif kind == "link":
                page = chance.choice([p for p in written if p.startswith(folder)] or ["index.html"])
                if (live / page).is_file() and not (live / page).is_symlink():
                    (live / page).unlink()
                    (live / page).symlink_to(tmp_path)
            elif folder and target.is_dir() and not target.is_symlink():
                aside = tmp_path / f"aside{seed}-{change}"
                target.rename(aside)
                if kind == "folder-link":
                    target.symlink_to(aside)
                elif kind == "move":
                    aside.rename(target)  # the same folder, inode and modification time: its parent's stamp moved
                    # Linux moves a renamed folder's change time (POSIX allows either): where it stays, the folder's
                    # stamp is as recorded, and only its parent's listing shows it back (unless it was changed)
                    moved = stamp_of(target, follow_links=False)
                    if moved is not None and moved[:3] == stamps[folder][:3]:
                        stamps[folder] = moved
        expected = foreign_entries(live, set(written))
        found, clean_stamps = foreign_entries_since(live, set(written), stamps)
        assert found == expected, seed
        assert foreign_entries_since(live, set(written), clean_stamps)[0] == expected, seed


class FrozenClockStat:
    """os.stat as a file system with coarse times shows it (FAT keeps 2 s, ext3 and HFS+ whole seconds; here one
    tick outlasts the test) and folder sizes counted in blocks: an entry added to a folder within the tick of its
    last change leaves the folder's stamp as it was. Only the racy rule (store.is_racy, with a window as long as
    the tick) then finds it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        tick = int(time.time()) * 10**9
        real = os.stat

        class Shown:
            def __init__(self, info: os.stat_result) -> None:
                self._info = info

            def __getattr__(self, name: str) -> object:
                if name in ("st_mtime_ns", "st_ctime_ns"):
                    return tick
                if name in ("st_mtime", "st_ctime"):
                    return tick / 1e9
                if name == "st_size" and stat.S_ISDIR(self._info.st_mode):
                    return 4096
                return getattr(self._info, name)

        monkeypatch.setattr(os, "stat", lambda *args, **kwargs: Shown(real(*args, **kwargs)))
        monkeypatch.setattr(store, "RACY_SECONDS", 60.0)


def test_a_file_added_by_hand_in_the_clock_tick_of_the_last_write_is_refused(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders the last write left were changed in the same tick as the hand-made file: their stamps cannot
    tell, so they are not trusted (output.folder_stamps, foreign_entries_since) and the folder is listed."""
    out = site.parent / "out"
    FrozenClockStat(monkeypatch)
    build(site)
    for n in (3, 4):  # in place twice: the second write would trust the stamps of the folders the first listed
        edit(site, n, f"New words of post {n}.")
        build(site)
    (out / "posts/p7/notes.html").write_text("mine")
    edit(site, 5, "New words of post 5.")
    with pytest.raises(SiteError, match=r"holds what primer-site did not write: \S*posts/p7/notes\.html"):
        build(site)
    assert (out / "posts/p7/notes.html").read_text() == "mine"


def test_folder_stamps_taken_in_the_tick_of_a_change_do_not_hide_a_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from primer_site.publish.output import folder_stamps, folders_of, foreign_entries_since

    FrozenClockStat(monkeypatch)
    written = ["index.html", "posts/a/index.html", "posts/b/index.html"]
    live = tmp_path / "live"
    for path in written:
        (live / path).parent.mkdir(parents=True, exist_ok=True)
        (live / path).write_text(path)
    stamps = folder_stamps(live, folders_of(written), taken=time.time())
    assert stamps == {}  # every folder changed within the tick
    (live / "posts/a/notes.html").write_text("mine")
    found, clean_stamps = foreign_entries_since(live, set(written), stamps)
    assert found == ["posts/a/notes.html"]
    assert clean_stamps == {}  # listed now, still too recent to trust next time
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # without the racy rule the stamps would hide notes.html
    assert foreign_entries_since(live, set(written), folder_stamps(live, folders_of(written), time.time()))[0] == []


def test_a_folder_that_cannot_be_looked_at_stops_the_look_for_files_added_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EACCES (or EIO, ELOOP) on a folder is not "not there": what it holds is unknown, so the look stops with an
    error that names the folder; a folder that is really gone is not listed, and the live folder gone holds nothing
    foreign."""
    from primer_site.publish.output import foreign_entries_since

    written = ["index.html", "posts/a/index.html", "posts/b/index.html"]
    live = tmp_path / "live"
    for path in written:
        (live / path).parent.mkdir(parents=True, exist_ok=True)
        (live / path).write_text(path)
    (live / "posts/a/notes.html").write_text("mine")
    with monkeypatch.context() as patched:
        _refuse_stat(patched, live / "posts/a")
        with pytest.raises(SiteError, match=f"cannot look into {live / 'posts/a'} in the output folder {live} "):
            foreign_entries_since(live, set(written), {})
    (live / "posts/a/notes.html").unlink()
    (live / "posts/a/index.html").unlink()
    (live / "posts/a").rmdir()
    assert foreign_entries_since(live, set(written), {})[0] == []  # gone: its parent's listing shows it
    assert foreign_entries_since(tmp_path / "nowhere", set(written), {}) == ([], {})


def test_a_build_that_cannot_look_into_an_output_folder_stops_with_a_clear_error(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of the output that cannot be stat'ed (EACCES) may hold files added by hand: the in-place write
    stops and says where, never takes it for a folder that is not there."""
    out = site.parent / "out"
    build(site)
    edit(site, 3, "New words of post 3.")
    build(site)
    (out / "posts/p7/notes.html").write_text("mine")
    before = tree_bytes(out)
    edit(site, 5, "New words of post 5.")
    with monkeypatch.context() as patched:
        _refuse_stat(patched, out / "posts/p7")
        with pytest.raises(
            SiteError, match=r"cannot look into \S*posts/p7 in the output folder \S+ \(Permission denied\)"
        ):
            build(site)
    assert tree_bytes(out) == before


def _refuse_stat(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """os.stat of `folder` fails with EACCES, as for a folder whose parent may be listed but not searched."""
    real, locked = os.stat, str(folder)

    def refusing(path: object, *args: object, **kwargs: object) -> object:
        if os.fspath(path) == locked:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", locked)
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", refusing)
