"""The regex engine's code of the patterns the program's imports compile: kept beside the package's bytecode, and the
very patterns a fresh compile gives (regexcode.py). Each test runs new processes with their own bytecode folder
(PYTHONPYCACHEPREFIX), as a `primer-site build` starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fixture_sites import SRC, damaged_tables, new_process_json

# Every pattern in re's cache after the CLI's imports, by text and flags: whether it equals what re's own compiler
# makes of it now (`==` compares flags, code, groups and text) and what it finds in a probe text; argv[1] "stock":
# the imports without the kept table.
SCRIPT = """
import contextlib, json, re, sys
from re import _compiler
from primer_site import dataclasscode, regexcode

stock = sys.argv[1] == "stock"
with dataclasscode.kept_methods(), (regexcode.kept_patterns() if not stock else contextlib.nullcontext()) as table:
    import primer_site.commands.cli  # what every build imports first
    served_inside = _compiler.compile is not (table and table.stock_compile)
    nested = re.compile(r"(?P<year>\\d{4})-(?P<month>\\d\\d)|x(?i:Y)", re.VERBOSE)  # named groups, inline flags
    made_bytes = re.compile(rb"[\\x00-\\x1f]+")

probe = "2026-06 <p class='x'>A &amp; b</p> \\u00e9\\u200b\\tY xy --- key: value\\n"
patterns = {}
for pattern in list(re._cache.values()):
    if isinstance(pattern, re.Pattern):
        text = probe if isinstance(pattern.pattern, str) else probe.encode()
        unicode = re.UNICODE if isinstance(pattern.pattern, str) else 0
        fresh = _compiler.compile(pattern.pattern, pattern.flags & ~unicode)
        # `==` compares flags, code and text only: the groups, and what each match says of them, too
        found = ([(m.span(), m.lastgroup, m.lastindex, m.groups()) for m in pattern.finditer(text)]
                 if not pattern.flags & re.LOCALE else None)
        same_groups = (pattern.groupindex == fresh.groupindex and pattern.groups == fresh.groups
                       and [m.groups() for m in pattern.finditer(text)] == [m.groups() for m in fresh.finditer(text)])
        patterns[repr((pattern.pattern, pattern.flags))] = [pattern == fresh, same_groups, repr(found)]
print(json.dumps({
    "compiled": None if stock else table.compiled,
    "new_code": None if stock else table.new_code,
    "used": None if stock else len(table.used),
    "path": regexcode.table_path(),
    "patterns": patterns,
    "served_inside": served_inside,
    "restored": _compiler.compile.__module__ == "re._compiler",
    "nested": [nested.match("2026-06").groupdict(), bool(nested.match("xy")), nested == _compiler.compile(
        nested.pattern, nested.flags & ~re.UNICODE)],
    "bytes": made_bytes == _compiler.compile(made_bytes.pattern, made_bytes.flags),
}))
"""


def run(prefix: Path, write: bool = True, stock: bool = False) -> dict:
    """What a new process that imports the CLI finds, with its bytecode (and the table) under `prefix`; `stock`:
    without the kept table."""
    return new_process_json(SCRIPT, prefix, "stock" if stock else "kept", write=write)


def test_a_second_process_compiles_only_the_patterns_whose_text_changes_and_gets_the_same_patterns(
    tmp_path: Path,
) -> None:
    first = run(tmp_path / "cache")
    assert first["compiled"] == first["new_code"] == first["used"] > 100  # PyYAML's, Jinja's, markdown-it's, ours
    assert Path(first["path"]).is_file()
    second = run(tmp_path / "cache")
    # Babel's two patterns joined from a set (another order in each process, the same code): compiled, not kept again
    assert second["compiled"] <= 3
    assert second["new_code"] == 0
    assert second["used"] == first["used"]
    assert second["served_inside"] is True
    assert second["restored"] is True  # re's own compiler is back after the imports
    # every pattern equals what re's compiler makes of its text now, and finds the same in a probe text
    assert len(second["patterns"]) > 100
    assert all(equal and same_groups for equal, same_groups, _ in second["patterns"].values())
    stock = run(tmp_path / "stock", stock=True)["patterns"]
    assert {key: found for key, (_, _, found) in second["patterns"].items() if key in stock} == {
        key: found for key, (_, _, found) in stock.items() if key in second["patterns"]
    }
    assert second["nested"] == [{"year": "2026", "month": "06"}, True, True]
    assert second["bytes"] is True


def test_a_damaged_or_foreign_table_is_ignored_and_written_again(tmp_path: Path) -> None:
    prefix = tmp_path / "cache"
    first = run(prefix)
    table = Path(first["path"])
    good = table.read_bytes()
    for bad in damaged_tables(good, b"pattern code\n"):
        table.write_bytes(bad)
        again = run(prefix)
        assert again["compiled"] == first["used"], "a bad table must not be trusted"
        assert len(again["patterns"]) == len(first["patterns"])
        assert all(equal for equal, _, _ in again["patterns"].values())
        assert run(prefix)["new_code"] == 0


def test_code_the_engine_refuses_is_compiled_again(tmp_path: Path) -> None:
    """A well-formed table whose entry for each pattern the engine refuses (code cut in half: "invalid SRE code"; a
    group count past what it can hold): each pattern is compiled again, and the imports go on."""
    prefix = tmp_path / "cache"
    first = run(prefix)
    path = first["path"]
    for damage in ("code[: len(code) // 2], groups", "code, 10**30"):
        script = (
            "import sys; from primer_site import regexcode as r; from primer_site.keptcode import write_kept\n"
            "t = r.read_table(sys.argv[1])\n"
            "for key, (flags, code, groups, names, by_group) in list(t.items()):\n"
            f"    t[key] = (flags, {damage}, names, by_group)\n"
            "write_kept(sys.argv[1], r._HEADER, t)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        subprocess.run([sys.executable, "-c", script, path], env=env, check=True, timeout=60)
        again = run(prefix)
        assert again["compiled"] == first["used"]
        assert all(equal for equal, _, _ in again["patterns"].values())


def test_nothing_is_written_under_pythondontwritebytecode(tmp_path: Path) -> None:
    prefix = tmp_path / "cache"
    found = run(prefix, write=False)
    assert found["compiled"] > 100
    assert not Path(found["path"]).exists()
    assert run(prefix, write=False)["compiled"] == found["compiled"]


EDGES = """
import re, sys, warnings
from re import _compiler
from primer_site import regexcode


class Text(str):
    pass


warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as warned:
    with regexcode.kept_patterns() as table:
        subclass = re.compile(Text("sub(class)+"))  # a str subclass: re's own compiler (marshal cannot keep it)
        as_text, as_bytes = re.compile("a+b"), re.compile(b"a+b")  # the same text as str and bytes (python -bb)
        nested_set = re.compile("[[:alpha:]]x")  # re warns: "Possible nested set"
        from re._compiler import compile as taken_inside  # a reference to the compiler taken in the block
after = taken_inside("after(the)+block", 0)
print(len([w for w in warned if "nested set" in str(w.message)]), ("after(the)+block", 0) in
      {k[1:]: 1 for k in table.used}, subclass.match("subclassclass").group(1), as_bytes.match(b"aab") is not None)
"""


def test_a_subclass_a_pattern_that_warns_and_a_compiler_taken_inside_the_block_are_re_s_own(tmp_path: Path) -> None:
    """A str subclass compiled during the imports crashed the start (marshal cannot write it); "a" and b"a" shared a
    key (python -bb: BytesWarning); a pattern re warns about warned in the first process only; a reference to the
    compiler taken inside the block served the table after it (review of 2026-12-07)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(SRC), PYTHONPYCACHEPREFIX=str(tmp_path / "cache"))
    for _ in range(2):  # the second process reads the table the first wrote
        done = subprocess.run(
            [sys.executable, "-bb", "-c", EDGES], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["1", "False", "class", "True"]
