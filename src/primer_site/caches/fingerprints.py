"""A value's fingerprint: a 16-byte digest (BLAKE2b) that only equal values share, the same in every process.

Model objects count by their key (a Ref, "post:content/a.md"), never by their address, so that a page's recorded
reads can be compared from one build to the next, in this process or another (dependencies.py records them, ledger.py keeps them).
Strings are length-prefixed rather than escaped: a post's whole body costs one append, not a scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from datetime import date, datetime, time
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


MISSING: Fingerprint = b"\x00missing"


def fingerprint(value: object, key_of: dict[int, str], whole: bool = False) -> Fingerprint:
    """A 16-byte digest of `value` that is the same in every process: model objects count by their key
    (`whole`: except `value` itself, spelt out field by field)."""
    parts: list[str] = []
    if whole:
        _dataclass(value, key_of, parts)
    else:
        _canonical(value, key_of, parts)
    return digest_of("".join(parts))


KEY_MARK = "\x1d"  # begins a model object's key (or a Ref) in a canonical text


def digest_of(text: str) -> Fingerprint:
    """The fingerprint of a canonical text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def canonical_fields(value: object, key_of: dict[int, str], parts: list[str]) -> None:
    """Append the canonical text of a dataclass spelt field by field (as `fingerprint(..., whole=True)` hashes):
    its nested model objects by key, each beginning with KEY_MARK."""
    _dataclass(value, key_of, parts)


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
