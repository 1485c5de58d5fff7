"""The one place the stage order is written: discover → parse → markdown → assemble → render → write."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import jinja2

from .assemble import AssembleMemo, Selection, assemble_site
from .assets import AssetIndex, AssetMemo
from .cache import BodyCache, body_key, cache_salt
from .config import CONFIG_FILE, SiteConfig, load_config
from .discover import CONTENT_DIR, SERIES_DIR, discover_sources, discover_static
from .errors import Diagnostic, Problems, SiteError
from .markdown import BodySource, RenderedBody, render_bodies
from .mathcheck import KatexProcess, check_math, math_sources
from .model import Output, Site
from .outputpaths import guard_pages, merge_files, page_owners
from .parse import Document, SeriesMeta, parse_document, parse_series_file, series_finder
from .render import (
    STATIC_DIR,
    SYNTAX_CSS,
    TEMPLATES_DIR,
    PageMemo,
    asset_names,
    make_environment,
    render_site,
    syntax_css,
    theme_dir,
)
from .search import index_for_search
from .write import check_output_folder, recover_output, snapshot, unique_outputs, write_changes, write_output


@dataclass(frozen=True)
class BuildOptions:
    source: Path = Path(".")
    output: Path | None = None  # default: <source>/public
    base_url: str | None = None
    drafts: bool = False
    future: bool = False
    jobs: int = 0  # 0: one per CPU
    now: datetime | None = None  # pinned "now", for tests and previews of a given day
    cache: bool = True  # reuse rendered bodies from SOURCE/.primer-cache
    fingerprint: bool = (
        True  # content hashes in CSS/JS names; the preview turns it off so a CSS edit re-renders no page
    )
    check_math: bool = False  # every formula through KaTeX (build --check-math, check, serve)

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


class BuildMemory:
    """What the previous build in this process made, for the next one to reuse.

    Held by a caller that rebuilds again and again (the dev server): a file whose stat did not
    change is not read again, an unchanged post keeps its rendered body and its Post, a page whose
    inputs did not change keeps its bytes, and only files whose bytes changed are written.
    """

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], tuple[tuple[int, int, int], object, tuple[Diagnostic, ...]]] = {}
        # (document, (number_sections, formulas read), body)
        self.bodies: dict[str, tuple[Document, tuple[bool, bool], RenderedBody]] = {}
        self.assembled = AssembleMemo()
        self.pages = PageMemo()
        self.environment: tuple[tuple, jinja2.Environment] | None = None
        self.output: Path | None = None
        self.written: dict[str, object] = {}
        self.config: SiteConfig | None = None
        self.descriptions: dict[str, tuple[SeriesMeta, bool, RenderedBody | SiteError]] = {}
        self.assets = AssetMemo()

    def series_body(self, meta: SeriesMeta, raw_html: bool) -> RenderedBody | SiteError:
        """A series' description, rendered again only when its file was read again."""
        known = self.descriptions.get(meta.source)
        if known is not None and known[0] is meta and known[1] == raw_html:
            return known[2]
        [body] = render_bodies([BodySource(meta.body, meta.source, meta.body_first_line)], raw_html, 1)
        self.descriptions[meta.source] = (meta, raw_html, body)
        return body

    def read(
        self, kind: str, path: Path, relative: str, parse: Callable[[Problems], object], problems: Problems
    ) -> object:
        """`parse(problems)` for this file, or what it gave last time if the file's stat is the same."""
        try:
            info = os.stat(path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except FileNotFoundError:
            stamp = (0, -1, 0)  # absent (a site without site.yaml): as stable as a file that did not change
        except OSError:
            stamp = (-1, -1, -1)  # unreadable: read again, and report again
        known = self.files.get((kind, relative))
        if known is not None and known[0] == stamp and stamp[0] != -1:
            problems.extend(known[2])
            return known[1]
        found = Problems()
        result = parse(found)
        problems.extend(found.items)
        self.files[(kind, relative)] = (stamp, result, tuple(found.items))
        return result


def build_site(options: BuildOptions, memory: BuildMemory | None = None) -> BuildResult:
    """Build the site, or raise SiteError with every problem found; the old output stays on error."""
    started = time.perf_counter()
    source = options.source
    problems = Problems()
    if not source.is_dir():
        raise SiteError(f"site folder {source} does not exist")
    incremental = memory is not None
    memory = memory or BuildMemory()
    config = memory.read(
        "config",
        source / CONFIG_FILE,
        CONFIG_FILE,
        lambda found: load_config(source, found, options.base_url),
        problems,
    )
    assert isinstance(config, SiteConfig)
    if memory.config is not config:  # posts are read with the site's time zone: read them again
        memory.files = {key: entry for key, entry in memory.files.items() if key[0] == "config"}
        memory.config = config
    check_output_folder(source, options.output_dir, (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR))
    katex = KatexProcess(source) if options.check_math else None  # Node loads KaTeX while the build reads
    recover_output(options.output_dir)  # even a failed build finds the previous site where it was
    sources = discover_sources(source, problems)

    def document(relative: str) -> Document | None:
        return memory.read(  # type: ignore[return-value]
            "post",
            f"{source}/{relative}",
            relative,
            lambda found: parse_document(source, relative, config.zone, found),
            problems,
        )

    def series_file(relative: str) -> SeriesMeta | None:
        return memory.read(  # type: ignore[return-value]
            "series",
            f"{source}/{relative}",
            relative,
            lambda found: parse_series_file(source, relative, found),
            problems,
        )

    documents = [d for d in map(document, sources.posts) if d]
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
    bodies = [content_files.fill(d.source, b, problems) for d, b in zip(documents, bodies, strict=True)]
    series_bodies = [content_files.fill(m.source, b, problems) for m, b in zip(metas, series_bodies, strict=True)]

    # Later stages run on whatever parsed, so that one run reports every error of the build.
    now = options.now or datetime.now(UTC)
    selection = Selection(now=now, drafts=options.drafts, future=options.future)
    unreadable = frozenset(sources.posts) - {d.source for d in documents}
    site = assemble_site(
        config, documents, bodies, metas, series_bodies, selection, problems, unreadable, memory.assembled
    )
    if options.check_math:
        formulas = math_sources(config, documents, bodies, metas, series_bodies, options.drafts)
        problems.extend(check_math(formulas, source, katex).diagnostics)
    static = discover_static([d for d in (theme_dir() / STATIC_DIR, source / STATIC_DIR) if d.is_dir()])
    generated = {SYNTAX_CSS: syntax_css(config)}
    assets = asset_names(static, generated, options.fingerprint)
    environment_key = (source, config, tuple(sorted(assets.items())))
    if memory.environment is None or memory.environment[0] != environment_key:
        # compiled templates are kept with the environment; Jinja recompiles a template whose file changed
        memory.environment = (environment_key, make_environment(source, config, assets))
    environment = memory.environment[1]
    extra = [Output(assets[path], data) for path, data in generated.items()]
    static_files = {assets[path]: file for path, file in static.items()}
    static_files = merge_files(static_files, content_files.files(), source, problems)
    output = options.output_dir.absolute()
    pages = render_site(site, config, environment, source, problems, memory.pages if incremental else None)
    pages = guard_pages(pages, static_files, page_owners(site, documents, config.base_path), source, problems)
    if problems.errors:
        for _ in pages:  # render anyway: template errors join this build's report
            pass
        problems.raise_if_errors()
    if incremental and memory.output == output and output.is_dir():
        outputs = list(unique_outputs([*pages, *extra], problems))
        problems.raise_if_errors()
        written, memory.written = write_changes(outputs, static_files, output, memory.written)
    elif incremental:
        outputs = [*pages, *extra]
        written = write_output(outputs, static_files, output, index_for_search if config.search else None, problems)
        memory.written, memory.output = snapshot(outputs, static_files), output
    else:
        # pages go to the staging folder as they are made: never all of them in memory at once
        finish = index_for_search if config.search else None
        written = write_output(chain(pages, extra), static_files, output, finish, problems)
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
        rendered=tuple(memory.pages.rendered) if incremental else (),
    )


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


_EMPTY = RenderedBody("", (), frozenset(), False, 0, "", ())
