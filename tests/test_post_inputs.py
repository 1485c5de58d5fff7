"""A post made from the very inputs of the last build's (lastbuild.post_inputs) has its whole fingerprint taken from
the build's record, not worked out again (buildrecord.PreviousBuild.vouch): over seeded edits of everything a post
is assembled from, each build in a new process gives the bytes of a build from nothing; and a keep trusted without
its inputs would not."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from fixture_sites import NOW, make_site, post, posts_fingerprinted, tree_bytes
from primer_site.commands.build import BuildOptions, build_site
from primer_site.errors import SiteError
from primer_site.publish import buildrecord

_SERIES = {"a": 4, "b": 3}
_KEPT = [f"content/{s}{i}.md" for s, n in _SERIES.items() for i in range(1, n + 1)] + ["content/x1.md"]


def _body(step: int, other: str, url: str = "", far: str = "") -> str:
    """A body with a heading and a theorem to preview, a link to another post's heading (by its file), one written
    as a URL (previews find their target by URL), and one in the part a preview copies (to `far`)."""
    there = f", see [there]({other}#part)" if other else ""
    linked = f" and [as a URL]({url})" if url else ""
    after = f", as in [far]({far})" if far else ""
    return (
        f"Intro {step}{there}{linked}.\n\n## Part {step} {{#part}}\n\n"
        f"After the part {step}{after}.\n\n::: theorem {{#thm:sum}} Sum {step}\nIt holds {step}.\n:::\n"
    )


def _site(root: Path) -> Path:
    files: dict[str, str | None] = {
        "site.yaml": "title: Test site\nbase_url: https://example.org/\nauthor: Ann\n",
        **{f"series/{s}.md": f"---\ntitle: Series {s}\n---\nSeries {s}.\n" for s in _SERIES},
    }
    for s, n in _SERIES.items():
        for i in range(1, n + 1):
            day = f"2026-01-{2 * i + (s == 'b'):02d}"
            # a's posts link to the next in a ring, and preview b's theorems by URL only; b's link to no b, their
            # parts (which previews copy) to an a
            if s == "a":
                body = _body(i, f"a{i % n + 1}.md", url=f"/posts/b{i % 3 + 1}/#thm:sum")
            else:
                body = _body(i, "", far=f"a{i}.md")
            files[f"content/{s}{i}.md"] = post(f"Post {s}{i}", day, body, series=s, chapter=i, tags="[t1]")
    files["content/x1.md"] = post("Post x1", "2026-01-20", _body(0, "b1.md", "/posts/b2/#part"), tags="[t2]")
    return make_site(root, files)


def _edit(rng: random.Random, site: Path, step: int) -> tuple[str, datetime | None]:
    """One seeded change to what posts are assembled from, and "now" if the change is to it."""
    posts = sorted(p.relative_to(site).as_posix() for p in site.glob("content/*.md"))
    target = rng.choice(posts)
    path = site / target
    text = path.read_text(encoding="utf-8")
    head, _, body = text.partition("\n---\n")
    kinds = "body title summary date future now series chapter tags slug draft link url theorem part site add remove"
    kind = rng.choice([*kinds.split(), "series file"])

    def front(key: str, value: str | None) -> None:
        lines = [line for line in head.split("\n") if not line.startswith(f"{key}:")]
        if value is not None:
            lines.append(f"{key}: {value}")
        path.write_text("\n".join(lines) + "\n---\n" + body, encoding="utf-8")

    now = None
    if kind == "body":
        path.write_text(text + f"\nA paragraph {step}.\n", encoding="utf-8")
    elif kind == "title":
        front("title", f"Retitled {step}")
    elif kind == "summary":
        front("summary", f"A summary {step}.")
    elif kind == "date":
        front("date", f"2026-01-{rng.randint(1, 28):02d}")
    elif kind == "future":
        front("date", "2026-07-01")
    elif kind == "now":
        now = datetime(2026, 1, rng.randint(1, 28), tzinfo=NOW.tzinfo) if rng.random() < 0.7 else NOW
    elif kind == "series":  # a chapter of its own there: two posts with one chapter in a series is an error
        head = "\n".join(line for line in head.split("\n") if not line.startswith("chapter:"))
        front("series", rng.choice([*_SERIES, "c"]) + f"\nchapter: {10 + step}")
    elif kind == "chapter":
        front("chapter", str(rng.choice([rng.randint(1, 4), 10 + step])))
    elif kind == "tags":
        front("tags", rng.choice(["[t1]", "[t2, t3]", "[]"]))
    elif kind == "slug":
        front("slug", rng.choice([f"moved-{step}", "a1-b", None]))  # a URL that previews by URL find, or lose
    elif kind == "draft":  # of a post no other links to (a link to a draft is an error)
        drafts = [p for p in posts if p not in _KEPT] + ["content/x1.md"]
        path = site / rng.choice(drafts)
        text = path.read_text(encoding="utf-8")
        head, _, body = text.partition("\n---\n")
        front("draft", rng.choice(["true", "false"]))
    elif kind == "link":
        other = rng.choice(_KEPT).removeprefix("content/")
        path.write_text(text + f"\nAlso [see]({other}#part).\n", encoding="utf-8")
    elif kind == "url":
        slug = rng.choice(_KEPT).removeprefix("content/").removesuffix(".md")
        path.write_text(text + f"\nAlso [see](/posts/{slug}/#thm:sum).\n", encoding="utf-8")
    elif kind == "theorem":
        path.write_text(text.replace("It holds", f"It holds, {step},"), encoding="utf-8")
    elif kind == "part":
        path.write_text(text.replace("After the part", f"After the part, {step},"), encoding="utf-8")
    elif kind == "series file":
        name = rng.choice(list(_SERIES))
        make_site(site, {f"series/{name}.md": f"---\ntitle: Series {name} {step}\nauthors: [Bo]\n---\nSeries.\n"})
    elif kind == "site":
        make_site(site, {"site.yaml": f"title: Site {step}\nbase_url: https://example.org/\nauthor: Cy{step}\n"})
    elif kind == "add":
        other = rng.choice(_KEPT).removeprefix("content/")
        extra = rng.choice([{"series": "a", "chapter": 7}, {"series": "b", "chapter": 1}, {}])
        make_site(site, {f"content/new{step}.md": post(f"New {step}", "2026-01-07", _body(step, other), **extra)})
    else:
        added = [p for p in posts if p not in _KEPT]
        if added:
            (site / rng.choice(added)).unlink()
    return kind, now


def _outcome(site: Path, output: Path, now: datetime, cache: bool) -> dict[str, bytes] | str:
    """The bytes a build writes, or its error."""
    options = BuildOptions(source=site, output=output, now=now, jobs=1, fingerprint=False, cache=cache)
    try:
        build_site(options, None)
    except SiteError as error:
        return str(error)
    return tree_bytes(output)


def _differential(root: Path, seed: int, steps: int) -> list[str]:
    """The steps of a seeded sequence of edits after which a build in a new process (a fresh memory, the record
    and caches on disk) did not give what a build from nothing gives."""
    rng = random.Random(seed)
    site = _site(root / "site")
    now = NOW
    assert not isinstance(_outcome(site, root / "warm", now, True), str)
    wrong = []
    for step in range(steps):
        before = _files(site)
        kind, moved = _edit(rng, site, step)
        now = moved or now
        warm = _outcome(site, root / "warm", now, True)
        cold = _outcome(site, root / f"cold{step}", now, False)
        if warm != cold:
            wrong.append(f"step {step}: {kind}")
        if isinstance(cold, str):  # an edit that made the site wrong (a post scheduled that others link to): undone
            _restore(site, before)
    return wrong


def _files(site: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in site.rglob("*") if p.is_file() and ".primer-cache" not in p.parts}


def _restore(site: Path, files: dict[Path, bytes]) -> None:
    """The site's files as `files` holds them (those that differ written again, those added removed)."""
    for path, data in _files(site).items():
        if path not in files:
            path.unlink()
        elif data != files[path]:
            path.write_bytes(files[path])
    for path, data in files.items():
        if not path.exists():
            path.write_bytes(data)


@pytest.fixture
def trusted_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", -1e9)  # files edited milliseconds apart: trust their stamps


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_builds_in_new_processes_after_edits_of_what_posts_are_made_from_give_the_bytes_of_a_cold_build(
    tmp_path: Path, seed: int, trusted_stamps: None
) -> None:
    """Each part of a post's inputs left out of its digest alone (the shared files, "now", its own file, its
    series', the posts it links to, those its previews find by URL, those its previews' targets link to) makes one of
    these seeds fail (the last: seed 3)."""
    assert _differential(tmp_path, seed, 24) == []


def test_the_differential_sees_a_post_vouched_for_without_its_inputs(
    tmp_path: Path, trusted_stamps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The differential above can fail: with every kept post taken as made from the same inputs, whatever its inputs
    now, some build gives other bytes than a cold one."""

    def vouch(self: buildrecord.PreviousBuild, inputs: dict[str, tuple[bytes, bool]]) -> None:
        kept = self.record.posts if self.record is not None else None
        original(
            self,
            {
                key: (kept[key][0] if kept and key in kept else digest, trusted)
                for key, (digest, trusted) in inputs.items()
            },
        )

    original = buildrecord.PreviousBuild.vouch
    monkeypatch.setattr(buildrecord.PreviousBuild, "vouch", vouch)
    assert _differential(tmp_path, 1, 24)


def test_a_post_saved_just_before_a_build_is_worked_out_and_the_others_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post's inputs are kept for the next build when each of their stamps is trusted, post by post: a post saved
    a moment before a build (its stamp too recent to tell a second save in the same clock tick) has its whole
    worked out again next time; the others are taken from the record (a record kept whole only when every stamp
    is trusted would keep none: the benchmark of one edit builds right after it)."""
    import time

    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.5)
    files = {f"content/p{n}.md": post(f"Post {n}", f"2026-01-{n + 1:02d}", f"Body {n}.") for n in range(12)}
    site = make_site(tmp_path / "site", files)
    options = BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    time.sleep(0.6)  # every file's stamp now trusted
    (site / "content/p1.md").write_text(post("Post 1", "2026-01-02", "Body 1, again."), encoding="utf-8")
    build_site(options, None)  # p1's stamp not trusted yet
    (site / "content/p2.md").write_text(post("Post 2", "2026-01-03", "Body 2, again."), encoding="utf-8")
    with posts_fingerprinted() as worked:
        build_site(options, None)
    assert sorted(worked) == ["content/p1.md", "content/p2.md"]
    assert "Body 2, again." in (tmp_path / "out/posts/p2/index.html").read_text(encoding="utf-8")


def _chained(root: Path, posts: int) -> Path:
    """`posts` posts, each with a theorem that cites the theorem of the one before (a reference: its text is that
    theorem's label), as chapters of a primer cite earlier ones."""
    files = {}
    for n in range(1, posts + 1):
        cites = f" By [](p{n - 1:03d}.md#thm:s)." if n > 1 else ""
        body = f"Intro {n}.\n\n::: theorem {{#thm:s}} Step {n}\nIt holds {n}.{cites}\n:::\n"
        files[f"content/p{n:03d}.md"] = post(f"Post {n}", f"2026-01-{n % 28 + 1:02d}", body)
    return make_site(root, files)


def _wholes_worked_after_an_edit(root: Path, posts: int) -> list[str]:
    """The posts whose whole fingerprint a build in a new process works out after the first post's edit."""

    site = _chained(root / "site", posts)
    options = BuildOptions(source=site, output=root / "out", now=NOW, jobs=1, fingerprint=False, cache=True)
    build_site(options, None)
    first = site / "content/p001.md"
    first.write_text(first.read_text(encoding="utf-8") + "\nAn appended paragraph.\n", encoding="utf-8")
    with posts_fingerprinted() as worked:
        build_site(options, None)
    return sorted(worked)


def test_an_edit_works_out_the_posts_whose_page_shows_it_not_every_post_a_chain_of_citations_reaches(
    tmp_path: Path, trusted_stamps: None
) -> None:
    """A post is made from the posts its body links to (a reference's text is the target's label) and from the
    elements its previews copy (with the references in them, made from their own targets): two steps, never a
    third. In a site whose every post cites the one before, an edit of the first works out the first, the second
    (which cites it) and the third (whose preview of the second's theorem shows that citation), at 8, 16 and 32
    posts; not every post down the chain (which also made a one-edit build's key quadratic in the posts)."""
    for posts in (8, 16, 32):
        worked = _wholes_worked_after_an_edit(tmp_path / f"s{posts}", posts)
        assert worked == ["content/p001.md", "content/p002.md", "content/p003.md"], (posts, worked)


def test_a_preview_shows_the_label_of_a_post_two_steps_away_as_a_cold_build_does(
    tmp_path: Path, trusted_stamps: None
) -> None:
    """p003's preview of p002's theorem holds p002's reference to p001's theorem, whose label is p001's: a theorem
    put before it in p001 (its number 2, not 1) changes p003's page, though p003 does not link to p001."""
    site = _chained(tmp_path / "site", 3)
    _outcome(site, tmp_path / "warm", NOW, True)
    first = site / "content/p001.md"
    first.write_text(
        first.read_text(encoding="utf-8").replace("Intro 1.", "::: theorem\nFirst.\n:::"), encoding="utf-8"
    )
    warm = _outcome(site, tmp_path / "warm", NOW, True)
    assert not isinstance(warm, str), warm
    assert '#thm:s">Theorem 2</a>' in warm["posts/p003/index.html"].decode().partition('class="previews"')[2]
    assert warm == _outcome(site, tmp_path / "cold", NOW, False)


def test_a_post_saved_while_a_build_reads_is_built_as_saved_by_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post saved after the build took the inputs' stamps (store.take_inputs, for its record) and before it read
    the post: that build gives the site as it was or as it is now, never a mix; the record keeps the stamp taken
    before the save, so the next build in a new process works the post out again and gives a cold build's bytes."""
    import time

    from primer_site import store

    monkeypatch.setattr(store, "RACY_SECONDS", 0.3)
    site = _chained(tmp_path / "site", 4)
    build_site(BuildOptions(source=site, output=tmp_path / "out", now=NOW, jobs=1, fingerprint=False), None)
    time.sleep(0.4)  # every stamp trusted
    before = _outcome(site, tmp_path / "before", NOW, False)
    second = site / "content/p002.md"
    saved = second.read_text(encoding="utf-8").replace("It holds 2.", "It holds 2, saved while a build read.")
    take = buildrecord.take_inputs

    def then_saved(*args: object) -> store.BuildInputs:
        inputs = take(*args)  # type: ignore[arg-type]
        second.write_text(saved, encoding="utf-8")
        return inputs

    monkeypatch.setattr(buildrecord, "take_inputs", then_saved)
    during = _outcome(site, tmp_path / "out", NOW, True)
    monkeypatch.setattr(buildrecord, "take_inputs", take)
    after = _outcome(site, tmp_path / "after", NOW, False)
    assert during in (before, after)
    time.sleep(0.4)  # the saved post's stamp trusted too
    assert _outcome(site, tmp_path / "out", NOW, True) == after
    assert "saved while a build read" in after["posts/p003/index.html"].decode()  # type: ignore[index]


def test_a_file_put_in_the_output_folder_stops_a_build_with_the_last_ones_inputs_as_it_stops_one_without_a_record(
    tmp_path: Path, trusted_stamps: None
) -> None:
    """A file the build did not write, put in the output folder after it, is an error of the next build (the
    folder is replaced whole: output.foreign_entries), whether or not its inputs are the last build's: a build that
    finds them the same (PreviousBuild.same_site) must not write nothing and exit as if the folder held the site
    alone, publishing the stray file, where a build without the record (the cache removed) stops."""
    site = _site(tmp_path / "site")
    out = tmp_path / "out"
    assert not isinstance(_outcome(site, out, NOW, True), str)
    (out / "stray.txt").write_text("not the site's\n", encoding="utf-8")
    without_record = _outcome(site, out, NOW, False)
    assert isinstance(without_record, str) and "stray.txt" in without_record, without_record
    assert _outcome(site, out, NOW, True) == without_record


@pytest.mark.parametrize("search", [False, True])
def test_a_file_put_in_the_output_folder_stops_a_build_that_writes_nothing_new(
    tmp_path: Path, trusted_stamps: None, search: bool
) -> None:
    """The same with an input saved again as it was (its stamp moved, its bytes not): the build finds every page as
    the last one left it and writes none, and must still stop on the file it did not write. Both writers: in place
    (write.py looked for foreign files only when it had something to write), and staged, which a site with a
    finishing step (the search index) uses (staging._nothing_to_write did not look)."""
    site = _site(tmp_path / "site")
    if search:
        with (site / "site.yaml").open("a", encoding="utf-8") as settings:
            settings.write("search: true\n")
    out = tmp_path / "out"
    assert not isinstance(_outcome(site, out, NOW, True), str)
    (out / "stray.txt").write_text("not the site's\n", encoding="utf-8")
    first = site / "content/a1.md"
    first.write_bytes(first.read_bytes())
    without_record = _outcome(site, out, NOW, False)
    assert isinstance(without_record, str) and "stray.txt" in without_record, without_record
    assert _outcome(site, out, NOW, True) == without_record
