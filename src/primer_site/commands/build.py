"""The one place the stage order is written: discover → parse → markdown → assemble → render → write."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from pathlib import Path

from primer_site.caches.bodies import BodyMemo, keep_rendered, post_bodies, series_descriptions
from primer_site.caches.reading import BODY_DIGESTS, read_file, read_sources, sources_as_read
from primer_site.commands.buildoptions import BuildMemory, BuildOptions, BuildResult
from primer_site.commands.lastbuild import build_settings, moments_of, post_inputs, remember_build, same_as_last
from primer_site.commands.processmemory import one_command, read_for_good, without_markdown
from primer_site.commands.sitemath import epub_wanted, formulas_apart, katex_service, site_math
from primer_site.commands.themefiles import site_catalogue, theme_files
from primer_site.errors import Problems, SiteError
from primer_site.layout import CACHE_DIR, SOURCE_FOLDERS, STATIC_DIR, TEMPLATES_DIR
from primer_site.math.katex import KatexService
from primer_site.math.katexsetup import KatexSetup, locate_katex
from primer_site.model import Output, Site, Unchanged
from primer_site.publish.buildrecord import PreviousBuild
from primer_site.publish.output import check_output_folder, claim_output, live_folder, locked
from primer_site.publish.search import index_for_search
from primer_site.publish.swap import recover_output
from primer_site.publish.write import SiteOutputs, SiteWriter
from primer_site.rendering.render import RenderMemory, render_site
from primer_site.site.assemble import AssembleMemo, Selection, assemble_site
from primer_site.site.assets import AssetIndex, AssetMemo
from primer_site.site.bodylanguage import in_language, theorems_in_language
from primer_site.site.i18n import Catalogue
from primer_site.site.outputpaths import guard_pages, page_owners
from primer_site.sources.bibliography import post_bibliographies
from primer_site.sources.config import CONFIG_FILE, SiteConfig, load_config
from primer_site.sources.dates import in_zone
from primer_site.sources.discover import CONTENT_DIR, SERIES_DIR, Sources
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.store import BuildInputs, Stamp, Store
from primer_site.syntax.markdown import RenderedBody
from primer_site.workers import MAX_JOBS, return_free_memory

__all__ = ["BuildMemory", "BuildOptions", "BuildResult", "build_site", "site_now", "sources_settled"]


def _forget_gone(memory: Store, sources: Sources) -> None:
    """Drop what is kept for files that are gone (a deleted or renamed post or series file): a preview that runs
    all day keeps only what its site still has. Not again for the very listing it was last done for (a first look
    keeps the last one: caches/reading.read_sources)."""
    if memory.peek("forgotten for") is sources:
        return
    memory.put("forgotten for", sources)
    posts, series = set(sources.posts), set(sources.series)
    memory.forget("post", posts)
    memory.forget("series", series)
    memory.forget("series body", series)
    bodies = memory.slot("bodies", BodyMemo)
    for path in [path for path in bodies if path not in posts]:
        del bodies[path]


def site_now(now: datetime | None, config: SiteConfig) -> datetime:
    """The build's "now": the clock, or a pinned time; one without a UTC offset is read in the site's time zone
    (`--now 2026-06-01` is that day's midnight where the site's `timezone` says, as its posts' dates are)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is not None:
        return now
    try:  # the rule post dates follow: a time the zone skips or shows twice is refused, a day starts when it does
        return in_zone(now, config.zone, date_only=now.time() == datetime.min.time())
    except ValueError as error:
        raise SiteError(f"--now: {error}") from None


def build_site(
    options: BuildOptions,
    memory: BuildMemory | None = None,
    changed: Collection[str] | None = None,
    first_look: bool = False,
) -> BuildResult:
    """Build the site, or raise SiteError with every problem found; the old output stays on error.

    `memory`: what the last build in this process made (the dev server keeps one). `changed`: the site-relative
    paths changed since the last good build with that memory, as the watcher saw them: a hint, never a promise
    that nothing else changed (a post that links to a file elsewhere, an event the watcher missed). Those files
    are read again whatever their stamps say; every other file is looked at by its stamp, or, with `first_look`
    (the preview's first step, with `memory`), taken as the last build saw it: the caller then verifies with
    `sources_settled`, and builds again if it says so.
    """
    started = time.perf_counter()
    source = options.source
    if not source.is_dir():
        raise SiteError(f"site folder {source} does not exist")
    check_output_folder(source, options.output_dir, (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR))
    live = claim_output(options.output_dir, options.force)  # before anything in or beside it is touched
    # from reading to publishing: a build started later waits, and reads what was saved meanwhile, so an older
    # build never publishes over a newer one
    with locked(_existing(live.parent)):
        return _build(options, memory, changed, started, first_look)


def _existing(folder: Path) -> Path:
    """`folder`, or its nearest ancestor that exists (the output's parent is made only when the site is written)."""
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def sources_settled(
    options: BuildOptions, memory: BuildMemory, more_changes: Callable[[], bool] = lambda: False
) -> bool | None:
    """The verification after a build with `first_look`: whether every source file is as that build took it (each
    looked at by its stamp, as a build without `first_look` does: caches/reading.sources_as_read). False: build
    again (`build_site` without `first_look`), which reads what changed from the store. None: stopped because
    `more_changes()` (the watcher has another batch): the build that batch starts verifies in its turn."""
    return sources_as_read(options.source, memory, more_changes)


def _build(
    options: BuildOptions,
    memory: Store | None,
    changed: Collection[str] | None,
    started: float,
    first_look: bool = False,
) -> BuildResult:
    """build_site, under the output's lock: read, parse, assemble, render, write, commit."""
    source = options.source
    problems = Problems()
    incremental = memory is not None  # the dev server's store, kept warm in memory between its builds
    memory = memory or BuildMemory()
    told = frozenset(changed or ())  # read again even if their stamps look the same (two saves in one clock tick)
    output = options.output_dir.absolute()
    # first: even a failed build, or one that changes nothing, finds the previous site where it was
    recover_output(options.output_dir)
    setup = locate_katex(source)
    # a build in a new process takes up where the last good build into the same folder left off: the inputs'
    # stamps taken before any of them is read (site.yaml, the words of the site's language too), else one saved
    # between its read and its stamp would be kept as read at its new stamp
    last = None
    if options.cache and not incremental and not options.keep_going:
        last = PreviousBuild(source, output, build_settings(options, output, setup), _SOURCE_FOLDERS)
    config = read_file(
        memory,
        "config",
        str(source / CONFIG_FILE),
        CONFIG_FILE,
        lambda found: load_config(source, found, options.base_url),
        problems,
        again=CONFIG_FILE in told,
        also=options.base_url,
    )
    assert isinstance(config, SiteConfig)
    # site.yaml saved without a change of value (a comment): the very object the templates and fingerprints
    # already know, or reads through the new one would go unrecorded
    config = memory.memo("settings", "", config, lambda: config)
    catalogue = site_catalogue(memory, incremental, source, config, problems)  # the theme's words: read once per build
    now = site_now(options.now, config)
    if last is not None and last.same_site(now):
        return same_as_last(last.record, config, started)  # type: ignore[arg-type]
    katex = None
    if options.check_math or config.feed_content == "full" or config.math_render == "build":
        katex = katex_service(memory, setup) if incremental else KatexService(setup)
        katex.render_fully = config.math_render == "build"  # the pages will want every formula's HTML
        katex.start(source if options.cache else None)  # if nothing is kept, Node loads KaTeX while the build reads
    parsed, sources, content_files = _read(
        options,
        memory,
        incremental,
        config,
        catalogue,
        told,
        problems,
        first_look and incremental,
        last.inputs if last is not None else None,  # each source file stat'ed once: by take_inputs
        last.read_before if last is not None else None,  # read then, by this reader: readable now
    )
    documents, bodies, metas, series_bodies = parsed
    if one_command(incremental):
        read_for_good()
    if katex is None and epub_wanted(config, metas):  # an EPUB's math is MathML, made by KaTeX (epub.py)
        katex = katex_service(memory, setup) if incremental else KatexService(setup)
        katex.render_fully = False  # MathML only: the pages' math is typeset in the browser
        katex.start(source if options.cache else None)

    # Later stages run on whatever parsed, so that one run reports every error of the build.
    selection = Selection(now=now, drafts=options.drafts, future=options.future)
    unreadable = frozenset(sources.posts) - {d.source for d in documents}
    bibliographies = post_bibliographies(source, config, documents, metas, problems)
    # a build in a new process keeps nothing of its assembly: its every step of every post (~25 MB at 5,000) is for
    # a next build in the same process only (who reads whom is recorded in every build: the posts' keys, below)
    assembled = memory.slot("assemble", AssembleMemo) if incremental else AssembleMemo(keeps=False)
    site = assemble_site(
        config,
        documents,
        bodies,
        metas,
        series_bodies,
        selection,
        problems,
        unreadable,
        assembled,
        bibliographies,
        catalogue,
    )
    feed_math, typesetter, book_math = site_math(
        options, memory, config, setup, katex, site, parsed, problems, incremental
    )
    generated, assets, environment, static_files = theme_files(
        options, memory, config, setup, content_files, problems, catalogue
    )
    moments = moments_of(documents, selection)
    if last is not None:  # the posts made from the very inputs the last build's were: their wholes are known
        reads = assembled.reads  # who reads whom among the posts, as this assembly recorded it
        assert reads is not None  # every assembly records it
        last.vouch(post_inputs(last.settings, last.inputs, moments, documents, metas, site, reads, unreadable))
    key_lines = {d.source: d.key_lines for d in documents}  # all that the page owners read of the documents
    if not incremental:  # nothing after this point reads the posts' Markdown: let it go before the pages are made
        without_markdown(memory)
        del parsed, content_files, documents  # the asset index keeps its last call's documents too
    finish = _finish(options, config, setup, site, metas, output, incremental, problems)
    writer = _writer(memory, incremental, output, last, options.keep_going, finish is None)
    in_place = writer.in_place  # decided once: the render pass and the writer must agree
    rendering = render_site(
        site,
        config,
        environment,
        source,
        memory.slot("render", RenderMemory) if incremental else last.render_memory if last else None,
        jobs=_jobs(options),
        intact=writer.intact(),
        only_made=in_place,
        feed_math=feed_math,
        in_process=incremental,
        typeset=typesetter,
        book_math=book_math,
    )
    # asked only when a page collides with a file or a page: not made on every build (it is per post)
    owners = partial(page_owners, site, key_lines, config.base_path)
    outputs = SiteOutputs(
        pages=_with_diagnostics(rendering, problems),
        generated=[_generated(writer, assets[path], data) for path, data in generated.items()],
        static_files=static_files,
        in_place=in_place,
        every_page=rendering.paths,
        same_paths=lambda: rendering.reused_specs,
        guard=lambda items: guard_pages(items, static_files, owners, source, problems),
        finish=finish,
    )
    written = writer.write(outputs, problems)  # the one write path: raises on errors unless the writer records
    if incremental:  # the store's commit: what this good build made is what the next compares with
        rendering.commit()
        _forget_gone(memory, sources)
    elif last is not None and written.manifest is not None:
        rendering.commit()
        # what writing the pages let go of, before the record is made (the build's peak): even after a few pages,
        # the free pages of reading and assembling (without it a one-edit build at 5,000 posts peaked at 291-307
        # MB, not 264-286 MB)
        return_free_memory()
        remember_build(last, moments, written, site, rendering, problems)
    return BuildResult(
        pages=written.pages,
        posts=len(site.posts),
        series=len(site.series),
        tags=len(site.tags),
        written=written.written,
        unchanged=written.unchanged,
        seconds=time.perf_counter() - started,
        warnings=tuple(problems.warnings),
        site=site,
        base_path=config.base_path,
        rendered=tuple(rendering.rendered) if incremental else (),
        next_due=moments[1] if options.now is None and not options.future else None,
        errors=tuple(problems.errors),
        every_page=written.complete,
    )


def _finish(
    options: BuildOptions,
    config: SiteConfig,
    setup: KatexSetup,
    site: Site,
    metas: list[SeriesMeta],
    output: Path,
    incremental: bool,
    problems: Problems,
) -> Callable[[Path], None] | None:
    """What is made in the staging folder once the pages are there: the search index, then the PDFs, rendered from
    the finished print pages; not in the preview (which needs no renderer), nor in `check` (which says, as `build`
    would, that one is missing)."""
    finish = index_for_search if config.search else None
    if incremental or not site.series_wanting("pdf"):
        return finish  # no PDF: its machinery (a local server, Chromium) is not even imported
    from primer_site.publish.pdf import pdf_books, pdf_finisher, renderer_problems

    pdfs = pdf_books(site, config, metas, options.source)
    problems.extend(renderer_problems(pdfs))
    if options.keep_going:
        return finish
    dist = setup.katex / "dist" if setup.katex is not None else None
    kept = options.source / CACHE_DIR if options.cache else None
    return pdf_finisher(pdfs, config, dist, kept, live_folder(output), finish)


def _jobs(options: BuildOptions) -> int:
    return min(options.jobs or os.cpu_count() or 1, MAX_JOBS)  # workers.MAX_JOBS: a big machine too


def _read(
    options: BuildOptions,
    memory: Store,
    incremental: bool,
    config: SiteConfig,
    catalogue: Catalogue,
    told: frozenset[str],
    problems: Problems,
    first_look: bool = False,
    stamped: BuildInputs | None = None,
    read_before: dict[str, Stamp] | None = None,
) -> tuple[tuple[list[Document], list[RenderedBody], list[SeriesMeta], list[RenderedBody]], Sources, AssetIndex]:
    """The sources read and parsed, and their bodies rendered, in the site's language, with the files beside
    the posts filled in: ((documents, bodies, series metas, series bodies), the sources, the files beside).
    `stamped`: the site's files' stamps taken a moment before, `read_before`: those the last good build read
    (caches/reading.read_sources)."""
    source = options.source
    sources, documents, metas = read_sources(
        source, options.cache, memory, incremental, config, told, problems, first_look, None, stamped, read_before
    )
    jobs = _jobs(options)
    theorems = theorems_in_language(config.theorems, catalogue)
    formulas = not formulas_apart(options, incremental)  # else read by the math check where it needs them
    made = post_bodies(
        memory.slot("bodies", BodyMemo),
        source,
        documents,
        metas,
        config.raw_html,
        jobs,
        options.cache,
        formulas,
        theorems,
        memory.peek(BODY_DIGESTS),
        lasting=one_command(incremental),  # frozen as read: no collection walks them before processmemory.read_for_good
    )
    memory.let_go(BODY_DIGESTS)  # it holds every post with its Markdown: let go of them once the keys are made
    bodies = keep_rendered(problems, made)
    series_bodies = keep_rendered(problems, series_descriptions(memory, metas, config.raw_html, source, options.cache))
    # the files beside the posts: their URLs and sizes go into the bodies now, never into the body cache
    content_files = AssetIndex(source, sources.assets, config, problems, memory.slot("assets", AssetMemo))
    content_files.make_variants(chain(bodies, series_bodies), jobs)
    bodies = content_files.fill_posts(documents, bodies, problems)
    series_bodies = [content_files.fill(m.source, b, problems) for m, b in zip(metas, series_bodies, strict=True)]
    bodies, series_bodies = in_language(bodies, series_bodies, catalogue, memory.slot("in language", dict))
    return (documents, bodies, metas, series_bodies), sources, content_files


def _writer(
    memory: Store, incremental: bool, output: Path, last: PreviousBuild | None, records: bool, unfinished: bool
) -> SiteWriter:
    """The build's one writer: the dev server's own, kept in its store (it updates its folder in place), or one
    that starts from what the last build's record says the folder holds: in place when the folder is exactly as
    that build left it and nothing is made there after the pages (`unfinished`: no PDF, no search index)."""
    if incremental and not records:
        writer = memory.peek("writer")
        if writer is None or writer.output != output:
            writer = SiteWriter(output)
            memory.put("writer", writer)
        return writer
    previous = last.manifest if last is not None else None
    if previous is not None and not previous.finished_there():
        previous = None  # a file its finishing step made (a PDF, the search index) is gone: make them again
    as_left = previous is not None and unfinished and not records and previous.left_as_is()
    return SiteWriter(output, previous, records=records, as_left=as_left)


def _generated(writer: SiteWriter, path: str, data: bytes) -> Output | Unchanged:
    """A file the build generates (the syntax stylesheet): Unchanged where the folder holds these bytes."""
    digest = hashlib.blake2b(data, digest_size=16).digest()
    return Unchanged(path, digest) if writer.holds(path, digest) else Output(path, data, digest)


_SOURCE_FOLDERS = SOURCE_FOLDERS  # the site's i18n/ included


def _with_diagnostics(rendering: Iterable[Output | Unchanged], problems: Problems) -> Iterator[Output | Unchanged]:
    """The outputs of a render pass; its template errors join `problems` as they are found."""
    reported = 0
    for item in rendering:
        yield item
        found = rendering.diagnostics  # type: ignore[attr-defined]
        if len(found) > reported:
            problems.extend(found[reported:])
            reported = len(found)
    found = rendering.diagnostics  # type: ignore[attr-defined]
    problems.extend(found[reported:])
