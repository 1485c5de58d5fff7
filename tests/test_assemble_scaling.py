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


def assembly_work(root: Path, volumes: int, monkeypatch, part: str) -> tuple[int, int]:
    """(items the memo compares, lines executed in module `part`) in assemble_site's rebuild after one post's
    edit."""
    from datetime import UTC, datetime

    site = notation_site(root, volumes)
    memory = BuildMemory()
    now = datetime.fromisoformat(NOW_TEXT).replace(tzinfo=UTC)
    options = BuildOptions(source=site, output=root / "out", now=now, jobs=1, fingerprint=False)
    build_site(options, memory)
    edited = site / "content" / "v0c2.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("again", "once more"), encoding="utf-8")

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
    assert not result.errors and result.posts == 2 * volumes  # the third chapters are not out yet
    return count, lines


def test_a_rebuild_assembling_many_series_with_notation_is_linear(tmp_path: Path, monkeypatch) -> None:
    # each series' notation rows once read every post of the site (and scanned every scheduled post): quadratic
    sizes = (10, 20, 40)
    counts = [assembly_work(tmp_path / str(n), n, monkeypatch, "notation.py") for n in sizes]
    for measure in (0, 1):  # doubling the site at most doubles the work, give or take a constant start-up
        ratios = [later[measure] / earlier[measure] for earlier, later in itertools.pairwise(counts)]
        assert max(ratios) < 2.3, (measure, counts)
