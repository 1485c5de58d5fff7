"""The one place the stage order is written: discover → parse → markdown → assemble → render → write."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import jinja2

from .assemble import AssembleMemo, Selection, assemble_site
from .assets import AssetIndex, AssetMemo
from .cache import CACHE_DIR, BodyCache, body_key, cache_salt
from .config import CONFIG_FILE, SiteConfig, config_near_miss, load_config, missing_config_message
from .discover import CONTENT_DIR, SERIES_DIR, Sources, discover_sources, discover_static
from .documentcache import DocumentCache
from .errors import Diagnostic, Problems, SiteError
from .feeds import BodyFormulas
from .inputs import take_inputs
from .katex import KatexService, KatexSetup, locate_katex
from .lastbuild import LastBuild, recall, recall_render_memory, remember, touching_staging
from .markdown import BodySource, RenderedBody, render_bodies
from .mathcheck import CheckMemo
from .mathpass import config_line, math_pass
from .model import Output, Site, Unchanged
from .output import check_output_folder, claim_output, live_folder, remove_output
from .outputpaths import guard_pages, merge_files, page_owners
from .parse import Document, SeriesMeta, parse_document, parse_series_file, series_finder
from .render import RenderMemory, render_site
from .search import index_for_search
from .theme import (
    STATIC_DIR,
    SYNTAX_CSS,
    TEMPLATES_DIR,
    asset_names,
    make_environment,
    syntax_css,
    template_files,
    theme_dir,
)
from .typeset import FormulaPlaces, katex_site_files, page_typesetter, render_problem
from .write import recover_output, snapshot, unique_outputs, write_changes, write_output


@dataclass(frozen=True)
class BuildOptions:
    source: Path = Path(".")
    output: Path | None = None  # default: <source>/public
    base_url: str | None = None
    drafts: bool = False
    future: bool = False
    jobs: int = 0  # 0: one per CPU
    now: datetime | None = None  # pinned "now" (without a UTC offset: in the site's time zone), for previews of a day
    cache: bool = True  # reuse rendered bodies from SOURCE/.primer-cache
    fingerprint: bool = (
        True  # content hashes in CSS/JS names; the preview turns it off so a CSS edit re-renders no page
    )
    check_math: bool = False  # every formula through KaTeX (build --check-math, check, serve)
    require_katex: bool = False  # with check_math: KaTeX not running is an error, not a warning (check, build)
    force: bool = False  # replace an output folder primer-site did not make (build --force)
    # write the site even with errors, returned in BuildResult.errors: for `check`, into its own temporary folder,
    # so that one run reports every problem; never for an output a reader sees
    keep_going: bool = False

    @property
    def output_dir(self) -> Path:
        return self.output if self.output is not None else self.source / "public"


@dataclass(frozen=True)
class BuildResult:
    pages: int
    posts: int
    series: int
    tags: int
    written: int
    unchanged: int
    seconds: float
    warnings: tuple[Diagnostic, ...]
    site: Site | None = None  # the model that was built, for commands on top of the build
    base_path: str = "/"
    rendered: tuple[str, ...] = ()  # the pages and feeds rendered (not reused from the previous build)
    errors: tuple[Diagnostic, ...] = ()  # with keep_going: the build's errors (else it raises them)
    every_page: bool = True  # False: a template error left pages out of the output (keep_going)


class BuildMemory:
    """What the previous build in this process made, for the next one to reuse.

    Held by a caller that rebuilds again and again (the dev server): a file whose stat did not
    change is not read again, an unchanged post keeps its rendered body and its Post, a page whose
    inputs did not change keeps its bytes, and only files whose bytes changed are written.
    """

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], tuple[tuple[int, int, int, int], object, tuple[Diagnostic, ...]]] = {}
        # (document, (number_sections, formulas read), body)
        self.bodies: dict[str, tuple[Document, tuple[bool, bool], RenderedBody]] = {}
        self.assembled = AssembleMemo()
        self.pages = RenderMemory()
        self.environment: tuple[tuple, jinja2.Environment] | None = None
        self.output: Path | None = None
        self.written: dict[str, object] = {}
        self.config: SiteConfig | None = None
        self.descriptions: dict[str, tuple[SeriesMeta, bool, RenderedBody | SiteError]] = {}
        # what the last good build found on disk, for a build told exactly what changed since
        self.sources: Sources | None = None
        self.static: dict[str, Path] | None = None
        self.templates: tuple | None = None
        self.katex: KatexService | None = None  # one Node process for every rebuild, and the answers it gave
        self.feed_formulas: BodyFormulas = {}  # the formulas in the bodies full-content feeds carry
        self.check_memo = CheckMemo()  # the math check's verdicts, file by file
        self.assets = AssetMemo()
        self.published: frozenset[str] = frozenset()  # the files the last good build published beside its pages

    def changes_are_complete(self, source: Path, changed: Collection[str] | None) -> bool:
        """Whether `changed` (site-relative paths, from the watcher) names every file that changed since the
        last good build, so that no other file need be looked at. Not when a folder came or went: its files
        were not reported one by one."""
        if changed is None or self.sources is None or self.static is None:
            return False
        known = {
            *self.sources.posts,
            *self.sources.series,
            *self.sources.assets,
            *(f"{STATIC_DIR}/{p}" for p in self.static),
        }
        for path in changed:
            place = source / path
            if place.is_dir() or (not place.exists() and path not in known and not path.endswith(".md")):
                return False
        return True

    def katex_service(self, setup: KatexSetup) -> KatexService:
        """The service kept from the last build, or a new one if Node or the katex package changed."""
        if self.katex is None or self.katex.setup != setup:
            if self.katex is not None:
                self.katex.close()
            self.katex = KatexService(setup, keep_alive=True)
        return self.katex

    def close(self) -> None:
        """End what the memory keeps running (the KaTeX process); it would end with this process anyway."""
        if self.katex is not None:
            self.katex.close()

    def series_body(self, meta: SeriesMeta, raw_html: bool) -> RenderedBody | SiteError:
        """A series' description, rendered again only when its file was read again."""
        known = self.descriptions.get(meta.source)
        if known is not None and known[0] is meta and known[1] == raw_html:
            return known[2]
        [body] = render_bodies([BodySource(meta.body, meta.source, meta.body_first_line)], raw_html, 1)
        self.descriptions[meta.source] = (meta, raw_html, body)
        return body

    def read(
        self,
        kind: str,
        path: Path | str,
        relative: str,
        parse: Callable[[Problems], object],
        problems: Problems,
        unchanged: bool | None = None,
    ) -> object:
        """`parse(problems)` for this file, or what it gave last time if the file's stat is the same. The caller
        may know better, from the watcher: `unchanged` True (the file is not even looked at) or False (it is read
        again, whatever its stat says: two saves within one tick of the clock can leave it the same)."""
        known = self.files.get((kind, relative))
        if unchanged and known is not None:
            problems.extend(known[2])
            return known[1]
        if unchanged is False:
            known = None
        try:
            info = os.stat(path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns)
        except FileNotFoundError:
            stamp = (0, -1, 0, 0)  # absent (a site without site.yaml): as stable as a file that did not change
        except OSError:
            stamp = (-1, -1, -1, -1)  # unreadable: read again, and report again
        if known is not None and known[0] == stamp and stamp[0] != -1:
            problems.extend(known[2])
            return known[1]
        found = Problems()
        result = parse(found)
        problems.extend(found.items)
        self.files[(kind, relative)] = (stamp, result, tuple(found.items))
        return result


def find_site(folder: Path | None, start: Path | None = None) -> Path:
    """The site's folder: `folder` when given (it must hold site.yaml); else `start` (the working folder) or the
    nearest folder above it that holds site.yaml, as git finds its repository. SiteError when there is none.

    The search stops at a folder holding a misspelt site.yaml (site.yml), to say so rather than build another site.
    """
    if folder is not None:
        if not folder.is_dir():
            raise SiteError(f"site folder {folder} does not exist")
        if not (folder / CONFIG_FILE).is_file():
            raise SiteError(missing_config_message(folder))
        return folder
    start = (start or Path.cwd()).absolute()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
        if config_near_miss(candidate) is not None:
            raise SiteError(missing_config_message(candidate))
    raise SiteError(
        f"no {CONFIG_FILE} in {start} or any folder above it; `primer-site new site DIR` makes one "
        "(or give the site's folder with --source)"
    )


def site_now(now: datetime | None, config: SiteConfig) -> datetime:
    """The build's "now": the clock, or a pinned time; one without a UTC offset is read in the site's time zone
    (`--now 2026-06-01` is that day's midnight where the site's `timezone` says, as its posts' dates are)."""
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=config.zone)


def clean_site(source: Path, output: Path | None = None, force: bool = False) -> list[Path]:
    """Remove the output folder (default SOURCE/public), its staging folder and the body cache; returns what was
    removed. Only folders primer-site made are removed (see write.remove_output), unless `force`."""
    output = output if output is not None else source / "public"
    check_output_folder(source, output, (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR))
    removed = remove_output(output, force)
    cache = source / CACHE_DIR
    if cache.is_dir() and not cache.is_symlink():
        shutil.rmtree(cache)
        removed.append(cache)
    return removed


def build_site(
    options: BuildOptions, memory: BuildMemory | None = None, changed: Collection[str] | None = None
) -> BuildResult:
    """Build the site, or raise SiteError with every problem found; the old output stays on error.

    `memory`: what the last build in this process made (the dev server keeps one). `changed`: the site-relative
    paths changed since the last good build with that memory, as the watcher saw them; when they account for
    every change, no other source file is looked at.
    """
    started = time.perf_counter()
    source = options.source
    problems = Problems()
    if not source.is_dir():
        raise SiteError(f"site folder {source} does not exist")
    incremental = memory is not None
    memory = memory or BuildMemory()
    complete = memory.changes_are_complete(source, changed)
    told = set(changed or ()) if complete else None  # None: look at every file
    config = memory.read(
        "config",
        source / CONFIG_FILE,
        CONFIG_FILE,
        lambda found: load_config(source, found, options.base_url),
        problems,
        unchanged=None if told is None else CONFIG_FILE not in told,
    )
    assert isinstance(config, SiteConfig)
    if memory.config is not None and config == memory.config:
        # site.yaml saved without a change of value (a comment): keep the object the templates and fingerprints
        # already know, or reads through the new one would go unrecorded
        config = memory.config
    if memory.config is not config:  # posts are read with the site's time zone: read them again
        memory.files = {key: entry for key, entry in memory.files.items() if key[0] == "config"}
        memory.config = config
    check_output_folder(source, options.output_dir, (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR))
    claim_output(options.output_dir, options.force)  # before anything in or beside it is touched
    output = options.output_dir.absolute()
    # a build in a new process takes up where the last good build into the same folder left off
    remembering = options.cache and not incremental and not options.keep_going
    setup = locate_katex(source)
    settings = _settings(options, output, setup)
    inputs = last = None
    if remembering:
        inputs = take_inputs(source, _SOURCE_FOLDERS, (CONFIG_FILE,), theme_dir())
        last = recall(source, output)
        now = site_now(options.now, config)
        if last is not None and last.makes_the_same(settings, inputs, now) and last.manifest.all_intact():
            return _same_as(last, config, started)
    katex = None
    if options.check_math or config.feed_content == "full" or config.math_render == "build":
        katex = memory.katex_service(setup) if incremental else KatexService(setup)
        katex.render_fully = config.math_render == "build"  # the pages will want every formula's HTML
        katex.start(source if options.cache else None)  # if nothing is kept, Node loads KaTeX while the build reads
    recover_output(options.output_dir)  # even a failed build finds the previous site where it was
    if told is not None and memory.sources is not None:
        sources = _sources_after(source, memory.sources, told)
    else:
        sources = discover_sources(source, problems)

    # parsed posts kept across processes: a new process parses only the files that changed
    document_cache = (
        DocumentCache(source, sources.posts, config.zone, preload=not any(k == "post" for k, _ in memory.files))
        if options.cache
        else None
    )

    def parse(relative: str, found: Problems) -> Document | None:
        if document_cache is None:
            return parse_document(source, relative, config.zone, found)
        return document_cache.document(
            relative, lambda into: parse_document(source, relative, config.zone, into), found
        )

    def document(relative: str) -> Document | None:
        if not incremental:  # nothing to keep for a next build in this process
            return parse(relative, problems)
        return memory.read(  # type: ignore[return-value]
            "post",
            f"{source}/{relative}",
            relative,
            lambda found: parse(relative, found),
            problems,
            unchanged=None if told is None else relative not in told,
        )

    def series_file(relative: str) -> SeriesMeta | None:
        return memory.read(  # type: ignore[return-value]
            "series",
            f"{source}/{relative}",
            relative,
            lambda found: parse_series_file(source, relative, found),
            problems,
            unchanged=None if told is None else relative not in told,
        )

    documents = [d for d in map(document, sources.posts) if d]
    if document_cache is not None:
        document_cache.close(keep=sources.posts if told is None else None)
    metas = [m for m in map(series_file, sources.series) if m]
    jobs = options.jobs or os.cpu_count() or 1
    bodies = _rendered(
        problems,
        _bodies(memory, source, documents, metas, config.raw_html, jobs, options.cache, options.check_math),
    )
    series_bodies = _rendered(problems, [memory.series_body(m, config.raw_html) for m in metas])
    # the files beside the posts: their URLs and sizes go into the bodies now, never into the body cache
    content_files = AssetIndex(source, sources.assets, config, problems, memory.assets)
    content_files.make_variants(chain(bodies, series_bodies), jobs)
    bodies = [
        content_files.fill(d.source, b, problems, d.summary, d.line_of("summary"))
        for d, b in zip(documents, bodies, strict=True)
    ]
    series_bodies = [content_files.fill(m.source, b, problems) for m, b in zip(metas, series_bodies, strict=True)]

    # Later stages run on whatever parsed, so that one run reports every error of the build.
    now = site_now(options.now, config)
    selection = Selection(now=now, drafts=options.drafts, future=options.future)
    unreadable = frozenset(sources.posts) - {d.source for d in documents}
    site = assemble_site(
        config, documents, bodies, metas, series_bodies, selection, problems, unreadable, memory.assembled
    )
    feed_math = None
    if katex is not None:  # the check and the feeds' MathML: one KaTeX pass
        math = math_pass(
            config,
            site,
            documents,
            bodies,
            metas,
            series_bodies,
            katex,
            source,
            check=options.check_math,
            drafts=options.drafts,
            use_cache=options.cache,
            feed_formulas=memory.feed_formulas,
            check_memo=memory.check_memo,
        )
        if options.check_math and options.require_katex and not math.katex_ran:
            # the check was asked for: formulas KaTeX did not see must not pass as checked
            problems.extend(_required(d) if d.severity == "warning" and not d.path else d for d in math.diagnostics)
        else:
            problems.extend(math.diagnostics)
        feed_math = math.feed_math if config.feed_content == "full" else None  # summaries carry no math
    typesetter = None
    if config.math_render == "build":  # the pages' math typeset here, as the browser would
        problem = render_problem(config, setup, config_line(source, "math"))
        problems.extend([problem] if problem else [])
        places = FormulaPlaces(config, documents, bodies, metas, series_bodies, options.drafts)
        reported = math.diagnostics if katex is not None else ()  # the check's errors are not said again
        typesetter = page_typesetter(config, katex, places, source if options.cache else None, reported)
    if told is not None and memory.static is not None and not _any_under(told, STATIC_DIR):
        static = memory.static
    else:
        static = discover_static([d for d in (theme_dir() / STATIC_DIR, source / STATIC_DIR) if d.is_dir()])
    generated = {SYNTAX_CSS: syntax_css(config)}
    assets = asset_names(static, generated, options.fingerprint)
    # compiled templates are kept with the environment while no template file changed
    if told is not None and memory.templates is not None and not _any_under(told, TEMPLATES_DIR):
        templates = memory.templates
    else:
        templates = template_files(source)
    environment_key = (source, config, tuple(sorted(assets.items())), templates)
    if memory.environment is None or memory.environment[0] != environment_key:
        memory.environment = (environment_key, make_environment(source, config, assets))
    environment = memory.environment[1]
    static_files = {assets[path]: file for path, file in static.items()}
    static_files = merge_files(static_files, content_files.files(), source, problems)
    if config.self_hosted_katex:  # KaTeX's stylesheet and fonts (and script) from its package, into the site
        katex_files, katex_problems = katex_site_files(config, setup, config_line(source, "katex_url"))
        problems.extend(katex_problems)
        problems.extend(
            Diagnostic(f"{STATIC_DIR}/{path}", 0, 0, "error", "static file at the path of KaTeX's (katex_url: self)")
            for path in sorted(katex_files.keys() & static_files.keys())
        )
        static_files.update(katex_files)
    in_place = incremental and memory.output == output and output.is_dir() and not options.keep_going
    render_memory = recall_render_memory(source, output) if remembering and last is not None else None
    manifest = last.manifest if last is not None and render_memory is not None else None
    extra: list[Output | Unchanged] = []
    for path, data in generated.items():
        digest = hashlib.blake2b(data, digest_size=16).digest()
        kept = manifest is not None and manifest.holds(assets[path], digest)
        extra.append(Unchanged(assets[path], digest) if kept else Output(assets[path], data, digest))
    rendering = render_site(
        site,
        config,
        environment,
        source,
        memory.pages if incremental else render_memory,
        jobs,
        intact=manifest.intact if manifest is not None else None,
        only_made=in_place,
        feed_math=feed_math,
        in_process=incremental,
        typeset=typesetter,
    )
    owners = page_owners(site, documents, config.base_path)
    pages = guard_pages(_with_diagnostics(rendering, problems), static_files, owners, source, problems)
    finish = index_for_search if config.search else None
    every_page = True
    if options.keep_going:  # written whatever the errors, which are returned, not raised
        before = len(problems.errors)
        written = write_output(chain(pages, extra), static_files, output, finish, problems, swap_on_errors=True)
        every_page = len(problems.errors) == before  # template errors (or two pages at one path) while writing
    elif problems.errors:
        for _ in pages:  # render anyway: template errors join this build's report
            pass
        problems.raise_if_errors()
    elif in_place:
        made = list(pages)
        problems.raise_if_errors()
        paths = [spec.path for spec in rendering.specs]
        published = frozenset(static_files)
        if not rendering.reused_specs or published != memory.published:  # new paths: check they do not collide
            everything = [Unchanged(path, b"") for path in paths]
            for _ in guard_pages(everything, static_files, owners, source, problems):
                pass
            for _ in unique_outputs([*everything, *extra, *(Unchanged(p, b"") for p in static_files)], problems):
                pass
            problems.raise_if_errors()
        memory.published = published
        written, memory.written = write_changes(made, paths, extra, static_files, output, memory.written)
    elif incremental:
        outputs = [*pages, *extra]
        written = write_output(outputs, static_files, output, finish, problems)
        memory.written, memory.output = snapshot(outputs, static_files), output
    else:
        # pages go to the staging folder as they are made: never all of them in memory at once
        written = write_output(
            chain(pages, extra),
            static_files,
            output,
            finish,
            problems,
            previous=manifest,
            staging_holds=last.staging if last is not None and manifest is not None else None,
            touching=(lambda: touching_staging(source, output)) if remembering else None,
        )
        if remembering and inputs is not None and written.manifest is not None:
            rendering.commit()
            record = LastBuild(
                settings,
                inputs.files if inputs.trustworthy else None,
                _moments(documents, selection),
                (written.pages, len(site.posts), len(site.series), len(site.tags)),
                tuple(problems.warnings),
                written.manifest,
                written.staging if written.manifest is not manifest else last.staging if last else None,
            )
            remember(source, output, record, rendering.memory if rendering.rendered or manifest is None else None)
    if incremental:
        rendering.commit()
        memory.sources, memory.static, memory.templates = sources, static, templates
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
        errors=tuple(problems.errors),
        every_page=every_page,
    )


_SOURCE_FOLDERS = (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR)


def _settings(options: BuildOptions, output: Path, katex: KatexSetup) -> str:
    """Everything besides the site's files (and primer-site's code) that shapes a build's output, as a digest."""
    shaping = (
        str(options.source.absolute()),
        str(live_folder(output)),
        options.base_url,
        options.drafts,
        options.future,
        options.fingerprint,
        options.check_math,
        options.require_katex,
        str(theme_dir()),
        repr(katex),
    )
    return hashlib.blake2b(repr(shaping).encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def _moments(documents: Sequence[Document], selection: Selection) -> tuple[datetime | None, datetime | None]:
    """The latest post date at or before "now" and the earliest after it: while "now" stays between them, the
    same posts are published and the same are scheduled."""
    dates = [d.date for d in documents]
    before = max((d for d in dates if d <= selection.now), default=None)
    after = min((d for d in dates if d > selection.now), default=None)
    return before, after


def _same_as(last: LastBuild, config: SiteConfig, started: float) -> BuildResult:
    """The result of a build that would make what the last one made: nothing written, its warnings said again."""
    pages, posts, series, tags = last.counts
    files = len(last.manifest.files) - 1  # the marker is not one of the site's files
    return BuildResult(
        pages=pages,
        posts=posts,
        series=series,
        tags=tags,
        written=0,
        unchanged=files,
        seconds=time.perf_counter() - started,
        warnings=last.warnings,
        base_path=config.base_path,
    )


def _sources_after(source: Path, before: Sources, changed: set[str]) -> Sources:
    """The sources of the last good build, updated with the changed paths (files only: see changes_are_complete)."""
    found = {CONTENT_DIR: set(before.posts), SERIES_DIR: set(before.series)}
    assets = set(before.assets)
    for path in changed:
        folder, _, rest = path.partition("/")
        if folder not in found or any(p.startswith(".") for p in rest.split("/")):
            continue
        # what discover_sources finds: .md files in content/ and series/, every other file in content/
        kind = found[folder] if path.endswith(".md") else assets if folder == CONTENT_DIR else None
        if kind is None:
            continue
        place = source / path
        if place.exists() or place.is_symlink():
            kind.add(path)
        else:
            kind.discard(path)
    return Sources(tuple(sorted(found[CONTENT_DIR])), tuple(sorted(found[SERIES_DIR])), tuple(sorted(assets)))


def _any_under(paths: set[str], folder: str) -> bool:
    return any(path.startswith(folder + "/") or path == folder for path in paths)


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


def _bodies(
    memory: BuildMemory,
    source: Path,
    documents: list[Document],
    metas: list[SeriesMeta],
    raw_html: bool,
    jobs: int,
    use_cache: bool,
    formulas: bool,
) -> list[RenderedBody | SiteError]:
    """Each document's rendered body: kept from the last build if the document is the same object.

    Bodies from the cache come without their formulas, unless `formulas` (the math check) asks for them.
    """
    results: list[RenderedBody | SiteError | None] = []
    missing: list[int] = []
    # equations are numbered after the chapter; headings too if the series asks for it
    series_of = series_finder(metas)
    numbered = [bool(meta and meta.number_sections) for meta in (series_of(d.series) for d in documents)]
    for index, doc in enumerate(documents):
        known = memory.bodies.get(doc.source)
        if known is not None and known[0] is doc and known[1][0] == numbered[index] and (known[1][1] or not formulas):
            results.append(known[2])
        else:
            results.append(None)
            missing.append(index)
    items = [
        BodySource(
            documents[i].body,
            documents[i].source,
            documents[i].body_first_line,
            documents[i].chapter.text if documents[i].chapter else "",
            numbered[i],
        )
        for i in missing
    ]
    # the cache is pruned to the site's sources only when every one of them was looked up in it
    complete = len(items) == len(documents)
    fresh = _render_with_cache(source, items, raw_html, jobs, use_cache, formulas, complete) if items else []
    for index, body in zip(missing, fresh, strict=True):
        results[index] = body
        if not isinstance(body, SiteError):
            memory.bodies[documents[index].source] = (documents[index], (numbered[index], formulas), body)
    return results  # type: ignore[return-value]


def _render_with_cache(
    source: Path,
    items: list[BodySource],
    raw_html: bool,
    jobs: int,
    use_cache: bool,
    formulas: bool = True,
    complete: bool = True,
) -> list[RenderedBody | SiteError]:
    """Bodies from the cache where their source is unchanged; the rest rendered (and stored).

    `complete`: `items` are all the site's posts, so entries for any other source can be dropped.
    """
    if not use_cache:
        return render_bodies(items, raw_html, jobs)
    cache = BodyCache(source, cache_salt(raw_html))
    try:
        keys = [body_key(item) for item in items]
        cached = cache.get_many(keys, formulas)
        missing = [i for i, key in enumerate(keys) if key not in cached]
        fresh = render_bodies([items[i] for i in missing], raw_html, jobs)
        results: list[RenderedBody | SiteError] = [cached.get(key) for key in keys]  # type: ignore[misc]
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
        new = [(keys[i], r) for i, r in zip(missing, fresh, strict=True) if not isinstance(r, SiteError)]
        cache.replace_all(new, keep=set(keys) if complete else None)
        return results
    finally:
        cache.close()


def _rendered(problems: Problems, results: list[RenderedBody | SiteError]) -> list[RenderedBody]:
    """Bodies that rendered; the errors of the others go to `problems`."""
    bodies = []
    for result in results:
        if isinstance(result, SiteError):
            problems.absorb(result)
            bodies.append(_EMPTY)
        else:
            problems.extend(result.errors)
            bodies.append(result)
    return bodies


def _required(warning: Diagnostic) -> Diagnostic:
    """KaTeX's "formulas not checked" warning, as the error it is when the math check was asked for."""
    message = f"{warning.message} (or leave the math check out: --no-check-math)"
    return Diagnostic(warning.path, warning.line, warning.column, "error", message)


_EMPTY = RenderedBody("", (), frozenset(), False, 0, "", ())
