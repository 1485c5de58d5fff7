"""The assemble stage's memo: a part of the site made from the very same inputs comes out as the very same object.

The dev server keeps one between its rebuilds (store.Store's "assemble" slot): a part whose inputs are the same
objects (the model is immutable, so identity is enough) is given back, with the problems it reported, so that
later stages can tell in constant time that nothing in it changed. A build in a new process assembles once and
no later assembly starts from it: its memo keeps nothing (`keeps=False`), so each part is made as a first
assembly makes it, with none of the bookkeeping a next rebuild would need.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from operator import is_
from typing import Any, TypeVar

from primer_site.errors import Diagnostic, Problems
from primer_site.model import PostLink
from primer_site.site.postreads import PostReads

T = TypeVar("T")


class AssembleMemo:
    """What the previous assembly in this process made, each thing keyed on what it was made from.

    Held by a caller that rebuilds in one process (the dev server; `keeps=False` for a build in a new process, which
    keeps nothing): a thing made from the very same inputs
    (compared by identity, since the model is immutable) comes out as the very same object, with the same
    problems reported again, so that later stages can tell in constant time that nothing in it changed.
    """

    def __init__(self, keeps: bool = True) -> None:
        # False: a memo for one assembly, that no later one starts from (a build in a new process): every part is
        # made as a first assembly makes it, and no part of it is kept (who reads whom is, in `reads`)
        self.keeps = keeps
        self.made: dict[tuple[str, str], tuple[tuple, object, tuple[Diagnostic, ...]]] = {}
        self.last: object = None  # reassemble.AssemblyState: what the last whole assembly made, stage by stage
        self.series_files: Any = None  # assemblyparts.SeriesFiles: what the series files say, read once
        # who reads whom among the posts, as the last assembly recorded it (postreads.PostReads): a build in a new
        # process keys what each post is made from with it (lastbuild.post_inputs). Set when the whole assembly
        # starts: one that raised left it half made, so it is read only once assemble_site has returned
        self.reads: PostReads | None = None

    def put(self, kind: str, name: str, inputs: tuple, made: object) -> None:
        """Remember `made` (which reported nothing) as what `inputs` make, for (kind, name)."""
        if self.keeps:
            self.made[(kind, name)] = (inputs, made, ())

    def reuse(self, kind: str, name: str, inputs: tuple, make: Callable[[Problems], T], problems: Problems) -> T:
        """`make(problems)`, or what it made last time for (kind, name) if `inputs` are the same."""
        if not self.keeps:  # nothing was made before, nor is kept for after
            return make(problems)
        known = self.made.get((kind, name))
        # the usual hit first, in C: every input the very same object (a preview's rebuild asks ~7 per post)
        if known is not None and (
            (len(old := known[0]) == len(inputs) and all(map(is_, old, inputs))) or _same(old, inputs)
        ):
            if known[2]:
                problems.extend(known[2])
            return known[1]  # type: ignore[return-value]
        found = Problems()
        made = make(found)
        problems.extend(found.items)
        self.made[(kind, name)] = (inputs, made, tuple(found.items))
        return made


def _same(a: object, b: object) -> bool:
    """Whether two inputs are the same: the same object, or equal plain values, or tuples of such."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is tuple:
        if len(a) != len(b):  # type: ignore[arg-type]
            return False
        return all(map(is_, a, b)) or all(map(_same, a, b))  # type: ignore[arg-type]
    return kind in _PLAIN and a == b


# compared by value: small immutable values (a neighbour's PostLink is made anew when its post is, but equal)
_PLAIN = frozenset({str, int, bool, float, type(None), datetime, frozenset, PostLink})
