"""What a build publishes besides its pages: the theme's and the site's static files (the theme's search script
only with `search: true`), the generated stylesheet, their output names (fingerprinted or not), KaTeX's own files
when self-hosted, and the Jinja environment that names them; and the theme's words in the site's language.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import jinja2

from primer_site.errors import Diagnostic, Problems
from primer_site.layout import CACHE_DIR, CATALOGUE_DIR, CONFIG_FILE, STATIC_DIR
from primer_site.math.katexsetup import KatexSetup
from primer_site.math.typeset import katex_site_files
from primer_site.rendering.assetnames import asset_names, static_outputs
from primer_site.rendering.mathpass import config_line
from primer_site.rendering.templates import COMPILED_TEMPLATES_DIR, template_files, theme_dir
from primer_site.rendering.theme import SYNTAX_CSS, make_environment, syntax_css
from primer_site.site.assets import AssetIndex
from primer_site.site.i18n import Catalogue, load_catalogue, theme_catalogue_dir
from primer_site.site.outputpaths import merge_files
from primer_site.sources.config import SiteConfig
from primer_site.sources.discover import discover_static
from primer_site.store import Store, is_racy, stamp_of


class ThemeOptions(Protocol):
    """What this reads of a build's options (build.BuildOptions)."""

    source: Path
    fingerprint: bool
    cache: bool  # compiled templates kept in .primer-cache/ for the next process


def theme_files(
    options: ThemeOptions,
    memory: Store,
    config: SiteConfig,
    setup: KatexSetup,
    content_files: AssetIndex,
    problems: Problems,
    catalogue: Catalogue,
) -> tuple[dict[str, bytes], dict[str, str], jinja2.Environment, dict[str, Path]]:
    """The theme and the site's own static files: (generated files by path, output name of each (fingerprinted
    or not), the Jinja environment, every file published as it is by output path (static, beside posts, KaTeX's
    when self-hosted))."""
    source = options.source
    static = discover_static(
        [d for d in (theme_dir() / STATIC_DIR, source / STATIC_DIR) if d.is_dir()],
        source,
        config.follow_links_outside,
    )
    generated = {SYNTAX_CSS: syntax_css(config, source if options.cache else None)}
    published = _needed(static, config)
    assets = asset_names(published, generated, options.fingerprint)
    # compiled templates are kept with the environment while no template file changed
    templates = template_files(source)
    environment_key = (source, config, tuple(sorted(assets.items())), templates, catalogue)
    compiled = source / CACHE_DIR / COMPILED_TEMPLATES_DIR if options.cache else None
    environment = memory.memo(
        "environment", "", environment_key, lambda: make_environment(source, config, assets, catalogue, compiled)
    )
    static_files = static_outputs(published, assets)
    static_files = merge_files(static_files, content_files.files(), source, problems)
    if config.self_hosted_katex:  # KaTeX's stylesheet and fonts (and script) from its package, into the site
        katex_files, katex_problems = katex_site_files(config, setup, config_line(source, "katex_url"))
        problems.extend(katex_problems)
        problems.extend(
            Diagnostic(f"{STATIC_DIR}/{path}", 0, 0, "error", "static file at the path of KaTeX's (katex_url: self)")
            for path in sorted(katex_files.keys() & static_files.keys())
        )
        static_files.update(katex_files)
    return generated, assets, environment, static_files


_SEARCH_SCRIPT = "js/search.js"  # the theme's search box: published only for a site with search on


def _needed(static: dict[str, Path], config: SiteConfig) -> dict[str, Path]:
    """The static files to publish: all of the site's own; the theme's search script only with `search: true`."""
    script = static.get(_SEARCH_SCRIPT)
    if config.search or script is None or not script.is_relative_to(theme_dir() / STATIC_DIR):
        return static
    return {path: file for path, file in static.items() if path != _SEARCH_SCRIPT}


def site_catalogue(memory: Store, incremental: bool, source: Path, config: SiteConfig, problems: Problems) -> Catalogue:
    """The theme's words in the site's language (i18n.load_catalogue), read once per build; in the preview, the very one of its last build
    (its problems reported again) while site.yaml and every catalogue file, the theme's and the site's, have the
    stamps they had then (none too recent to trust: store.is_racy)."""
    theme = theme_dir()
    if not incremental:
        return load_catalogue(source, config, theme, problems)
    taken = time.time()
    files = [source / CONFIG_FILE]
    for folder in (theme_catalogue_dir(theme), source / CATALOGUE_DIR):
        files.extend(sorted(folder.glob("*.yaml")) if folder.is_dir() else ())
    stamps = tuple((str(path), stamp_of(path)) for path in files)
    trusted = all(stamp is not None and not is_racy(stamp, taken) for _, stamp in stamps)
    inputs = (config, stamps) if trusted else object()  # else made again, as an unreadable file is

    def make() -> tuple[Catalogue, tuple]:
        found = Problems()
        return load_catalogue(source, config, theme, found), tuple(found.items)

    catalogue, found = memory.memo("catalogue", "", inputs, make)
    problems.extend(found)
    return catalogue
