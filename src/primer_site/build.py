"""The one place the stage order is written: discover → parse → markdown → assemble → render → write."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .assemble import Selection, assemble_site
from .cache import BodyCache, body_key, cache_salt
from .config import load_config
from .discover import CONTENT_DIR, SERIES_DIR, discover_sources, discover_static
from .errors import Diagnostic, Problems, SiteError
from .markdown import BodySource, RenderedBody, render_bodies
from .model import Output, Site
from .parse import parse_document, parse_series_file
from .render import (
    STATIC_DIR,
    SYNTAX_CSS,
    TEMPLATES_DIR,
    fingerprint_assets,
    make_environment,
    render_site,
    syntax_css,
    theme_dir,
)
from .search import index_for_search
from .urls import collision_key
from .write import check_output_folder, recover_output, write_output


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


def build_site(options: BuildOptions) -> BuildResult:
    """Build the site, or raise SiteError with every problem found; the old output stays on error."""
    started = time.perf_counter()
    source = options.source
    problems = Problems()
    if not source.is_dir():
        raise SiteError(f"site folder {source} does not exist")
    config = load_config(source, problems, options.base_url)
    check_output_folder(source, options.output_dir, (CONTENT_DIR, SERIES_DIR, TEMPLATES_DIR, STATIC_DIR))
    recover_output(options.output_dir)  # even a failed build finds the previous site where it was
    sources = discover_sources(source, problems)

    documents = [d for d in (parse_document(source, p, config.zone, problems) for p in sources.posts) if d]
    metas = [m for m in (parse_series_file(source, p, problems) for p in sources.series) if m]
    jobs = options.jobs or os.cpu_count() or 1
    body_sources = [BodySource(d.body, d.source, d.body_first_line) for d in documents]
    bodies = _rendered(problems, _render_with_cache(source, body_sources, config.raw_html, jobs, options.cache))
    series_bodies = _rendered(
        problems, render_bodies([BodySource(m.body, m.source, m.body_first_line) for m in metas], config.raw_html, 1)
    )

    # Later stages run on whatever parsed, so that one run reports every error of the build.
    now = options.now or datetime.now(UTC)
    selection = Selection(now=now, drafts=options.drafts, future=options.future)
    unreadable = frozenset(sources.posts) - {d.source for d in documents}
    site = assemble_site(config, documents, bodies, metas, series_bodies, selection, problems, unreadable)
    static = discover_static([d for d in (theme_dir() / STATIC_DIR, source / STATIC_DIR) if d.is_dir()])
    generated = {SYNTAX_CSS: syntax_css(config)}
    assets = fingerprint_assets(static, generated)
    outputs = render_site(site, config, make_environment(source, config, assets), source, problems)
    outputs += [Output(assets.get(path, path), data) for path, data in generated.items()]
    _check_unique_paths(outputs, problems)
    problems.raise_if_errors()

    static_files = {assets.get(path, path): file for path, file in static.items()}
    finish = index_for_search if config.search else None
    written = write_output(outputs, static_files, options.output_dir, finish)
    return BuildResult(
        pages=sum(1 for o in outputs if o.path.endswith(".html")),
        posts=len(site.posts),
        series=len(site.series),
        tags=len(site.tags),
        written=written.written,
        unchanged=written.unchanged,
        seconds=time.perf_counter() - started,
        warnings=tuple(problems.warnings),
        site=site,
        base_path=config.base_path,
    )


def _render_with_cache(
    source: Path, items: list[BodySource], raw_html: bool, jobs: int, use_cache: bool
) -> list[RenderedBody | SiteError]:
    """Bodies from the cache where their source is unchanged; the rest rendered (and stored)."""
    if not use_cache:
        return render_bodies(items, raw_html, jobs)
    cache = BodyCache(source, cache_salt(raw_html))
    try:
        keys = [body_key(item) for item in items]
        cached = cache.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in cached]
        fresh = render_bodies([items[i] for i in missing], raw_html, jobs)
        results: list[RenderedBody | SiteError] = [cached.get(key) for key in keys]  # type: ignore[misc]
        for index, result in zip(missing, fresh, strict=True):
            results[index] = result
        new = [(keys[i], r) for i, r in zip(missing, fresh, strict=True) if not isinstance(r, SiteError)]
        cache.replace_all(new, keep=set(keys))
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
            bodies.append(result)
    return bodies


_EMPTY = RenderedBody("", (), frozenset(), False, 0, "", ())


def _check_unique_paths(outputs: list[Output], problems: Problems) -> None:
    seen: dict[str, str] = {}
    for output in outputs:
        key = collision_key(output.path)
        if key in seen:
            problems.error(f"two pages would be written to {output.path} (check permalinks and slugs)", "site.yaml")
        seen[key] = output.path
