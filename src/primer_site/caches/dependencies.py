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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from primer_site.caches.fingerprints import (
    MISSING,
    Fingerprint,
    Ref,
    fingerprint,
    whole_fingerprint,
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
        key_of = self.key_of
        key = key_of.get(id(value))
        if key is not None:
            return _Tracked(value, self, key)
        if type(value) is tuple and value and id(value[0]) in key_of:
            # a series' or a tag's posts, a site's: one pass (the page list reads ~15,000 of them at 1,000 posts)
            return tuple(
                [
                    _Tracked(item, self, key) if (key := key_of.get(id(item))) is not None else self.tracked(item)
                    for item in value
                ]
            )
        return value


class _Tracked:
    """A model object whose attribute reads are recorded (for outputs made by Python code, such as feeds)."""

    __slots__ = ("_key", "_object", "_recording")

    def __init__(self, obj: object, recording: Recording, key: str) -> None:
        self._object = obj
        self._recording = recording
        self._key = key  # the object's key in the index (what recording.attribute would look up)

    def __getattr__(self, name: str) -> Any:
        # into the recording active now: a memoised part of an output (RecordedMemo) records on its own
        (ACTIVE_RECORDING.get() or self._recording).reads.add((self._key, name))
        value = getattr(self._object, name)
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:  # most reads: nothing to wrap
            return value
        return self._recording.tracked(value)


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
        self.names: dict[str, tuple[str, ...]] = {}  # the keys each other object's whole names, each once
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
                named: list[str] = []
                found, names_others = whole_fingerprint(obj, self.index.key_of, named)
                self.wholes[key] = found
                if not names_others:  # no model object among its fields
                    self.self_contained.add(key)
                else:
                    self.names[key] = tuple(dict.fromkeys(named))
        return found

    def vouch(self, key: str, whole: Fingerprint) -> None:
        """Take `whole` as the whole fingerprint of the model object `key`, without working it out: its caller knows
        the object was made from the very inputs of one that had this whole and named no other model object
        (lastbuild.post_inputs). Nothing for an object not in the index, or one whose whole is known already."""
        if key in self.index.objects and key not in self.wholes:
            self.wholes[key] = whole
            self.self_contained.add(key)

    def contained_whole(self, key: str) -> Fingerprint | None:
        """The whole fingerprint of `key` if it is known and names no other model object (what a later build may be
        vouched), else None."""
        return self.wholes.get(key) if key in self.self_contained else None

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


_UNASKED = object()
