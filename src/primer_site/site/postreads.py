"""Who reads whom among the posts, as the assembly records it while it makes them: the one home of what a post's
Post is made from besides its own file and its series.

Two stages of the assembly read other posts (assemble._assemble_whole, and reassemble after an edit):

- links: a post's body links to other posts by file (`[](other.md#eq:x)`); its resolved links are made from the
  targets' posts and bodies (their titles, URLs and labels). `link_targets` says which posts those are, for the
  stage's memo (Assembly.resolved) and for its record, `PostReads.links`;
- previews: a post's previews copy the bodies of the published posts it links to by URL, as headed (their links
  resolved, their own links' texts included): `PostReads.previews`, as previews.add_previews finds them.

Both are recorded by the assembly as each stage runs, never listed by hand. Read one way (`Readers.of`), they say
which posts an edit reaches (reassemble); read the other (`PostReads.made_from`), which posts' files a post is made
from (a build in a new process keys each post on them: commands/lastbuild.post_inputs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from primer_site.syntax.bodylinks import SourceLink


def link_targets(links: Iterable[SourceLink]) -> tuple[str, ...]:
    """The posts (by source) a body's links to other posts read, each once, in the order first linked: what its
    resolved links are made from (assemblyparts.Assembly.resolved) and what PostReads.links records for it."""
    return tuple({link.target: 0 for link in links})


class Readers:
    """Who read whom: each reader's targets as last recorded, and each target's readers (posts by source)."""

    def __init__(self) -> None:
        self.targets: dict[str, tuple[str, ...]] = {}
        self.readers: dict[str, set[str]] = {}

    def read(self, reader: str, targets: Iterable[str]) -> None:
        """`reader` now reads `targets` (and no others)."""
        new = tuple(targets)
        old = self.targets.get(reader, ())
        if new == old:
            return
        for target in old:
            self.readers[target].discard(reader)
        for target in new:
            self.readers.setdefault(target, set()).add(reader)
        self.targets[reader] = new

    def of(self, targets: Iterable[str]) -> set[str]:
        """The readers of any of `targets`."""
        found: set[str] = set()
        for target in targets:
            found.update(self.readers.get(target, ()))
        return found


@dataclass
class PostReads:
    """The two stages' records: `links` (a post's body links read their targets' posts and bodies) and `previews`
    (a post's previews read their targets' posts as headed)."""

    links: Readers = field(default_factory=Readers)
    previews: Readers = field(default_factory=Readers)

    def made_from(self, source: str) -> list[str]:
        """The posts `source`'s Post is made from besides itself, sorted: those its body links to, those its previews
        copy from, and those these copies link to. Two steps, never a third: a copy holds no copy (previews copy
        body_html, not previews_html), so an edit reaches the posts that show it, not every post a chain of
        citations reaches."""
        links = self.links.targets
        read = set(links.get(source, ()))
        for target in self.previews.targets.get(source, ()):
            read.add(target)
            read.update(links.get(target, ()))
        read.discard(source)
        return sorted(read)
