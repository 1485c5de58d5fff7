"""One page at a time: a spec's context resolved from the model, its template rendered (or its generated file
made) while every read is recorded, its template errors located in the template. Writes nothing.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2

from primer_site.caches.dependencies import (
    Dependency,
    Fingerprints,
    ModelIndex,
    Recording,
    current_recording,
    record,
    recording,
)
from primer_site.caches.fingerprints import Ref
from primer_site.errors import Diagnostic, SiteError
from primer_site.layout import TEMPLATES_DIR
from primer_site.lazyregex import lazy_compile
from primer_site.math.typeset import MATH_RENDER
from primer_site.model import Site
from primer_site.rendering.assetnames import AssetNames
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
from primer_site.rendering.templates import template_identity
from primer_site.rendering.theme import catalogue_resolver, global_resolver, value_globals
from primer_site.site.assets import eager_first_image
from primer_site.sources.config import SiteConfig
from primer_site.urls import taxon_slug

_MODEL_OBJECT = lazy_compile(r"'primer_site\.[\w.]*?(\w+) object'")


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


class PageRenderer:
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

    def specs(self) -> tuple[list[PageSpec], frozenset[Dependency]]:
        """The site's outputs, and what working them out read (the render memory keeps the list, in this process
        or on disk, while none of that changed)."""
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
            import difflib  # a misspelling's suggestion only: a build that meets none never loads it

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
        found = Path(filename)
        try:  # the folder resolved, not the file: a template that is a link is named as the author named it
            return (found.parent.resolve() / found.name).relative_to(self.source.resolve()).as_posix(), line or 0
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
