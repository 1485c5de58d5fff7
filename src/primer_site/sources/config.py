"""site.yaml → SiteConfig: typed, with defaults; unknown keys reported with a suggestion."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from primer_site.errors import Problems, SiteError
from primer_site.layout import CONFIG_FILE
from primer_site.model import Books
from primer_site.sources.sharedkeys import (
    MACROS_TEXT,
    author_names,
    bibliography_paths,
    parse_books,
    parse_macros,
    suggest,
)
from primer_site.sources.theoremkinds import DEFAULT as DEFAULT_THEOREMS
from primer_site.sources.theoremkinds import THEOREMS_TEXT, TheoremSettings, parse_theorem_settings
from primer_site.sources.urlsettings import DEFAULT_PERMALINKS, base_url_problem, is_absolute_https, read_permalinks
from primer_site.sources.yamldoc import YamlMapping, describe, load_yaml_mapping
from primer_site.sources.yamltext import TEXT, TextShape

# The KaTeX the theme loads: pinned, with the Subresource Integrity hashes of these exact files.
KATEX_VERSION = "0.19.1"
KATEX_CDN = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist/"
KATEX_INTEGRITY = {
    "katex.min.css": "sha384-WwGtaC6ywCHxA5cstpj/3+xIZvTez8dq2IcBQaXRkenHZ7FVVq1ZROtURwfbtTlG",
    "katex.min.js": "sha384-a1WQdjRj162i159OYq041X6I4K8NenkrI09LlPmiHg0YOb7CR+wJOraXwK9abpnE",
}

KATEX_SELF = "self"  # katex_url: self: KaTeX's files copied from the installed package into the site
CITATION_STYLES = ("author-year", "numeric")  # citations: {style: …}
MATH_RENDERS = ("browser", "build")  # math: {render: …}: typeset by KaTeX in the reader's browser, or at build time


@dataclass(frozen=True)
class SiteConfig:
    """The settings of site.yaml, each with its default."""

    title: str = "Untitled site"
    base_url: str = "/"
    description: str = ""
    author: str = ""
    language: str = "en"
    timezone: str = "UTC"
    paginate: int = 10
    permalinks: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PERMALINKS))
    katex_url: str = KATEX_CDN  # a folder's URL, ending in "/"; or KATEX_SELF
    math_render: str = "browser"  # one of MATH_RENDERS
    highlight_light: str = "default"
    highlight_dark: str = "github-dark"
    raw_html: bool = True
    follow_links_outside: bool = False  # publish what a symbolic link under content/, series/, static/ points to
    feed_content: str = "summary"  # "full" or "summary"
    feed_limit: int = 20
    search: bool = False
    menu: tuple[tuple[str, str], ...] = ()
    macros: tuple[tuple[str, str], ...] = ()  # TeX macros for KaTeX: (r"\E", r"\mathbb{E}")
    image_widths: tuple[int, ...] = ()  # images: {srcset: [480, 960]}: narrower copies of wide raster images
    image_sizes: str = "(min-width: 44.5rem) 42rem, calc(100vw - 2.5rem)"  # their `sizes`: the theme's column
    theorems: TheoremSettings = DEFAULT_THEOREMS  # theorem-like blocks: their kinds and counters
    extra: dict[str, Any] = field(default_factory=dict)
    bibliography: tuple[str, ...] = ()  # .bib files, site-relative, for every post (bibliography.py)
    citation_style: str = "author-year"  # citations: {style: …}: one of CITATION_STYLES
    authors: tuple[str, ...] = ()  # for "cite this chapter" (Google Scholar's tags and cite.bib)
    books: Books = field(
        default_factory=Books
    )  # books: {epub: true, pdf: true}: every series written whole in these forms

    @cached_property  # asked for every post and page (a urlsplit each time: 17,000 at 5,000 posts)
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with "/"."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def self_hosted_katex(self) -> bool:
        """KaTeX's stylesheet, fonts (and script) are copied into the site, under katex/, and loaded from there."""
        return self.katex_url == KATEX_SELF


_SIMPLE: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "base_url": str,
    "description": str,
    "author": str,
    "language": str,
    "timezone": str,
    "paginate": int,
    "raw_html": bool,
    "follow_links_outside": bool,
    "search": bool,
    "extra": dict,
}
_KNOWN = sorted(
    [*_SIMPLE, "permalinks", "katex_url", "highlight", "menu", "feeds", "macros", "images", "math", "theorems"]
)
_KNOWN += ["authors", "bibliography", "citations", "books"]
_KNOWN.sort()
# The values documented as text: read as written, whatever YAML type they look like (see yamldoc).
SITE_TEXT: dict[str, TextShape] = {
    **{key: TEXT for key, kind in _SIMPLE.items() if kind is str},
    "katex_url": TEXT, "highlight": {"light": TEXT, "dark": TEXT}, "permalinks": {"*": TEXT},
    "menu": [{"name": TEXT, "url": TEXT}], "feeds": {"content": TEXT}, "macros": MACROS_TEXT,
    "images": {"sizes": TEXT}, "math": {"render": TEXT}, "theorems": THEOREMS_TEXT,
    "bibliography": [TEXT], "authors": [TEXT], "citations": {"style": TEXT},
}  # fmt: skip


def config_near_miss(folder: Path) -> str | None:
    """The name of a file in `folder` that looks like a misspelt site.yaml ("site.yml", "Site.yaml"), or None."""
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.is_file() and entry.name != CONFIG_FILE)
    except OSError:
        return None
    folded = {name.lower(): name for name in names}
    for wanted in ("site.yaml", "site.yml", "site.yaml.txt", "site.yaml.yaml", "_config.yml", "site.json", "site.toml"):
        if wanted in folded:
            return folded[wanted]
    import difflib  # a misspelling's suggestion only: a build that meets none never loads it

    close = difflib.get_close_matches(CONFIG_FILE, names, n=1, cutoff=0.8)
    return close[0] if close else None


def missing_config_message(folder: Path, shown: str | None = None) -> str:
    """Why `folder` is not a site: it has no site.yaml (perhaps a misspelt one). `shown`: the folder as the user
    wrote it."""
    shown = shown if shown is not None else str(folder)
    near = config_near_miss(folder)
    if near is not None:
        return f"no {CONFIG_FILE} in {shown}, but there is {near}: did you mean {CONFIG_FILE}? (rename it)"
    return f"no {CONFIG_FILE} in {shown}; `primer-site new site {shown}` makes one"


def load_config(source: Path, problems: Problems, base_url: str | None = None) -> SiteConfig:
    """Read site.yaml under `source`; a missing file is an error (with the defaults returned, so that later stages
    still run and report)."""
    path = source / CONFIG_FILE
    if not path.is_file():
        problems.error(missing_config_message(source))
        return SiteConfig(base_url=base_url or "/")
    try:
        mapping = load_yaml_mapping(path.read_text(encoding="utf-8"), CONFIG_FILE, text_shape=SITE_TEXT)
    except UnicodeDecodeError as exc:
        problems.error(f"not valid UTF-8 ({exc.reason} at byte {exc.start})", CONFIG_FILE, 1)
        return SiteConfig()
    except Exception as exc:
        from primer_site.errors import SiteError

        if isinstance(exc, SiteError):
            problems.absorb(exc)
            return SiteConfig()
        raise
    return config_from_mapping(mapping, problems, base_url)


def config_from_mapping(mapping: YamlMapping, problems: Problems, base_url: str | None) -> SiteConfig:
    values: dict[str, Any] = {}
    data = mapping.data

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", CONFIG_FILE, mapping.line_of(key))

    for key, value in data.items():
        if key in _SIMPLE:
            expected = _SIMPLE[key]
            if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                bad(key, f"expected a whole number, got {describe(value)}")
            elif expected is not int and not isinstance(value, expected):
                bad(key, f"expected {expected.__name__}, got {describe(value)}")
            else:
                values[key] = value
        elif key == "permalinks":
            values["permalinks"] = read_permalinks(value, lambda m: bad("permalinks", m))
        elif key == "katex_url":
            if value == KATEX_SELF:
                values["katex_url"] = KATEX_SELF
            elif isinstance(value, str) and is_absolute_https(value):
                values["katex_url"] = value if value.endswith("/") else value + "/"
            elif isinstance(value, str) and value.startswith("http://"):
                bad(key, f"'{value}' is not https: a page served over https may not load it (write https://)")
            elif isinstance(value, str) and value:
                # any other URL resolves against each page's own, and no page would find KaTeX
                near = suggest(value, [KATEX_SELF])
                hint = near or " (self copies KaTeX into the site)"
                bad(key, f"'{value}' is not self or an absolute https:// URL{hint}")
            else:
                bad(key, "expected the https:// URL of a folder holding katex.min.js and katex.min.css, or `self`")
        elif key == "math":
            _math(value, values, lambda m: bad("math", m))
        elif key == "highlight":
            _highlight(value, values, lambda m: bad("highlight", m))
        elif key == "menu":
            values["menu"] = _menu(value, lambda m: bad("menu", m))
        elif key == "feeds":
            _feeds(value, values, lambda m: bad("feeds", m))
        elif key == "macros":
            values["macros"] = parse_macros(value, lambda m: bad("macros", m))
        elif key == "images":
            _images(value, values, lambda m: bad("images", m))
        elif key == "theorems":
            values["theorems"] = parse_theorem_settings(value, lambda m: bad("theorems", m))
        elif key == "bibliography":
            values["bibliography"] = bibliography_paths(value, CONFIG_FILE, lambda m: bad("bibliography", m))
        elif key == "authors":
            values["authors"] = author_names(value, lambda m: bad("authors", m))
        elif key == "citations":
            _citations(value, values, lambda m: bad("citations", m))
        elif key == "books":
            values["books"] = Books().over(parse_books(value, lambda m: bad("books", m)))
        else:
            problems.warning(f"unknown key {key!r}{suggest(key, _KNOWN)}", CONFIG_FILE, mapping.line_of(key))
    if base_url is not None:
        values["base_url"] = base_url
    config = SiteConfig(**values)
    if config.paginate < 1:
        bad("paginate", "must be at least 1")
        values["paginate"] = SiteConfig.paginate  # later stages run on (and divide by it)
        config = SiteConfig(**values)
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"{config.timezone!r} is not a known time zone (e.g. UTC, Europe/Paris)")
        config = SiteConfig(**{**values, "timezone": "UTC"})
    given = "base_url" in data and "base_url" not in values  # given, of the wrong type: reported already
    return _checked_base_url(config, "base_url" in data, given, base_url, problems, mapping.line_of("base_url"))


def _checked_base_url(
    config: SiteConfig, in_file: bool, reported: bool, option: str | None, problems: Problems, line: int
) -> SiteConfig:
    """The config, once its base_url is known to be an absolute http(s) URL; else the error is reported and the
    config comes back with root-relative URLs, so that later stages still run and report."""
    if not in_file and option is None:
        problems.error(
            "base_url: missing: feeds, sitemap.xml and canonical links need the site's absolute URL "
            "(add `base_url: https://example.org/` to site.yaml, or pass --base-url)",
            CONFIG_FILE,
            1,
        )
    elif (problem := base_url_problem(config.base_url)) is None:
        return config
    elif option is not None:
        problems.error(f"--base-url {option!r}: {problem}")
    elif not reported:
        problems.error(f"base_url: {config.base_url!r} {problem}", CONFIG_FILE, line)
    return replace(config, base_url=SiteConfig.base_url)


def _highlight(value: object, values: dict[str, Any], bad: Any) -> None:
    from pygments.styles import get_all_styles

    if not isinstance(value, dict):
        bad("expected {light: STYLE, dark: STYLE}")
        return
    styles = sorted(get_all_styles())
    for mode in ("light", "dark"):
        style = value.get(mode)
        if style is None:
            continue
        if style not in styles:
            bad(f"{mode}: unknown Pygments style {describe(style)}{suggest(str(style), styles)}")
        else:
            values[f"highlight_{mode}"] = style


def _feeds(value: object, values: dict[str, Any], bad: Any) -> None:
    if not isinstance(value, dict):
        bad("expected {content: full|summary, limit: N}")
        return
    for key, item in value.items():
        if key == "content" and item in ("full", "summary"):
            values["feed_content"] = item
        elif key == "limit" and isinstance(item, int) and not isinstance(item, bool) and item > 0:
            values["feed_limit"] = item
        else:
            bad(f"{key}: {describe(item)} is not valid here (content: full or summary; limit: a positive number)")


def _images(value: object, values: dict[str, Any], bad: Any) -> None:
    """`images: {srcset: [480, 960], sizes: "…"}`: the widths of resized copies, and the layout they serve."""
    if not isinstance(value, dict):
        bad("expected {srcset: [480, 960, 1440], sizes: CSS sizes}")
        return
    for key, item in value.items():
        if (
            key == "srcset"
            and isinstance(item, list)
            and item
            and all(isinstance(w, int) and not isinstance(w, bool) and 16 <= w <= 8192 for w in item)
        ):
            values["image_widths"] = tuple(sorted(set(item)))
        elif key == "sizes" and isinstance(item, str) and item.strip() and "<" not in item:
            values["image_sizes"] = item.strip()
        else:
            bad(f"{key}: {describe(item)} is not valid here (srcset: a list of widths in px, 16 to 8192; sizes: CSS)")


def _math(value: object, values: dict[str, Any], bad: Any) -> None:
    if not isinstance(value, dict):
        bad("expected {render: browser|build}")
        return
    for key, item in value.items():
        if key != "render":
            bad(f"unknown key {describe(key)}{suggest(str(key), ['render'])} (math: {{render: browser|build}})")
        elif item in MATH_RENDERS:
            values["math_render"] = item
        else:
            bad(f"render: {describe(item)} is not browser or build{suggest(str(item), list(MATH_RENDERS))}")


def _menu(value: object, bad: Any) -> tuple[tuple[str, str], ...]:
    items = []
    if not isinstance(value, list):
        bad("expected a list of {name: ..., url: ...}")
        return ()
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("url"), str):
            items.append((item["name"], item["url"]))
        else:
            bad(f"menu item {describe(item)} needs a name and a url")
    return tuple(items)


def _citations(value: object, values: dict[str, Any], bad: Any) -> None:
    if not isinstance(value, dict):
        bad("expected {style: author-year|numeric}")
        return
    for key, item in value.items():
        if key != "style":
            bad(
                f"unknown key {describe(key)}{suggest(str(key), ['style'])} (citations: {{style: author-year|numeric}})"
            )
        elif item in CITATION_STYLES:
            values["citation_style"] = item
        else:
            bad(f"style: {describe(item)} is not author-year or numeric{suggest(str(item), list(CITATION_STYLES))}")


def config_line(source: Path, key: str) -> int:
    """The line of a top-level key of site.yaml (1 if it cannot be read again)."""
    try:
        text = (source / CONFIG_FILE).read_text(encoding="utf-8")
        return load_yaml_mapping(text, CONFIG_FILE).line_of(key) or 1
    except (OSError, UnicodeDecodeError, SiteError):
        return 1
