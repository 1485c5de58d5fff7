"""Module-level patterns compiled on first use (lazyregex.py): the same answers as the compiled pattern, compiled
once, and none of the package's own patterns hides a mistake until a build first uses it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from primer_site import lazyregex
from primer_site.lazyregex import CompiledPattern, LazyPattern, lazy_compile

PACKAGE = Path(lazyregex.__file__).resolve().parent
CASES = [
    (r"(?P<word>\w+)-(\d+)", 0, ["a-1 b-22", "", "--", "é-3 x-y-4"]),
    (r"^(\d{4})-(\d\d)$", re.MULTILINE, ["2026-12\n2025-01", "1-2"]),
    (r"<!--.*?-->", re.DOTALL, ["a<!--\n-->b<!-- c -->", "<!--"]),
]


def _span(match: re.Match[str] | None) -> tuple[int, int] | None:
    return None if match is None else match.span()


def _marked(match: re.Match[str]) -> str:
    return f"<{match.group(0)}>"


@pytest.mark.parametrize(("pattern", "flags", "texts"), CASES)
def test_a_lazy_pattern_answers_as_the_compiled_one(pattern: str, flags: int, texts: list[str]) -> None:
    lazy, compiled = lazy_compile(pattern, flags), re.compile(pattern, flags)
    assert lazy.pattern == compiled.pattern
    for text in texts:
        assert _span(lazy.match(text)) == _span(compiled.match(text))
        assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
        assert lazy.findall(text) == compiled.findall(text)
        assert lazy.sub(_marked, text) == compiled.sub(_marked, text)
        assert lazy.subn("x", text) == compiled.subn("x", text)
        assert lazy.split(text) == compiled.split(text)
        assert _span(lazy.search(text)) == _span(compiled.search(text))
        assert _span(lazy.fullmatch(text)) == _span(compiled.fullmatch(text))
    assert (lazy.flags, lazy.groups, dict(lazy.groupindex)) == (
        compiled.flags,
        compiled.groups,
        dict(compiled.groupindex),
    )


def test_a_lazy_pattern_compiles_on_first_use_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(lazyregex.re, "compile", counting)
    lazy = lazy_compile(r"a+b")
    assert lazy.pattern == "a+b" and compiled == []  # made, and its text read, without compiling
    assert type(lazy) is LazyPattern
    assert lazy.search("xaab").span() == (1, 4)  # type: ignore[union-attr]
    assert lazy.sub("-", "ab aab") == "- -"
    assert [m.group() for m in lazy.finditer("ab")] == ["ab"]
    assert compiled == ["a+b"]
    assert type(lazy) is CompiledPattern  # no __getattr__ hook left on its lookups


def test_every_lazy_pattern_of_the_package_compiles() -> None:
    """A mistake in a pattern would otherwise show only when a build first uses it, not when its module loads."""
    found = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        module = importlib.import_module(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for value in vars(module).values():
            if isinstance(value, CompiledPattern):  # compiled already, or not yet
                re.compile(value.pattern, value._flags)
                found += 1
    assert found >= 30


def test_every_use_of_a_lazy_pattern_is_one_of_its_methods_or_attributes() -> None:
    """A lazy pattern is typed as re.Pattern, so a type checker lets `re.sub(NAME, ...)`, `isinstance(NAME,
    re.Pattern)` or passing it on pass: at run time those fail (a TypeError, or False), and only on the path that
    does it. Every mention of a lazy pattern's name in the package, in its own module or one that imports it, must
    be NAME.attribute (or the name's own assignment and import)."""
    import ast

    lazy: dict[str, set[str]] = {}  # module's dotted name → its lazy patterns' names
    trees: dict[str, ast.Module] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        trees[dotted] = tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            call = value.func if isinstance(value, ast.Call) else None
            if isinstance(call, ast.Name) and call.id == "lazy_compile":
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                lazy.setdefault(dotted, set()).update(t.id for t in targets if isinstance(t, ast.Name))
    misused = []
    for dotted, tree in trees.items():
        names = set(lazy.get(dotted, ()))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in lazy:
                names |= {alias.asname or alias.name for alias in node.names if alias.name in lazy[node.module]}
        attributes = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in names and isinstance(node.ctx, ast.Load):  # noqa: SIM102
                if id(node) not in attributes:  # not NAME.attribute
                    misused.append(f"{dotted}:{node.lineno}: {node.id}")
    assert sum(len(names) for names in lazy.values()) >= 30
    assert misused == []
