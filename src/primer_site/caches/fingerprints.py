"""A value's fingerprint: a 16-byte digest that only equal values share, the same in every process.

Model objects count by their key (a Ref, "post:content/a.md"), never by their address, so that a page's recorded
reads can be compared from one build to the next, in this process or another (dependencies.py records them,
ledger.py keeps them). Two forms: a read value's canonical text (`fingerprint`, BLAKE2b; strings length-prefixed,
not escaped: a post's whole body costs one append, not a scan), and a model object's whole (`whole_fingerprint`,
marshal's form and SHA-256). The whole form tells apart every pair of values the text form does: ledger.changes
skips the fields of an object whose whole is the same (tests/test_fingerprints.py holds it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
import operator
import os
from collections.abc import Callable
from datetime import date, datetime, time
from itertools import chain
from typing import Any

from markupsafe import Markup

from primer_site.errors import Diagnostic
from primer_site.model import ChapterNumber, Heading, Link, PostLink, ScheduledChapter
from primer_site.syntax.citations import Citation, CiteItem
from primer_site.syntax.markdown import AssetRef, Formula, Label, SourceLink

Fingerprint = bytes


class Ref(str):
    """A model object named by its key ("post:content/a.md"), for page contexts that outlive one build.

    A str, so that contexts holding thousands of them are made, compared and hashed at C speed.
    """

    __slots__ = ()


# What a dependency whose object or resolver is gone reads: 16 bytes, as every fingerprint (the render memory keeps
# them in 16-byte slots), and none a digest gives but by a 2**-128 chance
MISSING: Fingerprint = b"\x00missing".ljust(16, b"\x00")


def fingerprint(value: object, key_of: dict[int, str], whole: bool = False) -> Fingerprint:
    """A 16-byte digest of `value` that is the same in every process: model objects count by their key
    (`whole`: except `value` itself, spelt out field by field)."""
    parts: list[str] = []
    if whole:
        _dataclass(value, key_of, parts)
    else:
        _canonical(value, key_of, parts)
    return digest_of("".join(parts))


def digest_of(text: str) -> Fingerprint:
    """The fingerprint of a canonical text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def whole_fingerprint(
    value: object, key_of: dict[int, str], named: list[str] | None = None
) -> tuple[Fingerprint, bool]:
    """The fingerprint of all the fields of a model object, its nested model objects by key, and whether it names
    any (a key or a Ref): the same in every process, shared only by objects whose fields are all equal.

    A new process works one out for every model object of the site (a post's fields hold its whole body: 13 MB at
    1,000 posts), so the fields are put in a plain form marshal serialises in C (version 2: no references, whose
    use depends on reference counts) and that is hashed with SHA-256 (hardware-assisted where the CPU has it, twice
    BLAKE2b's speed here). The form is one to one: a plain value (str, int, float, bool, None, bytes; marshal tells
    each type apart) is itself, a tuple is the tuple of its items' forms, and anything else is a tuple that begins
    with Ellipsis, which no form is, then its kind. A field that is a long string (a body) is its own digest, so
    that its bytes are copied once, not again into marshal's buffer."""
    if named is None:  # else the caller's list, which the keys it names are added to (as often as each is met)
        named = []
    fields = _fields_of(type(value))
    if fields is None:
        return _digest(_form(value, key_of, named, whole=True)), bool(named)
    items: list[Any] = [..., _NAMES.get(type(value)) or _name(type(value))]
    for item in fields(value):
        kind = type(item)
        if kind is str:
            if len(item) > _LONG:
                known = _LONG_DIGESTS.pop(id(item), None)
                digest = known[1] if known is not None and known[0] is item else long_digest(item)
                item = (..., "long", digest)
        elif kind is tuple:  # _form's, inline: a post's tags (and an empty tuple) are their own form
            if item and not _PLAIN.issuperset(map(type, item)):
                item = _tuple_form(item, key_of, named)
        elif kind is datetime:  # _form's, inline: a post's date
            item = (..., "time", repr(item))
        elif kind not in _PLAIN:
            item = _form(item, key_of, named)
        items.append(item)
    return _digest(tuple(items)), bool(named)


_LONG = 1024  # characters of a field digested on its own
# long texts whose digest is already known (a body's HTML, checked by the body cache against the digest it sealed),
# by id, with the text itself (an id is only that text's while it lives): taken once, by whole_fingerprint
_LONG_DIGESTS: dict[int, tuple[str, bytes]] = {}


def long_digest(text: str) -> bytes:
    """The 32-byte SHA-256 that stands for a long text field in whole_fingerprint's form (of its UTF-8, lone
    surrogates passed through)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def known_long_digests(pairs: list[tuple[str, bytes]]) -> None:
    """Texts and their long_digest, worked out already (the body cache's read): whole_fingerprint takes each once
    instead of hashing the text again. A text held here and never fingerprinted stays held: no more than the
    bodies read from the cache, once each (a new process reads them all once; `serve`, only at its first build)."""
    _LONG_DIGESTS.update((id(text), (text, digest)) for text, digest in pairs if len(text) > _LONG)


def _digest(form: object) -> Fingerprint:
    return hashlib.sha256(marshal.dumps(form, 2)).digest()[:16]


_PLAIN = frozenset({str, int, float, bool, type(None), bytes})
_GETTERS: dict[type, Callable[[Any], tuple] | None] = {}  # a dataclass's or named tuple's fields, in order


def _fields_of(kind: type) -> Callable[[Any], tuple] | None:
    """A function giving an object's field values as a tuple, in order; None if `kind` has no fields."""
    if kind not in _GETTERS:
        if dataclasses.is_dataclass(kind):
            names = tuple(f.name for f in dataclasses.fields(kind))
        elif issubclass(kind, tuple) and hasattr(kind, "_fields"):
            names = kind._fields
        else:
            names = None
        if names is None:
            _GETTERS[kind] = None
        elif len(names) == 1:
            _GETTERS[kind] = lambda value, name=names[0]: (getattr(value, name),)
        else:
            _GETTERS[kind] = operator.attrgetter(*names) if names else lambda value: ()
    return _GETTERS[kind]


_NAMES: dict[type, str] = {}


def _name(kind: type) -> str:
    found = _NAMES[kind] = kind.__module__ + "." + kind.__qualname__
    return found


def _form(value: Any, key_of: dict[int, str], named: list[str], whole: bool = False) -> Any:
    """`value` in whole_fingerprint's plain form (`whole`: a model object itself spelt out, not named by key)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple:  # (never a model object, nor a date: those are looked for after it)
        if _PLAIN.issuperset(map(type, value)):  # a post's tags, authors: the tuple is its own form
            return value
        return _tuple_form(value, key_of, named)
    if kind is datetime or kind is date or kind is time:
        return (..., "time", repr(value))  # its repr names its type, every field and its zone
    key = None if whole else key_of.get(id(value))
    if key is not None:
        named.append(key)
        return (..., "key", key)
    fields = _fields_of(kind)
    if fields is not None:
        items = fields(value)
        if not _PLAIN.issuperset(map(type, items)):  # else (a heading, a link) its fields are their own forms
            items = tuple([item if type(item) in _PLAIN else _form(item, key_of, named) for item in items])
        return (..., _NAMES.get(kind) or _name(kind), *items)
    if kind is Ref:
        named.append(value)
        return (..., "key", str(value))
    if kind is Markup:
        return (..., "markup", str(value))
    if kind is list:
        return (..., "list", *[_form(item, key_of, named) for item in value])
    if kind is dict or kind is frozenset or kind is set:
        # in an order of their own, not their insertion's (nor a set's, which string hashing varies by process)
        if kind is dict:
            forms = [(_form(k, key_of, named), _form(v, key_of, named)) for k, v in value.items()]
        else:
            forms = [_form(item, key_of, named) for item in value]
        return (..., kind.__name__, *sorted(forms, key=lambda form: marshal.dumps(form, 2)))
    if callable(value):  # a helper given to templates: the same function from one build to the next
        return (..., "function", getattr(value, "__qualname__", kind.__qualname__))
    if kind is bytearray:
        return (..., "bytearray", bytes(value))
    # A type not known here: a form no other value shares, so that what read it is made again (as _canonical does)
    return (..., "unknown", kind.__qualname__, os.urandom(16))


def _tuple_form(value: tuple, key_of: dict[int, str], named: list[str]) -> tuple:
    """_form of a tuple that is not all plain values: the tuple of its items' forms. Three shapes a model holds by
    the hundred are worked out in C, to the very form the items give one by one: a series', a tag's, the site's
    posts (model objects of one build, each named by its key), a post's headings, links, references (dataclasses
    of one kind whose fields are plain values) and a post's macros (pairs of strings: each its own form)."""
    kinds = set(map(type, value))
    if len(kinds) == 1:
        kind = kinds.pop()
        if kind is tuple:
            if _PLAIN.issuperset(map(type, chain.from_iterable(value))):
                return value
        else:
            keys = list(map(key_of.get, map(id, value)))
            if None not in keys:
                named.extend(keys)  # type: ignore[arg-type]
                return tuple([(..., "key", key) for key in keys])
            if keys.count(None) == len(keys):  # none is a model object
                fields = _fields_of(kind)
                if fields is not None:
                    rows = list(map(fields, value))
                    if _PLAIN.issuperset(map(type, chain.from_iterable(rows))):
                        name = _NAMES.get(kind) or _name(kind)
                        return tuple([(..., name, *row) for row in rows])
    return tuple([item if type(item) in _PLAIN else _form(item, key_of, named) for item in value])


_FIELDS: dict[type, tuple[str, ...]] = {}

# Dataclasses of plain values only (never a model object a page reads through): their repr is canonical. A
# body's formulas, links, labels, files and citations among them: a post's whole fingerprint is then a few reprs,
# not a call per field of each of its formulas.
LEAVES = frozenset(
    {
        Heading,
        Link,
        PostLink,
        ChapterNumber,
        ScheduledChapter,
        Formula,
        SourceLink,
        Label,
        AssetRef,
        Citation,
        CiteItem,
        Diagnostic,
    }
)


def _canonical(value: object, key_of: dict[int, str], parts: list[str]) -> None:
    """Append a text that only equal values share: a string as its length and itself (no escaping to pay for on
    a post's whole body), repr() of the other plain types; containers and dataclasses spelt out so that an
    object's identity (its address) never reaches the text."""
    kind = type(value)
    if kind is str:
        parts.append(f"\x1e{len(value)}:")  # type: ignore[arg-type]
        parts.append(value)  # type: ignore[arg-type]
        return
    if kind is int or kind is bool or kind is float or value is None:
        parts.append(f"\x1f{value!r}")
        return
    if kind is Ref:
        parts.append(f"\x1d{len(value)}:{value}")  # type: ignore[arg-type]
        return
    key = key_of.get(id(value))
    if key is not None:
        parts.append(f"\x1d{len(key)}:{key}")
    elif kind is Markup:
        parts.append(f"\x1c{len(value)}:")  # type: ignore[arg-type]
        parts.append(str(value))
    elif kind is tuple or kind is list:
        if value and type(value[0]) in LEAVES:  # type: ignore[index]
            parts.append(f"\x1b{value!r}")  # a post's headings, links: one repr, not a call per field
            return
        if value and id(value[0]) in key_of:  # type: ignore[index]
            # a series' or a tag's posts: their keys in one pass, the very text the items would give one by one
            keys = [key_of.get(id(item)) for item in value]  # type: ignore[attr-defined]
            if None not in keys:
                parts.append("(" + "".join([f"\x1d{len(key)}:{key}" for key in keys]) + ")")  # type: ignore[arg-type]
                return
        parts.append("(")
        for item in value:  # type: ignore[attr-defined]
            _canonical(item, key_of, parts)
        parts.append(")")
    elif kind is dict:
        parts.append("{")
        for item_key, item in sorted(value.items(), key=lambda pair: repr(pair[0])):  # type: ignore[attr-defined]
            _canonical(item_key, key_of, parts)
            _canonical(item, key_of, parts)
        parts.append("}")
    elif kind is frozenset or kind is set:
        members = sorted(repr(item) for item in value)  # type: ignore[attr-defined]
        parts.append(f"{{{len(members)}:" + "\x1f".join(members) + "}")
    elif kind is datetime or kind is date or kind is time or kind in LEAVES:
        parts.append(repr(value))
    elif dataclasses.is_dataclass(value) or hasattr(value, "_fields"):
        _dataclass(value, key_of, parts)
    elif callable(value):
        # a helper or filter given to templates: it is the same function from one build to the next
        parts.append("f" + getattr(value, "__qualname__", kind.__qualname__))
    elif kind is bytes or kind is bytearray:
        parts.append(f"\x1a{value!r}")
    else:
        # A type this function does not know (yamldoc refuses the YAML that would make one): a text no other value
        # shares, so that what read it is rendered again each build, never kept stale and never a crash.
        parts.append(f"\x19{kind.__qualname__}:{os.urandom(16).hex()}")


def _dataclass(value: Any, key_of: dict[int, str], parts: list[str]) -> None:
    """A dataclass or named tuple, field by field."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = (
            value._fields if hasattr(value, "_fields") else tuple(f.name for f in dataclasses.fields(value))
        )
    parts.append(kind.__qualname__ + "(")
    append = parts.append
    for name in names:
        # a string, a number, None: _canonical's text inline (most of a post's fields; a post's whole
        # fingerprint in a new process is a call per field otherwise)
        field = getattr(value, name)
        field_kind = type(field)
        if field_kind is str:
            append(f"\x1e{len(field)}:")
            append(field)
        elif field_kind is int or field_kind is bool or field is None:
            append(f"\x1f{field!r}")
        elif field_kind is datetime:
            append(repr(field))
        elif field_kind is tuple and not field:
            append("()")
        else:
            _canonical(field, key_of, parts)
    append(")")
