"""Site + theme → outputs (path, bytes). Writes nothing.

Each page is rendered while its reads are recorded (dependencies.py). A RenderMemory keeps, for every output
of the last good build, its spec, what it read and a digest of its bytes; the next build renders a page again
only when its spec changed, one of its reads changed, or its file is not intact, and passes the others on as
Unchanged. The memory lives in the dev server's process, and on disk in .primer-cache/ for the next `build`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import difflib
import hashlib
import re
import sys
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from primer_site.caches.dependencies import (
    Dependency,
    DependencyLedger,
    Fingerprints,
    ModelIndex,
    Recording,
    Ref,
    current_recording,
    record,
    recording,
)
from primer_site.errors import Diagnostic, SiteError
from primer_site.math.typeset import MATH_RENDER, PageTypesetter
from primer_site.model import Output, Site, Unchanged
from primer_site.rendering.feeds import Feed, FeedMath, atom_feed, json_feed, robots_txt, sitemap
from primer_site.rendering.pages import (
    ATOM_FEED,
    EPUB,
    JSON_FEED,
    ROBOTS,
    SHOWS_MATH,
    SITEMAP,
    FeedSpec,
    Pager,
    PagerSpec,
    PageSpec,
    page_specs,
)
from primer_site.rendering.theme import (
    TEMPLATES_DIR,
    AssetNames,
    catalogue_resolver,
    global_resolver,
    template_identity,
    value_globals,
)
from primer_site.site.assets import eager_first_image
from primer_site.sources.config import SiteConfig
from primer_site.urls import taxon_slug
from primer_site.workers import start_worker

_MEMORY_FORMAT = 2
_PARALLEL_PAGES = 400  # fewer pages than this render faster in one process than forking workers costs

_MODEL_OBJECT = re.compile(r"'primer_site\.[\w.]*?(\w+) object'")


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


class RenderPass:
    """One build's rendering: iterate it for the outputs (in a fixed order), then `commit` it to the memory once
    the build has succeeded. Template errors go to `diagnostics`, located in the template."""

    def __init__(
        self,
        renderer: _Renderer,
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
        self.specs: list[PageSpec] = []
        self._specs_reads: array = array("I")
        self.rendered: list[str] = []
        self.diagnostics: list[Diagnostic] = []
        self._records: dict[str, PageRecord] = {}
        self._changed: set[int] = set()
        self._reported: set[tuple[str, int, str]] = set()

    def __iter__(self) -> Iterator[Output | Unchanged]:
        memory = self.memory
        self._changed = memory.ledger.changes(self.renderer.fingerprints) if memory.records else set()
        self.reused_specs = memory.specs is not None and self._changed.isdisjoint(memory.specs_reads)
        if self.reused_specs:
            self.specs, self._specs_reads = memory.specs, memory.specs_reads  # type: ignore[assignment]
            self._records = dict(memory.records)
        else:
            self.specs, specs_reads = self.renderer.specs(recorded=self.in_process)
            self._specs_reads = memory.ledger.numbers_of(specs_reads)
            self._records = {s.path: memory.records[s.path] for s in self.specs if s.path in memory.records}
        is_stale = [self._stale(spec) for spec in self.specs]  # by place: two specs may share a path (an error)
        stale = [spec for spec, again in zip(self.specs, is_stale, strict=True) if again]
        made = zip(stale, self._render_all(stale), strict=True)
        if self.typeset is not None:
            made = self.typeset.pages(made, lambda spec: spec.maker == EPUB)  # type: ignore[assignment]
        if self.only_made:
            for spec, result in made:
                output = self._take(spec, result)
                if output is not None:
                    yield output
            return
        for spec, again in zip(self.specs, is_stale, strict=True):
            if again:
                output = self._take(*next(made))
                if output is not None:
                    yield output
            else:
                yield Unchanged(spec.path, self._records[spec.path].digest)

    def _take(self, spec: PageSpec, result: tuple[bytes | None, frozenset[Dependency], list]) -> Output | None:
        """A rendered page: its errors reported, its record made."""
        data, reads, problems = result
        for once, diagnostic in problems:  # a broken template is reported once, not once per page
            if once not in self._reported:
                self._reported.add(once)
                self.diagnostics.append(diagnostic)
        if data is None:
            self._records.pop(spec.path, None)
            return None
        self.rendered.append(spec.path)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        self._records[spec.path] = PageRecord(spec, spec_digest(spec), self.memory.ledger.numbers_of(reads), digest)
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
        return not self._changed.isdisjoint(known.reads)

    def _render_all(self, stale: list[PageSpec]) -> Iterator[tuple[bytes | None, frozenset[Dependency], list]]:
        if self.jobs <= 1 or len(stale) < _PARALLEL_PAGES:
            for spec in stale:
                yield self.renderer.render(spec)
            return
        yield from _render_in_workers(self.renderer, stale, self.jobs)

    def commit(self) -> None:
        """The build succeeded: what it rendered and read is what the next build compares with."""
        self.memory.ledger.settle(self.renderer.fingerprints, self._changed)
        self.memory.records = self._records
        if self.in_process:  # the list is kept only while what working it out read is known
            self.memory.specs, self.memory.specs_reads = self.specs, self._specs_reads


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
    renderer = _Renderer(site, config, env, source, feed_math, typeset.identity if typeset else None, book_math)
    return RenderPass(renderer, memory or RenderMemory(), jobs, intact, only_made, in_process, typeset)


class _MathFlag:
    """`has_math` for a template: worked out the first time the template asks, from the page's tracked context."""

    def __init__(self, test: Callable[[dict[str, Any]], bool], context: dict[str, Any], into: Recording) -> None:
        self.test, self.context, self.recording, self.value = test, context, into, None

    def __bool__(self) -> bool:
        if self.value is None:
            tracked = {}
            for name, value in self.context.items():
                if isinstance(value, Pager):
                    value = replace(value, items=self.recording.tracked(value.items))
                tracked[name] = self.recording.tracked(value)
            self.value = bool(self.test(tracked))
        return self.value

    def __str__(self) -> str:
        return str(bool(self))


class _Renderer:
    """Renders one spec at a time, recording its reads; holds the build's model index and fingerprints."""

    def __init__(
        self,
        site: Site,
        config: SiteConfig,
        env: jinja2.Environment,
        source: Path,
        feed_math: FeedMath | None,
        math_render: object = None,
        book_math: FeedMath | None = None,
    ) -> None:
        self.site, self.config, self.env, self.source, self.feed_math = site, config, env, source, feed_math
        self.book_math = book_math
        self.index = ModelIndex(site, config)
        series = {s.slug: s for s in site.series}
        collections = {c.slug: c for c in site.collections}
        tags = {t.slug: t for t in site.tags}
        names = env.globals.get("assets")
        lookups: dict[str, Callable[[str], object]] = {
            "series_of": lambda slug: series.get(slug),  # Post.series: the slug of its series (parse.SeriesNames)
            "collection_of": lambda slug: collections.get(slug),
            "tag_url": lambda name: tags[taxon_slug(name)].url if taxon_slug(name) in tags else None,
        }
        resolvers: dict[str, Callable[[str], object]] = {
            **lookups,
            "template": lambda name: template_identity(env, name),
            "global": global_resolver(env),
            "i18n": catalogue_resolver(env),  # a message of the site's language (theme.catalogue_helpers)
            "asset": lambda path: names.resolve(path) if isinstance(names, AssetNames) else None,
            # the MathML feeds carry: the KaTeX that made it, and which macros it used for a post
            "feed math": lambda source: (feed_math.katex_version, feed_math.macros.get(source)) if feed_math else None,
            MATH_RENDER[0]: lambda _: math_render,  # the KaTeX that typeset a page's math at build time
            # the MathML of a book's formulas, as for feeds; and a file a book holds (an image), by its bytes
            "book math": lambda source: (book_math.katex_version, book_math.macros.get(source)) if book_math else None,
            "file": lambda path: _file_digest(source / path),
        }
        self.fingerprints = Fingerprints(self.index, resolvers)
        self.value_globals = value_globals(env)

        def looked_up(kind: str, obj: Any, field: str) -> Any:
            # the helper reads a field of a model object, then looks a name up: both are dependencies
            name = env.getattr(obj, field)
            if name is None:
                return None
            recording_now = current_recording()
            if recording_now is not None:
                recording_now.add((kind, name))
            return lookups[kind](name)

        def tag_url(name: str) -> str:
            record(("tag_url", name))
            return tags[taxon_slug(name)].url

        self.helpers = {
            "series_of": lambda post: looked_up("series_of", post, "series"),
            "collection_of": lambda one: looked_up("collection_of", one, "collection"),
            "tag_url": tag_url,
        }

    def specs(self, recorded: bool = True) -> tuple[list[PageSpec], frozenset[Dependency]]:
        """The site's outputs, and what working them out read (if `recorded`: only a memory kept in this process
        reuses the list, so only it needs to know)."""
        if not recorded:
            return page_specs(self.site, self.config), frozenset()
        into = Recording(self.index.key_of)
        with recording(into):
            specs = page_specs(into.tracked(self.site), into.tracked(self.config))
        return specs, frozenset(into.reads)

    def render(self, spec: PageSpec) -> tuple[bytes | None, frozenset[Dependency], list]:
        """The spec's bytes (None if its template failed), what it read, and its template errors."""
        into = Recording(self.index.key_of)
        context = {name: _resolve(value, self.index) for name, value in spec.context}
        with recording(into):
            for name in self.value_globals:
                into.add(("global", name))
            try:
                if spec.template:
                    flag = _MathFlag(SHOWS_MATH[spec.math], context, into) if spec.math else False
                    template = self.env.get_template(spec.template)
                    html = template.render(site=self.site, **self.helpers, **context, has_math=flag)
                    data = eager_first_image(html).encode("utf-8")
                else:
                    data = self._make(spec, context, into)
            except jinja2.TemplateError as exc:
                return None, frozenset(into.reads), [self._located(exc, spec.template, spec.source)]
            except SiteError as exc:  # what a maker cannot write (an EPUB's remote image), at its source's line
                found = [((d.path, d.line, d.message), d) for d in exc.diagnostics]
                return None, frozenset(into.reads), found
            except (RecursionError, ArithmeticError) as exc:  # the author's template's, not a bug of ours
                why = (
                    "nested too deeply: a template that includes or extends itself, or a macro that calls itself "
                    "without end"
                    if isinstance(exc, RecursionError)
                    else f"{exc} ({type(exc).__name__})"
                )
                error = jinja2.TemplateRuntimeError(why)
                return None, frozenset(into.reads), [self._located(error, spec.template, spec.source)]
        return data, frozenset(into.reads), []

    def _make(self, spec: PageSpec, context: dict[str, Any], into: Recording) -> bytes:
        """A generated file (feed, sitemap, robots.txt), made by Python code from tracked model objects."""
        config = into.tracked(self.config)
        if spec.maker in (ATOM_FEED, JSON_FEED):
            posts = context["feed"].posts if spec.maker == ATOM_FEED else context["posts"]
            if self.feed_math is not None:  # full content: the MathML its posts' formulas are
                for post in posts:
                    into.add(("feed math", post.source))
            if spec.maker == ATOM_FEED:
                feed = context["feed"]
                return atom_feed(replace(feed, posts=into.tracked(feed.posts)), config, self.feed_math)
            return json_feed(into.tracked(context["posts"]), config, self.feed_math)
        if spec.maker == SITEMAP:
            return sitemap(into.tracked(self.site), config)
        if spec.maker == ROBOTS:
            return robots_txt(config)
        if spec.maker == EPUB:
            return self._epub(into.tracked(context["series"]), config, into)
        raise AssertionError(f"unknown maker {spec.maker!r}")

    def _epub(self, series: Any, config: SiteConfig, into: Recording) -> bytes:
        """The volume's EPUB: what it read is recorded (its chapters' fields, their MathML, the images' bytes)."""
        for post in series.posts:
            into.add(("book math", post.source))
        from primer_site.rendering.epub import BookWords, epub_book  # html5lib and the EPUB's parts: for books only

        globals_ = self.env.globals
        words = BookWords(str(globals_["t"]("contents")), globals_["chapter_label"])

        def read_file(path: str) -> bytes | None:
            into.add(("file", path))
            try:
                return (self.source / path).read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None

        return epub_book(series, config, self.book_math, words, read_file)

    def _located(
        self, exc: jinja2.TemplateError, template: str, source: str
    ) -> tuple[tuple[str, int, str], Diagnostic]:
        """The error at its template line, and what makes it the same error on another page."""
        where, line = self._template_location(exc, template)
        message = getattr(exc, "message", None) or str(exc)
        # Jinja names a model object by its Python path: 'primer_site.model.Post object' → Post
        message = _MODEL_OBJECT.sub(r"\1", message)
        if isinstance(exc, jinja2.TemplatesNotFound):  # {% include [a, b] %}: none of them
            message = "template not found: none of " + ", ".join(map(str, exc.templates))
        elif isinstance(exc, jinja2.TemplateNotFound):  # {% include %}, {% extends %}, {% import %}
            close = difflib.get_close_matches(str(exc.name), self.env.list_templates(extensions=["html"]), 1, 0.8)
            near = f' (did you mean "{close[0]}"?)' if close else ""  # a typo, not any name alike
            message = f"template not found: {exc.name} (looked in {TEMPLATES_DIR}/ and the theme's){near}"
        syntax = isinstance(exc, jinja2.TemplateSyntaxError)
        while_doing = f" (while rendering {source})" if source and not syntax else ""
        prefix = "" if isinstance(exc, jinja2.TemplateNotFound) else "template: "
        return (where, line, message), Diagnostic(where, line, 0, "error", f"{prefix}{message}{while_doing}")

    def _template_location(self, exc: jinja2.TemplateError, template: str) -> tuple[str, int]:
        filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
        if filename is None:
            # a runtime error: Jinja rewrites the traceback so template frames carry their file and line
            tb = sys.exc_info()[2]
            while tb is not None:
                if tb.tb_frame.f_code.co_filename.endswith(".html"):
                    filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
                tb = tb.tb_next
        if filename is None:
            return f"{TEMPLATES_DIR}/{template}", 0
        try:
            return Path(filename).resolve().relative_to(self.source.resolve()).as_posix(), line or 0
        except ValueError:
            return Path(filename).as_posix(), line or 0


def _file_digest(path: Path) -> bytes | None:
    """A file's bytes as a digest (None: no such file), for knowing when an output that holds it must be made again."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


def _resolve(value: Any, index: ModelIndex) -> Any:
    if isinstance(value, PagerSpec):
        return Pager(value.number, value.count, index.resolve(value.items), value.first_url, value.base_path)
    if isinstance(value, FeedSpec):
        return Feed(value.path, value.title, value.page_url, index.resolve(value.posts))
    if isinstance(value, Ref) or type(value) is tuple:
        return index.resolve(value)
    return value


# Rendering in worker processes. They are forked after the site is assembled, so each inherits the model and
# the compiled templates instead of receiving them; only specs go in and bytes come out.
_WORKER: _Renderer | None = None


def _render_in_workers(
    renderer: _Renderer, specs: Sequence[PageSpec], jobs: int
) -> Iterator[tuple[bytes | None, frozenset[Dependency], list]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    for spec in specs:  # compile every template once, before the fork
        if spec.template:
            with contextlib.suppress(jinja2.TemplateError):  # the worker that renders it reports it
                renderer.env.get_template(spec.template)
    context = multiprocessing.get_context("fork")
    chunk = max(1, min(64, len(specs) // (jobs * 8)))
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_worker, initargs=(renderer,)
    ) as pool:
        yield from pool.map(_render_in_worker, specs, chunksize=chunk)


def _start_worker(renderer: _Renderer) -> None:
    global _WORKER
    _WORKER = renderer
    start_worker()  # dies with the build, holds none of its output (workers.py)


def _render_in_worker(spec: PageSpec) -> tuple[bytes | None, frozenset[Dependency], list]:
    assert _WORKER is not None
    return _WORKER.render(spec)
