"""What the last good build rendered: for every output its spec, what it read and a digest of its bytes
(RenderMemory), kept in the dev server's process and on disk in .primer-cache/ for the next `build`.

The next build renders a page again only when its spec changed, one of its reads changed, or its file is not
intact (render.py decides; this module only keeps and stores what it needs to).
"""

from __future__ import annotations

import marshal
import os
from array import array
from collections.abc import Iterable, Sequence

from primer_site.caches.dependencies import Dependency
from primer_site.caches.ledger import DependencyLedger, DependencyLines, PackedFingerprints, dependency_text
from primer_site.rendering.pagerecords import PageRecord, fits, kept_readers, pack, unpack
from primer_site.rendering.pages import PageSpec
from primer_site.rendering.storedspecs import StoredSpecs, spec_paths, stored_rows

_MEMORY_FORMAT = 5  # 5: the memory names itself (its token), and a delta may follow it
_DELTA_FORMAT = 1
_DELTA_SHARE = 8  # a delta is kept while it holds under 1/8 of the pages and of the numbers; past that, all anew
_UNREAD_SHARE = 4  # numbers no output may read any more, past 1/4 of them: renumbered (`dump`)


class RenderMemory:
    """Every output of the last good build with what it read, and the fingerprints those reads had then."""

    def __init__(self) -> None:
        self.records: dict[str, PageRecord] = {}
        self.ledger = DependencyLedger()
        # the list of outputs, and what working it out read: kept in this process while none of that changed
        self.specs: Sequence[PageSpec] | None = None
        self.specs_reads: array = array("I")
        self.unrecorded: frozenset[str] = frozenset()  # paths of `specs` with no record (their template failed)
        self._places: dict[str, list[int]] | None = None  # where each path is in `specs`
        # what reads each number: path → the outputs that read it, or did when they were recorded (a superset,
        # checked against the record); made when first asked, then kept up to date as pages are recorded again
        self._readers: dict[int, list[str]] | None = None
        self._indexed = 0  # paths added since the index was made: past the reads it was made from, made afresh
        self._indexed_from = 0
        self.unread_at_most = 0  # how many numbers of the ledger may no longer be read by any output
        # on disk: the memory as last written whole (its token, the first part), and what changed since (a delta,
        # the second part: None when there is none): the build's record names both, and so what it was read from
        self.token: tuple[bytes, bytes | None] | None = None
        self._base: _Base | None = None  # the memory as read whole from disk, which a delta is taken against
        self._touched: set[str] = set()  # the paths recorded again (or dropped) since that was written

    def _due_renumbering(self) -> bool:
        """Whether more than 1/_UNREAD_SHARE of the ledger's numbers may no longer be read by any output: then the
        memory is written whole, renumbered (`dump`), not as a delta."""
        return self.unread_at_most * _UNREAD_SHARE > len(self.ledger.table)

    def without_record(self, paths: Iterable[str]) -> frozenset[str]:
        """The `paths` with no record (their template failed): rendered again next time whatever they read."""
        records = self.records
        return frozenset(path for path in paths if path not in records)

    def readers(self, numbers: Iterable[int], indexed: bool = True) -> set[str]:
        """The paths of the outputs whose recorded reads hold one of these numbers: a look-up per number in the
        index kept in this process (made at the end of the first build: see `recorded`), not a pass over the
        outputs. Not `indexed` (a memory read from disk for one build): pagerecords.kept_readers, a search in C
        for each number's four bytes over all the outputs' kept reads laid end to end (every output's reads unpacked
        instead past a few numbers), not the index's Python loop over all of them."""
        wanted = set(numbers)
        index = self._readers
        if index is None:
            if not indexed:
                return kept_readers(self.records, wanted)
            index = self._index()
        found: set[str] = set()
        for number in wanted:
            paths = index.get(number)
            if paths:
                found.update(paths)
        records = self.records
        return {path for path in found if path in records and not wanted.isdisjoint(records[path].reads)}

    def _index(self) -> dict[int, list[str]]:
        index: dict[int, list[str]] = {}
        for path, known in self.records.items():
            _add_reader(index, path, known.reads)
        self._readers = index
        self._indexed, self._indexed_from = 0, sum(len(known.reads) for known in self.records.values())
        return index

    def recorded(self, made: dict[str, PageRecord | None], indexed: bool = False) -> None:
        """Outputs recorded again (None: no longer recorded). `indexed`: keep the index of who reads what (a memory
        kept in this process): made whole after the first build, which rendered every page anyway; after that, the
        pages recorded again are added to it (their old entries stay, checked against the record when asked),
        until as many entries were added as it was made with: then it is made afresh, so that its cost stays in
        proportion to the pages rendered."""
        records, index = self.records, self._readers
        if self._base is not None:
            self._touched.update(made)
        for path, known in made.items():
            before = records.pop(path, None) if known is None else records.get(path)
            if before is not None:  # what it read before may now be read by none
                self.unread_at_most += len(before.reads)
            if known is None:
                continue
            records[path] = known
            if index is not None:
                self._indexed += len(known.reads)
                _add_reader(index, path, known.reads)
        if indexed and (index is None or self._indexed > self._indexed_from):
            self._index()
        elif not indexed:
            self._readers = None

    def places(self) -> dict[str, list[int]]:
        """Where each path is in `specs` (two specs may share a path: an error reported elsewhere)."""
        if self._places is None:
            self._places = {}
            for place, path in enumerate(spec_paths(self.specs or ())):
                self._places.setdefault(path, []).append(place)
        return self._places

    def keep_specs(self, specs: Sequence[PageSpec], reads: array) -> None:
        """The list of outputs of this good build, kept in this process while what working it out read holds."""
        if specs is not self.specs:
            self.specs, self.specs_reads, self._places = specs, reads, None

    def dump(self) -> bytes:
        """The memory as bytes, for .primer-cache/ (the model objects of the ledger stay behind): marshal's format
        of plain data (strings, bytes, tuples), which loads in milliseconds. What an output read is its numbers,
        four little-endian bytes each. A number no output reads any more is kept (with its fingerprint) until a
        quarter of them (_UNREAD_SHARE) may be such: renumbering means a pass over every output's reads."""
        ledger = self.ledger
        table = ledger.table
        numbers: range | list[int] = range(len(table))
        renumbered: dict[int, int] | None = None
        specs = stored_rows(self.specs) if self.specs is not None else None
        if self._due_renumbering():
            reads = (known.reads for known in self.records.values())
            numbers = sorted(set().union(*reads, self.specs_reads if specs is not None else ()))
            renumbered = {number: index for index, number in enumerate(numbers)}
        fingerprints, wholes = ledger.freeze(numbers)
        pages = []
        for path, known in sorted(self.records.items()):
            if renumbered is not None:
                packed = pack(array("I", [renumbered[n] for n in known.reads]))
            else:
                packed = known.packed if known.packed is not None else pack(known.reads)
            pages.append((path, known.spec_digest, known.digest, packed))
        if renumbered is None:
            by_what = {what: pack(found) for what, found in ledger.by_what.items()}
        else:
            grouped: dict[str, array] = {}
            for index, number in enumerate(numbers):
                grouped.setdefault(table[number][0], array("I")).append(index)
            by_what = {what: pack(found) for what, found in grouped.items()}
        kept = table if renumbered is None else [table[number] for number in numbers]
        # one text for the next build to read, once a build reads one from disk: a build from nothing writes the
        # pairs (marshal shares their names), whose text would add ~15 MB at 5,000 posts to that build's peak
        text = dependency_text(kept) if ledger.from_disk else None
        self.token = (os.urandom(16), None)  # names this memory: the record says which one it was made with
        data = (
            _MEMORY_FORMAT,
            self.token[0],
            text if text is not None else tuple(kept),  # one string, unless a name holds a separator
            fingerprints,
            wholes,
            by_what,
            tuple(pages),
            0 if renumbered is not None else self.unread_at_most,
            # the list of outputs and what working it out read: the next build takes it as it is while none of
            # that changed (render.RenderPass)
            specs,
            # (no list kept, its reads are not among the kept numbers either: none to write)
            pack(array("I"))
            if specs is None
            else pack(
                self.specs_reads if renumbered is None else array("I", [renumbered[n] for n in self.specs_reads])
            ),
        )
        return marshal.dumps(data)

    @classmethod
    def load(cls, data: bytes) -> RenderMemory | None:
        """A memory from dump()'s bytes (read back from a file whose digest held: see diskrecords.recall_bytes); None
        for anything else (a foreign or damaged cache is ignored)."""
        try:
            found = marshal.loads(data)
            if type(found) is not tuple or len(found) != 10 or found[0] != _MEMORY_FORMAT:
                return None
            _, token, dependencies, packed, wholes, by_what, pages, unread, specs, specs_reads = found
            if type(token) is not bytes:
                return None
            if type(dependencies) is str:
                dependencies = DependencyLines(dependencies)
            count = len(dependencies)
            if type(packed) is not bytes or len(packed) != 16 * count or type(wholes) is not dict:
                return None
            groups = {str(what): unpack(numbers) for what, numbers in by_what.items()}
            if sum(map(len, groups.values())) != count or any(n and max(n) >= count for n in groups.values()):
                return None
            memory = cls()
            memory.unread_at_most = int(unread)
            if isinstance(dependencies, DependencyLines):
                numbers: dict | DependencyLines = dependencies
            else:
                numbers = dict(zip(dependencies, range(count), strict=True))
                if len(numbers) != count:  # one twice: the numbers would not line up
                    return None
            memory.ledger = DependencyLedger.numbered(numbers, PackedFingerprints(packed), wholes, groups)
            records = memory.records
            for path, spec_digest, digest, reads in pages:
                if not fits(reads, count):
                    return None
                if type(path) is not str or type(spec_digest) is not bytes or type(digest) is not bytes:
                    return None
                records[path] = PageRecord(None, spec_digest, None, digest, reads)
            if specs is not None:
                paths, rows = specs
                if type(paths) is not tuple or type(rows) is not tuple or len(rows) != len(paths):
                    return None
                memory.specs = StoredSpecs(paths, rows)
                memory.specs_reads = unpack(specs_reads)
                if memory.specs_reads and max(memory.specs_reads) >= count:
                    return None
                memory.unrecorded = memory.without_record(paths)
            memory.token = (token, None)
            if isinstance(dependencies, DependencyLines):  # else written whole once more, as one text (see dump)
                memory._base = _Base(token, count, packed, dict(wholes), memory.specs)
            return memory
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, EOFError):
            return None

    def delta(self) -> bytes | None:
        """What changed since the memory was read whole from disk, as bytes (marshal's plain data), for the part
        kept beside it, which `applied` takes back: the dependencies numbered since, the fingerprints and whole
        fingerprints that differ, the pages recorded again or dropped. A one-post edit at 1,000 posts writes a few
        kilobytes, not the 4 MB of the whole (nor the time to lay it out). Each delta holds every change since the
        whole was written, so there is only ever one. None when the memory must be written whole (`dump`): it was
        not read from disk (or was, as a build from nothing writes it: its dependencies as pairs, not one text), its
        list of outputs was worked out again, it is due a renumbering, or the changes grew past 1/_DELTA_SHARE of
        the pages or of the numbers."""
        base, ledger = self._base, self.ledger
        table = ledger.table
        if (
            base is None
            or self.token is None
            or self.specs is not base.specs
            or self._due_renumbering()
            or _DELTA_SHARE * len(self._touched) > len(self.records)
            or _DELTA_SHARE * (len(table) - base.count) > base.count
        ):
            return None
        lines = _lines(table, base.count)
        if lines is None:
            return None
        packed, wholes = ledger.freeze(range(len(table)))
        known, before = ledger.fingerprints, base.packed
        numbers = array("I")
        for number in sorted(known.changed.keys() | set(range(base.count, len(table)))):
            place = 16 * number
            if number >= base.count or packed[place : place + 16] != before[place : place + 16]:
                numbers.append(number)
        if _DELTA_SHARE * len(numbers) > base.count or not base.wholes.keys() <= wholes.keys():
            return None
        pages = []
        for path in sorted(self._touched):
            found = self.records.get(path)
            if found is None:
                pages.append((path,))
            else:
                pages.append((path, found.spec_digest, found.digest, found.packed or pack(found.reads)))
        self.token = (base.token, os.urandom(16))
        data = (
            _DELTA_FORMAT,
            base.token,
            self.token[1],
            lines,
            pack(numbers),
            b"".join([packed[16 * number : 16 * number + 16] for number in numbers]),
            {what: whole for what, whole in wholes.items() if base.wholes.get(what) != whole},
            tuple(pages),
            self.unread_at_most,
        )
        return marshal.dumps(data)

    def applied(self, data: bytes) -> bool:
        """Take in a delta written by `delta` against this very memory (read whole from disk, as it was written);
        False for any other bytes, or one that does not fit it (then this memory is not to be used: the record
        names the delta it was made with)."""
        base, ledger = self._base, self.ledger
        try:
            found = marshal.loads(data)
            if type(found) is not tuple or len(found) != 9 or found[0] != _DELTA_FORMAT or base is None:
                return False
            _, token, delta_token, lines, numbers, fingerprints, wholes, pages, unread = found
            if token != base.token or self.token != (base.token, None) or len(ledger.table) != base.count:
                return False
            if type(delta_token) is not bytes or type(lines) is not str or type(wholes) is not dict:
                return False
            for line in lines.split("\n") if lines else ():
                what, separator, which = line.partition("\x00")
                if not separator or ledger.number((what, which)) != len(ledger.table) - 1:
                    return False  # a dependency it already had: not a delta of this memory
            count = len(ledger.table)
            changed = unpack(numbers)
            if type(fingerprints) is not bytes or len(fingerprints) != 16 * len(changed):
                return False
            for place, number in enumerate(changed):
                if number >= count:
                    return False
                ledger.fingerprints[number] = fingerprints[16 * place : 16 * place + 16]
            if not all(type(what) is str and type(whole) is bytes for what, whole in wholes.items()):
                return False
            ledger.wholes = {**ledger.wholes, **wholes}
            records = self.records
            for row in pages:
                path = row[0]
                if type(path) is not str:
                    return False
                if len(row) == 1:
                    records.pop(path, None)
                else:
                    _, spec_digest, digest, packed = row
                    if not fits(packed, count) or type(spec_digest) is not bytes or type(digest) is not bytes:
                        return False
                    records[path] = PageRecord(None, spec_digest, None, digest, packed)
                self._touched.add(path)
            self.unread_at_most = int(unread)
            if self.specs is not None:
                self.unrecorded = self.without_record(spec_paths(self.specs))
            self.token = (base.token, delta_token)
            return True
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, EOFError):
            return False


def _lines(table: list[Dependency], start: int) -> str | None:
    """The dependencies numbered from `start` on, as DependencyLines' text; None if a name holds a separator."""
    if isinstance(table, DependencyLines):
        if table.aside:
            return None
        return "\n".join(list.__getitem__(table, slice(start, None)))
    return dependency_text(table[start:])


class _Base:
    """A memory as it was read whole from disk: what a delta is taken against (a plain class: a dataclass costs
    every process ~1 ms at import)."""

    __slots__ = ("count", "packed", "specs", "token", "wholes")

    def __init__(
        self, token: bytes, count: int, packed: bytes, wholes: dict[str, bytes], specs: Sequence[PageSpec] | None
    ) -> None:
        self.token = token
        self.count = count  # the dependencies it numbered
        self.packed = packed  # their fingerprints, 16 bytes each
        self.wholes = wholes
        self.specs = specs


def _add_reader(index: dict[int, list[str]], path: str, reads: Iterable[int]) -> None:
    """`path` entered in `index` (read number → the pages that read it) under each of its `reads`."""
    for number in reads:
        found = index.get(number)
        if found is None:
            index[number] = [path]
        else:
            found.append(path)
