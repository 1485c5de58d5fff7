"""What the last good build rendered: for every output its spec, what it read and a digest of its bytes
(RenderMemory), kept in the dev server's process and on disk in .primer-cache/ for the next `build`.

The next build renders a page again only when its spec changed, one of its reads changed, or its file is not
intact (render.py decides; this module only keeps and stores what it needs to).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from primer_site.caches.dependencies import Dependency, DependencyLedger
from primer_site.rendering.pages import PageSpec

_MEMORY_FORMAT = 2


@dataclass(frozen=True)
class PageRecord:
    """What the last good build knew of one output."""

    spec: PageSpec | None  # the spec itself in this process (compared by ==); None when read from disk
    spec_digest: bytes
    reads: array  # the numbers (in the memory's ledger) of what it read, sorted
    digest: bytes  # of the output's bytes


class RenderMemory:
    """Every output of the last good build with what it read, and the fingerprints those reads had then."""

    def __init__(self) -> None:
        self.records: dict[str, PageRecord] = {}
        self.ledger = DependencyLedger()
        # the list of outputs, and what working it out read: kept in this process while none of that changed
        self.specs: list[PageSpec] | None = None
        self.specs_reads: array = array("I")
        self.unrecorded: frozenset[str] = frozenset()  # paths of `specs` with no record (their template failed)
        self._places: dict[str, list[int]] | None = None  # where each path is in `specs`
        # what reads each number: path → the outputs that read it, or did when they were recorded (a superset,
        # checked against the record); made when first asked, then kept up to date as pages are recorded again
        self._readers: dict[int, list[str]] | None = None
        self._indexed = 0  # paths added since the index was made: past the reads it was made from, made afresh
        self._indexed_from = 0

    def readers(self, numbers: Iterable[int]) -> set[str]:
        """The paths of the outputs whose recorded reads hold one of these numbers: a look-up per number, not a
        pass over the outputs (once the index is made)."""
        index = self._readers
        if index is None:
            index = self._readers = {}
            for path, known in self.records.items():
                for number in known.reads:
                    found = index.get(number)
                    if found is None:
                        index[number] = [path]
                    else:
                        found.append(path)
            self._indexed, self._indexed_from = 0, sum(len(known.reads) for known in self.records.values())
        wanted = set(numbers)
        found: set[str] = set()
        for number in wanted:
            paths = index.get(number)
            if paths:
                found.update(paths)
        records = self.records
        return {path for path in found if path in records and not wanted.isdisjoint(records[path].reads)}

    def recorded(self, made: dict[str, PageRecord | None]) -> None:
        """Outputs recorded again (None: no longer recorded): the records, and the index of who reads what."""
        records, index = self.records, self._readers
        for path, known in made.items():
            if known is None:
                records.pop(path, None)
                continue
            records[path] = known
            if index is not None:
                self._indexed += len(known.reads)
                for number in known.reads:
                    found = index.get(number)
                    if found is None:
                        index[number] = [path]
                    else:
                        found.append(path)
        if self._indexed > self._indexed_from + 10_000:  # mostly stale entries: make it afresh when next asked
            self._readers = None

    def places(self) -> dict[str, list[int]]:
        """Where each path is in `specs` (two specs may share a path: an error reported elsewhere)."""
        if self._places is None:
            self._places = {}
            for place, spec in enumerate(self.specs or ()):
                self._places.setdefault(spec.path, []).append(place)
        return self._places

    def keep_specs(self, specs: list[PageSpec], reads: array) -> None:
        """The list of outputs of this good build, kept in this process while what working it out read holds."""
        if specs is not self.specs:
            self.specs, self.specs_reads, self._places = specs, reads, None

    def dump(self) -> dict:
        """The memory as JSON data, for .primer-cache/ (the model objects of the ledger stay behind). What an
        output read is its numbers, four little-endian bytes each, in base64: half a million of them at 5,000
        posts, read and written in milliseconds."""
        used = sorted(set().union(*(known.reads for known in self.records.values())))
        fingerprints, wholes = self.ledger.freeze(used)
        table = self.ledger.table
        compact = len(used) == len(table)  # no number is unused: the outputs' numbers stand as they are
        renumbered = {} if compact else {number: index for index, number in enumerate(used)}
        pages = []
        for path, known in sorted(self.records.items()):
            reads = known.reads if compact else array("I", [renumbered[number] for number in known.reads])
            pages.append([path, known.spec_digest.hex(), known.digest.hex(), _packed(reads)])
        return {
            "format": _MEMORY_FORMAT,
            "dependencies": _joined([table[number] for number in used]),
            "fingerprints": base64.b64encode(b"".join(fingerprints[number] for number in used)).decode(),
            "objects": sorted([key, value.hex()] for key, value in wholes.items()),
            "pages": pages,
        }

    @classmethod
    def load(cls, data: object) -> RenderMemory | None:
        """A memory from dump()'s data; None for anything else (a foreign or damaged cache is ignored)."""
        try:
            if not isinstance(data, dict) or data.get("format") != _MEMORY_FORMAT:
                return None
            dependencies = _split(data["dependencies"])
            packed = base64.b64decode(data["fingerprints"], validate=True)
            if len(packed) != 16 * len(dependencies):
                return None
            fingerprints = {n: packed[16 * n : 16 * n + 16] for n in range(len(dependencies))}
            wholes = {str(key): bytes.fromhex(value) for key, value in data["objects"]}
            memory = cls()
            memory.ledger = DependencyLedger(dependencies, fingerprints, wholes)
            count = len(dependencies)
            for path, spec_digest, digest, reads in data["pages"]:
                numbers = _unpacked(reads)
                if numbers and numbers[-1] >= count:
                    return None
                memory.records[str(path)] = PageRecord(None, bytes.fromhex(spec_digest), numbers, bytes.fromhex(digest))
            return memory
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, binascii.Error):
            return None


def _joined(dependencies: list[Dependency]) -> str | list[list[str]]:
    """Dependencies as one text, split by two control characters no path or name holds (else as JSON lists):
    loading 100,000 of them is then two splits, not 100,000 lists."""
    text = "\x1e".join(f"{what}\x1f{which}" for what, which in dependencies)
    if text.count("\x1f") != len(dependencies) or text.count("\x1e") != max(len(dependencies) - 1, 0):
        return [[what, which] for what, which in dependencies]
    return text


def _split(data: str | list[list[str]]) -> list[Dependency]:
    if isinstance(data, list):
        return [(str(what), str(which)) for what, which in data]
    if not data:
        return []
    return [tuple(item.split("\x1f")) for item in data.split("\x1e")]  # type: ignore[misc]


def _packed(numbers: array) -> str:
    if sys.byteorder == "big":
        numbers = array("I", numbers)
        numbers.byteswap()
    return base64.b64encode(numbers.tobytes()).decode()


def _unpacked(text: str) -> array:
    numbers = array("I")
    numbers.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers


def spec_digest(spec: PageSpec) -> bytes:
    """A digest of a page's spec, the same in every process: its repr, which names every field and quotes every
    string (specs hold only strings, numbers, Refs and named tuples of them)."""
    return hashlib.blake2b(repr(spec).encode("utf-8", "surrogatepass"), digest_size=16).digest()
