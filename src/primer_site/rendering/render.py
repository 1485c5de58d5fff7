"""Site + theme → outputs (path, bytes): one build's render pass. Writes nothing.

Each page is rendered while its reads are recorded (pagerenderer.py). The last good build's RenderMemory
(rendermemory.py) says, for every output, its spec, what it read and a digest of its bytes; a page is rendered
again only when its spec changed, one of its reads changed, or its file is not intact; the others are passed on
as Unchanged. Many stale pages are rendered in forked worker processes.
"""

from __future__ import annotations

import contextlib
import hashlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import jinja2

from primer_site.caches.dependencies import Dependency
from primer_site.errors import Diagnostic
from primer_site.math.typeset import PageTypesetter
from primer_site.model import Output, Site, Unchanged
from primer_site.rendering.feeds import FeedMath
from primer_site.rendering.pagerenderer import PageRenderer
from primer_site.rendering.pages import EPUB, PageSpec
from primer_site.rendering.rendermemory import PageRecord, RenderMemory
from primer_site.rendering.storedspecs import spec_digest, spec_paths
from primer_site.sources.config import SiteConfig
from primer_site.workers import heap_frozen, map_ahead, return_free_memory, start_worker

_PARALLEL_PAGES = 400  # fewer pages than this render faster in one process than forking workers costs
_PAGES_PER_CHUNK = 8  # the most pages a worker is handed at once (map_ahead keeps 2 chunks per worker out)


class RenderPass:
    """One build's rendering: iterate it for the outputs (in a fixed order), then `commit` it to the memory once
    the build has succeeded. Template errors go to `diagnostics`, located in the template."""

    def __init__(
        self,
        renderer: PageRenderer,
        memory: RenderMemory,
        jobs: int,
        intact: Callable[[str], bool] | None,
        only_made: bool = False,
        in_process: bool = True,
        typeset: PageTypesetter | None = None,
    ) -> None:
        self.renderer, self.memory, self.jobs, self.intact = renderer, memory, jobs, intact
        self.typeset = typeset  # math typeset at build time, in this process, as the pages come
        self.only_made = only_made  # yield only what was rendered, not the Unchanged
        self.in_process = in_process  # the memory stays in this process (the dev server's), not only on disk
        self.reused_specs = False
        self.specs: Sequence[PageSpec] = []
        self._specs_reads: array = array("I")
        self.rendered: list[str] = []
        self.diagnostics: list[Diagnostic] = []
        self._made: dict[str, PageRecord | None] = {}  # records made (None: dropped) by this pass
        self.asked = 0  # pages whose staleness was asked about (the tests count them)
        self._changed: set[int] = set()
        self._readers: set[str] = set()  # the paths whose record read one of `_changed` (the page list made anew)
        self._reported: set[tuple[str, int, str]] = set()

    def __iter__(self) -> Iterator[Output | Unchanged]:
        memory = self.memory
        self._changed = memory.ledger.changes(self.renderer.fingerprints) if memory.records else set()
        self.reused_specs = memory.specs is not None and self._changed.isdisjoint(memory.specs_reads)
        if self.reused_specs:
            self.specs, self._specs_reads = memory.specs, memory.specs_reads  # type: ignore[assignment]
            stale_places = self._stale_places()
            is_stale = None
        else:
            self.specs, specs_reads = self.renderer.specs()
            self._specs_reads = memory.ledger.numbers_of(specs_reads)
            self._made = {path: None for path in memory.records.keys() - {s.path for s in self.specs}}
            self._readers = memory.readers(self._changed, indexed=self.in_process) if self._changed else set()
            is_stale = [self._stale(spec) for spec in self.specs]  # by place: two specs may share a path (an error)
            stale_places = [place for place, again in enumerate(is_stale) if again]
        self.asked = len(stale_places) if is_stale is None else len(self.specs)
        stale = [self.specs[place] for place in stale_places]
        made = zip(stale, self._render_all(stale), strict=True)
        if self.typeset is not None:
            made = self.typeset.pages(made, lambda spec: spec.maker == EPUB)  # type: ignore[assignment]
        if self.only_made:
            for spec, result in made:
                output = self._take(spec, result)
                if output is not None:
                    yield output
            return
        if is_stale is None:
            is_stale = [False] * len(self.specs)
            for place in stale_places:
                is_stale[place] = True
        records = memory.records
        for path, again in zip(self.paths(), is_stale, strict=True):
            if again:
                output = self._take(*next(made))
                if output is not None:
                    yield output
            else:
                yield Unchanged(path, records[path].digest)

    def paths(self) -> Sequence[str]:
        """The output path of every spec, in order (a list kept on disk makes none of its specs for this)."""
        return spec_paths(self.specs)

    def _stale_places(self) -> list[int]:
        """Where the pages to make again are in the kept list of outputs (the very specs of the last good build):
        those that read a changed dependency, found by number in the memory's index, those with no record, and
        those whose file is not intact. Only the last asks about every page (when the writer does not keep its
        folder itself, it writes every page anyway)."""
        memory = self.memory
        places = memory.places()
        paths = memory.readers(self._changed, indexed=self.in_process) if self._changed else set()
        paths.update(memory.unrecorded)
        found = [place for path in paths for place in places.get(path, ())]
        if self.intact is not None:
            intact = self.intact
            found.extend(place for place, path in enumerate(self.paths()) if path not in paths and not intact(path))
        return sorted(found)

    def _take(self, spec: PageSpec, result: tuple[bytes | None, frozenset[Dependency], list]) -> Output | None:
        """A rendered page: its errors reported, its record made."""
        data, reads, problems = result
        for once, diagnostic in problems:  # a broken template is reported once, not once per page
            if once not in self._reported:
                self._reported.add(once)
                self.diagnostics.append(diagnostic)
        if data is None:
            self._made[spec.path] = None
            return None
        self.rendered.append(spec.path)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        self._made[spec.path] = PageRecord(spec, spec_digest(spec), self.memory.ledger.numbers_of(reads), digest)
        return Output(spec.path, data, digest)

    def _stale(self, spec: PageSpec) -> bool:
        known = self.memory.records.get(spec.path)
        if known is None:
            return True
        if known.spec is not None:
            if known.spec is not spec and known.spec != spec:
                return True
        elif known.spec_digest != spec_digest(spec):
            return True
        if self.intact is not None and not self.intact(spec.path):
            return True
        return spec.path in self._readers

    def _render_all(self, stale: list[PageSpec]) -> Iterator[tuple[bytes | None, frozenset[Dependency], list]]:
        if self.jobs <= 1 or len(stale) < _PARALLEL_PAGES:
            for spec in stale:
                yield self.renderer.render(spec)
            return
        yield from _render_in_workers(self.renderer, stale, self.jobs)

    def commit(self) -> None:
        """The build succeeded: what it rendered and read is what the next build compares with."""
        memory = self.memory
        memory.ledger.settle(self.renderer.fingerprints, self._changed)
        memory.recorded(self._made, indexed=self.in_process)
        # the list is kept, in this process or on disk, with what working it out read
        memory.keep_specs(self.specs, self._specs_reads)
        if self.reused_specs:
            failed = {path for path, known in self._made.items() if known is None}
            memory.unrecorded = (memory.unrecorded - self._made.keys()) | failed
        else:
            memory.unrecorded = memory.without_record(spec.path for spec in self.specs)


def render_site(
    site: Site,
    config: SiteConfig,
    env: jinja2.Environment,
    source: Path,
    memory: RenderMemory | None = None,
    jobs: int = 1,
    intact: Callable[[str], bool] | None = None,
    only_made: bool = False,
    feed_math: FeedMath | None = None,
    in_process: bool = True,
    typeset: PageTypesetter | None = None,
    book_math: FeedMath | None = None,
) -> RenderPass:
    """The outputs of the site: those whose recorded reads changed since `memory`'s build rendered, the others
    Unchanged. `intact(path)` says whether the output folder still holds a path's file as last written; None
    when there is no such folder to keep (every page is made). `feed_math`: the MathML of the formulas
    full-content feeds carry (None: they carry none). `typeset`: the pages' math typeset at build time (None: in
    the browser). `book_math`: the MathML of the formulas of the volumes written as EPUBs."""
    renderer = PageRenderer(site, config, env, source, feed_math, typeset.identity if typeset else None, book_math)
    return RenderPass(renderer, memory or RenderMemory(), jobs, intact, only_made, in_process, typeset)


# Rendering in worker processes. They are forked after the site is assembled, so each inherits the model and
# the compiled templates instead of receiving them; only specs go in and bytes come out.
_WORKER: PageRenderer | None = None


def _render_in_workers(
    renderer: PageRenderer, specs: Sequence[PageSpec], jobs: int
) -> Iterator[tuple[bytes | None, frozenset[Dependency], list]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    for spec in specs:  # compile every template once, before the fork
        if spec.template:
            with contextlib.suppress(jinja2.TemplateError):  # the worker that renders it reports it
                renderer.env.get_template(spec.template)
    context = multiprocessing.get_context("fork")
    return_free_memory()  # or each worker starts with what the build let go of (its Markdown, say) counted in it
    # few pages per chunk: the pages handed out and not yet written are held here, bytes and reads (~30 KB each)
    chunk = max(1, min(_PAGES_PER_CHUNK, len(specs) // (jobs * 8)))
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(renderer,)
    ) as pool:
        with heap_frozen():  # every worker is forked at the first submit, which map makes
            pages = map_ahead(pool, _render_in_worker, specs, chunk, ahead=2 * jobs)  # not every page at once
        yield from pages


def _start_worker(renderer: PageRenderer) -> None:
    global _WORKER
    _WORKER = renderer
    start_worker()  # dies with the build, holds none of its output (workers.py)


def _render_in_worker(spec: PageSpec) -> tuple[bytes | None, frozenset[Dependency], list]:
    assert _WORKER is not None
    return _WORKER.render(spec)
