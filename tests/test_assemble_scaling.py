"""A preview's assembly after one edit does work in proportion to the site, never to its square: counted (items the
assemble memo compares, Python lines executed by a part), never timed, over sites of growing size."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import primer_site.commands.build as build_module
from fixture_sites import make_site, post
from primer_site.commands.build import BuildMemory, BuildOptions, build_site
from primer_site.site.assemblememo import AssembleMemo

NOW_TEXT = "2026-06-01"


def notation_site(root: Path, volumes: int) -> Path:
    """`volumes` series, each with a notation entry, two chapters out and one scheduled (after NOW)."""
    files: dict[str, str | None] = {}
    for v in range(volumes):
        files[f"series/v{v}.md"] = (
            f"---\ntitle: Volume {v}\nmacros:\n"
            f"  \\KL: {{tex: 'D', means: divergence, defined: v{v}c1.md#kl}}\n---\nAbout.\n"
        )
        files[f"content/v{v}c1.md"] = post(
            f"V{v} one", "2026-01-01", series=f"v{v}", chapter=1, body="## KL\n\n$\\KL$."
        )
        files[f"content/v{v}c2.md"] = post(f"V{v} two", "2026-01-02", series=f"v{v}", chapter=2, body="$\\KL$ again.")
        files[f"content/v{v}c3.md"] = post(f"V{v} three", "2027-01-03", series=f"v{v}", chapter=3, body="Later.")
    return make_site(root, files)


def collection_site(root: Path, collections: int) -> Path:
    """`collections` collections of two series, each series with one chapter."""
    files: dict[str, str | None] = {}
    for c in range(collections):
        files[f"series/c{c}.md"] = f"---\ntitle: Collection {c}\nkind: collection\n---\nAbout.\n"
        for v in range(2):
            files[f"series/c{c}v{v}.md"] = f"---\ntitle: C{c} V{v}\ncollection: c{c}\norder: {v}\n---\nAbout.\n"
            files[f"content/c{c}v{v}.md"] = post(f"C{c} V{v}", "2026-01-01", series=f"c{c}v{v}", chapter=1)
    files["content/v0c2.md"] = post("Edited", "2026-01-02", body="Once again.")
    return make_site(root, files)


def unfiled_site(root: Path, chapters: int) -> Path:
    """Twenty series files, and `chapters` posts of a series named "Volume Zeroo" (no file: close to "Volume Zero")."""
    files: dict[str, str | None] = {}
    for v, name in enumerate(["Zero", *(f"Extra {n}" for n in range(19))]):
        files[f"series/s{v}.md"] = f"---\ntitle: Volume {name}\n---\nAbout.\n"
    for c in range(chapters):
        files[f"content/u{c}.md"] = post(f"U{c}", "2026-01-01", series="Volume Zeroo", chapter=c + 1)
    files["content/v0c2.md"] = post("Edited", "2026-01-02", body="Once again.")
    return make_site(root, files)


def references_site(root: Path, equations: int) -> Path:
    """One post of `equations` labelled equations, each referred to once from the post itself."""
    body = "".join(f"$$x_{{{k}}}$$ (eq:e{k})\n\n" for k in range(equations))
    body += " ".join(f"See [](#eq:e{k})." for k in range(equations))
    return make_site(root, {"content/v0c2.md": post("Edited", "2026-01-02", body="Once again.\n\n" + body)})


def assembly_work(root: Path, volumes: int, monkeypatch, part: str, make=notation_site) -> tuple[int, int]:
    """(items the memo compares, lines executed in module `part`) in assemble_site's rebuild after one post's
    edit, assembling the whole site (as after an edit of its shape: reassemble.py's fallback) with a warm memo."""
    from datetime import UTC, datetime

    site = make(root, volumes)
    memory = BuildMemory()
    now = datetime.fromisoformat(NOW_TEXT).replace(tzinfo=UTC)
    options = BuildOptions(source=site, output=root / "out", now=now, jobs=1, fingerprint=False)
    build_site(options, memory)
    edited = site / "content" / "v0c2.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("again", "once more"), encoding="utf-8")

    memory.slot("assemble", AssembleMemo).last = None  # the whole assembly, not only what the edit reaches
    count = lines = 0
    reuse = AssembleMemo.reuse

    def counting_reuse(self, kind, name, inputs, make, problems):
        nonlocal count
        count += sum(len(x) if isinstance(x, tuple) else 1 for x in inputs)
        return reuse(self, kind, name, inputs, make, problems)

    assemble = build_module.assemble_site

    def traced(*args, **kwargs):
        def trace(frame, event: str, arg: object) -> Callable | None:
            nonlocal lines
            if event == "line" and frame.f_code.co_filename.endswith(part):
                lines += 1
            return trace

        sys.settrace(trace)
        try:
            return assemble(*args, **kwargs)
        finally:
            sys.settrace(None)

    with monkeypatch.context() as patch:
        patch.setattr(AssembleMemo, "reuse", counting_reuse)
        patch.setattr(build_module, "assemble_site", traced)
        result = build_site(options, memory, changed={"content/v0c2.md"})
    assert not result.errors
    return count, lines


def test_a_rebuild_assembling_many_series_with_notation_is_linear(tmp_path: Path, monkeypatch) -> None:
    # each series' notation rows once read every post of the site (and scanned every scheduled post): quadratic
    sizes = (10, 20, 40)
    counts = [assembly_work(tmp_path / str(n), n, monkeypatch, "notation.py") for n in sizes]
    for measure in (0, 1):  # doubling the site at most doubles the work, give or take a constant start-up
        ratios = [later[measure] / earlier[measure] for earlier, later in itertools.pairwise(counts)]
        assert max(ratios) < 2.3, (measure, counts)


def test_a_rebuild_assembling_many_collections_is_linear(tmp_path: Path, monkeypatch) -> None:
    # each collection's volumes were found by a scan of every series: quadratic in the number of collections
    sizes = (10, 20, 40)
    counts = [assembly_work(tmp_path / str(n), n, monkeypatch, "site/series.py", collection_site) for n in sizes]
    ratios = [later[1] / earlier[1] for earlier, later in itertools.pairwise(counts)]
    assert max(ratios) < 2.3, counts


def test_a_series_named_without_a_file_is_matched_against_the_files_once_not_once_per_chapter(
    tmp_path: Path, monkeypatch
) -> None:
    # every chapter of a series without a file was compared with every series file's name (difflib): posts x files
    sizes = (10, 40)
    counts = [assembly_work(tmp_path / str(n), n, monkeypatch, "difflib.py", unfiled_site) for n in sizes]
    assert counts[1][1] < 1.2 * counts[0][1], counts


def test_resolving_a_posts_references_to_its_many_equations_is_linear(tmp_path: Path, monkeypatch) -> None:
    # each reference's text looked its label up by a scan of the target's labels: references x labels
    sizes = (50, 100, 200)
    counts = [assembly_work(tmp_path / str(n), n, monkeypatch, "syntax/markdown.py", references_site) for n in sizes]
    counts = [
        (a, b + c)
        for (a, b), (_, c) in zip(
            counts,
            [assembly_work(tmp_path / f"p{n}", n, monkeypatch, "site/postlinks.py", references_site) for n in sizes],
            strict=True,
        )
    ]
    ratios = [later[1] / earlier[1] for earlier, later in itertools.pairwise(counts)]
    assert max(ratios) < 2.3, counts
