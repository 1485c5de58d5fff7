"""What the last good build knew of each output, as a render memory read from disk holds it (rendermemory.py): a
page's record, its reads as dump() keeps them (four little-endian bytes a number), and the pages that read some
numbers found in those bytes without making numbers of them.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from itertools import accumulate

from primer_site.rendering.pages import PageSpec

_SEARCHED_AT_MOST = 16  # changed numbers looked for in the pages' kept bytes (kept_readers); past that, made numbers


class PageRecord:
    """What the last good build knew of one output. Read from disk (1,700 of them at 1,000 posts), its reads stay
    as they were kept, four bytes a number, until asked for: a one-edit build looks for the few changed numbers
    in those bytes (RenderMemory.readers) and makes numbers of none."""

    __slots__ = ("_reads", "digest", "packed", "spec", "spec_digest")

    def __init__(
        self,
        spec: PageSpec | None,  # the spec itself in this process (compared by ==); None when read from disk
        spec_digest: bytes,
        reads: array | None,  # the numbers (in the memory's ledger) of what it read, sorted; None: from `packed`
        digest: bytes,  # of the output's bytes
        packed: bytes | None = None,  # `reads` as dump() writes them, as they were read from disk
    ) -> None:
        if reads is None and packed is None:
            raise ValueError("a page record needs its reads")
        self.spec, self.spec_digest, self._reads, self.digest, self.packed = spec, spec_digest, reads, digest, packed

    @property
    def reads(self) -> array:
        found = self._reads
        if found is None:
            found = self._reads = unpack(self.packed)  # type: ignore[arg-type]
        return found


def kept_readers(records: dict[str, PageRecord], wanted: set[int]) -> set[str]:
    """The paths of the records that read one of the numbers `wanted` (RenderMemory.readers, for a memory read
    from disk for one build): each number's four bytes looked for (in C) in the pages' kept reads laid end to end,
    a place counted where it starts a number of one page (found elsewhere, it straddles two numbers, or two
    pages). Pages recorded since, and more than _SEARCHED_AT_MOST numbers, by one pass over the made numbers."""
    if len(wanted) > _SEARCHED_AT_MOST:
        return {path for path, known in records.items() if not wanted.isdisjoint(known.reads)}
    found = {path for path, known in records.items() if known.packed is None and not wanted.isdisjoint(known.reads)}
    paths = [path for path, known in records.items() if known.packed is not None]
    kept = [records[path].packed for path in paths]
    ends = list(accumulate(map(len, kept)))  # type: ignore[arg-type]
    laid = b"".join(kept)  # type: ignore[arg-type]
    for pattern in (pack(array("I", [number])) for number in wanted):
        at = laid.find(pattern)
        while at >= 0:
            place = bisect_right(ends, at)  # the page whose bytes hold `at`
            # a page's bytes are whole numbers (fits), so every page starts at a multiple of 4 in `laid` and this is
            # `at % 4 == 0`: a match at the start of a number, not across two; the page is what bisect names
            if (ends[place] - at) % 4 == 0:
                found.add(paths[place])
            at = laid.find(pattern, at + 1)
    return found


def fits(packed: bytes, count: int) -> bool:
    """Whether a page's kept reads are numbers of a ledger of `count`: four bytes each, sorted as dump() wrote them,
    so that the last is the largest."""
    return (
        type(packed) is bytes and len(packed) % 4 == 0 and (not packed or int.from_bytes(packed[-4:], "little") < count)
    )


def pack(numbers: array) -> bytes:
    if sys.byteorder == "big":
        numbers = array("I", numbers)
        numbers.byteswap()
    return numbers.tobytes()


def unpack(data: bytes) -> array:
    numbers = array("I")
    numbers.frombytes(data)
    if sys.byteorder == "big":
        numbers.byteswap()
    return numbers
