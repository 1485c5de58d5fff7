"""A build made from exactly what the last good build into its folder was made from stops at once; any other
input — a file's bytes, a file added or gone, the day, an option, the output folder itself — builds for real."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixture_sites import NOW, build_result, make_site, post, tree_bytes
from primer_site import diskrecords, store
from primer_site.commands.build import BuildResult


@pytest.fixture(autouse=True)
def trust_recent_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests edit files milliseconds apart: trust their stamps however recent (the racy rule has a test)."""
    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(
        tmp_path / "site",
        {
            "content/a.md": post("A", date="2026-01-05", body="First words."),
            "content/later.md": post("Later", date="2026-07-01", body="Not yet."),
        },
    )


def build(site: Path, now: datetime = NOW, **options: object) -> BuildResult:
    return build_result(site, **{"now": now, "output": site.parent / "out", "cache": True, **options})


def stopped_at_once(result: BuildResult) -> bool:
    return result.site is None  # the model was not even made


def test_nothing_changed_stops_at_once_with_the_same_output_and_warnings(site: Path) -> None:
    (site / "content/a.md").write_text(post("A", date="2026-01-05", body="First words.", colour="red"))
    first = build(site)
    before = tree_bytes(site.parent / "out")
    again = build(site)
    assert stopped_at_once(again) and again.written == 0
    assert (again.pages, again.posts, again.unchanged) == (first.pages, first.posts, first.written)
    assert [str(w) for w in again.warnings] == [str(w) for w in first.warnings] != []
    assert tree_bytes(site.parent / "out") == before


def test_a_file_s_new_bytes_build_for_real(site: Path) -> None:
    build(site)
    (site / "content/a.md").write_text(post("A", date="2026-01-05", body="Other words."))  # the same length
    result = build(site)
    assert not stopped_at_once(result)
    assert "Other words." in (site.parent / "out/posts/a/index.html").read_text()


@pytest.mark.parametrize("change", ["added", "removed", "template", "static", "site.yaml"])
def test_a_file_added_or_gone_anywhere_builds_for_real(site: Path, change: str) -> None:
    build(site)
    if change == "added":
        (site / "content/b.md").write_text(post("B"))
    elif change == "removed":
        (site / "content/a.md").unlink()
    elif change == "template":
        make_site(site, {"templates/404.html": "{% extends 'base.html' %}{% block main %}Lost{% endblock %}"})
    elif change == "static":
        make_site(site, {"static/extra.txt": "x"})
    else:
        make_site(site, {"site.yaml": "title: Renamed\nbase_url: https://example.org/\n"})
    assert not stopped_at_once(build(site))


def test_the_day_a_scheduled_post_is_due_builds_for_real(site: Path) -> None:
    build(site)
    assert stopped_at_once(build(site, now=datetime(2026, 6, 30, tzinfo=UTC)))  # no post falls due in between
    due = build(site, now=datetime(2026, 7, 1, tzinfo=UTC))
    assert not stopped_at_once(due) and (site.parent / "out/posts/later/index.html").is_file()
    assert not stopped_at_once(build(site, now=datetime(2026, 6, 2, tzinfo=UTC)))  # and back again


def test_other_options_build_for_real(site: Path) -> None:
    build(site)
    assert not stopped_at_once(build(site, future=True))
    assert not stopped_at_once(build(site, base_url="https://other.example/"))


def test_an_output_file_changed_or_gone_is_made_again(site: Path) -> None:
    build(site)
    page = site.parent / "out/posts/a/index.html"
    page.unlink()
    assert not stopped_at_once(build(site))
    assert "First words." in page.read_text()
    page.write_text("edited by hand")
    build(site)
    assert "First words." in page.read_text()


def test_new_primer_site_code_builds_for_real(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site)
    monkeypatch.setattr(diskrecords, "code_salt", lambda: "another version")
    assert not stopped_at_once(build(site))


def test_a_file_changed_just_before_the_build_is_not_trusted(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "RACY_SECONDS", 2.0)
    build(site)  # a.md was written a moment ago: within the racy window, its stamp may not tell a later write
    assert not stopped_at_once(build(site))
    old = datetime(2026, 1, 1).timestamp()
    for path in site.rglob("*"):
        os.utime(path, (old, old))  # the change time moves to now: still racy
    build(site)
    assert not stopped_at_once(build(site))


def test_a_damaged_record_builds_for_real(site: Path) -> None:
    build(site)
    for record in (site / ".primer-cache/builds").glob("*.record.*"):
        record.write_text("{not a record")
    result = build(site)
    assert not stopped_at_once(result) and "First words." in (site.parent / "out/posts/a/index.html").read_text()


def _edit_and_build(site: Path, passes: list, trusted: bool) -> None:
    """One more edit and build: with the kept render memory `trusted`, only what the edit reaches is rendered; else
    every page; either way the bytes of a build from nothing."""
    (site / "content/a.md").write_text(post("A", date="2026-01-05", body="Other words."))
    result = build(site)
    last = passes[-1]
    if trusted:
        assert len(last.rendered) < len(last.specs) and "posts/a/index.html" in last.rendered, last.rendered
    else:
        assert sorted(last.rendered) == sorted(spec.path for spec in last.specs)  # none trusted
    assert not stopped_at_once(result)
    cold = build_result(site, output=site.parent / "cold", cache=False)
    assert cold.errors == () and tree_bytes(site.parent / "out") == tree_bytes(site.parent / "cold")


@pytest.mark.parametrize("damage", [None, "garbage", "truncated", "a-flipped-byte", "another-version", "a-folder"])
def test_a_damaged_render_memory_renders_every_page_again(
    site: Path, monkeypatch: pytest.MonkeyPatch, damage: str | None
) -> None:
    from primer_site.rendering import render

    passes: list[render.RenderPass] = []
    commit = render.RenderPass.commit
    monkeypatch.setattr(render.RenderPass, "commit", lambda self: (passes.append(self), commit(self))[1])
    build(site)
    [kept] = (site / ".primer-cache/builds").glob("*.render.bin")
    data = kept.read_bytes()
    if damage == "garbage":
        kept.write_bytes(b"\x00not a memory" * 40)
    elif damage == "truncated":
        kept.write_bytes(data[: len(data) // 2])
    elif damage == "a-flipped-byte":
        kept.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif damage == "another-version":
        monkeypatch.setattr(diskrecords, "code_salt", lambda: "another version")
    elif damage == "a-folder":
        kept.unlink()
        kept.mkdir()
    _edit_and_build(site, passes, trusted=damage is None)


@pytest.mark.parametrize("damage", [None, "garbage", "a-flipped-byte", "gone", "an-older-one"])
def test_a_damaged_or_foreign_render_memory_delta_renders_every_page_again(
    site: Path, monkeypatch: pytest.MonkeyPatch, damage: str | None
) -> None:
    """The changes a build made to the render memory, kept beside its whole (rendermemory.RenderMemory.delta), are
    taken back only as the very bytes that build's record names: else nothing of the memory is trusted."""
    from primer_site.rendering import render, rendermemory

    monkeypatch.setattr(rendermemory, "_DELTA_SHARE", 1)  # a delta however many of the few pages it touches
    monkeypatch.setattr(rendermemory, "_UNREAD_SHARE", 0)
    passes: list[render.RenderPass] = []
    commit = render.RenderPass.commit
    monkeypatch.setattr(render.RenderPass, "commit", lambda self: (passes.append(self), commit(self))[1])
    build(site)
    for words in ("Second words.", "Third words.", "Fourth words."):  # the whole as one text, then two deltas
        (site / "content/a.md").write_text(post("A", date="2026-01-05", body=words))
        build(site)
        if words == "Third words.":
            [delta] = (site / ".primer-cache/builds").glob("*.render-delta-*.bin")
            older = delta.read_bytes()
    [delta] = (site / ".primer-cache/builds").glob("*.render-delta-*.bin")  # the last one's only: the third's gone
    data = delta.read_bytes()
    assert data != older
    if damage == "garbage":
        delta.write_bytes(b"\x00not a delta" * 40)
    elif damage == "a-flipped-byte":
        delta.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif damage == "gone":
        delta.unlink()
    elif damage == "an-older-one":  # sealed, made against the same whole, but not the one the record names
        delta.write_bytes(older)
    _edit_and_build(site, passes, trusted=damage is None)


def test_a_build_killed_before_its_record_leaves_the_last_record_its_delta(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every build wrote its delta under one name: one killed between its delta and its record overwrote the delta
    the last record names, and the next build rendered every page (review of 2026-12-07)."""
    from primer_site.publish import buildrecord
    from primer_site.rendering import render, rendermemory

    monkeypatch.setattr(rendermemory, "_DELTA_SHARE", 1)
    monkeypatch.setattr(rendermemory, "_UNREAD_SHARE", 0)
    passes: list[render.RenderPass] = []
    commit = render.RenderPass.commit
    monkeypatch.setattr(render.RenderPass, "commit", lambda self: (passes.append(self), commit(self))[1])
    build(site)
    for words in ("Second words.", "Third words."):  # the whole as one text, then a delta
        (site / "content/a.md").write_text(post("A", date="2026-01-05", body=words))
        build(site)

    class Killed(BaseException):
        pass

    keep = buildrecord.keep_bytes

    def killed_at_the_record(source: Path, name: str, part: str, data: bytes) -> str | None:
        if part == "record":
            raise Killed
        return keep(source, name, part, data)

    monkeypatch.setattr(buildrecord, "keep_bytes", killed_at_the_record)
    (site / "content/a.md").write_text(post("A", date="2026-01-05", body="Killed words."))
    with pytest.raises(Killed):
        build(site)
    monkeypatch.setattr(buildrecord, "keep_bytes", keep)
    (site / "content/a.md").write_text(post("A", date="2026-01-05", body="Other words."))
    build(site)
    last = passes[-1]
    assert len(last.rendered) < len(last.specs), "every page rendered again"
    cold = build_result(site, output=site.parent / "cold", cache=False)
    assert cold.errors == () and tree_bytes(site.parent / "out") == tree_bytes(site.parent / "cold")
    assert len(list((site / ".primer-cache/builds").glob("*.render-delta-*.bin"))) == 1


def test_only_the_newest_records_are_kept_each_with_its_render_memory(site: Path) -> None:
    """`check` builds into a new folder each time: the records of the newest eight output folders are kept."""
    for number in range(10):
        build(site, output=site.parent / f"out{number}")
    folder = site / ".primer-cache/builds"
    records = {path.name.partition(".")[0] for path in folder.glob("*.record.*")}
    memories = {path.name.partition(".")[0] for path in folder.glob("*.render.*")}
    assert len(records) == 8 and memories == records
    again = build(site, output=site.parent / "out9")
    assert stopped_at_once(again)


def test_site_yaml_saved_after_the_build_read_it_is_read_again_by_the_next(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """site.yaml saved after a build read it and before it took the inputs' stamps for its record, the build held up
    between them past the racy allowance (a laptop's lid closed, a process stopped): the record must not keep the
    new stamp as what that build was made from, or the next build stops at once with the old title for good."""
    import time

    from primer_site.publish import buildrecord

    monkeypatch.setattr(store, "RACY_SECONDS", 0.3)
    build(site)
    time.sleep(0.4)  # every stamp trusted
    take = buildrecord.take_inputs

    def saved_then_taken(*args: object) -> store.BuildInputs:
        (site / "site.yaml").write_text("title: Retitled site\nbase_url: https://example.org/\n", encoding="utf-8")
        time.sleep(0.4)  # held up: the save is no longer recent when the stamps are taken
        return take(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(buildrecord, "take_inputs", saved_then_taken)
    build(site)
    monkeypatch.setattr(buildrecord, "take_inputs", take)
    build(site)
    assert "Retitled site" in (site.parent / "out/index.html").read_text(encoding="utf-8")
