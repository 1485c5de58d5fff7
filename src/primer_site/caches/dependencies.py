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

from primer_site.caches.fingerprints import MISSING, Fingerprint, Ref, fingerprint
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
            found = self.wholes[key] = MISSING if obj is None else fingerprint(obj, self.index.key_of, whole=True)
        return found

    def _work_out(self, dependency: Dependency) -> Fingerprint:
        what, which = dependency
        resolver = self.resolvers.get(what)
        if resolver is not None:
            return fingerprint(resolver(which), self.index.key_of)
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
        fingerprints: dict[int, Fingerprint] | None = None,
        wholes: dict[str, Fingerprint] | None = None,
    ) -> None:
        self.table: list[Dependency] = list(dict.fromkeys(dependencies))
        self.numbers: dict[Dependency, int] = {dependency: n for n, dependency in enumerate(self.table)}
        self.by_what: dict[str, list[int]] = {}  # may hold numbers no output reads now
        for number, (what, _) in enumerate(self.table):
            found = self.by_what.get(what)
            if found is None:
                self.by_what[what] = [number]
            else:
                found.append(number)
        self.fingerprints: dict[int, Fingerprint] = fingerprints or {}
        self.wholes: dict[str, Fingerprint] = wholes or {}
        self.previous: Fingerprints | None = None  # the last build's, in this process

    def number(self, dependency: Dependency) -> int:
        found = self.numbers.get(dependency)
        if found is None:
            found = self.numbers[dependency] = len(self.table)
            self.table.append(dependency)
            self.by_what.setdefault(dependency[0], []).append(found)
        return found

    def numbers_of(self, reads: Iterable[Dependency]) -> array:
        """The numbers of these dependencies, sorted, as an output keeps them."""
        return array("I", sorted({self.number(dependency) for dependency in reads}))

    def changes(self, now: Fingerprints) -> set[int]:
        """The numbers of the dependencies whose fingerprint now differs from the last good build's."""
        changed: set[int] = set()
        previous, table = self.previous, self.table
        for what, numbers in self.by_what.items():
            if what not in now.resolvers:
                obj = now.index.objects.get(what)
                if obj is None:
                    changed.update(numbers)
                    continue
                if previous is not None:
                    if previous.index.objects.get(what) is obj:
                        continue
                elif self.wholes.get(what) == now.whole(what):
                    # the same fields: only properties, which may read nested objects, can differ
                    numbers = [n for n in numbers if not is_field(obj, table[n][1])]
            for number in numbers:
                if now.of(table[number]) != self._before(number):
                    changed.add(number)
        return changed

    def _before(self, number: int) -> Fingerprint | None:
        dependency = self.table[number]
        if self.previous is not None and dependency[0] in self.previous.index.objects:
            return self.previous.of(dependency)
        return self.fingerprints.get(number)

    def settle(self, now: Fingerprints, changed: Iterable[int] = ()) -> None:
        """After a good build: `now` is what the next build compares with; `changed` are the numbers `changes`
        found (their old fingerprints are dropped; the others still hold)."""
        for number in changed:
            self.fingerprints.pop(number, None)
        for what, numbers in self.by_what.items():
            if what in now.resolvers:
                for number in numbers:
                    self.fingerprints[number] = now.of(self.table[number])
        self.previous = now

    def freeze(self, numbers: Iterable[int]) -> tuple[dict[int, Fingerprint], dict[str, Fingerprint]]:
        """The fingerprints a ledger read from disk needs for these numbers, and the whole fingerprints of their
        objects (worked out now where the last build's do not hold)."""
        assert self.previous is not None, "freeze() follows settle()"
        now, known, table = self.previous, self.fingerprints, self.table
        fingerprints: dict[int, Fingerprint] = {}
        wholes: dict[str, Fingerprint] = {}
        for number in numbers:
            fingerprint = known.get(number)
            fingerprints[number] = fingerprint if fingerprint is not None else now.of(table[number])
            what = table[number][0]
            if what not in now.resolvers and what not in wholes:
                wholes[what] = now.whole(what)
        return fingerprints, wholes


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def is_field(obj: object, name: str) -> bool:
    """Whether `name` is a dataclass field of `obj` (not a property or method computed from it)."""
    kind = type(obj)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = frozenset(f.name for f in dataclasses.fields(obj))  # type: ignore[arg-type]
    return name in names
