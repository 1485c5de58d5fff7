"""The dev server's assembly after an edit (reassemble.py: only what the edit reaches is made again) is the site a
cold assembly of the same inputs makes, after any edit; and a one-post body edit makes a constant number of parts,
whatever the site's size (counted, never timed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

import primer_site.caches.bodies as bodies_module
import primer_site.commands.build as build_module
import primer_site.site.assemble as assemble_module
from fixture_sites import make_site
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.errors import Problems, SiteError
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.assets import AssetIndex

NOWS = [datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)]
DATES = ["2026-01-05", "2026-02-10", "2026-03-01", "2026-06-10", "2026-07-01"]  # the last two: after a "now"
TITLES = ["Entropy", "Cross-entropy", "Attention $QK^T$", "KL divergence", "Softmax"]
SERIES = ["", "s1", "s2", "Volume Two", "s3"]  # "Volume Two": s2 by title; s3: no file
TAGS = ["[]", "[math]", "[math, attention]", "[alignment]", "[Math]"]  # "Math": a second spelling of "math"
CATEGORIES = ["", "notes", "essays"]
SLUGS = ["", "custom-{n}", "p0"]  # "p0": a URL another post has
SUMMARIES = ["", '"A summary with $x$."', '"Plain summary."']
REFS = [
    "@book{knuth, author={Knuth, Donald}, title={The Art}, year=1968}\n",
    "@book{knuth, author={Knuth, Donald E.}, title={The Art, Revised}, year=1973}\n"
    "@article{turing, author={Turing, Alan}, title={On Computable Numbers}, year=1936}\n",
]
SERIES_FILES = {
    "series/s1.md": [
        "---\ntitle: Volume One\ncollection: shelf\norder: 1\n"
        "macros:\n  \\KL: {tex: 'D', means: divergence, defined: p1.md#part-1}\n---\nAbout one.\n",
        "---\ntitle: Volume One, retitled\ncollection: shelf\norder: 2\nchapters: 12\n---\nAbout one, again.\n",
    ],
    "series/s2.md": [
        "---\ntitle: Volume Two\ncollection: shelf\norder: 2\n---\nAbout two.\n",
        "---\ntitle: Volume Two\nnumber_sections: true\n---\nAbout two [@knuth].\n",
    ],
}
SITE = "title: Reassembled\nbase_url: https://example.org/\nbibliography: content/refs.bib\n"
SITES = [SITE + "language: fr\n", SITE, SITE + "language: de\n"]  # the words made here, in other languages
SHELF = "---\ntitle: The Shelf\nkind: collection\n---\nA shelf.\n"


def body(rng: random.Random, n: int, posts: int) -> str:
    """A post's body: paragraphs, a heading and a labelled equation of its own, links to others' (some missing)."""
    parts = [f"Post {n} says {rng.choice(['hello', 'more', 'something else'])} {rng.randrange(1000)}."]
    parts.append(f"## Part {n}\n\nText under the heading.")
    parts.append(f"$$ x_{{{n}}} = {rng.randrange(9)} $$ (eq:e{n})")
    for _ in range(rng.randrange(3)):
        k = rng.randrange(posts + 1)  # posts + 1: sometimes a post that is not there
        parts.append(
            rng.choice(
                [f"See [](p{k}.md).", f"See [](p{k}.md#eq:e{k}).", f"See [the part](p{k}.md#part-{k}).", "[](#eq:none)"]
            )
        )
    if rng.random() < 0.3:
        parts.append("As [@knuth] says, and [@turing].")
    if rng.random() < 0.2:
        parts.append("Uses $\\KL$ here.")
    return "\n\n".join(parts)


class EditedSite:
    """A fixture site whose posts' front matter and bodies are kept as fields, and written out after each edit."""

    def __init__(self, root: Path, rng: random.Random, posts: int) -> None:
        self.root, self.rng, self.count = root, rng, posts
        self.posts: dict[int, dict[str, str]] = {}
        for n in range(posts):
            self.posts[n] = {
                "title": f"Post {n}",
                "date": DATES[n % 3],
                "series": SERIES[n % 3],
                "chapter": str(n + 1),
                "tags": TAGS[n % 4],
                "category": CATEGORIES[n % 3],
                "body": body(rng, n, posts),
            }
        files = {"site.yaml": SITES[0], "content/refs.bib": REFS[0], "series/shelf.md": SHELF}
        files.update({path: texts[0] for path, texts in SERIES_FILES.items()})
        make_site(root, files)
        for n in self.posts:
            self.write(n)

    def write(self, n: int) -> None:
        fields = self.posts[n]
        lines = ["---", f'title: "{fields["title"]}"', f"date: {fields['date']}"]
        for key in ("series", "chapter", "tags", "category", "slug", "summary", "draft"):
            if fields.get(key):
                lines.append(f"{key}: {fields[key]}")
        if fields.get("broken"):
            lines.append("date: [unclosed")
        text = "\n".join([*lines, "---", fields["body"], ""])
        (self.root / "content" / f"p{n}.md").write_text(text, encoding="utf-8")

    def edit(self) -> str:
        """One edit, chosen at random (body edits most often, as an author's); what it was."""
        rng = self.rng
        kind = rng.choice(
            ["body"] * 8 + ["link"] * 2 + [*_FIELDS, "add", "remove", "series file", "bib", "broken", "site"]
        )
        n = rng.choice(sorted(self.posts))
        fields = self.posts[n]
        if kind == "body":
            fields["body"] = fields["body"].replace("says", "writes", 1) + f"\n\nEdited {rng.randrange(10**6)}."
        elif kind == "link":
            k = rng.choice(sorted(self.posts))
            fields["body"] += rng.choice([f"\n\nSee [](p{k}.md#eq:e{k}).", f"\n\nSee [](p{k}.md#part-{k})."])
        elif kind in _FIELDS:
            choices = _FIELDS[kind]
            fields[kind] = rng.choice(choices).format(n=n) if kind != "draft" else rng.choice(["", "true"])
        elif kind == "add":
            n = max(self.posts) + 1
            self.posts[n] = {"title": f"New {n}", "date": rng.choice(DATES), "body": body(rng, n, self.count)}
        elif kind == "remove" and len(self.posts) > 3:
            del self.posts[n]
            (self.root / "content" / f"p{n}.md").unlink()
            return f"remove p{n}"
        elif kind == "series file":
            path = rng.choice(sorted(SERIES_FILES))
            (self.root / path).write_text(rng.choice(SERIES_FILES[path]), encoding="utf-8")
            return f"{kind} {path}"
        elif kind == "site":
            (self.root / "site.yaml").write_text(rng.choice(SITES), encoding="utf-8")
            return kind
        elif kind == "bib":
            (self.root / "content/refs.bib").write_text(rng.choice(REFS), encoding="utf-8")
            return kind
        elif kind == "broken":
            fields["broken"] = "" if fields.get("broken") else "yes"
        self.write(n)
        return f"{kind} p{n}"


_FIELDS = {
    "title": TITLES,
    "slug": SLUGS,
    "date": DATES,
    "tags": TAGS,
    "series": SERIES,
    "chapter": ["1", "2", "3", "2.1"],
    "category": CATEGORIES,
    "summary": SUMMARIES,
    "draft": ["", "true"],
}


def differences(warm: object, cold: object, where: str = "site") -> list[str]:
    """Where two values of the model differ, down to the fields (for the message of a failed comparison)."""
    if warm == cold:
        return []
    if isinstance(warm, tuple) and isinstance(cold, tuple) and len(warm) == len(cold):
        return [d for i, (a, b) in enumerate(zip(warm, cold, strict=True)) for d in differences(a, b, f"{where}[{i}]")]
    fields = getattr(type(warm), "__dataclass_fields__", None)
    if fields and type(warm) is type(cold):
        return [d for f in fields for d in differences(getattr(warm, f), getattr(cold, f), f"{where}.{f}")]
    return [f"{where}: {warm!r:.300} != {cold!r:.300}"]


def compare_with_cold(monkeypatch) -> dict[str, int]:
    """Make every assembly of the builds that follow also assemble its inputs cold and assert the two agree; counts
    the assemblies that reassembled after an edit ("reassembled") and those that assembled whole ("whole")."""
    counts = {"reassembled": 0, "whole": 0}
    real_assemble, real_reassemble = assemble_module.assemble_site, assemble_module.reassemble

    def counted(parts, last, problems):
        site = real_reassemble(parts, last, problems)
        counts["whole" if site is None else "reassembled"] += 1
        return site

    def both(config, documents, bodies, metas, series_bodies, selection, problems, unreadable, memo, bib, words):
        start = len(problems.items)
        warm = real_assemble(
            config, documents, bodies, metas, series_bodies, selection, problems, unreadable, memo, bib, words
        )
        cold_problems = Problems()
        cold = real_assemble(
            config, documents, bodies, metas, series_bodies, selection, cold_problems, unreadable, None, bib, words
        )
        assert warm == cold, differences(warm, cold)
        assert sorted(problems.items[start:]) == sorted(cold_problems.items)
        return warm

    monkeypatch.setattr(assemble_module, "reassemble", counted)
    monkeypatch.setattr(build_module, "assemble_site", both)
    return counts


@pytest.mark.long
def test_a_warm_assembly_after_any_edit_is_the_cold_assembly_of_the_same_inputs(tmp_path: Path, monkeypatch) -> None:
    rng = random.Random(19)
    site = EditedSite(tmp_path / "site", rng, 12)
    real_assemble = build_module.assemble_site
    counts = compare_with_cold(monkeypatch)
    memory = BuildMemory()
    options = {"source": site.root, "output": tmp_path / "out", "jobs": 1, "cache": False, "fingerprint": False}
    done = []
    for step in range(240):
        what = site.edit() if step else "first"
        now = NOWS[0] if rng.random() < 0.8 else rng.choice(NOWS)  # "now" moving past a post's date, and back
        done.append(f"{what} (now {now:%m-%d})")
        try:
            warm = outcome(BuildOptions(now=now, **options), memory)
        except AssertionError as error:
            raise AssertionError(f"after {done}") from error
        if step % 8 == 7:  # now and then a whole cold build too: the bodies the warm one filled are the same
            fresh = {**options, "output": tmp_path / "cold"}
            with monkeypatch.context() as patch:
                patch.setattr(build_module, "assemble_site", real_assemble)
                assert outcome(BuildOptions(now=now, **fresh)) == warm, done
    # the edits that leave the site's shape as it was (most here) reassembled only what they reach
    assert counts["reassembled"] > 120, counts
    assert counts["whole"] > 30, counts


def outcome(options: BuildOptions, memory: BuildMemory | None = None) -> object:
    """A build's site and warnings, or its errors."""
    try:
        result = build_site(options, memory)
    except SiteError as error:
        return error.diagnostics
    return result.site, sorted(result.warnings)


def body_edit_work(root: Path, posts: int, monkeypatch) -> dict[str, int]:
    """The parts made again (memo misses, by kind) and the memo's lookups in the assembly after one post's body
    edit, on a site of `posts` posts in series of ten with links between neighbours."""
    files = {"series/s0.md": "---\ntitle: S0\n---\nAbout.\n"}
    for n in range(posts):
        link = f"See [](p{n - 1}.md#eq:e{n - 1})." if n else ""
        front = f"series: s{n // 10}\nchapter: {n % 10 + 1}\ntags: [t{n % 5}, all]\ncategory: c{n % 3}\n"
        files[f"content/p{n}.md"] = (
            f"---\ntitle: P{n}\ndate: 2026-01-{n % 28 + 1:02d}\n{front}---\nText {n}.\n\n$$ x $$ (eq:e{n})\n\n{link}\n"
        )
    site = make_site(root, files)
    memory = BuildMemory()
    options = BuildOptions(source=site, output=root / "out", now=NOWS[0], jobs=1, cache=False, fingerprint=False)
    build_site(options, memory)
    edited = site / "content" / f"p{posts // 2}.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Text", "Text edited"), encoding="utf-8")
    work = {"lookups": 0}
    reuse = AssembleMemo.reuse

    def counting(self, kind, name, inputs, make, problems):
        work["lookups"] += 1

        def counted(found):
            work[kind] = work.get(kind, 0) + 1
            return make(found)

        return reuse(self, kind, name, inputs, counted, problems)

    monkeypatch.setattr(AssembleMemo, "reuse", counting)
    for owner, name, key in ((bodies_module, "_theorems", "bodies looked at"), (AssetIndex, "fill", "bodies filled")):
        real = getattr(owner, name)
        monkeypatch.setattr(
            owner, name, lambda *args, real=real, key=key: (work.__setitem__(key, work.get(key, 0) + 1), real(*args))[1]
        )
    result = build_site(options, memory, changed={f"content/p{posts // 2}.md"})
    monkeypatch.undo()
    assert not result.errors
    return work


def test_a_body_edit_makes_and_looks_up_as_many_parts_at_any_site_size(tmp_path: Path, monkeypatch) -> None:
    small, large = (body_edit_work(tmp_path / str(n), n, monkeypatch) for n in (40, 160))
    assert small == large
    # the post; the next chapter, whose link reads it; the one after, whose preview reads that one: their series,
    # their neighbours, their tags ("all" and one each) and categories
    assert small["post"] == 1 and small["links"] == 2 and small["previews"] == 3 and small["series"] == 1, small
    assert small["placed"] == 3 and small["tag"] == 4 and small["category"] == 3, small
    assert small["lookups"] < 50, small
    # of the posts' bodies, the edited post's alone (and the one series file's description is filled)
    assert small["bodies looked at"] == 1 and small["bodies filled"] == 2, small
