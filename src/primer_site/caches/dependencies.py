"""What an output read while it was made, so that the next build makes it again only when that changed.

While a page renders, every value it reaches is recorded as a dependency, a pair (what, which):

    ("post:content/a.md", "title")   a field of a model object reached through the template context
    ("template", "post.html")        a template loaded, found or not (an override added later is a change)
    ("global", "katex")              a value the template environment gives every page
    ("series_of", "LLM Primer II")   a lookup a template helper made

After the build every dependency has a fingerprint, a digest of the value read. The next build, in the same
process or a new one, makes an output again only when the context it was given or the fingerprint of one of
its dependencies changed. This is how Lektor records artifact dependencies and how Salsa and Bazel verify
recorded queries: nothing here lists what a page depends on by hand.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from primer_site.caches.fingerprints import (
    KEY_MARK,
    MISSING,
    Fingerprint,
    Ref,
    canonical_fields,
    digest_of,
    fingerprint,
)
from primer_site.model import Site
from primer_site.sources.config import SiteConfig

Dependency = tuple[str, str]

SITE_KEY = "site"
CONFIG_KEY = "config"


class ModelIndex:
    """The model objects of one build, each under the key that names it from one build to the next.

    Reads are recorded against these keys: `key_of` finds an object's key by identity (the index holds every
    object, so an id() is never reused while it lives).
    """

    def __init__(self, site: Site, config: SiteConfig) -> None:
        self.objects: dict[str, object] = {}
        self.key_of: dict[int, str] = {}
        self._add(SITE_KEY, site)
        self._add(CONFIG_KEY, config)
        for post in site.posts:
            self._add("post:" + post.source, post)
        for series in site.series:
            self._add("series:" + series.slug, series)
        for collection in site.collections:
            self._add("collection:" + collection.slug, collection)
        for tag in site.tags:
            self._add("tag:" + tag.slug, tag)
        for category in site.categories:
            self._add("category:" + category.slug, category)

    def _add(self, key: str, value: object) -> None:
        self.objects[key] = value
        self.key_of[id(value)] = key

    def resolve(self, value: Any) -> Any:
        """`value` with each Ref replaced by the object it names (None for an object that no longer exists)."""
        if type(value) is Ref:
            return self.objects.get(value)
        if type(value) is tuple:
            return tuple(self.resolve(item) for item in value)
        return value


class Recording:
    """The dependencies one output read while it was made."""

    __slots__ = ("key_of", "reads")

    def __init__(self, key_of: dict[int, str]) -> None:
        self.key_of = key_of
        self.reads: set[Dependency] = set()

    def attribute(self, obj: object, name: str) -> None:
        """A template or a maker read `obj.name`: a dependency if `obj` is a model object."""
        key = self.key_of.get(id(obj))
        if key is not None:
            self.reads.add((key, name))

    def add(self, dependency: Dependency) -> None:
        self.reads.add(dependency)

    def tracked(self, value: Any) -> Any:
        """`value` as Python code that makes an output should see it: model objects behind a recording proxy."""
        if self.key_of.get(id(value)) is not None:
            return _Tracked(value, self)
        if type(value) is tuple and value and self.key_of.get(id(value[0])) is not None:
            return tuple(self.tracked(item) for item in value)
        return value


class _Tracked:
    """A model object whose attribute reads are recorded (for outputs made by Python code, such as feeds)."""

    __slots__ = ("_object", "_recording")

    def __init__(self, obj: object, recording: Recording) -> None:
        self._object = obj
        self._recording = recording

    def __getattr__(self, name: str) -> Any:
        # into the recording active now: a memoised part of an output (RecordedMemo) records on its own
        (ACTIVE_RECORDING.get() or self._recording).attribute(self._object, name)
        return self._recording.tracked(getattr(self._object, name))


ACTIVE_RECORDING: ContextVar[Recording | None] = ContextVar("primer_site_recording", default=None)


def current_recording() -> Recording | None:
    """The recording of the output being made on this thread, if any."""
    return ACTIVE_RECORDING.get()


@contextmanager
def recording(into: Recording) -> Iterator[Recording]:
    """Record the reads made in this block into `into`."""
    token = ACTIVE_RECORDING.set(into)
    try:
        yield into
    finally:
        ACTIVE_RECORDING.reset(token)


class RecordedMemo:
    """Parts of outputs made once per build and shared by several outputs (a post's feed HTML is in its series',
    tags' and site's feeds): what making one read is recorded again in each output that reuses it."""

    def __init__(self) -> None:
        self.made: dict[object, tuple[Any, frozenset[Dependency]]] = {}

    def get(self, key: object, make: Callable[[], Any]) -> Any:
        found = self.made.get(key)
        active = ACTIVE_RECORDING.get()
        if found is None:
            if active is None:
                return make()
            part = Recording(active.key_of)
            with recording(part):
                value = make()
            found = self.made[key] = (value, frozenset(part.reads))
        if active is not None:
            active.reads.update(found[1])
        return found[0]


def record(dependency: Dependency) -> None:
    """Note a dependency read outside a model object (a template, a lookup) in the current recording."""
    current = ACTIVE_RECORDING.get()
    if current is not None:
        current.add(dependency)


class Fingerprints:
    """The fingerprint of each dependency in one build, each worked out once and only when asked.

    `resolvers` answer dependencies that are not fields of model objects, by their first part: "template",
    "global", a helper's name… A dependency whose object or resolver no longer exists fingerprints as MISSING.
    """

    def __init__(self, index: ModelIndex, resolvers: dict[str, Callable[[str], object]]) -> None:
        self.index = index
        self.resolvers = resolvers
        self.known: dict[Dependency, Fingerprint] = {}
        self.wholes: dict[str, Fingerprint] = {}
        self.values: dict[Dependency, object] = {}  # what each resolver answered (DependencyLedger.changes)
        # objects whose whole fingerprint names no other model object: their properties, computed from their own
        # fields, are the same when the fields are
        self.self_contained: set[str] = set()
        self.worked_out = 0  # fingerprints worked out from a value (the tests count them)

    def value(self, dependency: Dependency) -> object:
        """What the resolver of a dependency that is not a model object's field answers now."""
        found = self.values.get(dependency, _UNASKED)
        if found is _UNASKED:
            found = self.values[dependency] = self.resolvers[dependency[0]](dependency[1])
        return found

    def of(self, dependency: Dependency) -> Fingerprint:
        found = self.known.get(dependency)
        if found is None:
            found = self.known[dependency] = self._work_out(dependency)
        return found

    def whole(self, key: str) -> Fingerprint:
        """The fingerprint of all the fields of a model object (its nested model objects by key)."""
        found = self.wholes.get(key)
        if found is None:
            obj = self.index.objects.get(key)
            self.worked_out += 1
            if obj is None:
                found = self.wholes[key] = MISSING
            else:
                parts: list[str] = []
                canonical_fields(obj, self.index.key_of, parts)
                text = "".join(parts)
                found = self.wholes[key] = digest_of(text)
                if KEY_MARK not in text:  # no model object (nor a string holding the mark) among its fields
                    self.self_contained.add(key)
        return found

    def _work_out(self, dependency: Dependency) -> Fingerprint:
        what, which = dependency
        self.worked_out += 1
        if what in self.resolvers:
            return fingerprint(self.value(dependency), self.index.key_of)
        obj = self.index.objects.get(what)
        if obj is None:
            return MISSING
        try:
            value = getattr(obj, which)
        except AttributeError:
            return MISSING
        if callable(value):  # a method: what it returns may depend on anything the object holds
            return fingerprint(obj, {}, whole=True)
        return fingerprint(value, self.index.key_of)


class DependencyLedger:
    """Every dependency the outputs of the last good build read, numbered, and how to tell which changed since.

    Outputs keep the numbers of what they read (four bytes each) rather than the dependencies themselves: a
    5,000-post site's pages read half a million of them. In the process that made that build (the dev server),
    the ledger keeps its model objects: a field of the very same object cannot have changed, since the model is
    immutable, and a field of a replaced one is compared with the same field of the old object. A ledger read from
    disk has fingerprints instead: each dependency's, and each model object's whole fingerprint, so that the
    fields of an object that did not change at all need no fingerprint of their own.
    """

    def __init__(
        self,
        dependencies: Iterable[Dependency] = (),
        fingerprints: PackedFingerprints | None = None,
        wholes: dict[str, Fingerprint] | None = None,
        by_what: dict[str, array] | None = None,
    ) -> None:
        """`by_what`: the numbers of each object's (or resolver's) dependencies, if known (else worked out)."""
        self.table: list[Dependency] = list(dict.fromkeys(dependencies))
        self.numbers: dict[Dependency, int] = dict(zip(self.table, range(len(self.table)), strict=True))
        if by_what is None:
            by_what = {}
            for number, (what, _) in enumerate(self.table):
                found = by_what.get(what)
                if found is None:
                    by_what[what] = array("I", [number])
                else:
                    found.append(number)
        self.by_what: dict[str, array] = by_what  # may hold numbers no output reads now
        self.fingerprints = fingerprints if fingerprints is not None else PackedFingerprints()
        self.wholes: dict[str, Fingerprint] = wholes or {}
        self.previous: Fingerprints | None = None  # the last build's, in this process

    @classmethod
    def numbered(
        cls,
        numbers: dict[Dependency, int],
        fingerprints: PackedFingerprints,
        wholes: dict[str, Fingerprint],
        by_what: dict[str, array],
    ) -> DependencyLedger:
        """A ledger read from disk: `numbers` gives each dependency its place, 0, 1, 2... in order."""
        ledger = cls((), fingerprints, wholes, by_what)
        ledger.numbers, ledger.table = numbers, list(numbers)
        return ledger

    def number(self, dependency: Dependency) -> int:
        found = self.numbers.get(dependency)
        if found is None:
            found = self.numbers[dependency] = len(self.table)
            self.table.append(dependency)
            self.by_what.setdefault(dependency[0], array("I")).append(found)
        return found

    def numbers_of(self, reads: Iterable[Dependency]) -> array:
        """The numbers of these dependencies, sorted, as an output keeps them."""
        return array("I", sorted({self.number(dependency) for dependency in reads}))

    def changes(self, now: Fingerprints) -> set[int]:
        """The numbers of the dependencies whose fingerprint now differs from the last good build's.

        In the process that made that build, only what is not the very same object as then is fingerprinted: a
        model object replaced, a field of it that is not the same value, a resolver's answer that is not the same
        immutable value. The model is immutable and the store gives back the same objects, so a one-post edit
        fingerprints that post's fields and what was made again because of it, not the site."""
        changed: set[int] = set()
        previous, table = self.previous, self.table
        for what, numbers in self.by_what.items():
            if what in now.resolvers:
                if previous is not None:
                    numbers = self._answered_otherwise(now, previous, numbers)
            else:
                obj = now.index.objects.get(what)
                if obj is None:
                    changed.update(numbers)
                    continue
                if previous is not None:
                    old = previous.index.objects.get(what)
                    if old is obj:
                        continue
                    if old is not None and type(old) is type(obj):
                        numbers = [n for n in numbers if not _same_field(old, obj, table[n][1])]
                elif self.wholes.get(what) == now.whole(what):
                    # the same fields: only properties, which may read nested objects, can differ
                    if what in now.self_contained:
                        continue
                    numbers = [n for n in numbers if not is_field(obj, table[n][1])]
            for number in numbers:
                if now.of(table[number]) != self._before(number):
                    changed.add(number)
        return changed

    def _answered_otherwise(self, now: Fingerprints, previous: Fingerprints, numbers: list[int]) -> list[int]:
        """Of these resolver dependencies, those whose answer now is not the very value it was (the others keep
        their fingerprint, which `now` takes over without working it out)."""
        table, known, answered = self.table, self.fingerprints, previous.values
        left = []
        for number in numbers:
            dependency = table[number]
            before = answered.get(dependency, _UNASKED)
            fingerprint = known.get(number)
            if fingerprint is not None and _same_value(before, now.value(dependency)):
                now.known[dependency] = fingerprint
            else:
                left.append(number)
        return left

    def _before(self, number: int) -> Fingerprint | None:
        dependency = self.table[number]
        if self.previous is not None and dependency[0] in self.previous.index.objects:
            return self.previous.of(dependency)
        return self.fingerprints.get(number)

    def settle(self, now: Fingerprints, changed: Iterable[int] = ()) -> None:
        """After a good build: `now` is what the next build compares with; `changed` are the numbers `changes`
        found (their old fingerprints are dropped; the others still hold)."""
        for number in changed:
            self.fingerprints.pop(number)
        for what, numbers in self.by_what.items():
            if what in now.resolvers:
                for number in numbers:
                    self.fingerprints[number] = now.of(self.table[number])
        self.previous = now

    def freeze(self, numbers: Iterable[int]) -> tuple[bytes, dict[str, Fingerprint]]:
        """The fingerprints a ledger read from disk needs for these numbers (16 bytes each, in their order), and
        the whole fingerprints of their objects (worked out now where the last build's do not hold)."""
        assert self.previous is not None, "freeze() follows settle()"
        now, known, table = self.previous, self.fingerprints, self.table
        if numbers == range(len(table)):  # every number: what was read from disk, with what changed since
            packed = bytearray(known.packed[: 16 * len(table)])
            packed.extend(bytes(16 * len(table) - len(packed)))
            for number in sorted(known.changed.keys() | set(range(known.count, len(table)))):
                if number < len(table):
                    fingerprint = known.get(number)
                    fingerprint = fingerprint if fingerprint is not None else now.of(table[number])
                    packed[16 * number : 16 * number + 16] = fingerprint
            whats: Iterable[str] = self.by_what
        else:
            parts = []
            for number in numbers:
                fingerprint = known.get(number)
                parts.append(fingerprint if fingerprint is not None else now.of(table[number]))
            packed = bytearray(b"".join(parts))
            whats = {table[number][0] for number in numbers}
        wholes = {what: now.whole(what) for what in whats if what not in now.resolvers}
        return bytes(packed), wholes


class PackedFingerprints:
    """A ledger's fingerprints by number: 16 bytes per number in one bytes object, as read from disk (sliced when
    asked: loading 100,000 of them is no work), and those set or dropped since, kept aside."""

    def __init__(self, packed: bytes = b"") -> None:
        if len(packed) % 16:
            raise ValueError("not 16 bytes per fingerprint")
        self.packed, self.count = packed, len(packed) // 16
        self.changed: dict[int, Fingerprint | None] = {}

    def get(self, number: int) -> Fingerprint | None:
        if number in self.changed:
            return self.changed[number]
        if 0 <= number < self.count:
            return self.packed[16 * number : 16 * number + 16]
        return None

    def pop(self, number: int) -> None:
        self.changed[number] = None

    def __setitem__(self, number: int, fingerprint: Fingerprint) -> None:
        self.changed[number] = fingerprint


_UNASKED = object()

# Values that cannot change while they live: the same object is the same value. Model objects are frozen
# dataclasses; a dict or a list is not among them (it might be filled again in place), so it is fingerprinted.
_IMMUTABLE = frozenset({str, bytes, int, float, bool, type(None), frozenset})


def _same_value(before: object, now: object) -> bool:
    """Whether `now` is the very value `before` was (a tuple: its items, each the same)."""
    if before is now:
        return type(now) in _IMMUTABLE or _is_frozen(now) or (type(now) is tuple and all(map(_is_settled, now)))
    if type(before) is tuple and type(now) is tuple and len(before) == len(now):  # type: ignore[arg-type]
        return all(a is b and _is_settled(b) for a, b in zip(before, now, strict=True))  # type: ignore[call-overload]
    return False


def _is_settled(value: object) -> bool:
    return type(value) in _IMMUTABLE or _is_frozen(value) or (type(value) is tuple and all(map(_is_settled, value)))


def _is_frozen(value: object) -> bool:
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and params.frozen


def _same_field(old: object, now: object, name: str) -> bool:
    """Whether the field `name` of a replaced model object is the very value it was (then nothing that read it
    can have changed; a property or method is worked out again, and so fingerprinted)."""
    if not is_field(now, name):
        return False
    return getattr(old, name) is getattr(now, name)


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def is_field(obj: object, name: str) -> bool:
    """Whether `name` is a dataclass field of `obj` (not a property or method computed from it)."""
    kind = type(obj)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = frozenset(f.name for f in dataclasses.fields(obj))  # type: ignore[arg-type]
    return name in names
