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
    "importlib.metadata",  # library versions for the salts: salts.library_version
    "email",  # importlib.metadata's
)

# Loaded by every build before, needed only on some paths (each is imported where it is used): a misspelling's
# suggestion, a wrong date's message, the first KaTeX worker or Pagefind run, the first feed or sitemap made, an SVG
# image's size, the first MathML KaTeX gives (its sanitizer, nh3).
ONLY_SOME_PATHS = (
    "difflib",
    "calendar",
    "subprocess",
    "selectors",
    "xml.etree",
    "xml.parsers.expat",
    "nh3",
)

SCRIPT = """
import json, sys
from primer_site import dataclasscode, regexcode
with dataclasscode.kept_methods() as table, regexcode.kept_patterns():  # as __main__.run imports the CLI
    from primer_site.commands.cli import main
code = main(["build", "--source", sys.argv[1], "--now", sys.argv[2]])
print(json.dumps([code, sorted(sys.modules), table.compiled]))
"""


def build_in_new_process(site: Path, bytecode: Path | None = None) -> list[str]:
    """The modules a `primer-site build` of `site` in a new process has loaded when it ends."""
    return _build(site, bytecode)[0]


def _build(site: Path, bytecode: Path | None = None) -> tuple[list[str], int]:
    """(the modules loaded, the dataclass methods compiled) by a build in a new process; `bytecode`: its
    PYTHONPYCACHEPREFIX, written to (else the environment's)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    if bytecode is not None:
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(site), NOW_ARG], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    code, modules, compiled = json.loads(done.stdout.splitlines()[-1])
    assert code == 0, done.stderr
    return modules, compiled


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == name or m.startswith(name + ".") for name in names)]


def test_a_one_post_edit_in_a_new_process_loads_none_of_the_heavy_modules(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", {f"content/p{i}.md": post(f"P{i}", "2026-01-02", CODE_POST) for i in (1, 2)})
    first = build_in_new_process(site)
    assert "pygments.lexers.python" in first  # a cold build highlights its blocks
    (site / "content/p1.md").write_text(post("P1", "2026-01-02", CODE_POST + "An edit."), encoding="utf-8")
    assert loaded(build_in_new_process(site), NOT_LOADED) == []


def test_a_one_post_edit_in_a_new_process_loads_only_what_it_uses(tmp_path: Path) -> None:
    """A site with math, as the bench's (no SVG, no misspelt name): the edit of one post's last paragraph re-renders
    its pages, keeps its feed and sitemap, and asks KaTeX nothing (its answers are kept); it loads none of the
    modules only other paths need, and compiles no dataclass method (kept from the first build)."""
    body = "First paragraph: the summary, $e^{i\\pi} + 1 = 0$.\n\n## A heading\n\nMore prose, with *emphasis*.\n"
    site = make_site(tmp_path / "site", {f"content/p{i}.md": post(f"P{i}", f"2026-01-0{i}", body) for i in (1, 2, 3)})
    bytecode = tmp_path / "bytecode"
    first, compiled = _build(site, bytecode)
    assert compiled > 300  # every method of the classes a build makes, compiled once
    assert "xml.etree.ElementTree" in first  # the cold build made the feeds and the sitemap
    (site / "content/p2.md").write_text(post("P2", "2026-01-02", body + "\nAn edit.\n"), encoding="utf-8")
    modules, compiled = _build(site, bytecode)
    assert loaded(modules, ONLY_SOME_PATHS) == []
    assert compiled == 0
    html = (site / "public/posts/p2/index.html").read_text(encoding="utf-8")
    assert "An edit." in html  # the edit was built
