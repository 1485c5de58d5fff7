"""The theme: the site's templates over the default theme's, the Jinja environment they render in, and the
output names of static assets.

The environment records what a page reads while it renders (dependencies.py): every attribute of a model
object, every template it loads, found or not, and the lookups its helpers make. Its templates are read once,
when it is made (TemplateSnapshot): every page renders from the same text, and a template's fingerprint is the
digest of the very text Jinja compiled, so a template saved while a build renders is a change for the next build.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any

import jinja2
from markupsafe import Markup

from primer_site.caches.dependencies import ACTIVE_RECORDING, CONFIG_KEY, Recording, record, recording
from primer_site.errors import Problems
from primer_site.layout import TEMPLATES_DIR
from primer_site.math.typeset import KATEX_FOLDER
from primer_site.rendering.book import print_body, print_href
from primer_site.rendering.feeds import absolute
from primer_site.site.i18n import Catalogue, date_filter, load_catalogue, template_helpers
from primer_site.sources.config import KATEX_INTEGRITY, KATEX_VERSION, SiteConfig
from primer_site.sources.dates import rfc3339
from primer_site.store import is_racy, stamp_of
from primer_site.syntax.markdown import highlight_css, plain_title, render_title
from primer_site.urls import page_url

SYNTAX_CSS = "css/syntax.css"


def theme_dir() -> Path:
    """The default theme: inside the installed package, or the repository root in a checkout."""
    package = Path(__file__).resolve().parents[1]  # src/primer_site/, above this stage's folder
    packaged = package / "theme"
    return packaged if packaged.is_dir() else package.parents[1]


def template_folders(source: Path) -> tuple[Path, Path]:
    """Where a template is looked for, in order: the site's templates/, then the theme's."""
    return source / TEMPLATES_DIR, theme_dir() / TEMPLATES_DIR


def template_files(source: Path) -> tuple[tuple[str, str, object], ...]:
    """(name, folder, stamp) of every template file: when this changes, compiled templates are stale.

    Jinja notices an edited template, but not an override added in the site's templates/ for a template it
    loaded from the theme; comparing this listing catches both. A file changed too recently for its stamp to be
    trusted (inputs.is_racy) gets a stamp no other listing holds: its environment is made again next time.
    """
    taken = time.time()
    found = []
    for folder in template_folders(source):
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                stamp = stamp_of(path)
                if stamp is None:
                    continue
                relative = os.path.relpath(path, folder).replace(os.sep, "/")
                found.append((relative, str(folder), object() if is_racy(stamp, taken) else stamp))
    return tuple(found)


class TemplateSnapshot(jinja2.BaseLoader):
    """Every file of the site's templates/ and of the theme's (the site's first), read when the loader is made,
    with a digest of each: Jinja compiles from these bytes, and a page's recorded template is this digest.

    Read at once rather than when Jinja first asks, so that render workers forked later see the same text as
    the process that fingerprints it. Lookups follow FileSystemLoader's: links followed, only regular files,
    UTF-8 text with its line endings made "\\n".
    """

    def __init__(self, folders: Sequence[tuple[str, Path]]) -> None:
        """`folders`: (label, folder), looked in in order; the label names where a template came from."""
        self.files: dict[str, tuple[str, str, bytes | OSError]] = {}  # name → (label, file, bytes or why not)
        self._identities: dict[str, tuple[str, str]] = {}
        for label, folder in folders:
            for relative, path in _walk_files(str(folder)):
                if relative in self.files:  # the site's template over the theme's
                    continue
                try:
                    with open(path, "rb") as file:
                        data: bytes | OSError = file.read()
                except FileNotFoundError:  # removed since the walk: absent, as a lookup now would find it
                    continue
                except OSError as error:  # unreadable: reported when a page asks for it
                    data = error
                self.files[relative] = (label, os.path.normpath(path), data)

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        found = self.files.get(_template_key(template))
        if found is None:
            raise jinja2.TemplateNotFound(template)
        _, filename, data = found
        # Jinja's loaders raise OSError and UnicodeDecodeError as they are (a traceback): say where, and why
        if isinstance(data, OSError):
            raise jinja2.TemplateSyntaxError(f"cannot read the file: {data.strerror}", 1, template, filename)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            message = f"not valid UTF-8 ({error.reason} at byte {error.start})"
            raise jinja2.TemplateSyntaxError(message, line, template, filename) from None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return text, filename, lambda: True  # the snapshot never changes: a new environment reads files again

    def list_templates(self) -> list[str]:
        return sorted(self.files)

    def identity(self, template: str) -> tuple[str, str]:
        """Which file the name loads ("site" or "theme") and a digest of its bytes; ("missing", "") if none,
        ("unreadable", why) for a file that could not be read."""
        found = self._identities.get(template)
        if found is None:
            known = self.files.get(_template_key(template))
            if known is None:
                found = ("missing", "")
            elif isinstance(known[2], OSError):
                found = ("unreadable", str(known[2]))
            else:
                found = (known[0], hashlib.blake2b(known[2], digest_size=16).hexdigest())
            self._identities[template] = found
        return found


def _template_key(template: str) -> str:
    """A template name as the snapshot holds it ("a/./b.html" → "a/b.html"); "" for one no file can have."""
    try:
        return "/".join(jinja2.loaders.split_template_path(template))
    except jinja2.TemplateNotFound:  # ".." in it
        return ""


def _walk_files(root: str) -> Iterator[tuple[str, str]]:
    """(name relative to `root` with "/", path) of every regular file below it, links followed, each folder once
    (a link to a folder above it would otherwise loop)."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames.clear()
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirnames.clear()
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames.sort()
        relative = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                if not S_ISREG(os.stat(path).st_mode):  # FileSystemLoader finds regular files only
                    continue
            except OSError:
                continue
            yield (name if relative == "." else f"{relative}/{name}"), path


def template_identity(env: jinja2.Environment, name: str) -> tuple[str, str]:
    """Which file a template name loads in `env` ("site" or "theme", and a digest of the text Jinja compiled);
    ("missing", "") if none. A page depends on this for every template it loads, so an override that appears
    later re-renders it."""
    loader = env.loader
    assert isinstance(loader, TemplateSnapshot), "an environment from make_environment"
    return loader.identity(name)


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


def static_outputs(published: dict[str, Path], names: dict[str, str]) -> dict[str, Path]:
    """Every static file by output path: under its output name (fingerprinted: asset_names), and under its own
    path too, so that what names it plainly still finds it after `build` as in `serve`: a stylesheet's
    `@import url("extra.css")` or `url(fonts/x.woff2)`, a template's `<script src="js/hello.js">`."""
    outputs = {path: file for path, file in published.items()}
    outputs.update((names[path], file) for path, file in published.items())
    return outputs


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
    source: Path, config: SiteConfig, assets: dict[str, str] | None = None, catalogue: Catalogue | None = None
) -> RecordingEnvironment:
    """A site's templates/ first, then the theme's, as they are now (TemplateSnapshot). The environment is kept
    until a template file or the catalogue changes (the caller makes a new one then: see template_files).

    `catalogue`: the site's language (i18n.load_catalogue, read once per build; by default read here, its warnings
    dropped)."""
    loader = TemplateSnapshot(list(zip(("site", "theme"), template_folders(source), strict=True)))
    env = RecordingEnvironment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
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


class AssetNames(Mapping[str, str]):
    """Static files' output names for templates: a page depends on the names it looks up, not on all of them
    (an image added to static/ must not re-render every page)."""

    def __init__(self, names: dict[str, str]) -> None:
        self._names = names

    def __getitem__(self, path: str) -> str:
        record(("asset", path))
        return self._names[path]

    def __iter__(self) -> Iterator[str]:
        record(("global", "assets"))
        return iter(self._names)

    def __len__(self) -> int:
        record(("global", "assets"))
        return len(self._names)

    def __contains__(self, path: object) -> bool:
        if isinstance(path, str):
            record(("asset", path))
        return path in self._names

    def resolve(self, path: str) -> str | None:
        return self._names.get(path)


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


def syntax_css(config: SiteConfig) -> bytes:
    """The code highlighting styles, light and dark, made from the site's Pygments settings."""
    return highlight_css(config.highlight_light, config.highlight_dark).encode()
