"""The matching-engine code of the regular expressions the program compiles while it loads, kept beside the package's
bytecode.

`re.compile` turns a pattern's text into code for the regex engine (_sre) in pure Python: parsing, optimising
character sets, emitting code. The program's imports compile ~170 patterns so, ~45 ms of every `primer-site build`
(module-level patterns of the package, PyYAML's, Jinja's, markdown-it's, Babel's, the standard library's: counted
around `re._compiler.compile`, Python 3.11; PyYAML's one pattern of printable characters alone takes ~7 ms, its
character set spanning the whole of Unicode). The code is a function of the pattern's text and flags and of the
interpreter alone, so it can be kept as Python keeps a module's bytecode: while the program loads (`kept_patterns`,
around the CLI's imports in __main__.run, beside dataclasscode's `kept_methods`), the compiler's calls are served from
a table of (text, flags) → the engine's code, groups and group names, and `_sre.compile` makes the pattern from them,
as re's compiler does at its end. The pattern is the one a compile gives: equal to it (`==` compares the flags, the
code and the text), and stored in re's own cache as usual.

The table is kept as dataclasscode keeps its own (beside this module's bytecode, in marshal, checked by digest,
nothing written under PYTHONDONTWRITEBYTECODE or to a folder that cannot be written), under this interpreter's full
version and the engine's magic number: the compiler's output may change with any release, even one that keeps the
bytecode's magic number. It is trusted as the .pyc files beside it are (whoever can write one can write the other):
the engine's own check of the code it is given is partial, and a crafted entry can crash the interpreter as a
crafted .pyc can; the digest catches damage only. An entry the engine refuses (RuntimeError "invalid SRE code") is
compiled again. Only str and bytes texts are served (a subclass, re's DEBUG or LOCALE go to re's compiler), a
pattern whose compile warns is never kept (its warning is given in every process), and anything unforeseen in
re's private steps gives the serving up for re's own compiler. It is written when this process compiled a pattern whose code it did not have: a text built by
joining a set (Babel's plural rules, its number symbols) comes in another order in each process, as string hashes
are seeded per process, but gives the same code (single characters joined by "|" become one sorted set), so it is
compiled each time but does not make each process write the table again.
"""

from __future__ import annotations

import _sre
import contextlib
import re
import sys
import warnings
from array import array
from collections.abc import Iterator
from importlib.util import MAGIC_NUMBER
from typing import Any

from primer_site.keptcode import kept_path, read_entries, save_kept

_HEADER = (
    b"primer-site pattern code\n"
    + MAGIC_NUMBER
    + f"{sys.version}\n{_sre.MAGIC} {_sre.CODESIZE} {sys.maxunicode}\n".encode()
)
_CODE = {2: "H", 4: "I", 8: "Q"}.get(_sre.CODESIZE, "")  # an array of the engine's code units, by their size
_MOST_KEPT = 2048  # entries; past this, a save keeps only those this process used (a build loads ~170)

# (whether the text is bytes, text, flags) → (the compiled flags, the code as bytes, groups, {name: group}, (name or None by group))
Entry = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]
Key = tuple[bool, str | bytes, int]


class _Table:
    """The kept patterns, those this process used, and how many it compiled anew."""

    def __init__(self, path: str | None, compile_: Any) -> None:
        self.path = path
        self.stock_compile = compile_  # re's own compiler function
        self.kept: dict[Key, Entry] = read_table(path) if path else {}
        self.used: dict[Key, Entry] = {}
        self.serving = True  # False after the block, or once re's private steps surprised it
        self.compiled = 0  # patterns not in the kept table
        self.new_code = 0  # of those, the ones whose code was not in it either

    def compile(self, pattern: Any, flags: int = 0) -> Any:
        """`re._compiler.compile(pattern, flags)`, served from the table when it has the pattern."""
        kind = type(pattern)
        if not self.serving or (kind is not str and kind is not bytes) or flags & (re.DEBUG | re.LOCALE):
            # a parsed pattern, a subclass of str, one printed or read by the locale; or a reference to this
            # method taken inside the block and called after it (an author's pattern is never served)
            return self.stock_compile(pattern, flags)
        flags = int(flags)  # re passes its flags' value; another caller may pass a RegexFlag
        key = (kind is bytes, pattern, flags)  # re's own cache key names the type too: "a" and b"a" hash alike
        entry = self.used.get(key) or self.kept.get(key)
        if entry is not None:
            try:
                made = _made(pattern, entry)
            except (RuntimeError, TypeError, ValueError, OverflowError):  # code the engine refuses: compiled below
                self.kept.pop(key, None)
            else:
                self.used[key] = entry
                return made
        try:
            with warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always")
                entry = _compiled(pattern, flags)
        except re.error:
            raise
        except Exception:  # re's private steps are not what this module reads: re's own compiler from here on
            self.serving = False
            return self.stock_compile(pattern, flags)
        if warned:  # never kept: re's compiler gives the warning again, at its caller's line
            return self.stock_compile(pattern, flags)
        self.compiled += 1
        if not any(entry[1:] == kept[1:] for kept in self.kept.values() if kept[1] == entry[1]):
            self.new_code += 1
        self.used[key] = entry
        return _made(pattern, entry)

    def save(self) -> None:
        """Write the table if this process compiled a pattern whose code it did not have (keptcode.save_kept)."""
        save_kept(self.path, _HEADER, self.kept, self.used, self.new_code, _MOST_KEPT)


def _compiled(pattern: str | bytes, flags: int) -> Entry:
    """What re's compiler makes of `pattern` (re._compiler.compile, whose steps these are), as a table entry."""
    from re import _compiler, _parser  # loaded with re

    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    names = parsed.state.groupdict
    by_group: list[str | None] = [None] * parsed.state.groups
    for name, group in names.items():
        by_group[group] = name
    return (
        flags | parsed.state.flags,
        array(_CODE, code).tobytes(),
        parsed.state.groups - 1,
        dict(names),
        tuple(by_group),
    )


def _made(pattern: str | bytes, entry: Entry) -> Any:
    """The compiled pattern of a table entry (the last step of re._compiler.compile)."""
    flags, code, groups, names, by_group = entry
    return _sre.compile(pattern, flags, array(_CODE, code).tolist(), groups, names, by_group)


def table_path() -> str | None:
    """Where the table is kept: beside this module's bytecode; None where Python keeps none."""
    return kept_path(__file__, ".patterns")


def read_table(path: str) -> dict[Key, Entry]:
    """The kept table at `path`; empty if there is none, or it is another Python's, or damaged."""
    return read_entries(path, _HEADER, lambda key, entry: _is_key(key) and _is_entry(entry))


def _is_key(key: object) -> bool:
    return (
        isinstance(key, tuple)
        and len(key) == 3
        and type(key[1]) is (bytes if key[0] is True else str)
        and key[0] in (True, False)
        and type(key[2]) is int
    )


def _is_entry(entry: object) -> bool:
    return (
        isinstance(entry, tuple)
        and len(entry) == 5
        and type(entry[0]) is int
        and isinstance(entry[1], bytes)
        and len(entry[1]) % _sre.CODESIZE == 0
        and type(entry[2]) is int
        and isinstance(entry[3], dict)
        and isinstance(entry[4], tuple)
    )


@contextlib.contextmanager
def kept_patterns() -> Iterator[_Table | None]:
    """While in the block, re's compiler is served from the kept table; after it, re's own compiler is back and the
    table is saved if it gained a pattern's code. For the program's imports (__main__.run): a pattern compiled later
    is compiled as usual. Yields None, serving nothing, on an interpreter whose re module is not laid out as this
    module reads it (re._compiler.compile, re._parser.parse, an engine code unit of 2, 4 or 8 bytes)."""
    from re import _compiler

    stock = getattr(_compiler, "compile", None)
    if not (_CODE and stock and hasattr(_compiler, "_code") and hasattr(re, "_parser")):
        yield None
        return
    table = _Table(table_path(), stock)
    _compiler.compile = table.compile
    try:
        yield table
    finally:
        _compiler.compile = stock
        table.serving = False
        table.save()
