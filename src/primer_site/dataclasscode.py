"""The methods `@dataclass` writes for the classes made while the program loads (and namedtuple's `__new__`), compiled
once and kept beside the package's bytecode.

The dataclasses module writes each class's methods (__init__, __repr__, __eq__, __hash__, a frozen class's
__setattr__ and __delattr__) as Python source and compiles it with `exec` when the class is made: ~1 ms per class,
~75 ms of every process for the package's classes, most of it the compiling (Python 3.11, `python -X importtime`
and cProfile of `import primer_site.commands.cli`). The source is a function of the class alone, so its compiled
code can be kept as Python keeps a module's: while the program loads (`kept_methods`, around the CLI's imports in
__main__.run; nothing else of the process is touched), the `exec` calls made for the classes are served from a
table of source text → code object, and the table is written when a class's text was new.

The table is kept where Python keeps this module's bytecode (importlib's `cache_from_source`: PYTHONPYCACHEPREFIX
is honoured, and nothing is written under PYTHONDONTWRITEBYTECODE or to a folder that cannot be written), in
marshal, the format of .pyc files, under this interpreter's bytecode magic number and optimisation level, and
checked by digest: a damaged file, or another Python's, is ignored and written again. It is trusted as the .pyc
files beside it are (whoever can write there can plant bytecode as well): the digest guards against damage, not
against a planted file. A key is the whole source text, so a kept entry can never be out of date: a changed class
has a new text, compiled once more. The text is compiled as the dataclasses module's own `exec` compiles it (file
"<string>", no future flags) and run in the globals the module passes, the class's module's: the code is the same
whoever asks, so a class outside the package made meanwhile (markdown-it's Token, Rule and Delimiter: 9 methods,
~4-6 M instructions of every start) is served as the package's are.

`collections.namedtuple` (and so typing.NamedTuple) writes its class's `__new__` as a lambda's text and compiles it
with `eval`: ~0.1 ms for each of the ~30 named tuples made while the program loads (the package's, the standard
library's, Jinja's). Its text names only the fields, and the lambda's globals are namedtuple's own (no builtins, a
module name of its own): the code is the same whoever asks, so those are served from the same table, every caller's.
So is the code typing.ForwardRef compiles for an annotation written as a string (`Optional["Environment"]`: ~125 in
Jinja's modules, ~5 M instructions of every start): an expression's text, compiled as `eval` compiles it.
"""

from __future__ import annotations
import __future__

import collections
import contextlib
import dataclasses
import functools
import operator
import sys
import typing
from collections.abc import Iterator
from importlib.util import MAGIC_NUMBER
from types import CodeType
from typing import Any

from primer_site.keptcode import kept_path, read_entries, save_kept, write_kept

_HEADER = b"primer-site dataclass code\n" + MAGIC_NUMBER + bytes([sys.flags.optimize])
_MOST_KEPT = 4096  # entries; past this, a save keeps only those this process used (the package has ~450)
_EVALUATED = "\x00eval\n"  # the key of an `eval` text (namedtuple's): compiled as an expression, not as statements


class _Table:
    """The kept code by source text, what this process used of it, and what it compiled anew."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.kept: dict[str, CodeType] = read_table(path) if path else {}
        self.used: dict[str, CodeType] = {}
        self.compiled = 0  # texts not in the kept table

    def exec(self, source: object, globals: dict[str, Any] | None = None, locals: Any = None) -> None:
        """`exec(source, globals, locals)`, the code of a class's method taken from the table."""
        caller = sys._getframe(1)
        if globals is None:  # exec's own default: the caller's namespaces (never this module's)
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        if not isinstance(source, str):  # code already: not what the dataclasses module passes
            exec(source, globals, locals)  # type: ignore[arg-type]
            return
        if caller.f_code.co_flags & _FUTURE:  # exec compiles with its caller's future flags (the table: none)
            exec(
                compile(source, "<string>", "exec", caller.f_code.co_flags & _FUTURE, dont_inherit=True),
                globals,
                locals,
            )
            return
        code = self.used.get(source) or self.kept.get(source)
        if code is None:
            # as exec compiles a text: file "<string>", no future flags (the dataclasses module's own: none; exec of
            # the text here would take this module's `from __future__ import annotations`: strings as annotations)
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self.compiled += 1
        self.used[source] = code
        exec(code, globals, locals)

    def eval(self, source: object, globals: dict[str, Any] | None = None, locals: Any = None) -> Any:
        """`eval(source, globals, locals)` of namedtuple's `__new__` text, its code taken from the table."""
        caller = sys._getframe(1)
        if globals is None:  # eval's own default: the caller's namespaces (never this module's)
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        if not isinstance(source, str):
            return eval(source, globals, locals)  # type: ignore[arg-type]  # code already
        if caller.f_code.co_flags & _FUTURE:  # eval compiles with its caller's future flags (the table: none)
            return eval(
                compile(source, "<string>", "eval", caller.f_code.co_flags & _FUTURE, dont_inherit=True),
                globals,
                locals,
            )
        return eval(self._expression(source), globals, locals)

    def compile(
        self,
        source: object,
        filename: str,
        mode: str,
        flags: int = 0,
        dont_inherit: bool = False,
        optimize: int = -1,
        **options: Any,
    ) -> Any:
        """`compile(source, filename, mode)` of typing.ForwardRef's annotation text ("<string>", "eval"), its code
        taken from the table; any other call (other flags, an optimisation level, a keyword compile takes)
        compiled here as asked (with the typing module's future flags: none)."""
        plain = not flags and optimize == -1 and not options
        if plain and isinstance(source, str) and filename == "<string>" and mode == "eval":
            return self._expression(source)
        return compile(source, filename, mode, flags, dont_inherit=True, optimize=optimize, **options)  # type: ignore[call-overload]

    def _expression(self, source: str) -> CodeType:
        key = _EVALUATED + source
        code = self.used.get(key) or self.kept.get(key)
        if code is None:
            # as eval and compile compile a text: file "<string>", no future flags (the collections and typing
            # modules have none)
            code = compile(source, "<string>", "eval", dont_inherit=True)
            self.compiled += 1
        self.used[key] = code
        return code

    def save(self) -> None:
        """Write the table if this process compiled a text it did not have (keptcode.save_kept)."""
        save_kept(self.path, _HEADER, self.kept, self.used, self.compiled, _MOST_KEPT)


def table_path() -> str | None:
    """Where the table is kept: beside this module's bytecode; None where Python keeps none (no source file)."""
    return kept_path(__file__, ".methods")


def read_table(path: str) -> dict[str, CodeType]:
    """The kept table at `path`; empty if there is none, or it is another Python's, or damaged."""
    return read_entries(path, _HEADER, lambda text, code: isinstance(text, str) and isinstance(code, CodeType))


def write_table(path: str, table: dict[str, CodeType]) -> None:
    """Write `table` at `path` (keptcode.write_kept)."""
    write_kept(path, _HEADER, table)


@contextlib.contextmanager
def kept_methods() -> Iterator[_Table]:
    """While in the block, the dataclasses module's `exec` calls, namedtuple's `eval` calls and typing.ForwardRef's
    `compile` calls (an annotation written as text) are served from the kept table, whichever package makes the
    class; after it, the modules' own are back and the table is saved if it gained a text. For the program's
    imports (__main__.run): a class made later (a module imported on some path only) is compiled as usual."""
    table = _Table(table_path())
    # each module looks a name up in its globals before the builtins: a global `exec` is the dataclasses module's
    # exec, a global `eval` namedtuple's eval, a global `compile` typing's (ForwardRef's)
    served = ((dataclasses, "exec", table.exec), (collections, "eval", table.eval), (typing, "compile", table.compile))
    before = [vars(module).get(name, _NONE) for module, name, _ in served]
    try:  # set inside: whatever ends the block (an exception between two of them too) puts back what was there
        for module, name, function in served:
            setattr(module, name, function)
        yield table
    finally:
        for (module, name, _), old in zip(served, before, strict=True):
            if old is _NONE:
                vars(module).pop(name, None)
            else:
                setattr(module, name, old)
        table.save()


_NONE = object()
# the code flags of `from __future__ import ...` (annotations, say), which exec, eval and compile pass on from their
# caller's code to what they compile
_FUTURE = functools.reduce(
    operator.or_, (getattr(__future__, name).compiler_flag for name in __future__.all_feature_names)
)
