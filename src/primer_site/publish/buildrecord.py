"""What the last good build into an output folder left, for the next build there in a new process (the store keeps
it on disk: diskrecords.py).

Parts per output folder, each marshal's plain data: a small record (the build's inputs and settings, what it
printed, the Manifest of the live folder) that tells at once whether a new build would make exactly the same site, and the render memory (every
output's recorded reads, as bytes: rendermemory.py), read only when something changed: its whole ("render"), and
what later builds changed in it ("render-delta-" and its token, while that is small). The record, written last,
names the very whole and delta it was made with; a build killed before its record leaves the last build's delta in
place beside its own, so the last record still finds what it names.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path

from primer_site.diskrecords import keep_bytes, keep_newest, keep_only, recall_bytes
from primer_site.errors import Diagnostic
from primer_site.layout import CONFIG_FILE
from primer_site.publish.manifest import Manifest
from primer_site.publish.output import live_folder
from primer_site.rendering.render import RenderMemory, RenderPass
from primer_site.rendering.theme import theme_dir
from primer_site.store import BuildInputs, Stamp, take_inputs


@dataclass(frozen=True)
class LastBuild:
    """The record of a good build: enough to tell that another would make the same site, and to say what it said."""

    settings: str  # a digest of everything besides files that shapes the output (see build.py)
    files: dict[str, Stamp] | None  # the inputs' stamps; None when one was too recent to be trusted
    moments: tuple[datetime | None, datetime | None]  # the latest post date at or before "now", the earliest after
    counts: tuple[int, int, int, int]  # pages, posts, series, tags
    warnings: tuple[Diagnostic, ...]
    manifest: Manifest
    # the render memory it was made with: the token of the whole kept, and of the delta kept beside it (None: none)
    # (rendermemory.RenderMemory.token): a memory read back is used only if it is that very one
    render: tuple[bytes, bytes | None] | None = None
    # each published post's inputs (lastbuild.post_inputs) and the whole fingerprint of the Post made from them, by
    # its key: a post made from the same inputs is the same post, whose whole need not be worked out again
    posts: dict[str, tuple[bytes, bytes]] | None = None

    def makes_the_same(self, settings: str, inputs: BuildInputs, now: datetime) -> bool:
        """Whether a build with these settings, inputs and "now" would make what this one made (then nothing needs
        doing, if the live folder is still as this build left it)."""
        if settings != self.settings or self.files is None or inputs.files != self.files:
            return False
        before, after = self.moments
        # "now" only sorts posts into published and scheduled: the same sort, the same site
        return (before is None or before <= now) and (after is None or now < after)

    def to_plain(self) -> tuple:
        """The record as marshal's plain data: loaded in a few milliseconds, where its JSON (a stamp per input and
        output file, 400 KB at 1,000 posts) took ~0.02 s to parse and convert."""
        return (
            self.settings,
            self.files,
            tuple(None if moment is None else moment.isoformat() for moment in self.moments),
            self.counts,
            tuple((d.path, d.line, d.column, d.severity, d.message) for d in self.warnings),
            self.manifest.to_plain(),
            self.render,
            self.posts,
        )

    @classmethod
    def from_plain(cls, data: tuple) -> LastBuild:
        """A record from to_plain's data (read back under its digest); ValueError, TypeError or IndexError for any
        other."""
        settings, files, moments, counts, warnings, manifest, render, posts = data
        if type(settings) is not str or (files is not None and type(files) is not dict) or len(counts) != 4:
            raise ValueError("not a record")
        if posts is not None and type(posts) is not dict:
            raise ValueError("not a record")
        if render is not None and (type(render[0]) is not bytes or type(render[1]) not in (bytes, type(None))):
            raise ValueError("not a record")
        return cls(
            settings=settings,
            files=files,
            moments=tuple(None if m is None else datetime.fromisoformat(m) for m in moments),  # type: ignore[arg-type]
            counts=tuple(counts),  # type: ignore[arg-type]
            warnings=tuple(Diagnostic(*warning) for warning in warnings),
            manifest=Manifest.from_plain(manifest),
            render=None if render is None else (render[0], render[1]),
            posts=posts,
        )


class PreviousBuild:
    """A build in a new process and the last good build into the same output folder: the inputs' stamps taken
    now (before anything is read), the last record if there is one, and, once the build is good, its own record
    kept for the next."""

    def __init__(self, source: Path, output: Path, settings: str, folders: Iterable[str]) -> None:
        self.source, self.settings = source, settings
        self.name = hashlib.blake2b(
            str(live_folder(output)).encode("utf-8", "surrogateescape"), digest_size=10
        ).hexdigest()
        self.inputs = take_inputs(source, folders, (CONFIG_FILE,), theme_dir())
        self.record = _recalled(recall_bytes(source, self.name, "record"))
        self.post_inputs: dict[str, tuple[bytes, bool]] = {}  # lastbuild.post_inputs of this build (vouch)

    def same_site(self, now: datetime) -> bool:
        """Whether this build would make exactly what the last one made, which the folder still holds intact and
        alone: a file put there since is an error of the build (output.foreign_entries), as without the record."""
        record = self.record
        if not (
            record is not None
            and record.makes_the_same(self.settings, self.inputs, now)
            and record.manifest.all_intact()
            and record.manifest.finished_there()
        ):
            return False
        stray, clean = record.manifest.foreign()
        if stray:
            return False
        if clean != record.manifest.folders:
            # the folders found holding only what they should, stamped for the next look (a build's own folders
            # are too recent to stamp when it ends): kept, or every build that changes nothing lists them all again.
            # Not kept (a full disk): the next look lists them, which costs time only
            manifest = replace(record.manifest, folders=clean)
            self._keep_record(replace(record, manifest=manifest))
        return True

    @property
    def read_before(self) -> dict[str, Stamp] | None:
        """The stamps of the files the last good build read (all trusted; None if it has none), when it was made with
        these settings, by this reader among them (build_settings): a file that is no link and still has its stamp
        there can be read now (caches/reading.read_sources)."""
        record = self.record
        return record.files if record is not None and record.settings == self.settings else None

    @cached_property
    def render_memory(self) -> RenderMemory | None:
        """The render memory the last good build left (None if there is none this code can read, or it is not the
        one the record names: its whole, and the delta kept beside it if the record names one)."""
        if self.record is None or self.record.render is None:
            return None
        data = recall_bytes(self.source, self.name, "render")
        memory = None if data is None else RenderMemory.load(data)
        if memory is None or memory.token != (self.record.render[0], None):
            return None
        if self.record.render[1] is not None:
            delta = recall_bytes(self.source, self.name, _delta_part(self.record.render[1]))
            if delta is None or not memory.applied(delta) or memory.token != self.record.render:
                return None
        return memory

    def vouch(self, inputs: dict[str, tuple[bytes, bool]]) -> None:
        """Tell the render memory's ledger the whole fingerprints of the posts made from the very inputs the last
        build's were (`inputs`: lastbuild.post_inputs, each digest with whether it may be kept), kept with them:
        they are not worked out again. Kept for this build's record (remember)."""
        self.post_inputs = inputs
        memory = self.render_memory
        kept = self.record.posts if self.record is not None else None
        if memory is None or not kept:
            return
        vouched = {}
        for key, (digest, _) in inputs.items():
            found = kept.get(key)
            if found is not None and found[0] == digest:
                vouched[key] = found[1]
        memory.ledger.vouched = vouched

    @property
    def manifest(self) -> Manifest | None:
        """What the last build left in the folder, when its render memory says what each page read."""
        return self.record.manifest if self.record is not None and self.render_memory is not None else None

    def _keep_record(self, record: LastBuild) -> str | None:
        """Keep `record` as this folder's; the reason it could not be kept, or None."""
        return keep_bytes(self.source, self.name, "record", marshal.dumps(record.to_plain()))

    def remember(
        self,
        moments: tuple[datetime | None, datetime | None],
        counts: tuple[int, int, int, int],
        warnings: tuple[Diagnostic, ...],
        manifest: Manifest,
        rendering: RenderPass,
    ) -> str | None:
        """Keep this good build's record (and its render memory, when it rendered anything); the reason it could
        not be kept, or None."""
        files = self.inputs.files if self.inputs.trustworthy else None
        memory = rendering.memory
        now = rendering.renderer.fingerprints
        # the render memory first, the record that names it last; kept as it was when this build rendered nothing
        # and took the list of outputs from it; else what changed since it was read from disk, beside it, while
        # that is small (RenderMemory.delta), or the whole
        if rendering.rendered or not rendering.reused_specs or self.manifest is None:
            delta = memory.delta()
            if delta is not None:  # under a name of its own: a build killed before its record leaves the last one's
                unkept = keep_bytes(self.source, self.name, _delta_part(memory.token[1]), delta)  # type: ignore[index,arg-type]
            else:
                unkept = keep_bytes(self.source, self.name, "render", memory.dump())
            if unkept is not None:
                return unkept
        posts = {  # a post's inputs are told by its files' stamps: kept when each is trusted
            key: (digest, whole)
            for key, (digest, trusted) in self.post_inputs.items()
            if trusted and (whole := now.contained_whole(key)) is not None
        }
        record = LastBuild(self.settings, files, moments, counts, warnings, manifest, memory.token, posts)
        unkept = self._keep_record(record)
        if unkept is not None:
            return unkept
        keep_only(self.source, self.name, _DELTA_PARTS, _delta_part(memory.token[1]) if memory.token[1] else None)  # type: ignore[index]
        return keep_newest(self.source, self.name)


_DELTA_PARTS = "render-delta-"  # + the delta's token in hex: a part for each, the one the record names kept


def _delta_part(token: bytes) -> str:
    return _DELTA_PARTS + token.hex()


def _recalled(data: bytes | None) -> LastBuild | None:
    try:
        return None if data is None else LastBuild.from_plain(marshal.loads(data))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, EOFError):
        return None
