"""Regular expressions compiled when first used, for the module-level patterns that only some builds need.

`re.compile` of a module-level pattern runs when its module is imported: ~0.2-2.7 ms each for the larger ones, ~16 ms
in all for the patterns a one-post edit never uses (a citation, a theorem's name, raw HTML of another kind...).
`lazy_compile` gives an object that compiles on its first use and is the compiled pattern from then on: its methods
and attributes are the compiled pattern's own, kept in the object's dict, so a later call costs what a call of the
compiled pattern costs. Only a pattern's methods and attributes are served: one is never passed to the re module's
functions (`re.sub(pattern, ...)`) nor tested with isinstance.
"""

from __future__ import annotations

import re
from typing import Any, cast

# what a compiled pattern offers (re.Pattern's methods and attributes), copied from it on first use
_ATTRIBUTES = (
    "match",
    "search",
    "fullmatch",
    "sub",
    "subn",
    "split",
    "findall",
    "finditer",
    "scanner",
    "flags",
    "groups",
    "groupindex",
)


class CompiledPattern:
    """A module-level pattern: its text, and once compiled the compiled pattern's methods and attributes in its dict
    (a plain object then: attribute lookups cost what they cost on any object, ~20 ns more than on the pattern)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern  # as re.Pattern.pattern: read without compiling
        self._flags = flags

    def __repr__(self) -> str:
        return f"lazy_compile({self.pattern!r}, {self._flags!r})"


class LazyPattern(CompiledPattern):
    """`re.compile(pattern, flags)`, compiled on the first use of any of its methods or attributes; then it becomes
    a CompiledPattern: a class with __getattr__ makes every attribute lookup slower (~200 ns a call on Python 3.11,
    which cannot specialize those lookups), so the hook is there only until the first use."""

    def __getattr__(self, name: str) -> Any:  # asked only for a name not yet in the object's dict
        if name.startswith("__"):
            raise AttributeError(name)
        compiled = re.compile(self.pattern, self._flags)
        self.__dict__.update((attribute, getattr(compiled, attribute)) for attribute in _ATTRIBUTES)
        self.__class__ = CompiledPattern
        return getattr(compiled, name)


def lazy_compile(pattern: str, flags: int | re.RegexFlag = 0) -> re.Pattern[str]:
    """A pattern compiled on its first use (see the module); typed as the compiled pattern it stands for."""
    return cast("re.Pattern[str]", LazyPattern(pattern, int(flags)))
