"""Frozen dataclasses made and copied without a call of their __init__ (which sets each field through
object.__setattr__): `replaced` (dataclasses.replace), `built`/`built_of` (a keyword call), `maker` (a positional
call, for rows read back from a cache). One rule says when that gives the very value __init__ gives: `_only_fields`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")
# per dataclass: its fields in order and as a set, or None (dataclasses.replace it)
_COPIED: dict[type, tuple[tuple[str, ...], frozenset[str]] | None] = {}


def replaced(obj: _T, /, **changes: Any) -> _T:
    """`dataclasses.replace(obj, **changes)` for a frozen dataclass, made without a call of its __init__ (which
    sets each field through object.__setattr__): the same value, the same type. A new process assembles a
    5,000-post site with 35,000 of these (dataclasses.replace: 0.5 s of its profile). A class with a
    __post_init__, a field __init__ does not take, or __slots__ goes through dataclasses.replace, which also
    raises for a name that is no field (`_only_fields` says which classes are copied so)."""
    kind = type(obj)
    names = _COPIED.get(kind, _UNSEEN)
    if names is _UNSEEN:
        fields = dataclasses.fields(kind)  # type: ignore[arg-type]
        plain = _only_fields(kind, fields)
        ordered = tuple(f.name for f in fields)
        names = _COPIED[kind] = (ordered, frozenset(ordered)) if plain else None
    if names is None or not names[1].issuperset(changes):
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    state = obj.__dict__
    # only the fields, in their order: a cached_property's value kept in __dict__ is worked out again
    fresh = state.copy() if len(state) == len(names[0]) else {name: state[name] for name in names[0]}
    fresh.update(changes)
    copy = object.__new__(kind)
    object.__setattr__(copy, "__dict__", fresh)
    return copy


_UNSEEN: Any = object()


def _only_fields(kind: type, fields: tuple[dataclasses.Field[Any], ...]) -> bool:
    """Whether an instance of `kind` is exactly its fields' values, as the __init__ that @dataclass wrote for it
    stores them: `kind` is itself a dataclass whose __init__ is that generated one (not one written by hand, which
    @dataclass keeps, nor none: `init=False`), every field is an __init__ argument, and there is no __post_init__
    and no __slots__ (whose instances have no __dict__). Else `replaced` and `built` go through the class."""
    params = vars(kind).get("__dataclass_params__")
    init = getattr(vars(kind).get("__init__"), "__code__", None)
    return (
        params is not None
        and params.init
        and init is not None
        and init.co_filename == "<string>"  # the generated methods' file name (dataclasses' exec of their text)
        and all(f.init for f in fields)
        and not hasattr(kind, "__post_init__")
        and not any("__slots__" in vars(c) for c in kind.__mro__)
    )


# per dataclass: each field's default in field order (a required one: None), and the required fields; or None
_DEFAULTS: dict[type, tuple[dict[str, Any], frozenset[str]] | None] = {}


def built(kind: type[_T], /, **values: Any) -> _T:
    """`kind(**values)` for a frozen dataclass, made without a call of its __init__ (as `replaced` copies one): the
    same value, the same type. A new process assembles a Post per post (a frozen __init__ of 31 fields, each set
    through object.__setattr__: ~11 us a post). A class `replaced` would not copy so, or with a default_factory, a
    missing field or a name that is no field go through `kind(**values)` (which raises for the last two)."""
    return built_of(kind, values)


def built_of(kind: type[_T], values: dict[str, Any], /) -> _T:
    """`built(kind, **values)` from a dict the caller made (copied, never kept): a keyword call of a Post's 26 fields
    packs them into a dict of their own, ~2/3 of what `built` cost a post."""
    known = _DEFAULTS.get(kind, _UNSEEN)
    if known is _UNSEEN:
        fields = dataclasses.fields(kind)  # type: ignore[arg-type]
        plain = _only_fields(kind, fields) and all(f.default_factory is dataclasses.MISSING for f in fields)
        required = frozenset(f.name for f in fields if f.default is dataclasses.MISSING)
        # an instance's own __dict__, so that each copy shares its keys as the instances __init__ makes do
        known = _DEFAULTS[kind] = (kind(**dict.fromkeys(required)).__dict__, required) if plain else None
    if known is None:
        return kind(**values)
    defaults = known[0]
    fresh = defaults.copy()  # every field, in order, as __init__ sets them
    fresh.update(values)
    # a name that is no field made the dict longer; a required field must be among `values`
    if len(fresh) != len(defaults) or not known[1] <= values.keys():
        return kind(**values)
    made = object.__new__(kind)
    object.__setattr__(made, "__dict__", fresh)
    return made  # type: ignore[no-any-return]


def maker(kind: type[_T]) -> Callable[..., _T]:
    """A maker of `kind` from all its fields' values in their order (TypeError for another count), without its
    __init__ (which sets each field through object.__setattr__): the same value, at a third to a half of the cost
    for a class of 15-20 fields. For rows read back from a sealed cell. A class whose instance is not just its
    fields' values (`_only_fields`: a hand-written __init__, a __post_init__, __slots__) is refused (TypeError).

    The maker is written for the class, as @dataclass writes its __init__: each field stored into the new
    object's own __dict__ in the fields' order, so that the instances share their keys as those __init__ makes
    do (a dict built apart and set as __dict__ takes twice the memory, and zip's pairs cost more than the
    stores). The instance has its dict made at once, where __init__'s keeps its values inline until asked: ~64
    bytes more an object (~0.6 MB for the ~10,000 headings and labels of 1,000 cached bodies)."""
    fields = dataclasses.fields(kind)  # type: ignore[arg-type]
    if not _only_fields(kind, fields):
        raise TypeError(f"{kind.__name__}: made only through its __init__")
    names = [f.name for f in fields]  # in the text as string literals only (repr): nothing of them is run
    values = ", ".join(f"_{index}" for index in range(len(names)))
    stores = "".join(f"    state[{name!r}] = _{index}\n" for index, name in enumerate(names))
    text = f"def make({values}):\n    made = new(kind)\n    state = made.__dict__\n{stores}    return made\n"
    space: dict[str, object] = {"new": object.__new__, "kind": kind}
    exec(compile(text, f"<maker of {kind.__qualname__}>", "exec"), space)  # a text of field names only
    return space["make"]  # type: ignore[return-value]
