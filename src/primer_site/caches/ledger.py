"""The ledger of a render memory: every dependency the outputs of the last good build read, numbered, with what
the next build compares (dependencies.py records the reads and fingerprints them): in the process that made that
build, its model objects and its resolvers' answers, compared by identity before any fingerprint is worked out; read
from disk, the fingerprints themselves, 16 bytes per number (PackedFingerprints).
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Iterable

from primer_site.caches.dependencies import Dependency, Fingerprints
from primer_site.caches.fingerprints import Fingerprint


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
        self.from_disk = False  # read from disk (numbered), not made by a build from nothing in this process
        # read from disk: the whole fingerprints of model objects made from the very inputs the last build made them
        # from (buildrecord.PreviousBuild.vouch), each naming no other object: not worked out again
        self.vouched: dict[str, Fingerprint] = {}

    @classmethod
    def numbered(
        cls,
        numbers: dict[Dependency, int] | DependencyLines,
        fingerprints: PackedFingerprints,
        wholes: dict[str, Fingerprint],
        by_what: dict[str, array],
    ) -> DependencyLedger:
        """A ledger read from disk: `numbers` gives each dependency its place, 0, 1, 2... in order (or the
        dependencies are lines of a text, numbered by their order: looked up by `by_what` when asked)."""
        ledger = cls((), fingerprints, wholes, by_what)
        ledger.from_disk = True
        if isinstance(numbers, DependencyLines):
            ledger.table, ledger.numbers = numbers, _LineNumbers(numbers, by_what)
        else:
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
        settled: dict[str, bool] = {}  # _names_only_the_same's answers
        if previous is None and self.vouched:
            for what, whole in self.vouched.items():
                now.vouch(what, whole)
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
                    # the same fields: only properties, which may read the objects it names, can differ; not when
                    # those too, and all they name, have the same fields as then
                    if what in now.self_contained or self._names_only_the_same(now, what, settled):
                        continue
                    numbers = [n for n in numbers if not is_field(obj, table[n][1])]
            for number in numbers:
                if now.of(table[number]) != self._before(number):
                    changed.add(number)
        return changed

    def _names_only_the_same(self, now: Fingerprints, what: str, settled: dict[str, bool]) -> bool:
        """Whether every model object the object `what` names (by key, in its fields), and every one those name in
        turn, has the whole fingerprint the last build kept for it. Then the part of the model reachable from
        `what` is field for field what it was, and so is anything a property or method of it works out: the
        model is immutable and reaches other objects only through fields (a property of a series counts its
        posts' chapters). An object named in a cycle, or that no output read (no whole kept), is not taken as the
        same. `settled` keeps the answers of one `changes`."""
        found = settled.get(what)
        if found is not None:
            return found
        settled[what] = False  # while it is being answered: a cycle back to it is not taken as the same
        wholes, self_contained = self.wholes, now.self_contained
        same = True
        for key in now.names.get(what, ()):
            before = wholes.get(key)
            if before is None or before != now.whole(key):
                same = False
                break
            if key not in self_contained and not self._names_only_the_same(now, key, settled):
                same = False
                break
        settled[what] = same
        return same

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
                    if len(fingerprint) != 16:  # a slice assignment of another length would move every later slot
                        raise ValueError(f"a fingerprint of {len(fingerprint)} bytes, not 16")
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


class DependencyLines(list):
    """A ledger's dependencies read from disk: one text, a line "what\\x00which" each, in their numbers' order, split
    into lines at once (in C) and a line into its pair only when asked (a one-post edit asks for a few hundred of
    22,000 at 1,000 posts; marshal writes and reads the text as one string, where a tuple of 22,000 pairs was a
    tenth of the build's record-and-write time). A dependency added whose names hold a separator is kept aside."""

    def __init__(self, text: str) -> None:
        super().__init__(text.split("\n") if text else ())
        self.aside: dict[int, Dependency] = {}

    def __getitem__(self, number: int) -> Dependency:  # type: ignore[override]
        found = self.aside.get(number) if self.aside else None
        if found is not None:
            return found
        what, _, which = list.__getitem__(self, number).partition("\x00")
        return what, which

    def __iter__(self):  # type: ignore[no-untyped-def]
        return map(self.__getitem__, range(len(self)))

    def append(self, dependency: Dependency) -> None:  # type: ignore[override]
        what, which = dependency
        if "\n" in what or "\x00" in what or "\n" in which:
            self.aside[len(self)] = dependency
        list.append(self, f"{what}\x00{which}")


def dependency_text(table: list[Dependency]) -> str | None:
    """The dependencies as DependencyLines' text, or None if one's names hold a separator (a newline, a NUL)."""
    if isinstance(table, DependencyLines):
        return None if table.aside else "\n".join(list.__iter__(table))
    if any("\x00" in what for what in {what for what, _ in table}):  # a line's first NUL ends its `what`
        return None
    text = "\n".join(["\x00".join(dependency) for dependency in table])
    return text if text.count("\n") == max(len(table) - 1, 0) else None  # else a name holds a newline


class _LineNumbers(dict):
    """The number of each dependency of DependencyLines: those of an object (or resolver) entered together, the
    first time one of them is asked for (a page rendered again asks for a few hundred; a build that renders every
    page enters each once)."""

    def __init__(self, lines: DependencyLines, by_what: dict[str, array]) -> None:
        super().__init__()
        self.lines, self.by_what = lines, by_what
        self.entered: set[str] = set()

    def get(self, dependency: Dependency, default: int | None = None) -> int | None:  # type: ignore[override]
        found = dict.get(self, dependency)
        if found is None and dependency[0] not in self.entered:
            self.entered.add(dependency[0])
            lines = self.lines
            for number in self.by_what.get(dependency[0], ()):
                self.setdefault(lines[number], number)
            found = dict.get(self, dependency)
        return default if found is None else found


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


_UNASKED = object()  # no answer was kept for it

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
