"""Which Pygments lexer highlights a fenced block, and whether what it makes may be kept across builds.

Pygments is imported by these functions, not here: a build whose code blocks are all kept never loads it. Whether a
lexer may be kept is read from Pygments' installed source (its lexer modules), not from a list that goes stale.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=256)
def lexer_for(language: str) -> Any:
    """Pygments' lexer for `language` (a fence's, lower case; Pygments' own lexers first, then plugins'), or None."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def keepable_lexer(lexer: type) -> bool:
    """Whether what `lexer` (a lexer class) makes of a text is a function of the text and the Pygments version only:
    whether it is Pygments' own (a plugin's can change with no change of that version) and finds no other lexer
    while it runs (a lookup by name, mimetype or guess finds plugins' lexers too: Markdown's for a nested fence)."""
    module = lexer.__module__
    return module.startswith("pygments.lexers.") and not _finds_other_lexers(module)


@lru_cache(maxsize=1)
def _lookups() -> frozenset[str]:
    """The names by which code finds a lexer: every function pygments.lexers and pygments.plugin define
    (get_lexer_by_name, get_lexer_for_mimetype, guess_lexer, find_lexer_class, find_plugin_lexers...)."""
    import inspect

    import pygments.lexers
    import pygments.plugin

    modules = (pygments.lexers, pygments.plugin)
    return frozenset(
        n for m in modules for n, v in vars(m).items() if inspect.isfunction(v) and v.__module__ == m.__name__
    )


@lru_cache(maxsize=512)  # a module each: Pygments has some 230
def _module_refs(module: str) -> tuple[bool, frozenset[str]]:
    """Read from `module`'s installed source: whether it names a lookup (_lookups), and the other lexer modules it
    names (by import, or by a lexer class's name: pygments.lexers' LEXERS). (True, …) when its source cannot be read."""
    import ast
    from importlib.util import find_spec

    from pygments.lexers._mapping import LEXERS

    spec = find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return True, frozenset()
    try:
        tree = ast.parse(Path(spec.origin).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return True, frozenset()
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.name.rpartition(".")[2])
            modules.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package of `module`
                parent = module.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            modules.add(base)
            modules.update(f"{base}.{alias.name}" for alias in node.names)
    modules.update(LEXERS[n][0] for n in names if n in LEXERS)
    named = frozenset(m for m in modules if m.startswith("pygments.lexers.") and m != module and _is_module(m))
    return bool(names & _lookups()), named


def _is_module(name: str) -> bool:
    """Whether `name` is a module's (not a function's or class's, as in `from pygments.lexers import X`)."""
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):  # its parent is a module, not a package
        return False


@lru_cache(maxsize=512)  # a module each: Pygments has some 230
def _finds_other_lexers(module: str) -> bool:
    """Whether a lexer of `module` (a pygments.lexers module) may look up another lexer while it runs: its source, or
    that of a lexer module it names (transitively: email's lexer uses mime's), names a lookup. Read once per process,
    and only when a block is highlighted (a kept one loads no lexer)."""
    seen, todo = {module}, [module]
    while todo:
        looks_up, named = _module_refs(todo.pop())
        if looks_up:
            return True
        todo.extend(named - seen)
        seen.update(named)
    return False


def pygments_version() -> str:
    """The version of the Pygments this process highlights with (the one imported, not looked up in the installed
    packages' metadata: no importlib.metadata to import), for the salts of what its output is kept in."""
    import pygments  # its package only: no lexer, no formatter

    return str(pygments.__version__)
