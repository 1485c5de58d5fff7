"""The list of outputs as the render memory keeps it on disk (rendermemory.py): each page's spec as a row of
marshal's plain data (its context's model objects by key, Ref), made into a spec again only when asked; and a
spec's digest, the same in every process.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Sequence
from typing import Any

from primer_site.caches.fingerprints import Ref
from primer_site.rendering.pages import FeedSpec, PagerSpec, PageSpec


class StoredSpecs(Sequence[PageSpec]):
    """The last build's list of outputs as read from disk: their paths at once, each spec made only when asked (a
    one-post edit asks for two or three of 1,700) from its row, marshal's bytes (see stored_rows)."""

    def __init__(self, paths: tuple[str, ...], rows: tuple[bytes, ...]) -> None:
        self.paths, self.rows = paths, rows

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, place: int) -> PageSpec:  # type: ignore[override]
        return _spec_of(marshal.loads(self.rows[place]))


def spec_paths(specs: Sequence[PageSpec]) -> Sequence[str]:
    """The output path of each spec, in order (without making the specs of a StoredSpecs)."""
    return specs.paths if isinstance(specs, StoredSpecs) else [spec.path for spec in specs]


def stored_rows(specs: Sequence[PageSpec]) -> tuple[tuple[str, ...], tuple[bytes, ...]] | None:
    """(the paths, each spec as marshal's bytes): those read from disk as they were read; None if a spec holds a
    value the rows do not name (then the next build works the list out again)."""
    if isinstance(specs, StoredSpecs):
        return specs.paths, specs.rows
    dumps = marshal.dumps
    try:
        rows = tuple([dumps((s.path, s.template, s.maker, s.source, _context_row(s.context), s.math)) for s in specs])
    except TypeError:
        return None
    return tuple([spec.path for spec in specs]), rows


def _context_row(context: tuple[tuple[str, Any], ...]) -> tuple:
    return tuple((name, _value_row(value)) for name, value in context)


def _value_row(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is Ref:
        return ("r", str(value))
    if kind is tuple:
        if value and set(map(type, value)) == {Ref}:  # a listing's posts: made again in one call
            return ("R", tuple(map(str, value)))
        return ("t", tuple(map(_value_row, value)))
    if kind is PagerSpec:
        return ("p", value.number, value.count, _value_row(value.items), value.first_url, value.base_path)
    if kind is FeedSpec:
        return ("f", value.path, value.title, value.page_url, _value_row(value.posts))
    raise TypeError(f"no row for a {kind.__qualname__} in a page's context")


def _spec_of(row: tuple) -> PageSpec:
    """A spec from its row (stored_rows), equal to the spec it was made from."""
    path, template, maker, source, context, math = row
    return PageSpec(path, template, maker, source, tuple((name, _value_of(value)) for name, value in context), math)


def _value_of(row: Any) -> Any:
    if type(row) is not tuple:
        return row
    kind = row[0]
    if kind == "r":
        return Ref(row[1])
    if kind == "R":
        return tuple(map(Ref, row[1]))
    if kind == "t":
        return tuple(map(_value_of, row[1]))
    if kind == "p":
        return PagerSpec(row[1], row[2], _value_of(row[3]), row[4], row[5])
    if kind == "f":
        return FeedSpec(row[1], row[2], row[3], _value_of(row[4]))
    raise ValueError(f"not a context value: {kind!r}")


def spec_digest(spec: PageSpec) -> bytes:
    """A digest of a page's spec, the same in every process: its repr, which names every field and quotes every
    string (specs hold only strings, numbers, Refs and named tuples of them)."""
    return hashlib.blake2b(repr(spec).encode("utf-8", "surrogatepass"), digest_size=16).digest()
