"""What a build in a new process loads before it knows what it needs: the fixed cost of every `primer-site build`.

A module needed only on some paths (a lexer for a code block that changed, the EPUB writer, package metadata) is
imported where it is used; these tests name the heavy ones a one-post edit must not load, so that none comes back
by an import at the top of a module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fixture_sites import NOW_ARG, SRC, make_site, post

CODE_POST = "Prose.\n\n```python\ndef f(x):\n    return x\n```\n\n```\nplain\n```\n"

# Loaded by a one-post edit before: each is a few hundredths of a second, or (Pygments' lexers) a tenth.
NOT_LOADED = (
    "pygments.lexer",  # and every lexer: kept highlights (caches/highlights.py)
    "pygments.formatters",  # the code styles' CSS is kept too
    "importlib.metadata",  # library versions for the salts: store.library_version
    "email",  # importlib.metadata's
)

SCRIPT = """
import json, sys
from primer_site.commands.cli import main
code = main(["build", "--source", sys.argv[1], "--now", sys.argv[2]])
print(json.dumps([code, sorted(sys.modules)]))
"""


def build_in_new_process(site: Path) -> list[str]:
    """The modules a `primer-site build` of `site` in a new process has loaded when it ends."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(site), NOW_ARG],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0, done.stderr
    return modules


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == name or m.startswith(name + ".") for name in names)]


def test_a_one_post_edit_in_a_new_process_loads_none_of_the_heavy_modules(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {f"content/p{i}.md": post(f"P{i}", "2026-01-02", CODE_POST) for i in (1, 2)})
    first = build_in_new_process(site)
    assert "pygments.lexers.python" in first  # a cold build highlights its blocks
    (site / "content/p1.md").write_text(post("P1", "2026-01-02", CODE_POST + "An edit."), encoding="utf-8")
    assert loaded(build_in_new_process(site), NOT_LOADED) == []
