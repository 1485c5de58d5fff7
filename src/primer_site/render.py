"""Site + Jinja environment → outputs (path, bytes). Writes nothing."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from markupsafe import Markup

from .assets import eager_first_image
from .config import KATEX_INTEGRITY, KATEX_VERSION, SiteConfig
from .errors import Problems
from .feeds import absolute, atom_feed, json_feed, robots_txt, site_feeds, sitemap
from .markdown import highlight_css, plain_title, render_title, title_has_math
from .model import Output, Post, Series, Site
from .urls import output_path, page_url, paginated_path

TEMPLATES_DIR = "templates"
STATIC_DIR = "static"
SYNTAX_CSS = "css/syntax.css"
_MATH_ELEMENT = 'class="math '  # how markdown.py marks math for KaTeX


def theme_dir() -> Path:
    """The default theme: inside the installed package, or the repository root in a checkout."""
    packaged = Path(__file__).parent / "theme"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pager:
    """One page of a paginated listing."""

    number: int
    count: int
    items: tuple[Post, ...]
    first_url: str
    base_path: str

    def url_of(self, number: int) -> str:
        return page_url(self.base_path, paginated_path(self.first_url, number))

    @property
    def previous_url(self) -> str | None:
        return self.url_of(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url_of(self.number + 1) if self.number < self.count else None


def asset_names(static: dict[str, Path], generated: dict[str, bytes], fingerprint: bool) -> dict[str, str]:
    """Every asset's output name. With `fingerprint`, CSS and JS get a content hash in theirs
    (css/style.3f2a9c1e.css), so hosts can cache them forever."""
    names: dict[str, str] = {}
    for path in sorted({*static, *generated}):
        stem, dot, suffix = path.rpartition(".")
        if fingerprint and dot and suffix in ("css", "js"):
            data = generated[path] if path in generated else static[path].read_bytes()
            names[path] = f"{stem}.{hashlib.blake2b(data, digest_size=4).hexdigest()}.{suffix}"
        else:
            names[path] = path
    return names


def make_environment(source: Path, config: SiteConfig, assets: dict[str, str] | None = None) -> jinja2.Environment:
    """A site's templates/ first, then the theme's; compiled once per build."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(source / TEMPLATES_DIR),
            jinja2.FileSystemLoader(theme_dir() / TEMPLATES_DIR),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base = config.base_path
    env.globals.update(
        config=config,
        url=lambda path: page_url(base, "/" + path.lstrip("/")),
        katex={"url": config.katex_url, "version": KATEX_VERSION, "integrity": KATEX_INTEGRITY},
    )
    names = assets or {}

    def asset(path: str) -> str:
        """The URL of a static file, under its output name."""
        path = path.lstrip("/")
        if path not in names:
            raise jinja2.TemplateRuntimeError(f"asset {path!r}: no such file in static/")
        return page_url(base, "/" + names[path])

    env.globals.update(absolute=lambda url: absolute(url, config), plain=plain_title, asset=asset, assets=names)
    env.filters.update(
        date=_format_date, isodate=_iso_date, json_script=json_script, title_html=lambda t: Markup(render_title(t))
    )
    return env


def json_script(value: object) -> Markup:
    """JSON for inside <script>: no front-matter value can close the element or start a comment."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return Markup(text)


def _format_date(value: datetime, style: str = "long") -> str:
    if style == "short":
        return value.strftime("%Y-%m-%d")
    return f"{value.strftime('%B')} {value.day}, {value.year}"


def _iso_date(value: datetime) -> str:
    return value.isoformat() if value.time() != datetime.min.time() else value.date().isoformat()


def syntax_css(config: SiteConfig) -> bytes:
    """The code highlighting styles, light and dark, made from the site's Pygments settings."""
    return highlight_css(config.highlight_light, config.highlight_dark).encode()


class PageMemo:
    """Pages rendered by the previous build of this process, with what each one showed.

    Held by a caller that rebuilds in one process (the dev server). A page is rendered again only
    when what it depends on (its signature), its template or one it includes, the site config or
    the asset names changed; otherwise its bytes are reused.
    """

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep  # False for a one-off build: nothing to reuse, so no page is kept in memory
        self.context: tuple = ()
        self.pages: dict[str, tuple[object, bytes]] = {}
        self.closures: dict[str, tuple] = {}
        self.rendered: list[str] = []  # by the latest build
        self.kept: dict[str, object] = {}

    def same(self, name: str, value: object) -> object:
        """`value`, or the equal value kept from the previous build: page signatures holding it then
        compare by identity instead of element by element, thousands of times per rebuild."""
        kept = self.kept.get(name)
        if kept is not None and kept == value:
            return kept
        self.kept[name] = value
        return value

    def begin(self, context: tuple) -> None:
        self.rendered = []
        if context != self.context:
            self.context, self.pages = context, {}


def render_site(
    site: Site,
    config: SiteConfig,
    env: jinja2.Environment,
    source: Path,
    problems: Problems,
    memo: PageMemo | None = None,
) -> Iterator[Output]:
    """Every page of the site, one at a time; template errors are added to `problems`, located in the template.

    Pages are yielded as they are made so that the write stage can store each one at once: a
    5,000-post site never holds all its pages in memory.
    """
    memo = memo or PageMemo(keep=False)
    for output in _render_pages(site, config, env, source, problems, memo):
        if output is not None:
            yield output


def _render_pages(
    site: Site, config: SiteConfig, env: jinja2.Environment, source: Path, problems: Problems, memo: PageMemo
) -> Iterator[Output | None]:
    memo.begin((config, tuple(sorted(env.globals["assets"].items()))))
    renderer = _PageRenderer(site, config, env, source, problems, memo)
    shape = memo.same("shape", _site_shape(site))
    for post in site.posts:
        series = renderer.series_of(post) if post.series else None
        depends = (post, _series_head(series), renderer.collection_head(series), shape)
        yield renderer.page(
            "post.html", post.output_path, post.source, depends, post=post, has_math=partial(_post_shows_math, post)
        )
    yield from renderer.listing("index.html", "/", site.posts, "home", shape)
    for one in site.series:
        has_math = _shows_math(one.description_html, *(p.summary_html for p in one.posts)) or _titles_show_math(
            *(p.title for p in one.posts), *(s.title for s in one.scheduled)
        )
        path = output_path(_site_path(one.url, config))
        depends = (one, renderer.collection_head(one), shape)
        yield (renderer.page("series.html", path, one.source or "", depends, series=one, has_math=has_math))
    for collection in site.collections:
        path = output_path(_site_path(collection.url, config))
        has_math = _shows_math(collection.description_html)
        depends = (collection.title, collection.description_html, shape)
        yield (
            renderer.page(
                "collection.html", path, collection.source or "", depends, collection=collection, has_math=has_math
            )
        )
    series_index = config.permalinks["series"].split("{slug}")[0]
    yield (renderer.page("series_index.html", output_path(series_index), "", shape, has_math=False))
    for kind, taxa in (("tag", site.tags), ("category", site.categories)):
        for taxon in taxa:
            first = _site_path(taxon.url, config)
            yield from renderer.listing("taxon.html", first, taxon.posts, kind, (taxon.name, shape), taxon=taxon)
        index = config.permalinks[kind].split("{slug}")[0]
        yield (renderer.page("taxon_index.html", output_path(index), "", shape, kind=kind, taxa=taxa, has_math=False))
    yield (renderer.page("404.html", "404.html", "", shape, has_math=False))
    for feed in site_feeds(site, config):
        yield (renderer.data(feed.path, (feed.title, feed.posts), lambda feed=feed: atom_feed(feed, config)))
    newest = site.posts[: config.feed_limit]
    yield (renderer.data("feed.json", newest, lambda: json_feed(newest, config)))
    listed = tuple((p.url, p.date, p.updated) for p in site.posts)
    yield (renderer.data("sitemap.xml", (listed, shape), lambda: sitemap(site, config)))
    yield (renderer.data("robots.txt", (), lambda: robots_txt(config)))


def _listing_shows_math(items: Sequence[Post]) -> bool:
    return _shows_math(*(p.summary_html for p in items)) or _titles_show_math(*(p.title for p in items))


def _post_shows_math(post: Post) -> bool:
    titles = (post.title, *(link.title for link in (post.previous, post.next) if link))
    return _shows_math(post.body_html) or _titles_show_math(*titles)


def _series_head(series: Series | None) -> tuple:
    """What a post page shows of its series: not its other chapters."""
    if series is None:
        return ()
    return (
        series.slug,
        series.title,
        series.url,
        series.published_count,
        series.total_count,
        series.collection,
        series.macros,
    )


def _site_shape(site: Site) -> tuple:
    """The site-wide facts any template may show (counts, series, tags); a body edit leaves it as it is."""
    return (
        len(site.posts),
        tuple(_series_head(s) for s in site.series),
        tuple((c.slug, c.title, c.url) for c in site.collections),
        tuple((t.slug, t.name, len(t.posts)) for t in site.tags),
        tuple((t.slug, t.name, len(t.posts)) for t in site.categories),
    )


def _shows_math(*fragments: str) -> bool:
    """Whether the HTML a page shows holds math: only then does it load KaTeX."""
    return any(_MATH_ELEMENT in fragment for fragment in fragments)


def _titles_show_math(*titles: str) -> bool:
    """Whether titles shown through the title_html filter hold math."""
    return any(title_has_math(title) for title in titles)


def page_url_of(path: str, config: SiteConfig) -> str:
    """The URL a page is served at: "posts/x/index.html" → "/base/posts/x/"."""
    return page_url(config.base_path, "/" + path.removesuffix("index.html"))


def _site_path(url: str, config: SiteConfig) -> str:
    """A page's URL without the base path: "/primer/posts/x/" → "/posts/x/"."""
    from urllib.parse import unquote

    return "/" + unquote(url)[len(config.base_path) :]


class _PageRenderer:
    def __init__(
        self, site: Site, config: SiteConfig, env: jinja2.Environment, source: Path, problems: Problems, memo: PageMemo
    ):
        self.site, self.config, self.env, self.source, self.problems = site, config, env, source, problems
        self.memo = memo
        self.stamps: dict[str, tuple] = {}
        self.reported: set[tuple[str, int, str]] = set()
        series = {s.slug: s for s in site.series}
        series_by_name = {**{s.title: s for s in site.series}, **series}
        collections = {c.slug: c for c in site.collections}
        tags = {t.slug: t for t in site.tags}
        from .urls import slugify

        # Lookups templates need, by name, from the model's plain data.
        self.helpers = {
            "series_of": lambda post: series_by_name.get(post.series) or series.get(slugify(post.series)),
            "collection_of": lambda one: collections.get(one.collection) if one.collection else None,
            "tag_url": lambda name: tags[slugify(name)].url,
        }
        self.series_of = self.helpers["series_of"]
        self.collections = collections

    def collection_head(self, series: Series | None) -> tuple:
        collection = self.collections.get(series.collection) if series and series.collection else None
        return (collection.slug, collection.title, collection.url) if collection else ()

    def template_stamp(self, name: str) -> tuple:
        """The files of a template and of every template it extends, includes or imports, with their mtimes."""
        if name not in self.stamps:
            stamp: list[tuple[str, int, int]] = []
            pending, seen = [name], set()
            while pending:
                current = pending.pop()
                if current in seen:
                    continue
                seen.add(current)
                try:
                    text, filename, _ = self.env.loader.get_source(self.env, current)  # type: ignore[union-attr]
                except jinja2.TemplateNotFound:
                    continue
                info = os.stat(filename) if filename else None
                stamp.append((filename or current, info.st_mtime_ns if info else 0, info.st_size if info else 0))
                key = (filename, stamp[-1][1], stamp[-1][2])
                if key not in self.memo.closures:
                    try:
                        found = jinja2.meta.find_referenced_templates(self.env.parse(text))
                        self.memo.closures[key] = tuple(n for n in found if n)
                    except jinja2.TemplateSyntaxError:
                        self.memo.closures[key] = ()
                pending.extend(self.memo.closures[key])
            self.stamps[name] = self.memo.same(f"template {name}", tuple(sorted(stamp)))
        return self.stamps[name]

    def data(self, path: str, depends: object, make: Any) -> Output:
        """A feed or other generated file, made again only when what it lists changed."""
        known = self.memo.pages.get(path)
        if known is not None and known[0] == depends:
            return Output(path, known[1])
        data = make()
        if self.memo.keep:
            self.memo.pages[path] = (depends, data)
        self.memo.rendered.append(path)
        return Output(path, data)

    def page(self, template: str, path: str, source: str, depends: object, **context: Any) -> Output | None:
        signature = (self.template_stamp(template), depends)
        known = self.memo.pages.get(path)
        if known is not None and known[0] == signature:
            return Output(path, known[1])
        if callable(context.get("has_math")):  # worked out only for a page that is rendered
            context["has_math"] = context["has_math"]()
        try:
            page_url = page_url_of(path, self.config)
            html = self.env.get_template(template).render(
                site=self.site, page_path=path, page_url=page_url, **self.helpers, **context
            )
        except jinja2.TemplateError as exc:
            self._report(exc, template, source)
            self.memo.pages.pop(path, None)
            return None
        data = eager_first_image(html).encode("utf-8")
        if self.memo.keep:
            self.memo.pages[path] = (signature, data)
        self.memo.rendered.append(path)
        return Output(path, data)

    def listing(
        self, template: str, first: str, posts: Sequence[Post], kind: str, depends: object, **context: Any
    ) -> Iterator[Output]:
        size = self.config.paginate
        count = max(1, math.ceil(len(posts) / size))
        for number in range(1, count + 1):
            items = tuple(posts[(number - 1) * size : number * size])
            pager = Pager(number, count, items, first, self.config.base_path)
            has_math = partial(_listing_shows_math, items)
            path = output_path(paginated_path(first, number))
            heads = tuple(_series_head(self.series_of(p)) if p.series else () for p in items)
            signature = (pager, heads, depends)
            output = self.page(template, path, "", signature, pager=pager, kind=kind, has_math=has_math, **context)
            if output is not None:
                yield output

    def _report(self, exc: jinja2.TemplateError, template: str, source: str) -> None:
        where, line = self._template_location(exc, template)
        message = getattr(exc, "message", None) or str(exc)
        key = (where, line, message)
        if key in self.reported:
            return
        self.reported.add(key)
        syntax = isinstance(exc, jinja2.TemplateSyntaxError)
        while_doing = f" (while rendering {source})" if source and not syntax else ""
        self.problems.error(f"template: {message}{while_doing}", where, line)

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
