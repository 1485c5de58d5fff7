"""The watcher on real folders: linked folders, folders removed and made again, what each change reports."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixture_sites import make_site, post
from primer_site.preview.watch import ChangeSet, SourceWatcher


class Batches:
    """A fake rebuild callable: records the paths of each ChangeSet, and lets a test wait for one."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self._changed = threading.Condition()

    def __call__(self, changes: ChangeSet) -> None:
        with self._changed:
            self.paths |= changes.paths
            self._changed.notify_all()

    def wait_for(self, path: str, timeout: float = 5.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: path in self.paths, timeout), f"{path} not in {self.paths}"

    def clear(self) -> None:
        time.sleep(0.3)  # let the events of the last step arrive before starting afresh
        with self._changed:
            self.paths.clear()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(
        tmp_path / "site",
        {"site.yaml": "title: W\nbase_url: https://example.org/\n", "content/a.md": post("A")},
    )


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder of posts outside the site, for the site to link to."""
    return make_site(tmp_path / "shared", {"vol3/ch1.md": post("Chapter 1"), "vol3/deep/ch2.md": post("Two")})


def watching(site: Path) -> Iterator[tuple[SourceWatcher, Batches]]:
    batches = Batches()
    watcher = SourceWatcher(site, batches, quiet=0.05, max_wait=1)
    watcher.start()
    try:
        yield watcher, batches
    finally:
        watcher.close()


@pytest.fixture
def watched(site: Path) -> Iterator[tuple[SourceWatcher, Batches]]:
    yield from watching(site)


def test_edits_inside_a_linked_folder_are_reported_at_the_link(site: Path, elsewhere: Path) -> None:
    (site / "content" / "vol3").symlink_to(elsewhere / "vol3", target_is_directory=True)
    for _, batches in watching(site):
        (elsewhere / "vol3" / "ch1.md").write_text(post("Chapter 1, edited"), encoding="utf-8")
        batches.wait_for("content/vol3/ch1.md")
        (elsewhere / "vol3" / "deep" / "ch2.md").write_text(post("Two, edited"), encoding="utf-8")
        batches.wait_for("content/vol3/deep/ch2.md")
        (elsewhere / "vol3" / "ch3.md").write_text(post("Three"), encoding="utf-8")
        batches.wait_for("content/vol3/ch3.md")
        assert not any(path.startswith(str(elsewhere)) for path in batches.paths)


def test_a_link_made_while_watching_is_followed(watched, elsewhere: Path, site: Path) -> None:  # type: ignore[no-untyped-def]
    _, batches = watched
    (site / "content" / "vol3").symlink_to(elsewhere / "vol3", target_is_directory=True)
    batches.wait_for("content/vol3")
    batches.clear()
    (elsewhere / "vol3" / "ch1.md").write_text(post("Chapter 1, edited"), encoding="utf-8")
    batches.wait_for("content/vol3/ch1.md")


def test_a_content_folder_removed_and_made_again_is_watched_again(watched, site: Path) -> None:  # type: ignore[no-untyped-def]
    _, batches = watched
    shutil.rmtree(site / "content")
    batches.wait_for("content")
    batches.clear()
    (site / "content").mkdir()
    batches.wait_for("content")
    batches.clear()
    (site / "content" / "b.md").write_text(post("B"), encoding="utf-8")
    batches.wait_for("content/b.md")
    batches.clear()
    # and once more, by moving it away and back
    (site / "content").rename(site / "moved-away")
    batches.wait_for("content")
    (site / "moved-away").rename(site / "content")
    batches.clear()
    (site / "content" / "b.md").write_text(post("B again"), encoding="utf-8")
    batches.wait_for("content/b.md")


def test_a_linked_folder_removed_stops_being_watched_there(watched, elsewhere: Path, site: Path) -> None:  # type: ignore[no-untyped-def]
    watcher, batches = watched
    link = site / "content" / "vol3"
    link.symlink_to(elsewhere / "vol3", target_is_directory=True)
    batches.wait_for("content/vol3")
    link.unlink()
    batches.wait_for("content/vol3")
    batches.clear()
    (elsewhere / "vol3" / "ch1.md").write_text(post("Not ours any more"), encoding="utf-8")
    time.sleep(0.4)
    assert batches.paths == set()
    assert watcher.relative(str(elsewhere / "vol3" / "ch1.md")) is None


@pytest.mark.parametrize("target", ["..", ".", "../content"])
def test_a_link_loop_made_and_removed_leaves_changes_reported_where_they_are(  # type: ignore[no-untyped-def]
    watched, site: Path, target: str
) -> None:
    # `ln -s .. content/loop`: its target holds the site itself; taken as a linked folder, every later change in
    # the site was reported under content/loop/…, and the link's removal was never seen (the preview froze)
    watcher, batches = watched
    link = site / "content" / "loop"
    link.symlink_to(target, target_is_directory=True)
    batches.wait_for("content/loop")
    assert watcher.relative(str(site / "content" / "a.md")) == "content/a.md"
    link.unlink()
    batches.wait_for("content/loop")
    batches.clear()
    (site / "content" / "a.md").write_text(post("A, edited"), encoding="utf-8")
    batches.wait_for("content/a.md")
    assert not any(path.startswith("content/loop/") for path in batches.paths)


def test_an_edited_catalogue_is_a_change(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {"content/a.md": post("A"), "i18n/fr.yaml": "contents: Sommaire\n"})
    for _, batches in watching(site):
        (site / "i18n" / "fr.yaml").write_text("contents: Table des matières\n", encoding="utf-8")
        batches.wait_for("i18n/fr.yaml")
