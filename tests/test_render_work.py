"""The render pass's work follows the change, not the site: after a one-post edit, a rebuild in the same process
asks about the pages that read what changed and fingerprints what is not the very same value as before, however
many posts the site has; and whatever it skips, it gives the bytes a build from nothing gives."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from fixture_sites import NOW, count_post_wholes, make_site, post, tree_bytes
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.rendering import render


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[render.RenderPass]:
    """Every render pass committed during a test, in order."""
    seen: list[render.RenderPass] = []
    original = render.RenderPass.commit

    def commit(self: render.RenderPass) -> None:
        seen.append(self)
        original(self)

    monkeypatch.setattr(render.RenderPass, "commit", commit)
    return seen


def _post(n: int, body: str = "") -> str:
    text = f"First paragraph of post {n}.\n\n## Part\n\nMore of post {n}.{body}"
    return post(f"Post {n}", f"2026-01-{1 + n % 28:02d}", text, tags=f"[t{n % 3}]")


def _site(root: Path, posts: int) -> Path:
    files = {f"content/p{n:03d}.md": _post(n) for n in range(posts)}
    return make_site(root, files)


def _options(site: Path, output: Path) -> BuildOptions:
    return BuildOptions(source=site, output=output, now=NOW, jobs=1, fingerprint=False)


def _work_of_one_edit(root: Path, posts: int, passes: list[render.RenderPass]) -> tuple[int, int, set[str]]:
    """(pages asked whether stale, values fingerprinted, pages rendered) by the rebuild after one post's edit."""
    site = _site(root, posts)
    memory = BuildMemory()
    build_site(_options(site, root / "out"), memory)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    result = build_site(_options(site, root / "out"), memory)
    assert "An appended paragraph." in (root / "out/posts/p001/index.html").read_text(encoding="utf-8")
    last = passes[-1]
    return last.asked, last.renderer.fingerprints.worked_out, set(result.rendered)


def test_a_one_post_edit_asks_and_fingerprints_as_much_in_a_big_site_as_in_a_small_one(
    tmp_path: Path, passes: list[render.RenderPass]
) -> None:
    small = _work_of_one_edit(tmp_path / "small", 12, passes)
    big = _work_of_one_edit(tmp_path / "big", 48, passes)
    assert small[2] == big[2] and "posts/p001/index.html" in big[2]
    assert big[0] == small[0] == len(big[2])  # asked about exactly the pages made again: not every page
    assert big[1] == small[1]  # the edited post's fields and what read it, not every post's or every lookup's


def _edit(rng: random.Random, site: Path, step: int) -> None:
    """One author's change, chosen by `rng`: a body, a title, a tag, a post added or removed, a template, a
    setting."""
    posts = sorted((site / "content").glob("*.md"))
    kind = rng.choice(["body", "body", "title", "tag", "add", "remove", "template", "setting"])
    if kind == "remove" and len(posts) > 2:
        rng.choice(posts).unlink()
        return
    if kind == "add" or not posts:
        (site / f"content/new{step}.md").write_text(post(f"New {step}", "2026-01-15", "Fresh."), encoding="utf-8")
        return
    target = rng.choice(posts)
    n = step + 100
    if kind == "body":
        target.write_text(post(target.stem, "2026-01-10", f"Body {step}.", tags="[t1]"), encoding="utf-8")
    elif kind == "title":
        target.write_text(post(f"Title {step}", "2026-01-11", "Same body."), encoding="utf-8")
    elif kind == "tag":
        target.write_text(post(target.stem, "2026-01-12", "Tagged.", tags=f"[t{n % 4}]"), encoding="utf-8")
    elif kind == "template":
        template = "{% extends 'base.html' %}{% block main %}<p>T" + str(step) + " {{ post.title }}</p>{% endblock %}\n"
        make_site(site, {"templates/post.html": template})
    else:
        make_site(site, {"site.yaml": f"title: Site {step}\nbase_url: https://example.org/\ndescription: D{step}\n"})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_warm_rebuild_after_each_edit_gives_the_bytes_of_a_cold_build(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    site = _site(tmp_path / "site", 6)
    memory = BuildMemory()
    build_site(_options(site, tmp_path / "warm"), memory)
    for step in range(10):
        _edit(rng, site, step)
        build_site(_options(site, tmp_path / "warm"), memory)
        cold = tmp_path / f"cold{step}"
        build_site(_options(site, cold), None)
        assert tree_bytes(tmp_path / "warm") == tree_bytes(cold), f"step {step}"


def test_a_whole_fingerprint_spells_each_field_as_a_field_fingerprint_does(tmp_path: Path) -> None:
    """A model object's whole fingerprint takes a short cut for plain fields: its text is still, field by field,
    the text each field's own fingerprint is made of (so the two never disagree on what changed)."""
    import dataclasses

    from primer_site.caches import fingerprints

    site = make_site(
        tmp_path / "site",
        {
            "content/a.md": post("A", "2026-01-02", "## One\n\nText $x$.", tags="[t, u]", summary="'Short.'"),
            "content/b.md": post("B", "2026-01-03", "Words.", series="s", chapter=1),
            "series/s.md": "---\ntitle: S\n---\nA series.\n",
        },
    )
    result = build_site(_options(site, tmp_path / "out"), None)
    assert result.site is not None
    key_of = {id(p): "post:" + p.source for p in result.site.posts}
    for value in (*result.site.posts, *result.site.series, *result.site.tags):
        whole: list[str] = []
        fingerprints._dataclass(value, key_of, whole)
        one_by_one = [type(value).__qualname__ + "("]
        for field in dataclasses.fields(value):
            fingerprints._canonical(getattr(value, field.name), key_of, one_by_one)
        assert "".join(whole) == "".join(one_by_one) + ")"


def _new_process_work(root: Path, posts: int, passes: list[render.RenderPass]) -> tuple[int, int, int, set[str]]:
    """(values fingerprinted one by one, whole objects fingerprinted, model objects, pages rendered) by a build in a
    new process after one post's edit."""
    site = _site(root, posts)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    build_site(options, None)
    last = passes[-1]
    fingerprints = last.renderer.fingerprints
    return len(fingerprints.known), len(fingerprints.wholes), len(fingerprints.index.objects), set(last.rendered)


def test_a_new_process_fingerprints_fields_only_of_the_objects_that_changed(
    tmp_path: Path, passes: list[render.RenderPass]
) -> None:
    """In a new process nothing is the same object as in the last build: each model object is fingerprinted whole
    once (a pass over the site, in proportion to it), and field by field only where that differs."""
    small = _new_process_work(tmp_path / "small", 12, passes)
    big = _new_process_work(tmp_path / "big", 48, passes)
    assert small[3] == big[3] and "posts/p001/index.html" in big[3]
    assert small[0] == big[0]  # the fields of what changed, and the lookups templates made: not every post's
    assert (small[1], big[1]) == (small[2], big[2])  # one whole fingerprint per model object


def _new_process_specs_work(root: Path, posts: int, passes: list[render.RenderPass], monkeypatch) -> tuple[int, int]:
    """(times the page list was worked out from the site, specs made from the kept list) by a build in a new
    process after one post's edit."""
    from primer_site.rendering import pagerenderer, storedspecs

    site = _site(root, posts)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    worked_out, made = [], []
    page_specs, spec_of = pagerenderer.page_specs, getattr(storedspecs, "_spec_of", None)
    monkeypatch.setattr(pagerenderer, "page_specs", lambda *a: worked_out.append(1) or page_specs(*a))
    monkeypatch.setattr(storedspecs, "_spec_of", lambda row: made.append(1) or spec_of(row), raising=False)
    build_site(options, None)
    monkeypatch.undo()
    assert "An appended paragraph." in (root / "out/posts/p001/index.html").read_text(encoding="utf-8")
    return len(worked_out), len(made)


def test_a_new_process_takes_the_page_list_from_the_last_build_when_nothing_it_read_changed(
    tmp_path: Path, passes: list[render.RenderPass], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list of outputs (path, template, context of every page) is kept on disk with what working it out read:
    a body edit in a new process works none of it out and makes only the specs of the pages it renders again."""
    small = _new_process_specs_work(tmp_path / "small", 12, passes, monkeypatch)
    big = _new_process_specs_work(tmp_path / "big", 48, passes, monkeypatch)
    assert small == big == (0, len(passes[-1].rendered))


def _new_process_edit(rng: random.Random, site: Path, step: int, calm: bool = False) -> str:
    """One author's change between two builds in new processes, chosen by `rng`; among them, changes to what the
    page list reads (a date, which orders the feeds; a tag; a post added or gone; a series; the page size).
    `calm`: most of them a paragraph appended (the page list stays, the render memory keeps a delta)."""
    posts = sorted((site / "content").glob("*.md"))
    kinds = ["body", "title", "date", "tag", "add", "remove", "series", "setting", "template", "authors", "paragraph"]
    kind = "paragraph" if calm and rng.random() < 0.7 else rng.choice(kinds)
    target = rng.choice(posts)
    if kind == "paragraph":  # the edit the benchmark makes: nothing the page list reads
        target.write_text(target.read_text(encoding="utf-8") + f"\n\nA paragraph {step}.\n", encoding="utf-8")
    elif kind == "remove" and len(posts) > 2:
        target.unlink()
    elif kind == "add":
        text = post(f"New {step}", f"2026-02-{1 + step % 27:02d}", f"Fresh {step}.", tags="[t9]")
        (site / f"content/new{step}.md").write_text(text, encoding="utf-8")
    elif kind == "body":
        target.write_text(post(target.stem, "2026-01-10", f"Body {step}.", tags="[t1]"), encoding="utf-8")
    elif kind == "title":
        target.write_text(post(f"Title {step}", "2026-01-10", f"Body {step}."), encoding="utf-8")
    elif kind == "date":
        target.write_text(post(target.stem, f"2026-03-{1 + step % 27:02d}", "Dated."), encoding="utf-8")
    elif kind == "tag":
        target.write_text(post(target.stem, "2026-01-12", "Tagged.", tags=f"[t{step % 4}, u]"), encoding="utf-8")
    elif kind == "series":
        text = post(target.stem, "2026-01-13", "Serial.", series="vol", chapter=1 + step)  # one post a chapter
        make_site(site, {"series/vol.md": f"---\ntitle: Volume {step % 2}\n---\nA volume.\n"})
        target.write_text(text, encoding="utf-8")
    elif kind == "authors":
        target.write_text(post(target.stem, "2026-01-14", "Cited.", authors=f"[Ann {step}]"), encoding="utf-8")
    elif kind == "template":
        template = "{% extends 'base.html' %}{% block main %}<p>T" + str(step) + " {{ post.title }}</p>{% endblock %}\n"
        make_site(site, {"templates/post.html": template})
    else:
        settings = f"title: Site {step}\nbase_url: https://example.org/\npaginate: {2 + step % 3}\n"
        make_site(site, {"site.yaml": settings})
    return kind


@pytest.mark.parametrize(("seed", "deltas"), [(4, False), (5, False), (6, False), (7, True), (8, True), (9, True)])
def test_builds_in_new_processes_after_each_edit_give_the_bytes_of_a_cold_build(
    tmp_path: Path, seed: int, deltas: bool, passes: list[render.RenderPass], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a build in a new process takes from the last one's record (the page list, the render memory's whole
    and the delta beside it, among it) never gives a page other than a build from nothing, over a seeded sequence
    of edits. With `deltas`, the render memory's changes are kept beside its whole however many pages they touch
    and it is never renumbered, so that a site of 8 posts writes deltas, and takes them back, along the way."""
    from primer_site import store
    from primer_site.rendering import rendermemory

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
    if deltas:
        monkeypatch.setattr(rendermemory, "_DELTA_SHARE", 1)
        monkeypatch.setattr(rendermemory, "_UNREAD_SHARE", 0)
    applied: list[bool] = []
    take_delta = rendermemory.RenderMemory.applied
    monkeypatch.setattr(
        rendermemory.RenderMemory, "applied", lambda self, data: applied.append(take_delta(self, data)) or applied[-1]
    )
    rng = random.Random(seed)
    site = _site(tmp_path / "site", 8)
    options = BuildOptions(source=site, output=tmp_path / "warm", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    kept = 0
    for step in range(12):
        kind = _new_process_edit(rng, site, step, calm=deltas)
        build_site(options, None)
        kept += passes[-1].reused_specs
        cold = tmp_path / f"cold{step}"
        build_site(BuildOptions(source=site, output=cold, now=NOW, jobs=1, fingerprint=False, cache=False), None)
        assert tree_bytes(tmp_path / "warm") == tree_bytes(cold), f"step {step}: {kind}"
    assert 0 < kept < 12  # the kept list was taken, and worked out again, along the way
    assert all(applied)  # each delta taken back onto the very memory it was made against
    assert len(applied) >= 3 if deltas else not applied  # (without: 8 posts renumber or list anew each time)


def _render_memory_bytes(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> int:
    """The bytes of render memory a build in a new process writes after one post's edit."""
    from primer_site.publish import buildrecord

    site = _site(root, posts)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    written: list[int] = []
    keep = buildrecord.keep_bytes

    def counted(site: Path, name: str, part: str, data: bytes) -> str | None:
        if part.startswith("render"):
            written.append(len(data))
        return keep(site, name, part, data)

    (site / "content/p002.md").write_text(_post(2, "\n\nAn appended paragraph."), encoding="utf-8")
    build_site(options, None)  # the first build in a new process writes the memory whole, as one text
    monkeypatch.setattr(buildrecord, "keep_bytes", counted)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    build_site(options, None)
    monkeypatch.undo()
    assert "An appended paragraph." in (root / "out/posts/p001/index.html").read_text(encoding="utf-8")
    return sum(written)


def test_a_new_process_writes_as_much_render_memory_after_a_one_post_edit_in_a_big_site_as_in_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a one-post edit the render memory on disk gets what changed (the pages made again, the fingerprints
    that moved), beside its whole, not the whole again: the bytes written do not grow with the site (the whole is
    ~4 times larger at 48 posts than at 12)."""
    small = _render_memory_bytes(tmp_path / "small", 12, monkeypatch)
    big = _render_memory_bytes(tmp_path / "big", 48, monkeypatch)
    assert 0 < big < 1.5 * small, (small, big)


def test_a_page_that_reads_what_a_post_lacks_is_not_rendered_again_by_every_other_new_process(
    tmp_path: Path, passes: list[render.RenderPass]
) -> None:
    """A template asking `post.subtitle is defined` reads a missing value, whose fingerprint was 8 bytes in the
    render memory's 16-byte slots: every later slot moved, the memory read back was refused, and a build in a new
    process after a one-post edit rendered every page (review of 2026-12-07)."""
    from primer_site import store

    template = (
        "{% extends 'base.html' %}{% block main %}{% if post.subtitle is defined %}s{% endif %}"
        "<h1>{{ post.title }}</h1>{% endblock %}\n"
    )
    site = make_site(
        tmp_path / "site", {"templates/post.html": template, **{f"content/p{n:03d}.md": _post(n) for n in range(8)}}
    )
    options = BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
        build_site(options, None)
        for n in range(3):
            target = site / f"content/p{n:03d}.md"
            target.write_text(_post(n, f"\n\nParagraph {n}."), encoding="utf-8")
            build_site(options, None)
            last = passes[-1]
            assert len(last.rendered) < len(last.specs), f"edit {n}: every page rendered again"


def _series_site(root: Path, volumes: int) -> Path:
    """`volumes` series of three chapters each (the third a section, 1.1: not counted as a chapter), and a post in
    none."""
    files = {
        f"series/vol{v}.md": f"---\ntitle: Volume {v}\nplanned_chapters: 4\n---\nA volume.\n" for v in range(volumes)
    }
    for v in range(volumes):
        for c, chapter in enumerate(("1", "2", "2.1")):
            text = f"First paragraph of {v}.{c}.\n\nMore."
            day = f"2026-01-{1 + (3 * v + c) % 28:02d}"
            files[f"content/v{v}c{c}.md"] = post(f"Chapter {v}.{c}", day, text, series=f"vol{v}", chapter=chapter)
    files["content/p001.md"] = _post(1)
    return make_site(root, files)


def _series_work(root: Path, volumes: int, passes: list[render.RenderPass]) -> tuple[int, set[str]]:
    """(fields and properties of model objects fingerprinted one by one, pages rendered) by a build in a new
    process after one post's edit, in a site of `volumes` series."""
    site = _series_site(root, volumes)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    build_site(options, None)
    assert "An appended paragraph." in (root / "out/posts/p001/index.html").read_text(encoding="utf-8")
    fingerprints = passes[-1].renderer.fingerprints
    return sum(what in fingerprints.index.objects for what, _ in fingerprints.known), set(passes[-1].rendered)


def test_a_new_process_works_out_no_property_of_a_series_whose_posts_are_as_they_were(
    tmp_path: Path, passes: list[render.RenderPass]
) -> None:
    """A series' pages read its properties (chapters published, planned), worked out from its posts: in a new
    process, when the series and every post it names have the whole fingerprint they had, none is worked out
    again, however many series the site has (main: four values per series)."""
    small = _series_work(tmp_path / "small", 3, passes)
    big = _series_work(tmp_path / "big", 9, passes)
    assert small[1] == big[1] and "posts/p001/index.html" in big[1]
    assert small[0] == big[0]


def _series_edit(rng: random.Random, site: Path, step: int) -> str:
    """A change that a series' properties see while the series itself names the same posts: a chapter made a
    section or back, a post moved to the future (scheduled) or back, the planned count; or a paragraph."""
    posts = sorted((site / "content").glob("v*.md"))
    target = rng.choice(posts)
    volume, chapter = target.stem[1], int(target.stem[3]) + 1
    kind = rng.choice(["section", "chapter", "future", "planned", "paragraph", "title"])
    text = f"Body {step}."
    if kind == "section":
        target.write_text(post(target.stem, "2026-01-09", text, series=f"vol{volume}", chapter=f"1.{chapter}"))
    elif kind == "chapter":
        target.write_text(post(target.stem, "2026-01-09", text, series=f"vol{volume}", chapter=chapter + 4))
    elif kind == "future":
        target.write_text(post(target.stem, "2027-01-09", text, series=f"vol{volume}", chapter=chapter + 4))
    elif kind == "planned":
        make_site(site, {f"series/vol{volume}.md": f"---\ntitle: Volume {volume}\nplanned_chapters: {step}\n---\nA.\n"})
    elif kind == "title":
        target.write_text(post(f"Retitled {step}", "2026-01-09", text, series=f"vol{volume}", chapter=chapter))
    else:
        target.write_text(target.read_text(encoding="utf-8") + f"\n\nA paragraph {step}.\n", encoding="utf-8")
    return kind


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_builds_in_new_processes_after_series_edits_give_the_bytes_of_a_cold_build(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The properties of a series skipped when it and all it names are as they were (ledger.changes): over a seeded
    sequence of edits that change what those properties count, each build in a new process gives the bytes of a
    build from nothing."""
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
    rng = random.Random(seed)
    site = _series_site(tmp_path / "site", 3)
    options = BuildOptions(source=site, output=tmp_path / "warm", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    for step in range(10):
        kind = _series_edit(rng, site, step)
        build_site(options, None)
        cold = tmp_path / f"cold{step}"
        build_site(BuildOptions(source=site, output=cold, now=NOW, jobs=1, fingerprint=False, cache=False), None)
        assert tree_bytes(tmp_path / "warm") == tree_bytes(cold), f"step {step}: {kind}"


def _after_one_edit(root: Path, posts: int, counting: Callable[[pytest.MonkeyPatch], None]) -> None:
    """A site of `posts` posts built, then one post edited and the site built again as a new process builds it,
    with `counting`'s patches for that build only (undone on their own: the test's and its fixtures' stay)."""
    site = _site(root, posts)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    (site / "content/p001.md").write_text(_post(1, "\n\nAn appended paragraph."), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        counting(patch)
        build_site(options, None)
    assert "An appended paragraph." in (root / "out/posts/p001/index.html").read_text(encoding="utf-8")


def _pages_unpacked(root: Path, posts: int, passes: list[render.RenderPass]) -> int:
    """How many pages' kept reads (four bytes a number, as read from disk) a build in a new process makes into
    numbers after one post's edit."""
    from primer_site.rendering import pagerecords

    unpacked: list[bytes] = []
    original = pagerecords.unpack
    before = len(passes)
    _after_one_edit(
        root,
        posts,
        lambda patch: patch.setattr(pagerecords, "unpack", lambda data: unpacked.append(data) or original(data)),
    )
    assert len(passes) > before  # the pass read below is this build's
    kept = [known.packed for known in passes[-1].memory.records.values() if known.packed is not None]
    return sum(any(data is packed for data in unpacked) for packed in kept)


def test_a_new_process_makes_numbers_of_the_reads_of_no_page_it_keeps(
    tmp_path: Path, passes: list[render.RenderPass], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages a one-edit build keeps are found by looking for the changed numbers' bytes in each page's kept
    reads: none of them is made into numbers, however many pages the site has (main: every page's, at load)."""
    small = _pages_unpacked(tmp_path / "small", 12, passes)
    big = _pages_unpacked(tmp_path / "big", 48, passes)
    assert small == big == 0


def test_a_memory_read_from_disk_finds_the_readers_of_changed_numbers_exactly_as_its_numbers_say() -> None:
    """RenderMemory.readers, for a memory read from disk, looks for each number's four bytes in the pages' kept
    reads laid end to end, where one may also appear across two numbers or two pages (0x00000100 then 0x00000001
    holds the bytes of 0x00000001 one place on): over seeded pages and numbers, it always finds the pages whose
    numbers hold one, and only those; so does a page recorded since, in this process."""
    from array import array

    from primer_site.rendering.pagerecords import PageRecord
    from primer_site.rendering.pagerecords import pack as _packed
    from primer_site.rendering.rendermemory import RenderMemory

    rng = random.Random(19)

    def number() -> int:  # mostly zero bytes, as the numbers of a small ledger are: what straddles most
        return rng.choice((0, 1, 2, 3, 255)) << rng.choice((0, 8, 16, 24)) | rng.choice((0, 0, 1))

    straddling = 0
    for _ in range(300):
        memory, numbers = RenderMemory(), {}
        for page in range(rng.randrange(0, 12)):
            reads = array("I", sorted({number() for _ in range(rng.randrange(0, 6))}))
            kept = rng.random() < 0.9  # else recorded in this process
            numbers[f"p{page}"] = reads
            record = PageRecord(None, b"s" * 16, None if kept else reads, b"d" * 16, _packed(reads) if kept else None)
            memory.records[f"p{page}"] = record
        laid = b"".join(_packed(reads) for reads in numbers.values())
        for _ in range(5):
            wanted = {number() for _ in range(rng.randrange(1, 4))}
            expected = {path for path, reads in numbers.items() if not wanted.isdisjoint(reads)}
            assert memory.readers(wanted, indexed=False) == expected, (numbers, wanted)
            straddling += sum(laid.count(_packed(array("I", [n]))) for n in wanted) > sum(
                list(reads).count(n) for reads in numbers.values() for n in wanted
            )
    assert straddling > 20  # the case the place check is for was met


def _wholes_worked_for_one_edit(root: Path, posts: int) -> int:
    """The posts whose whole fingerprint a build in a new process works out after one post's edit, in a site of
    `posts` posts."""
    counted: list[list[str]] = []
    _after_one_edit(root, posts, lambda patch: counted.append(count_post_wholes(patch)))
    return len(counted[0])


def test_a_one_edit_build_in_a_new_process_works_out_as_many_posts_whole_fingerprints_in_a_big_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post made from the very inputs of the last build's has the whole fingerprint kept with them
    (lastbuild.post_inputs): after one post's edit, the same number worked out at 8, 16 and 32 posts (before: all)."""
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps
    counts = [_wholes_worked_for_one_edit(tmp_path / f"s{n}", n) for n in (8, 16, 32)]
    assert counts[0] == counts[1] == counts[2] == 1, counts
