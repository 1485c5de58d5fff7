"""The assembly of a build in a new process (commands/build.py: a store for one build) keeps nothing for a later one
and makes each post without a frozen __init__; its site and problems are those of an assembly that keeps everything
(the dev server's), over seeded varied sites. Work is counted over growing sites, never timed."""

from __future__ import annotations

import contextlib
import dataclasses
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

import primer_site.commands.build as build_module
from fixture_sites import build_result, make_site, post
from primer_site.errors import Problems, SiteError
from primer_site.frozen import built, replaced
from primer_site.model import Extra, Heading, Post, PostLink, Series, Taxon
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.postreads import Readers
from test_reassemble import EditedSite, differences

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _site(root: Path, posts: int) -> Path:
    """`posts` posts in series of four, tagged, each linking to the one before it (an equation and a heading)."""
    files = {"series/s0.md": "---\ntitle: Volume 0\n---\nAbout.\n"}
    for n in range(posts):
        text = f"## Part {n}\n\n$$x_{n}$$ (eq:e{n})\n\nSee [](p{max(n - 1, 0)}.md#eq:e{max(n - 1, 0)})."
        front = {"series": f"s{n // 4}", "chapter": n % 4 + 1, "tags": f"[t{n % 3}, all]"}
        files[f"content/p{n}.md"] = post(f"Post {n}", f"2026-01-{n % 28 + 1:02}", text, **front)
    return make_site(root, files)


def _assembly_work(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int, int]:
    """(parts the assemble memos of a build in a new process hold when it ends, who-reads-whom records made, Posts
    made through Post.__init__) for a site of `posts` posts."""
    memos: list[AssembleMemo] = []
    records = inits = 0
    real_init, real_read, real_post_init = AssembleMemo.__init__, Readers.read, Post.__init__

    def init(self: AssembleMemo, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        memos.append(self)

    def read(self: object, *args: object) -> None:
        nonlocal records
        records += 1
        real_read(self, *args)  # type: ignore[arg-type]

    def post_init(self: Post, *args: object, **kwargs: object) -> None:
        nonlocal inits
        inits += 1
        real_post_init(self, *args, **kwargs)

    site = _site(root, posts)
    # built and replaced see Post before its __init__ is wrapped: a wrapped __init__ is not the one @dataclass
    # wrote, which they then call (model._only_fields)
    replaced(built(Post, **{f.name: None for f in dataclasses.fields(Post) if f.default is dataclasses.MISSING}))
    with monkeypatch.context() as patch:
        patch.setattr(AssembleMemo, "__init__", init)
        patch.setattr(Readers, "read", read)
        patch.setattr(Post, "__init__", post_init)
        result = build_result(site)  # no store given: a build as in a new process
    assert result.posts == posts and not result.errors
    return sum(len(m.made) for m in memos), records, inits


def test_a_build_in_a_new_process_keeps_nothing_of_its_assembly_but_who_reads_whom(tmp_path: Path, monkeypatch) -> None:
    # the memo kept every step of every post (~6 parts a post), let go unread when the assembly ended; and each post
    # was made by a frozen __init__ (31 fields set one by one). Who reads whom is recorded once a post and stage
    # (links, previews: postreads.PostReads), for the record's key of each post (lastbuild.post_inputs)
    work = [_assembly_work(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
    assert [kept for kept, _, _ in work] == [0] * 3, work
    assert [records for _, records, _ in work] == [2 * n for n in (8, 16, 32)], work
    assert max(inits for _, _, inits in work) <= 1, work  # model.built's one instance per class and process


def test_the_dev_servers_assembly_still_keeps_its_parts(tmp_path: Path) -> None:
    from primer_site.commands.build import BuildMemory

    memory = BuildMemory()
    build_result(_site(tmp_path / "site", 8), memory)
    memo = memory.slot("assemble", AssembleMemo)
    assert memo.keeps and len(memo.made) > 8 * 4 and memo.last is not None


def test_a_new_processs_assembly_is_the_keeping_assembly_over_varied_sites(tmp_path: Path, monkeypatch) -> None:
    # seeded sites (series with and without files, links between posts and to missing ones, citations, drafts,
    # clashing URLs, tags in two spellings, other languages), each after a few random edits: the site assembled by
    # a memo that keeps nothing equals, field by field, the one a keeping memo makes; so do its problems, in order
    real = build_module.assemble_site
    compared = []

    def both(*args: object) -> object:
        problems, memo = args[6], args[8]
        assert isinstance(memo, AssembleMemo) and not memo.keeps  # the new process's
        start = len(problems.items)  # type: ignore[attr-defined]
        site = real(*args)
        kept = Problems()
        warm = real(*args[:6], kept, args[7], AssembleMemo(), *args[9:])  # type: ignore[arg-type]
        assert site == warm, differences(site, warm)
        assert problems.items[start:] == kept.items  # type: ignore[attr-defined]
        compared.append(len(site.posts))
        return site

    monkeypatch.setattr(build_module, "assemble_site", both)
    for seed in range(24):
        rng = random.Random(seed)
        edited = EditedSite(tmp_path / f"s{seed}", rng, rng.randrange(4, 14))
        for _ in range(rng.randrange(12)):
            edited.edit()
        with contextlib.suppress(SiteError):  # a site an edit broke: its errors came from the compared assembly
            build_result(edited.root, now=NOW)
    assert len(compared) == 24 and sum(compared) > 100, compared


@pytest.mark.parametrize("seed", range(40))
def test_built_makes_the_value_the_dataclass_init_makes(seed: int) -> None:
    rng = random.Random(seed)
    when = datetime(2026, 1, rng.randrange(1, 28), tzinfo=UTC)
    given = {
        "source": f"p{seed}.md",
        "title": rng.choice(["T", "Ümlaut", ""]),
        "date": when,
        "slug": "s",
        "url": "/s/",
        "output_path": "s/index.html",
        "body_html": "<p>x</p>",
        "summary_html": "",
        "summary_text": "",
        "description": "",
        "headings": (Heading(2, "a", "A", "A"),) * rng.randrange(3),
        "has_math": rng.random() < 0.5,
        "word_count": rng.randrange(100),
    }
    optional = {
        "display_equations": 3,
        "updated": when,
        "series": "v",
        "tags": ("a", "b"),
        "extra": Extra.of({"k": [1, {"x": 2}]}),
        "previous": PostLink("P", "/p/", "Chapter 1"),
        "bibtex": "@misc{x}",
    }
    given.update(rng.sample(sorted(optional.items()), rng.randrange(len(optional) + 1)))
    made, expected = built(Post, **given), Post(**given)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert list(vars(made)) == [f.name for f in dataclasses.fields(Post)] == list(vars(expected))
    assert replaced(made, slug="t") == replaced(expected, slug="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.slug = "t"  # type: ignore[misc]
    assert built(Taxon, name="n", slug="n", url="/n/") == Taxon("n", "n", "/n/")
    with pytest.raises(TypeError):
        built(Taxon, name="n", slug="n")  # a field missing: as the class's __init__ says
    with pytest.raises(TypeError):
        built(Taxon, name="n", slug="n", url="/n/", nope=1)
    assert built(Series, **{f.name: None for f in dataclasses.fields(Series)[:8]}).posts == ()


def test_a_files_math_identity_is_the_same_for_equal_values_made_apart() -> None:
    # marshal's default format writes a back-reference for an object met twice, or held elsewhere: the identity
    # would then follow the objects' sharing and reference counts, not their values (a kept verdict never found)
    from primer_site.math.mathsources import _identity

    shared = "content/p1.md"
    one = _identity("salt", "key", (shared, "T", None, 2, 1), ((r"\R", r"\mathbb{R}"),), (), (shared, shared))
    apart = "".join(["content/", "p1.md"])
    two = _identity("salt", "key", (apart, "T", None, 2, 1), ((r"\R", r"\mathbb{R}"),), (), ("content/p1.md", apart))
    assert one == two
    assert len({one, _identity("salt", "key", (shared, "T", None, 2, 2), (), (), ())}) == 2
    assert _identity("", "", 1) != _identity("", "", True) != _identity("", "", [1])  # types told apart, as repr did


def test_a_posts_math_identity_follows_values_not_the_sharing_of_objects() -> None:
    # a post's identity is made in two steps (what its series shares, then its own part): each keeps the rule
    from primer_site.math.mathsources import _identity_prefix, _post_identity

    shared = "content/p1.md"
    apart = "".join(["content/", "p1.md"])
    macros = ((r"\R", r"\mathbb{R}"),)
    macros_apart = (("".join(["\\", "R"]), r"\mathbb{R}"),)
    one = _post_identity(_identity_prefix("salt", macros, (shared, shared)), "key", (shared, "T", None, 2, 1), ())
    two = _post_identity(
        _identity_prefix("salt", macros_apart, ("content/p1.md", apart)), "key", (apart, "T", None, 2, 1), ()
    )
    assert one == two
    base = _identity_prefix("salt", macros, (shared,))
    variants = {
        _post_identity(base, "key", (shared, "T", None, 2, 1), ()),
        _post_identity(_identity_prefix("salt2", macros, (shared,)), "key", (shared, "T", None, 2, 1), ()),
        _post_identity(_identity_prefix("salt", (), (shared,)), "key", (shared, "T", None, 2, 1), ()),
        _post_identity(base, "key2", (shared, "T", None, 2, 1), ()),
        _post_identity(base, "key", (shared, "T", None, 2, 1), ((1, 2),)),
    }
    assert len(variants) == 5  # each part changes it


def test_a_permalink_naming_any_of_the_date_parts_spells_each() -> None:
    from itertools import combinations

    from primer_site.urls import expand_permalink

    date = datetime(2026, 3, 4, tzinfo=UTC)
    fields = {"slug": "s", "year": "2026", "month": "03", "day": "04"}
    for count in range(4):
        for parts in combinations(("year", "month", "day"), count):
            for pattern in (
                "/" + "".join(f"{{{p}}}/" for p in parts) + "{slug}/",
                "/{{year}}/" + "-".join(f"{{{p}}}" for p in parts) + "{slug}.html",
            ):
                assert expand_permalink(pattern, "s", date) == pattern.format_map(fields), pattern


def test_the_linked_urls_of_a_body_are_the_patterns_matches_whatever_the_body() -> None:
    # the preview links' first look (the literal every match begins with) never hides a match
    from primer_site.site.previews import _LINK, _linked_urls

    rng = random.Random(7)
    pieces = ['<a href="', "/", "/p1/", "#", "eq:1", '"', "<a ", 'href="/x/#y"', "<p>", " ", "é"]
    for _ in range(3000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randrange(12)))
        assert _linked_urls(body) == tuple(dict.fromkeys(m.group(1) for m in _LINK.finditer(body))), body


def _young_at_assembly(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch, memory: object = None) -> int:
    """How many objects the collector's youngest generation counts when the assembly starts, in a build of a site of
    `posts` posts with the collector paused (so that the count only grows): the objects a collection there would
    walk."""
    import gc

    seen: list[int] = []
    real = build_module.assemble_site

    def counted(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_count()[0])
        return real(*args, **kwargs)

    site = _site(root, posts)
    with monkeypatch.context() as patch:
        patch.setattr(build_module, "assemble_site", counted)
        gc.disable()
        try:
            result = build_result(site, memory)  # type: ignore[arg-type]
        finally:
            gc.enable()
    assert result.posts == posts and not result.errors and len(seen) == 1
    return seen[0]


def test_a_build_of_one_command_leaves_what_it_read_out_of_the_collectors_walks(tmp_path: Path, monkeypatch) -> None:
    # __main__ froze what the imports made: the process is one command's, and what its read stage made (documents,
    # bodies: acyclic, living to the end) is frozen too, so no young collection walks it again (at 1,000 posts the
    # one collection of a one-edit build, ~20-30 ms, walked ~50,000 of them during the assembly). Counted over
    # growing sites: main's young count at the assembly grew with the posts read (~75 objects a post)
    import gc

    gc.freeze()  # as __main__.run does after its imports
    try:
        young = [_young_at_assembly(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
        assert max(young) < 400 and young[2] - young[0] < 100, young
    finally:
        gc.unfreeze()


def test_a_build_in_a_longer_process_freezes_nothing(tmp_path: Path, monkeypatch) -> None:
    # the dev server's builds, and a build called by a program that did not freeze its start-up (these tests): a
    # frozen object in a reference cycle would be kept to the process's end
    import gc

    from primer_site.commands.build import BuildMemory

    assert gc.get_freeze_count() == 0
    _young_at_assembly(tmp_path / "new", 8, monkeypatch)
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        _young_at_assembly(tmp_path / "served", 8, monkeypatch, BuildMemory())
        assert gc.get_freeze_count() <= frozen  # a frozen object let go leaves the count: it only grows by a freeze
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("seed", range(12))
def test_each_posts_macros_merged_once_per_series_are_the_rule_s(tmp_path: Path, monkeypatch, seed: int) -> None:
    # the assembly and the math check merge the site's and a series file's macros once per series file for posts
    # without macros of their own: over seeded sites (site, series and front-matter macros, redefined names, posts
    # with no series, a collection), every post's macros, in its Post and in what the check
    # reads, are seriesfile.post_macros of that post
    from primer_site.math.mathsources import math_sources
    from primer_site.sources.seriesfile import SeriesNames, post_macros

    rng = random.Random(seed)
    names = [r"\R", r"\E", r"\KL", r"\V"]

    def macros(indent: str) -> str:
        chosen = rng.sample(names, rng.randrange(len(names) + 1))
        return "".join(f"\n{indent}'{n}': '{rng.choice(['x', 'y', 'z'])}'" for n in chosen)

    site_macros = macros("  ")
    settings = f"title: T\nbase_url: https://example.org/\n{'macros:' + site_macros if site_macros else ''}\n"
    files: dict[str, str | None] = {"site.yaml": settings}
    for s in range(3):
        own = macros("  ")
        kind = "collection" if s == 2 else "series"
        files[f"series/v{s}.md"] = f"---\ntitle: Volume {s}\nkind: {kind}\n{'macros:' + own if own else ''}\n---\n"
    for n in range(rng.randrange(6, 14)):
        front: dict[str, object] = {}
        if rng.random() < 0.8:
            front["series"] = rng.choice(["v0", "v1"])  # v2: a collection, whose macros no post has
            front["chapter"] = n + 1
        own = macros("  ") if n else "\n  '\\R': 'w'"  # the first post redefines one of the site's
        if own and (not n or rng.random() < 0.4):
            front["macros"] = own
        files[f"content/p{n}.md"] = post(f"Post {n}", f"2026-01-{n + 1:02}", f"$x_{n}$ and $$y_{n}$$", **front)
    site = make_site(tmp_path, files)
    seen: list[tuple] = []
    real = build_module.assemble_site

    def kept(*args: object, **kwargs: object) -> object:
        made = real(*args, **kwargs)
        seen.append((args, made))
        return made

    monkeypatch.setattr(build_module, "assemble_site", kept)
    assert not build_result(site).errors
    assert len(seen) == 1
    (config, documents, bodies, metas, series_bodies, *_), made = seen[0]
    series = SeriesNames(metas)  # type: ignore[arg-type]
    rule = {d.source: post_macros(config.macros, series.meta_of(d.series), d) for d in documents}  # type: ignore[union-attr, attr-defined]
    assert {p.source: p.macros for p in made.posts} == {p.source: rule[p.source] for p in made.posts}  # type: ignore[attr-defined]
    checked = math_sources(config, documents, bodies, metas, series_bodies)  # type: ignore[arg-type]
    assert {s.source: s.macros for s in checked if s.source in rule} == rule
    assert any(d.macros for d in documents)  # type: ignore[attr-defined]


def _new_process_work(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """(keep() calls of the assembly, documents alive when the pages are rendered) in a build in a new process of a
    site of `posts` posts, with what came before it frozen as `python -m primer_site` freezes its imports (so that
    the build freezes its read stage too). Documents are counted by weak reference: the collector's list of objects
    leaves out frozen ones."""
    import gc
    import weakref

    import primer_site.site.assemble as assemble_module

    calls = 0
    alive: list[int] = []
    read: list[weakref.ref] = []
    real_keep, real_render, real_read = assemble_module.keep, build_module.render_site, build_module._read

    def counted_keep(*args: object) -> object:
        nonlocal calls
        calls += 1
        return real_keep(*args)  # type: ignore[arg-type]

    def reading(*args: object, **kwargs: object) -> object:
        found = real_read(*args, **kwargs)
        read.extend(weakref.ref(document) for document in found[0][0])  # type: ignore[index]
        return found

    def render(*args: object, **kwargs: object) -> object:
        gc.collect()
        alive.append(sum(1 for ref in read if ref() is not None))
        return real_render(*args, **kwargs)

    site = _site(root, posts)
    with monkeypatch.context() as patch:
        patch.setattr(assemble_module, "keep", counted_keep)
        patch.setattr(build_module, "render_site", render)
        patch.setattr(build_module, "_read", reading)
        gc.freeze()
        try:
            result = build_result(site)
        finally:
            gc.unfreeze()
    assert len(read) == posts
    assert result.posts == posts and not result.errors
    return calls, alive[0]


def test_a_build_in_a_new_process_copies_no_document_and_keeps_no_parts_problems(tmp_path: Path, monkeypatch) -> None:
    # main copied every document without its Markdown for the page owners (who read only its key lines), and kept
    # each part's problems apart (a collector and a dict entry per post and stage) for a next assembly that a
    # new process never makes: counted at 8, 16 and 32 posts, main gave (47, 8), (83, 16), (155, 32)
    work = [_new_process_work(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
    assert work == [(0, 0)] * 3, work


def _per_post_work(root: Path, posts: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """What the assembly of a build in a new process does per post, counted for a site of `posts` posts: chapter
    numbers compared or hashed in Python, problem collectors made, comparisons of a post's date with "now", summaries
    searched for tags, and file names searched for a leading date."""
    import primer_site.errors as errors_module
    import primer_site.site.assemblyparts as parts_module
    import primer_site.urls as urls_module
    from primer_site.model import ChapterNumber
    from primer_site.site.series import Selection

    counts = dict.fromkeys(("chapter calls", "collectors", "now compared", "tag searches", "date prefix searches"), 0)

    def counting(name: str, real: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            counts[name] += 1
            return real(*args, **kwargs)  # type: ignore[operator]

        return call

    class Now(datetime):
        def __lt__(self, other: object) -> bool:  # `date > now` asks the subclass first
            counts["now compared"] += 1
            return datetime.__lt__(self, other)  # type: ignore[operator]

        def __gt__(self, other: object) -> bool:
            counts["now compared"] += 1
            return datetime.__gt__(self, other)  # type: ignore[operator]

    class Searched:
        def __init__(self, pattern: object, name: str) -> None:
            self.pattern, self.name = pattern, name

        def sub(self, *args: object) -> object:
            counts[self.name] += 1
            return self.pattern.sub(*args)  # type: ignore[attr-defined]

    real_assemble = build_module.assemble_site

    def assemble(*args: object) -> object:
        selection = Selection(Now.fromtimestamp(NOW.timestamp(), UTC), args[5].drafts, args[5].future)  # type: ignore[attr-defined]
        with monkeypatch.context() as patch:
            for name in ("__eq__", "__lt__", "__hash__"):
                patch.setattr(ChapterNumber, name, counting("chapter calls", getattr(ChapterNumber, name)))
            patch.setattr(errors_module.Problems, "__init__", counting("collectors", errors_module.Problems.__init__))
            patch.setattr(parts_module, "TAG", Searched(parts_module.TAG, "tag searches"))
            patch.setattr(urls_module, "_DATE_PREFIX", Searched(urls_module._DATE_PREFIX, "date prefix searches"))
            return real_assemble(*args[:5], selection, *args[6:])

    files = {"series/s0.md": "---\ntitle: Volume 0\n---\nAbout.\n"}
    for n in range(posts):
        front = {"series": f"s{n // 4}", "chapter": n % 4 + 1, "summary": f"Plain words {n}."}
        files[f"content/p{n}.md"] = post(f"Post {n}", f"2026-01-{n % 28 + 1:02}", f"Text {n}.", **front)
    site = make_site(root, files)
    with monkeypatch.context() as patch:
        patch.setattr(build_module, "assemble_site", assemble)
        result = build_result(site, now=NOW)
    assert result.posts == posts and not result.errors
    return counts


def test_a_new_processs_assembly_does_per_post_only_what_each_post_needs(tmp_path: Path, monkeypatch) -> None:
    # main, at 8/16/32 posts: chapter numbers compared and hashed through their dataclass methods in Python while
    # chapters were sorted and labelled (28/62/118 calls); a collector made for each post placed and each series
    # (12/22/42); each post's date compared with "now" twice (16/32/64); each summary without a tag searched for
    # tags (8/16/32), each file name without a leading digit searched for a leading date (8/16/32)
    work = [_per_post_work(tmp_path / str(n), n, monkeypatch) for n in (8, 16, 32)]
    assert [w["chapter calls"] for w in work] == [0, 0, 0], work
    assert len({w["collectors"] for w in work}) == 1, work  # as many at 32 posts as at 8
    assert [w["now compared"] for w in work] == [8, 16, 32], work
    assert [(w["tag searches"], w["date prefix searches"]) for w in work] == [(0, 0)] * 3, work


@pytest.mark.parametrize("seed", range(8))
def test_the_per_post_shortcuts_give_what_the_full_rules_give(seed: int) -> None:
    # each shortcut of a post's assembly against the rule it stands for, over seeded values: the sort key of chapters,
    # a permalink that names no part of the date, a summary without a tag, a file name without a leading date
    import html as html_module
    import re

    from primer_site.model import ChapterNumber
    from primer_site.site.postlinks import TAG
    from primer_site.site.series import _chapter_order
    from primer_site.urls import expand_permalink, slug_from_filename, slugify

    rng = random.Random(seed)
    numbers = ["0", "1", "01", "2", "02", "10", "1.1", "1.10", "1.01", "3.0", "3", "12", "2.5.1"]
    posts = [
        built(Post, source=f"p{rng.randrange(40)}.md", chapter=ChapterNumber(rng.choice(numbers)), **_fields())
        for _ in range(rng.randrange(2, 30))
    ]
    assert sorted(posts, key=_chapter_order) == sorted(posts, key=lambda p: (p.chapter, p.source))
    date = datetime(2026, rng.randrange(1, 13), rng.randrange(1, 29), tzinfo=UTC)
    for pattern in ["/posts/{slug}/", "/{year}/{month}/{day}/{slug}/", "/{{year}}/{slug}/", "/p/{slug}.html"]:
        fields = {"slug": "s", "year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}"}
        assert expand_permalink(pattern, "s", date) == pattern.format_map(fields)
    alphabet = "ab <>/&;#1-_é٣"
    for _ in range(50):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        shortcut = html_module.unescape(TAG.sub("", text) if "<" in text else text).strip()
        assert shortcut == html_module.unescape(TAG.sub("", text)).strip()
        stem = rng.choice(["", "2024-01-02-", "٢٠٢٤-01-02_", "x2024-01-02-"]) + text
        assert slug_from_filename(stem) == slugify(re.sub(r"^\d{4}-\d{2}-\d{2}[-_]", "", stem))


def _fields() -> dict[str, object]:
    """A Post's other required fields, with placeholder values."""
    required = [f.name for f in dataclasses.fields(Post) if f.default is dataclasses.MISSING]
    return {name: None for name in required if name not in ("source", "chapter")}
