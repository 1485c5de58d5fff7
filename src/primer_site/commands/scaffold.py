"""`primer-site new`: a working starting point for a site or a post."""

from __future__ import annotations

import difflib
import errno
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from primer_site.errors import Problems, SiteError
from primer_site.model import ChapterNumber
from primer_site.sources.config import CONFIG_FILE, KATEX_VERSION, config_near_miss, load_config
from primer_site.sources.discover import CONTENT_DIR, SERIES_DIR, discover_sources
from primer_site.sources.frontmatter import read_source, split_front_matter
from primer_site.sources.seriesfile import SeriesMeta, parse_series_file, series_finder
from primer_site.sources.yamldoc import load_yaml_mapping
from primer_site.sources.yamlhints import single_quoted
from primer_site.urls import slugify

_SITE_YAML = """\
title: {title}
base_url: https://example.org/
description: Long-form technical writing, published as series.
author: ''
language: en
timezone: UTC
paginate: 10
# math: {{render: build}}    # typeset every formula with KaTeX at build time (needs `npm install`); default: browser
"""

_SERIES = """\
---
title: {title}
chapters: {chapters}
# number_sections: true      # number h2/h3 headings after the chapter: "2.1 Entropy"
# macros:                    # TeX macros for this series' pages (single quotes, or none: TeX as it is)
#   \\E: '\\mathbb{{E}}'
---
What this series is about, in Markdown. It is shown on the series page.
"""

_POST = """\
---
title: {title}
date: {day}
summary: ''
{series}tags: []
draft: true
---
Write here. Inline math like $e^{{i\\pi}} + 1 = 0$ and display math:

$$
H(p) = -\\sum_x p(x) \\log p(x)
$$
"""

# The KaTeX the pages load, for the math check (`primer-site check`) and math typeset at build time: `npm install`
# beside site.yaml.
PACKAGE_JSON = (
    json.dumps(
        {
            "private": True,
            "description": "The KaTeX the site's pages load, for primer-site's math check and math typeset at build "
            "time: run `npm install` here.",
            "dependencies": {"katex": KATEX_VERSION},
        },
        indent=2,
    )
    + "\n"
)

_GITIGNORE = "/public/\n/.public.staging/\n/.primer-cache/\n/node_modules/\n"


@dataclass(frozen=True)
class NewSite:
    created: tuple[Path, ...]
    kept: tuple[Path, ...]  # files that were there already, left as they were


@dataclass(frozen=True)
class NewPost:
    path: Path
    series: str | None  # the series' slug
    chapter: str | None
    chapter_picked: bool  # the chapter was chosen here: the next free one
    warnings: tuple[str, ...]


def new_site(folder: Path) -> NewSite:
    """A site in `folder`: site.yaml, a series, a first post, package.json (KaTeX for the math check), .gitignore.

    A folder that exists already gets the files it lacks (its own are kept); one holding a site.yaml, or a file that
    looks like a misspelt one (site.yml), is refused.
    """
    if any(len(os.fsencode(part)) > 255 for part in folder.parts):  # NAME_MAX of every common file system
        raise SiteError(f"cannot make the folder {folder}: {_why(OSError(errno.ENAMETOOLONG, ''))}")
    if (folder / CONFIG_FILE).exists():
        raise SiteError(f"{folder} holds a site already ({folder / CONFIG_FILE}): nothing was written")
    if folder.exists() and not folder.is_dir():
        raise SiteError(f"{folder} is a file, not a folder: choose another name")
    near = config_near_miss(folder) if folder.is_dir() else None
    if near is not None and near.lower().startswith("site"):  # not another tool's _config.yml
        # a new site.yaml beside it would be read instead, and the author's settings silently ignored
        raise SiteError(
            f"{folder} holds {near}, which looks like a misspelt {CONFIG_FILE}: rename it to {CONFIG_FILE} "
            "(primer-site reads only that name); nothing was written"
        )
    for name in (CONTENT_DIR, f"{CONTENT_DIR}/posts", SERIES_DIR, "templates", "static"):
        place = folder / name
        if place.is_symlink() and not place.exists():  # mkdir would fail half-way, with some files written
            raise SiteError(
                f"{place} is a symbolic link to {os.readlink(place)}, which does not exist: remove the link or make "
                "its target; nothing was written"
            )
        if place.exists() and not place.is_dir():
            raise SiteError(f"{place} is a file, not a folder: rename or remove it; nothing was written")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # under a file, under /proc, a name longer than the file system takes
        raise SiteError(f"cannot make the folder {folder}: {_why(error)}; nothing was written") from None
    title = folder.resolve().name.replace("-", " ").replace("_", " ").title() or "My Site"
    files = {
        folder / CONFIG_FILE: _SITE_YAML.format(title=_yaml_text(title)),
        folder / SERIES_DIR / "my-first-series.md": _SERIES.format(title=_yaml_text("My First Series"), chapters=3),
        folder / CONTENT_DIR / "posts" / "welcome.md": _POST.format(
            title=_yaml_text("Welcome"), day=_today("UTC"), series="series: my-first-series\nchapter: 1\n"
        ).replace("draft: true\n", ""),
        folder / "package.json": PACKAGE_JSON,
        folder / ".gitignore": _GITIGNORE,
    }
    created: list[Path] = []
    kept: list[Path] = []
    try:
        for path, text in files.items():
            if path.exists() or path.is_symlink():
                kept.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            created.append(path)
        for name in ("templates", "static"):
            (folder / name).mkdir(exist_ok=True)
    except OSError as error:  # a full disk, a read-only folder: take back what was written, no half-made site
        for path in reversed(created):
            path.unlink(missing_ok=True)
        where = f" ({error.filename})" if error.filename else ""
        raise SiteError(f"cannot write the new site{where}: {_why(error)}; nothing was kept") from None
    return NewSite(tuple(created), tuple(kept))


def _why(error: OSError) -> str:
    """An OSError's reason, with what to do for the ones a name causes."""
    if error.errno == errno.ENAMETOOLONG:
        return "a name is too long (file systems take at most 255 bytes a name): choose a shorter one"
    return error.strerror or str(error)


def new_post(site: Path, title: str, series: str | None, chapter: str | None) -> NewPost:
    """A draft post dated today (in the site's time zone). In a series it gets `chapter`, or the next free one.

    Warns (in NewPost.warnings) about an unknown series, a chapter number already taken, or one past the series'
    planned `chapters:`; raises SiteError when the post cannot be written.
    """
    if chapter is not None and series is None:
        raise SiteError("--chapter needs --series: a chapter is a chapter of a series")
    slug = _short(slugify(title))
    if not slug:
        raise SiteError(f"the title {title!r} has no letters or digits to make a file name from")
    config = load_config(site, Problems())  # its errors are the build's to report: only its time zone is needed
    warnings: list[str] = []
    folder = site / CONTENT_DIR / "posts"
    series_slug, picked = None, False
    if series is not None:
        if not slugify(series):
            raise SiteError(f"the series {series!r} has no letters or digits to make a URL from")
        shelf = _Shelf(site)
        series_slug = shelf.slug_of(series)
        members = shelf.members.get(series_slug, [])
        meta = shelf.meta(series_slug)
        if meta is None and not members:
            known = sorted({*shelf.series_slugs(), *shelf.members})
            near = difflib.get_close_matches(series_slug, known, n=1, cutoff=0.6)
            hint = f' (did you mean "{near[0]}"?)' if near else ""
            warnings.append(
                f"series {series!r}: there is no {SERIES_DIR}/{series_slug}.md and no post in it yet{hint}; "
                f"this post starts a new series"
            )
        if chapter is None:
            whole = [number.parts[0] for _, number in members]
            chapter, picked = str(max(whole, default=0) + 1), True
        else:
            number = ChapterNumber.parse(chapter)
            if number is None:
                raise SiteError(f"--chapter {chapter!r} is not a chapter number (like 3, or 1.3 for a section)")
            chapter = number.text
            for source, other in members:
                if other == number:
                    warnings.append(
                        f"chapter {number} of series {series_slug!r} is {source} already: "
                        "the build stops until one of the two is renumbered"
                    )
        whole_number = ChapterNumber(chapter).parts[0]
        if meta is not None and meta.planned_chapters is not None and whole_number > meta.planned_chapters:
            warnings.append(
                f"chapter {chapter} is past the {_count(meta.planned_chapters, 'chapter')} planned in {meta.source} "
                f"(chapters: {meta.planned_chapters}): raise that number, or the build stops"
            )
        folder = _folder_of(site, members) or site / CONTENT_DIR / series_slug
    path = folder / f"{slug}.md"
    if path.exists():
        raise SiteError(f"{path} exists already: nothing was written")
    series_lines = f"series: {_yaml_text(series_slug)}\nchapter: {_yaml_text(chapter)}\n" if series_slug else ""
    text = _POST.format(title=_yaml_text(title), day=_today(config.timezone), series=series_lines)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise SiteError(f"cannot write {path}: {_why(error)}") from None
    return NewPost(path, series_slug, chapter, picked, tuple(warnings))


# A new post's file name is its title's slug, cut at a word to at most this many characters: a 300-character
# title would pass the file system's 255 bytes a name, and a URL that long helps no reader.
MAX_SLUG = 80


def _short(slug: str) -> str:
    """`slug` cut to MAX_SLUG characters, at a hyphen when there is one in the second half."""
    if len(slug) <= MAX_SLUG:
        return slug
    cut = slug[:MAX_SLUG]
    at = cut.rfind("-")
    return cut[:at] if at > MAX_SLUG // 2 else cut


@dataclass(frozen=True)
class NewSeries:
    path: Path
    title: str


def new_series(site: Path, slug: str, title: str | None, chapters: int | None) -> NewSeries:
    """series/SLUG.md in `site`: its title (default: the slug's words), its planned `chapters:` if given, and the
    optional keys commented out. Raises SiteError for a slug that is not one (with the slug to use) or a file that
    exists already."""
    if slugify(slug) != slug:
        hint = f": use {slugify(slug)!r}" if slugify(slug) else ""
        raise SiteError(f"{slug!r} is not a series slug (lowercase letters, digits and '-'; the file's name){hint}")
    path = site / SERIES_DIR / f"{slug}.md"
    if path.exists() or path.is_symlink():
        raise SiteError(f"{path} exists already: nothing was written")
    title = title if title is not None and title.strip() else slug.replace("-", " ").capitalize()
    text = _SERIES.format(title=_yaml_text(title.strip()), chapters=chapters if chapters is not None else 1)
    if chapters is None:
        text = text.replace("chapters: 1\n", '# chapters: 10               # planned chapters: "Chapter 3 of 10"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return NewSeries(path, title.strip())


class _Shelf:
    """The series of a site as far as its files tell, read leniently: a post with other problems still counts."""

    def __init__(self, site: Path) -> None:
        problems = Problems()
        sources = discover_sources(site, problems)
        self.metas: list[SeriesMeta] = [
            m for m in (parse_series_file(site, relative, problems) for relative in sources.series) if m
        ]
        self._find = series_finder(self.metas)
        self.members: dict[str, list[tuple[str, ChapterNumber]]] = {}
        for relative in sources.posts:
            front = _front_matter(site, relative)
            series, number = front.get("series"), ChapterNumber.parse(front.get("chapter"))
            if isinstance(series, str | int | float) and not isinstance(series, bool) and number is not None:
                self.members.setdefault(self.slug_of(str(series)), []).append((relative, number))

    def slug_of(self, name: str) -> str:
        """The slug a post's `series:` value names (a series file's slug or title), as the build resolves it."""
        meta = self._find(name.strip())
        return meta.slug if meta is not None else slugify(name)

    def meta(self, slug: str) -> SeriesMeta | None:
        return next((m for m in self.metas if m.slug == slug and m.kind == "series"), None)

    def series_slugs(self) -> list[str]:
        return [m.slug for m in self.metas if m.kind == "series"]


def _front_matter(site: Path, relative: str) -> dict:
    try:
        text = read_source(site, relative)
        yaml_text, _, _ = split_front_matter(text, relative)
        return load_yaml_mapping(yaml_text, relative, first_line=2).data
    except SiteError:
        return {}


def _folder_of(site: Path, members: list[tuple[str, ChapterNumber]]) -> Path | None:
    """The folder holding most of a series' chapters (the latest chapter's, on a tie): new chapters go beside them."""
    if not members:
        return None
    folders = Counter(str(PurePosixPath(source).parent) for source, _ in members)
    latest = str(PurePosixPath(max(members, key=lambda m: m[1])[0]).parent)
    best = max(folders.values())
    chosen = latest if folders[latest] == best else sorted(f for f, n in folders.items() if n == best)[0]
    return site / chosen


def _today(timezone: str) -> str:
    """Today's date where the site is: its posts' dates are read in its time zone."""
    return datetime.now(ZoneInfo(timezone)).date().isoformat()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _yaml_text(value: str) -> str:
    """A single-quoted YAML scalar, which takes TeX as it is (`'$\\alpha$'`: no backslash is an escape there, only
    ' is doubled), so that what the author then types between the quotes stays as typed. A line break would be
    folded into a space: refused."""
    if "\n" in value or "\r" in value:
        raise SiteError(f"{value!r} holds a line break: a title is one line")
    return single_quoted(value)
