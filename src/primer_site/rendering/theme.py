"""The Jinja environment pages render in: the site's templates over the default theme's (templates.py), its
globals and filters, and the recording of what a page reads while it renders (dependencies.py): every attribute
of a model object, every template it loads, found or not, and the lookups its helpers make.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from primer_site.caches.dependencies import ACTIVE_RECORDING, CONFIG_KEY, Recording, record, recording
from primer_site.caches.highlights import kept_highlight_css
from primer_site.errors import Problems
from primer_site.math.typeset import KATEX_FOLDER
from primer_site.rendering.assetnames import AssetNames
from primer_site.rendering.book import print_body, print_href
from primer_site.rendering.feeds import absolute
from primer_site.rendering.templates import (
    CompiledTemplates,
    TemplatesInProcess,
    TemplateSnapshot,
    template_folders,
    theme_dir,
)
from primer_site.site.i18n import Catalogue, date_filter, load_catalogue, template_helpers
from primer_site.sources.config import KATEX_INTEGRITY, KATEX_VERSION, SiteConfig
from primer_site.sources.dates import rfc3339
from primer_site.syntax.inline import plain_title, render_title
from primer_site.syntax.markdown import highlight_css
from primer_site.urls import page_url

SYNTAX_CSS = "css/syntax.css"


class RecordingTemplate(jinja2.Template):
    """A template whose module (what `{% import %}` and `{% from … import %}` give) is made once, like Jinja's,
    but whose top-level reads are recorded again in every output that imports it: Jinja's own cache would let
    only the first page record them (a `{% set tagline = config.description %}` read by one page of many)."""

    _recorded_module: tuple[Any, frozenset] | None = None

    def _get_default_module(self, ctx: Any = None) -> Any:
        active = ACTIVE_RECORDING.get()
        if active is None or (ctx is not None and ctx.globals_keys - self.globals.keys()):
            return super()._get_default_module(ctx)  # not kept by Jinja either: its reads go to the page
        made = self._recorded_module
        if made is None:
            part = Recording(active.key_of)
            with recording(part):
                module = self.make_module()
            made = self._recorded_module = (module, frozenset(part.reads))
        active.reads.update(made[1])
        return made[0]


class RecordingEnvironment(jinja2.Environment):
    """A Jinja environment that notes, in the current recording, what templates read and load."""

    template_class = RecordingTemplate
    catalogue: Catalogue  # the site's language: what t(), tn(), chapter_label() and the date filter read

    def getattr(self, obj: Any, attribute: str) -> Any:
        # every attribute a template reads comes here: the recording is inlined, and so is Jinja's own lookup
        # (attribute, then item, then undefined), to keep to one Python call per read
        recording = ACTIVE_RECORDING.get()
        if recording is not None:
            key = recording.key_of.get(id(obj))
            if key is not None:
                recording.reads.add((key, attribute))
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        recording = ACTIVE_RECORDING.get()
        if recording is not None and isinstance(argument, str):
            recording.attribute(obj, argument)
        return super().getitem(obj, argument)

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        if isinstance(name, str):
            record(("template", name))
        return super().get_template(name, parent, globals)

    def select_template(self, names: Any, parent: Any = None, globals: Any = None) -> jinja2.Template:
        for name in names if isinstance(names, (list, tuple)) else ():
            if isinstance(name, str):
                record(("template", name))
        return super().select_template(names, parent, globals)


def make_environment(
    source: Path,
    config: SiteConfig,
    assets: dict[str, str] | None = None,
    catalogue: Catalogue | None = None,
    compiled: Path | None = None,
) -> RecordingEnvironment:
    """A site's templates/ first, then the theme's, as they are now (TemplateSnapshot). The environment is kept
    until a template file or the catalogue changes (the caller makes a new one then: see template_files).

    `catalogue`: the site's language (i18n.load_catalogue, read once per build; by default read here, its warnings
    dropped). `compiled`: the folder where compiled templates are kept between processes (CompiledTemplates), or
    None to keep them in this process only (TemplatesInProcess)."""
    loader = TemplateSnapshot(list(zip(("site", "theme"), template_folders(source), strict=True)))
    env = RecordingEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        bytecode_cache=CompiledTemplates(compiled) if compiled is not None else TemplatesInProcess(source),
    )
    base = config.base_path
    names = assets or {}
    words = catalogue if catalogue is not None else load_catalogue(source, config, theme_dir(), Problems())
    env.catalogue = words

    def url(path: str) -> str:
        """A site-relative URL under the base path."""
        record((CONFIG_KEY, "base_path"))
        return page_url(base, "/" + path.lstrip("/"))

    def absolute_url(url: str) -> str:
        record((CONFIG_KEY, "base_url"))
        return absolute(url, config)

    def asset(path: str) -> str:
        """The URL of a static file, under its output name."""
        path = path.lstrip("/")
        record(("asset", path))
        record((CONFIG_KEY, "base_path"))
        if path not in names:
            raise jinja2.TemplateRuntimeError(f"asset {path!r}: no such file in static/")
        return page_url(base, "/" + names[path])

    env.globals.update(
        config=config,
        url=url,
        katex={
            "url": page_url(base, f"/{KATEX_FOLDER}/") if config.self_hosted_katex else config.katex_url,
            "version": KATEX_VERSION,
            "integrity": KATEX_INTEGRITY,
            "render": config.math_render,  # "browser": pages load KaTeX's script; "build": typeset at build time
        },
        absolute=absolute_url,
        plain=plain_title,
        asset=asset,
        assets=AssetNames(names),
        **template_helpers(words),
    )
    env.filters.update(
        date=date_filter(words),
        isodate=_iso_date,
        rfc3339=rfc3339,
        json_script=json_script,
        title_html=lambda t: Markup(render_title(t)),
    )
    env.filters.update(print_body=lambda body, *chapters: Markup(print_body(body, *chapters)), print_href=print_href)
    return env


def catalogue_resolver(env: jinja2.Environment) -> Callable[[str], object]:
    """A catalogue key's current value, for its fingerprint."""
    assert isinstance(env, RecordingEnvironment), "an environment from make_environment"
    return env.catalogue.fingerprint_of


def value_globals(env: jinja2.Environment) -> list[str]:
    """The globals that are data, not functions: every page may read them, so every page depends on them."""
    return sorted(
        name
        for name, value in env.globals.items()
        if not callable(value) and name != "config" and not isinstance(value, AssetNames)
    )


def global_resolver(env: jinja2.Environment) -> Callable[[str], object]:
    """A global's current value, for its fingerprint (the asset names as a plain mapping)."""

    def resolve(name: str) -> object:
        value = env.globals.get(name)
        return dict(value._names) if isinstance(value, AssetNames) else value

    return resolve


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


def _iso_date(value: datetime) -> str:
    return rfc3339(value) if value.time() != datetime.min.time() else value.date().isoformat()


def syntax_css(config: SiteConfig, site: Path | None = None) -> bytes:
    """The code highlighting styles, light and dark, made from the site's Pygments settings; kept in the table of
    highlights of `site` (caches/highlights.py) when given and the styles are the defaults, Pygments' own (another
    may be a plugin's, which can change while Pygments' version, in the table's salt, does not)."""
    light, dark = config.highlight_light, config.highlight_dark
    if site is None or (light, dark) != (SiteConfig.highlight_light, SiteConfig.highlight_dark):
        return highlight_css(light, dark).encode()
    return kept_highlight_css(site, light, dark).encode()
