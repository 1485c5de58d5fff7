"""The output folder (output.py, staging.py, write.py): primer-site replaces only folders it made, keeps symlinked outputs, and
leaves no lock files."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import primer_site.publish.output as output_module
from fixture_sites import NOW_ARG as NOW
from fixture_sites import SRC, build_cli, make_site, post, run_cli, stats, tree_bytes
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.publish.output import MARKER


def site_in(root: Path) -> Path:
    return make_site(
        root, {"site.yaml": "title: T\nbase_url: https://example.org/\n", "content/a.md": post("A", body="Old.")}
    )


def build(site: Path, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return build_cli(site, "--output", str(output), *extra)


def test_a_folder_primer_site_did_not_make_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    thesis = tmp_path / "thesis"
    make_site(thesis, {"thesis.tex": "\\documentclass{article}\n", "figures/plot.pdf": "%PDF"})
    before, parent_before = stats(thesis), sorted(p.name for p in tmp_path.iterdir())
    for attempt in range(2):  # today's bug lost the files on the second build
        result = build(site, thesis)
        assert result.returncode == 1, attempt
        assert result.stderr == (
            f"<site>: error: output folder {thesis} holds files primer-site did not write (it has no {MARKER} "
            "marker), so nothing was changed: build into an empty or new folder (--output DIR), or pass --force "
            "to replace everything in it (a folder built by an older primer-site needs --force once)\n"
            "build failed: 1 error; the output folder was left as it was\n"
        )
    assert stats(thesis) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == parent_before  # no staging folder, no lock file


def test_an_empty_folder_is_built_into_and_marked(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    (tmp_path / "empty").mkdir()
    assert build(site, tmp_path / "empty").returncode == 0
    assert (tmp_path / "empty/posts/a/index.html").is_file()
    assert (tmp_path / "empty" / MARKER).is_file()


def test_force_replaces_a_folder_primer_site_did_not_make(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    out = make_site(tmp_path / "out", {"old.html": "old"})
    result = build(site, out, "--force")
    assert result.returncode == 0, result.stderr
    assert (out / "posts/a/index.html").is_file() and not (out / "old.html").exists()
    assert build(site, out).returncode == 0  # marked now: no --force needed again


def test_the_marker_survives_every_swap(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    out, staging = tmp_path / "public", tmp_path / ".public.staging"
    for text in ("One.", "Two.", "Three."):
        make_site(site, {"content/a.md": post("A", body=text)})
        assert build(site, out).returncode == 0
        assert text in (out / "posts/a/index.html").read_text()
        assert (out / MARKER).is_file()
    assert (staging / MARKER).is_file()
    assert MARKER not in {p.name for p in (out / "posts").rglob("*")}
    # the marker is not a page of the site: the build's line counts only pages and files it made
    assert "files written" in build(site, out).stdout


def test_a_staging_folder_primer_site_did_not_make_is_refused(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    staging = make_site(tmp_path / ".public.staging", {"notes.txt": "mine"})
    result = build(site, tmp_path / "public")
    assert result.returncode == 1
    assert f"staging folder {staging} (beside {tmp_path / 'public'}) holds files primer-site did not write" in (
        result.stderr
    )
    assert (staging / "notes.txt").read_text() == "mine" and not (tmp_path / "public").exists()


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    (tmp_path / "public").write_text("not a folder")
    result = build(site, tmp_path / "public")
    assert result.returncode == 1
    assert f"<site>: error: output {tmp_path / 'public'} is a file, not a folder: choose another --output" in (
        result.stderr
    )
    assert (tmp_path / "public").read_text() == "not a folder"


def test_a_symlinked_output_is_built_at_its_target_and_the_link_survives(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    web_root = tmp_path / "var/www/site"
    web_root.parent.mkdir(parents=True)
    link = tmp_path / "public"
    link.symlink_to(web_root, target_is_directory=True)
    for text in ("One.", "Two.", "Three."):
        make_site(site, {"content/a.md": post("A", body=text)})
        result = build(site, link)
        assert result.returncode == 0, result.stderr
        assert link.is_symlink() and os.readlink(link) == str(web_root)
        assert text in (web_root / "posts/a/index.html").read_text()
    # the staging folder is beside the target; nothing was made beside the link
    assert sorted(p.name for p in web_root.parent.iterdir()) == [".site.staging", "site"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["public", "site", "var"]


def test_a_dangling_output_link_gets_its_target_made(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    link = tmp_path / "public"
    link.symlink_to(tmp_path / "www", target_is_directory=True)
    assert build(site, link).returncode == 0
    assert link.is_symlink() and (tmp_path / "www/posts/a/index.html").is_file()


def test_a_symlinked_output_whose_target_s_folder_is_not_writable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = site_in(tmp_path / "site")
    locked = tmp_path / "www"
    (locked / "site").mkdir(parents=True)
    (locked / "site" / MARKER).write_text("")
    link = tmp_path / "public"
    link.symlink_to(locked / "site", target_is_directory=True)
    locked.chmod(0o555)
    if os.geteuid() == 0:  # permission bits do not bind root: read them as an ordinary user's access() would
        real_access = os.access

        def access(path: object, mode: int) -> bool:
            bits = Path(str(path)).stat().st_mode
            return real_access(path, mode) and not (mode & os.W_OK and not bits & stat.S_IWUSR)

        monkeypatch.setattr(output_module.os, "access", access)
    try:
        before = stats(locked)
        with pytest.raises(SiteError) as refused:
            build_site(BuildOptions(source=site, output=link, cache=False, jobs=1))
        assert [str(d) for d in refused.value.diagnostics] == [
            f"<site>: error: cannot build into {link} (a link to {locked / 'site'}): the new site is made in "
            f"{locked / '.site.staging'} and swapped in, and {locked} is not writable for this user (make it "
            "writable, or point the output, or its link, at a folder inside a writable one)"
        ]
        assert stats(locked) == before and link.is_symlink()
    finally:
        locked.chmod(0o755)


def test_no_lock_file_is_left_beside_the_output(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    for name in ("public", "dist", "public"):
        assert build(site, tmp_path / name).returncode == 0
    (site / "content" / "b.md").write_text(post("B"), encoding="utf-8")  # so that the last build swaps
    assert build(site, tmp_path / "public").returncode == 0
    # the staging folders are kept (they list what the live folders hold); no lock file
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dist.staging", ".public.staging", "dist", "public", "site"]


def test_two_builds_at_once_take_turns(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "primer_site", "build", "-s", str(site), "-o", str(tmp_path / "public")]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    assert [run.wait(timeout=120) for run in runs] == [0, 0, 0]
    assert build(site, tmp_path / "alone", "--no-cache").returncode == 0
    assert tree_bytes(tmp_path / "public") == tree_bytes(tmp_path / "alone")


@pytest.mark.parametrize("leftover", [".public.retired", ".public.tmp-99"])
def test_leftovers_of_killed_builds_are_removed_only_when_marked(tmp_path: Path, leftover: str) -> None:
    site = site_in(tmp_path / "site")
    assert build(site, tmp_path / "public").returncode == 0
    mine = make_site(tmp_path / leftover, {"old.html": "old", MARKER: ""})
    assert build(site, tmp_path / "public").returncode == 0
    assert not mine.exists()
    foreign = make_site(tmp_path / leftover, {"notes.txt": "mine"})
    assert build(site, tmp_path / "public").returncode == 0
    assert (foreign / "notes.txt").read_text() == "mine"


# ------------------------------------------------- files the user put in the output (never moved or deleted)

FOREIGN = {  # what the user adds to a built output → how the error names it
    "file": ("CNAME", "CNAME"),
    "folder": ("extra/notes.txt", "extra/"),
    "file in a folder primer-site wrote": ("posts/a/extra.txt", "posts/a/extra.txt"),
    "symlink": (None, "linked"),
}


def _add_foreign(live: Path, kind: str) -> None:
    added, _ = FOREIGN[kind]
    if added is None:
        (live / "linked").symlink_to("/etc/hostname")
    else:
        (live / added).parent.mkdir(parents=True, exist_ok=True)
        (live / added).write_text("mine\n")


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_file_the_user_put_in_the_output_is_neither_moved_nor_deleted(tmp_path: Path, kind: str, cache: bool) -> None:
    """A build that changes the site refuses, naming it and pointing at static/; the output stays as it was, over
    builds (today's bug moved it to the staging folder and back on alternate builds)."""
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    extra = () if cache else ("--no-cache",)
    assert build(site, out, *extra).returncode == 0
    _add_foreign(out, kind)
    before = stats(out)
    for version in ("New.", "Newer."):
        (site / "content" / "a.md").write_text(post("A", body=version))
        result = build(site, out, *extra)
        assert result.returncode == 1
        shown = out / FOREIGN[kind][1].rstrip("/")
        assert (
            f"{out} holds what primer-site did not write: {shown}{'/' if FOREIGN[kind][1].endswith('/') else ''}; "
            in result.stderr
        )
        assert "put what the site should publish in static/" in result.stderr
        assert stats(out) == before
    staging = out.parent / ".public.staging"
    assert not [p for p in staging.rglob("*") if p.name in {"CNAME", "extra", "extra.txt", "linked"}]
    cleaned = run_cli("clean", "--source", str(site), "--output", str(out))
    assert cleaned.returncode == 1 and "nothing was removed" in cleaned.stderr
    assert stats(out) == before


def test_a_file_moved_into_static_is_published_and_the_build_goes_on(tmp_path: Path) -> None:
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert build(site, out).returncode == 0
    (out / "CNAME").write_text("example.org\n")
    (site / "content" / "a.md").write_text(post("A", body="New."))
    assert build(site, out).returncode == 1
    (out / "CNAME").unlink()
    make_site(site, {"static/CNAME": "example.org\n"})
    for body in ("New.", "Newer.", "Newest."):  # over swaps, in and out of the staging folder
        (site / "content" / "a.md").write_text(post("A", body=body))
        result = build(site, out)
        assert result.returncode == 0, result.stderr
        assert (out / "CNAME").read_text() == "example.org\n"
        assert body in (out / "posts" / "a" / "index.html").read_text()
    assert not (out / ".primer-site-written").exists()  # the list of written files is never published


def test_a_build_that_changes_nothing_stops_on_a_foreign_file_and_leaves_the_folder_alone(tmp_path: Path) -> None:
    """As any build does, with or without the last build's record: it exited 0 and left the file to be published
    when it had nothing to write (a build without the cache stopped). It looks at the output's folders whose
    stamps moved, not at every file."""
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert build(site, out).returncode == 0
    (out / "CNAME").write_text("mine\n")
    before = stats(out)
    for flags in ((), ("--no-cache",)):
        result = build(site, out, *flags)
        assert result.returncode == 1, flags
        assert "holds what primer-site did not write" in result.stderr and "CNAME" in result.stderr, result.stderr
        assert stats(out) == before


def _folders_listed_by_a_build_that_changes_nothing(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The output folders a third build with the same inputs lists (os.scandir), after a first build and a second
    that changed nothing, each a moment later: as after any real build, the folders the first one wrote changed too
    recently for their stamps to be kept (store.is_racy)."""
    import time
    from datetime import UTC, datetime

    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.3)  # real builds: 2 s; the sleeps stand for builds later on
    files = {f"content/p{n}.md": post(f"P{n}", date=f"2026-01-{n + 1:02d}", body="Words.") for n in range(posts)}
    site = make_site(root / "site", {"site.yaml": "title: T\nbase_url: https://example.org/\n", **files})
    out = root / "out"
    options = BuildOptions(source=site, output=out, now=datetime(2026, 6, 1, tzinfo=UTC), jobs=1)
    time.sleep(0.4)  # the sources' stamps trusted
    build_site(options)
    time.sleep(0.4)
    assert build_site(options).written == 0
    time.sleep(0.4)
    listed: list[str] = []
    scandir = os.scandir

    def counted(path: str) -> object:
        if str(path).startswith(str(out)):
            listed.append(str(path))
        return scandir(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", counted)
        assert build_site(options).written == 0
    return len(listed)


def test_a_build_that_changes_nothing_lists_no_more_output_folders_for_more_posts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look for files put in the output (Manifest.foreign) lists only folders whose stamps moved: what a build
    that changed nothing found clean is not listed again by the next, so that look does not grow with the site (on
    main every folder is listed by every such build: the record keeps the first build's folder stamps, none)."""
    few = _folders_listed_by_a_build_that_changes_nothing(tmp_path / "few", 2, monkeypatch)
    many = _folders_listed_by_a_build_that_changes_nothing(tmp_path / "many", 8, monkeypatch)
    assert many == few, (few, many)


def test_the_output_folder_of_an_older_primer_site_is_still_claimed_by_its_marker(tmp_path: Path) -> None:
    """Without the list of written files (an output built before it was kept), a removed post's page goes."""
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    make_site(site, {"content/b.md": post("B")})
    assert build(site, out, "--no-cache").returncode == 0
    (out.parent / ".public.staging" / ".primer-site-written").unlink()
    (site / "content" / "b.md").unlink()
    assert build(site, out, "--no-cache").returncode == 0
    assert not (out / "posts" / "b").exists()
    (site / "content" / "a.md").write_text(post("A", body="New."))
    assert build(site, out, "--no-cache").returncode == 0  # the list is kept again: no page counts as foreign


@pytest.mark.parametrize("where", [".primer-cache", ".primer-cache/site", "."])
def test_the_cache_folder_is_refused_as_an_output(tmp_path: Path, where: str) -> None:
    """It holds drafts' text: an output inside it, or holding it, would publish them."""
    site = site_in(tmp_path / "site")
    for _ in range(2):
        result = build(site, site / where)
        assert result.returncode == 1
        assert "choose another --output" in result.stderr
    assert not (site / ".primer-cache").exists() or not list((site / ".primer-cache").rglob("index.html"))


def test_an_output_cache_folder_message(tmp_path: Path) -> None:
    site = site_in(tmp_path / "site")
    result = build(site, site / ".primer-cache")
    assert result.stderr.startswith(
        f"<site>: error: output folder {site / '.primer-cache'} overlaps the site's .primer-cache/ folder: "
        "choose another --output\n"
    )


@pytest.mark.parametrize("link", ["loop", "l1/sub"])
def test_an_output_through_a_symlink_loop_is_a_clean_error(tmp_path: Path, link: str) -> None:
    site = site_in(tmp_path / "site")
    (site / "loop").symlink_to("loop")
    (site / "l1").symlink_to("l2")
    (site / "l2").symlink_to("l1")
    for command in ("build", "clean"):
        result = run_cli(command, "--source", str(site), "--output", link, cwd=site)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"output folder {link} cannot be resolved (a symbolic link loop): choose another --output" in (
            result.stderr
        )


def test_a_build_after_the_output_folder_was_deleted_twice_is_whole(tmp_path: Path) -> None:
    # after a build into a deleted folder, the staging folder is new and empty: no record may say it holds the
    # last site (the third build died with FileNotFoundError in .public.staging)
    site = site_in(tmp_path / "site")
    clean = tmp_path / "clean"
    assert build(site, clean, "--no-cache").returncode == 0
    for _ in range(3):
        done = build(site, site / "public")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert {p: b for p, b in tree_bytes(site / "public").items() if p != MARKER} == {
            p: b for p, b in tree_bytes(clean).items() if p != MARKER
        }
        shutil.rmtree(site / "public")


def test_a_slug_landing_on_a_generated_file_after_a_good_build_is_the_collision_error(tmp_path: Path) -> None:
    # the warm build met two outputs at one path in its render pass (RuntimeError: generator raised StopIteration);
    # a post permalink names a folder or an .html file (config.py), so 404.html is the generated file a slug reaches
    slug = "404"
    site = make_site(
        tmp_path / "site",
        {"site.yaml": 'title: T\nbase_url: https://example.org/\npermalinks: {post: "/{slug}.html"}\n'},
    )
    make_site(site, {"content/a.md": post("A", body="Old.")})
    assert build(site, site / "public").returncode == 0
    before = tree_bytes(site / "public")
    make_site(site, {"content/a.md": post("A", body="Old.", slug=slug.removesuffix(".html"))})
    warm, clean = build(site, site / "public"), build(site, tmp_path / "clean", "--no-cache")
    assert warm.returncode == clean.returncode == 1
    assert "Traceback" not in warm.stderr
    assert "content/a.md:4: error: page 404.html: a page the site makes" in warm.stderr
    assert warm.stderr == clean.stderr
    assert tree_bytes(site / "public") == before


@pytest.mark.parametrize("lost", ["staging and cache", "copy"])
def test_whether_a_user_s_file_survives_does_not_depend_on_hidden_state(tmp_path: Path, lost: str) -> None:
    # a CI that restores only public/, or an output that is a `cp -a` copy of it: the output folder's own
    # record of what primer-site wrote decides, so the user's CNAME is refused, never moved out or deleted
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert build(site, out).returncode == 0
    if lost == "copy":
        shutil.copytree(out, tmp_path / "copy", symlinks=True)
        out = tmp_path / "copy"
    else:
        shutil.rmtree(site / ".public.staging")
        shutil.rmtree(site / ".primer-cache")
    (out / "CNAME").write_text("example.org\n")
    before = stats(out)
    for version in ("New.", "Newer."):
        (site / "content" / "a.md").write_text(post("A", body=version))
        result = build(site, out)
        assert result.returncode == 1
        assert f"{out} holds what primer-site did not write: {out / 'CNAME'}; " in result.stderr
        assert stats(out) == before
    (out / "CNAME").unlink()
    result = build(site, out)
    assert result.returncode == 0, result.stderr
    assert "Newer." in (out / "posts" / "a" / "index.html").read_text()


def test_a_file_dropped_in_the_staging_folder_is_never_published(tmp_path: Path) -> None:
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    for version in ("One.", "Two."):  # the staging folder now holds a site, and its record says which
        (site / "content" / "a.md").write_text(post("A", body=version))
        assert build(site, out).returncode == 0
    for dropped in ("leak.txt", "posts/a/leak.txt", "newfolder/leak.txt"):
        (site / ".public.staging" / dropped).parent.mkdir(parents=True, exist_ok=True)
        (site / ".public.staging" / dropped).write_text("not from primer-site\n")
    for version in ("Three.", "Four."):
        (site / "content" / "a.md").write_text(post("A", body=version))
        result = build(site, out)
        assert result.returncode == 0, result.stderr
        assert not [p for p in out.rglob("leak.txt")] and not (out / "newfolder").exists()


def test_an_older_build_never_publishes_over_a_newer_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the lock is held from reading the sources to publishing: a build started after an edit waits for the one
    # that read before it, then reads the edit; the older one can no longer finish last with the old text
    import threading

    import primer_site.commands.build as build_module

    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    real_read = build_module.read_sources
    has_read, go_on = threading.Event(), threading.Event()

    def read_then_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = real_read(*args, **kwargs)
        if not has_read.is_set():  # the first build only
            has_read.set()
            go_on.wait(30)
        return found

    monkeypatch.setattr(build_module, "read_sources", read_then_wait)
    options = BuildOptions(source=site, output=out, jobs=1)
    older = threading.Thread(target=build_site, args=(options,))
    older.start()
    assert has_read.wait(30)
    (site / "content" / "a.md").write_text(post("A", body="Newer words."))
    newer = threading.Thread(target=build_site, args=(options,))
    newer.start()
    newer.join(1.0)
    assert newer.is_alive()  # waiting for the older build to publish
    go_on.set()
    older.join(60)
    newer.join(60)
    assert "Newer words." in (out / "posts" / "a" / "index.html").read_text()


def _main(*args: str) -> int:
    from primer_site.commands.cli import main

    return main(list(args))


def test_an_output_folder_that_is_a_mount_point_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Docker volume or a tmpfs at public/: no rename can replace it (EBUSY on every build)
    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 0
    before = stats(out)
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == out or real(path))
    (site / "content" / "a.md").write_text(post("A", body="New."))
    capsys.readouterr()
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 1
    err = capsys.readouterr().err
    assert f"output folder {out} is a mount point" in err and f"--output {out / 'site'}" in err
    assert "Traceback" not in err
    assert stats(out) == before


def test_a_full_disk_while_writing_is_a_clear_error_and_the_old_site_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 0
    before = tree_bytes(out)
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if ".public.staging" in str(self):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    (site / "content" / "a.md").write_text(post("A", body="New."))
    capsys.readouterr()
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the output folder was left as it was" in err
    assert "Traceback" not in err
    assert tree_bytes(out) == before


def test_a_full_cache_disk_leaves_no_half_written_file_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins
    import errno

    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    real_open, real_bytes = builtins.open, Path.write_bytes

    def disk_full(path: object) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    class Filling:
        """A file on a disk that fills after its first few characters."""

        def __init__(self, file) -> None:  # type: ignore[no-untyped-def]
            self.file, self.room = file, 10

        def write(self, text):  # type: ignore[no-untyped-def]
            if len(text) > self.room:
                self.file.write(text[: self.room])  # a part was written when the disk filled
                self.room = 0
                raise disk_full(self.file.name)
            self.room -= len(text)
            return self.file.write(text)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.file, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            self.file.close()

    def opened(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(file, mode, *args, **kwargs)
        in_records = isinstance(file, (str, Path)) and "builds" in Path(file).parts
        return Filling(handle) if in_records and ("w" in mode or "a" in mode) else handle

    def write_bytes(self: Path, data: bytes) -> int:
        if "builds" in self.parts:
            real_bytes(self, data[:10])
            raise disk_full(self)
        return real_bytes(self, data)

    # however the record's files are written (a whole text, a stream, bytes), the disk fills part-way
    monkeypatch.setattr(builtins, "open", opened)
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(Path, "write_text", lambda self, text, *a, **k: opened(self, "w", *a, **k).write(text))
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 0
    err = capsys.readouterr().err
    assert "warning: the build's record was not kept in .primer-cache/ (No space left on device" in err
    assert [p.name for p in (site / ".primer-cache" / "builds").iterdir()] == []
    monkeypatch.undo()
    assert "Old." in (out / "posts" / "a" / "index.html").read_text()


def test_clean_on_a_read_only_file_system_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    site, out = site_in(tmp_path / "site"), tmp_path / "site" / "public"
    assert _main("build", "--source", str(site), "--output", str(out), "--now", NOW) == 0

    def read_only(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(output_module.shutil, "rmtree", read_only)
    capsys.readouterr()
    assert _main("clean", "--source", str(site), "--output", str(out)) == 1
    err = capsys.readouterr().err
    assert f"cannot remove what builds into {out} made: Read-only file system" in err
    assert "Traceback" not in err


# ------------------------------------------------- a folder's marker, rewritten by a build that may be killed


class _Killed(BaseException):
    """The build's death at a chosen file-system step (a BaseException: no handler of the build's catches it)."""


_STEPS = ("replace", "rename", "unlink", "remove", "open")


def _kill_at(monkeypatch: pytest.MonkeyPatch, step: int | None, seen: list[str]) -> None:
    """Count the file-system steps that change a folder (os.replace, rename, unlink, remove, and every open, which
    io.open and Path.write_bytes go through), and die before the `step`-th (None: never)."""
    import io

    def hooked(module: object, name: str) -> None:
        real = getattr(module, name)

        def step_of(*args: object, **kwargs: object) -> object:
            if step is not None and len(seen) == step:
                raise _Killed
            seen.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, step_of)

    for name in _STEPS:
        hooked(os, name)
    hooked(io, "open")


@pytest.mark.parametrize("folder", ["public", ".public.staging"])
def test_a_build_killed_while_it_marks_a_folder_leaves_one_the_next_build_claims(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str
) -> None:
    # Found by tests/test_interrupt.py under load: a build killed between the old marker's removal and the new
    # one's writing left the staging folder unmarked, and every later build refused it.
    site = site_in(tmp_path / "site")
    reference = tmp_path / "reference" / "public"
    assert build(site, reference).returncode == 0
    first = tmp_path / "first"
    assert build(site, first / "public").returncode == 0
    assert build(site, first / "public").returncode == 0  # the staging folder is there, marked, too
    written = sorted(p.relative_to(first / folder).as_posix() for p in (first / folder).rglob("*") if p.is_file())
    steps: list[str] = []
    with monkeypatch.context() as patched:
        _kill_at(patched, None, steps)
        output_module.mark(first / folder, written)
    assert steps, "marking a folder takes file-system steps"
    for step in range(len(steps) + 1):
        trial = tmp_path / f"killed-{step}"
        shutil.copytree(first, trial, symlinks=True)
        with monkeypatch.context() as patched:
            _kill_at(patched, step, [])
            with contextlib.suppress(_Killed):
                output_module.mark(trial / folder, written)
        assert output_module.is_marked(trial / folder), f"killed before step {step} of {steps}: no marker"
        cleaned = tmp_path / f"cleaned-{step}"
        shutil.copytree(trial, cleaned, symlinks=True)
        result = run_cli("clean", "--source", str(site), "--output", str(cleaned / "public"))
        assert result.returncode == 0, f"killed before step {step} of {steps}: {result.stderr}"
        assert not any(cleaned.iterdir()), f"killed before step {step}: clean left {sorted(cleaned.iterdir())}"
        result = build(site, trial / "public")
        assert result.returncode == 0, f"killed before step {step} of {steps}: {result.stderr}"
        assert tree_bytes(trial / "public") == tree_bytes(reference), step


@pytest.mark.parametrize("cache", [True, False])
def test_an_output_folder_that_cannot_be_listed_is_an_error_that_names_it_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: bool
) -> None:
    """Whether it holds what primer-site did not write is unknown: the build stops and says which folder, with the
    record (a build with the last one's inputs, RACY_SECONDS shortened so its stamps are trusted) or without it. It
    was a PermissionError traceback from os.scandir on both paths."""
    import time
    from datetime import UTC, datetime

    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.3)  # real builds: 2 s; the sleeps stand for builds later on
    site, out = site_in(tmp_path / "site"), tmp_path / "out"
    options = BuildOptions(source=site, output=out, now=datetime(2026, 6, 1, tzinfo=UTC), jobs=1, cache=cache)
    time.sleep(0.4)
    build_site(options)
    (out / "posts" / "stray.txt").write_text("not the site's\n", encoding="utf-8")  # the folder's stamp moves
    time.sleep(0.4)
    before = stats(out)
    real = os

    class Unlistable:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        @staticmethod
        def scandir(path: str) -> object:
            if str(path).rstrip("/").endswith("/out/posts"):
                raise PermissionError(13, "Permission denied", str(path))
            return real.scandir(path)

    with monkeypatch.context() as patch:
        patch.setattr(output_module, "os", Unlistable())
        with pytest.raises(SiteError, match=f"cannot look into {out / 'posts'} in the output folder {out} "):
            build_site(options)
    assert stats(out) == before
