"""A source file → Document: validated front matter (with each key's line) and the body."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from stat import S_ISREG
from typing import Any

from primer_site.errors import Problems, SiteError
from primer_site.layout import CONFIG_FILE
from primer_site.model import ChapterNumber
from primer_site.sources.dates import DATE_FORMS, DAY, in_zone, parse_date_text
from primer_site.sources.notation import macro_notes
from primer_site.sources.sharedkeys import (
    MACROS_TEXT,
    author_names,
    bibliography_paths,
    merge_macros,
    parse_books,
    parse_macros,
    suggest,
)
from primer_site.sources.theoremkinds import THEOREMS_TEXT, parse_theorem_settings
from primer_site.sources.yamldoc import STRING, TEXT, TextShape, YamlMapping, describe, load_yaml_mapping, single_quoted
from primer_site.urls import is_valid_slug, slug_from_filename, slugify, taxon_slug

KNOWN_KEYS = [
    "title", "date", "summary", "series", "chapter", "tags", "category",
    "slug", "draft", "updated", "description", "extra", "macros",
]  # fmt: skip
KNOWN_KEYS += ["bibliography", "authors", "doi"]  # citations: bibliography.py, citeformat.py

# The keys documented as text, and the dates (checked here, not by YAML): read as written (see yamldoc).
POST_TEXT: dict[str, TextShape] = {
    "title": TEXT, "summary": TEXT, "description": TEXT, "chapter": TEXT, "tags": [TEXT], "category": TEXT,
    "series": TEXT, "slug": TEXT, "date": STRING, "updated": STRING, "macros": MACROS_TEXT,
    "bibliography": [TEXT], "authors": [TEXT], "doi": TEXT,
}  # fmt: skip

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_CHAPTER_DIGITS = 9  # per part: more is a typo, and int() refuses a string of over 4,300 digits


@dataclass(frozen=True)
class Document:
    source: str
    title: str
    date: datetime
    body: str
    body_first_line: int  # 1-based line of the body's first line in the file
    key_lines: dict[str, int]
    summary: str | None = None
    description: str | None = None
    series: str | None = None
    chapter: ChapterNumber | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None
    slug: str | None = None
    draft: bool = False
    updated: datetime | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    macros: tuple[tuple[str, str], ...] = ()  # its own TeX macros, over its series' (see post_macros)
    bibliography: tuple[str, ...] = ()  # .bib files, site-relative: the post's own, before its series' and site's
    authors: tuple[str, ...] = ()
    doi: str | None = None

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


def read_source(source_root: Path, relative: str) -> str:
    """The file's text: UTF-8, byte-order mark dropped, line endings made "\\n"."""
    path = source_root / relative
    try:
        if not S_ISREG(path.stat().st_mode):  # reading a FIFO would wait for ever, /dev/zero never end
            raise SiteError("not a regular file (a FIFO, a device or a socket): only files are read", relative)
        raw = path.read_bytes()
    except OSError as exc:
        raise SiteError(f"cannot read file: {exc.strerror}", relative) from None
    return decode_source(raw, relative)


def decode_source(raw: bytes, relative: str) -> str:
    """A source file's bytes as text: UTF-8, byte-order mark dropped, line endings made "\\n"; SiteError at the
    line of the first byte that is not UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SiteError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})", relative, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, path: str) -> tuple[str, str, int]:
    """(front matter YAML, body, body's first line); the YAML starts on line 2."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]) or lines[0].startswith("..."):
        raise SiteError("missing front matter: the file must start with a '---' line", path, 1)
    for index in range(1, len(lines)):
        if _FENCE.match(lines[index]):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise SiteError("front matter is not closed: add a '---' line after it", path, 1)


def parse_document(
    source_root: Path, relative: str, zone: tzinfo, problems: Problems, raw: bytes | None = None
) -> Document | None:
    """Read and validate one post; problems are added to `problems` (None when it cannot be used). `raw`: the
    file's bytes, already read (by a caller that digests what it parses), else the file is read here."""
    try:
        text = read_source(source_root, relative) if raw is None else decode_source(raw, relative)
        yaml_text, body, body_line = split_front_matter(text, relative)
        mapping = load_yaml_mapping(yaml_text, relative, first_line=2, text_shape=POST_TEXT)
    except SiteError as error:
        problems.absorb(error)
        return None
    return document_from_mapping(relative, mapping, body, body_line, zone, problems)


def document_from_mapping(
    path: str, mapping: YamlMapping, body: str, body_line: int, zone: tzinfo, problems: Problems
) -> Document | None:
    data = mapping.data
    errors_before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", path, mapping.line_of(key))

    for key in data:
        if key not in KNOWN_KEYS:
            problems.warning(f"unknown key {key!r}{suggest(key, KNOWN_KEYS)}", path, mapping.line_of(key))

    title = _text(data, "title", bad, required=True)
    when = _when(data, "date", zone, bad, required=True)
    updated = _when(data, "updated", zone, bad)
    series = _text(data, "series", bad)
    if series is not None and not slugify(series):
        bad("series", f"{_short(series)} has no letters or digits to make a URL from")
    chapter = None
    if "chapter" in data:
        chapter = ChapterNumber.parse(data["chapter"])
        if chapter is not None and any(len(part) > _CHAPTER_DIGITS for part in chapter.text.split(".")):
            chapter = None
        if chapter is None and data["chapter"] is None:
            bad("chapter", 'empty: give the chapter number (like 3, or "1.3")')
        elif chapter is None:
            bad("chapter", f'{describe(data["chapter"])} is not a chapter number (like 3, or "1.3")')
        elif not series:
            bad("chapter", "a chapter needs a series: add 'series:'")
    elif series:
        problems.error("series: a post in a series must have a 'chapter:'", path, mapping.line_of("series"))
    slug = _text(data, "slug", bad)
    if slug is not None and not is_valid_slug(slug):
        hint = slugify(slug)
        bad(
            "slug",
            f"{slug!r} is not a valid slug (letters, digits, '-', '_', '.')" + (f"; try {hint!r}" if hint else ""),
        )
    elif slug is None and not slug_from_filename(path.rsplit("/", 1)[-1].removesuffix(".md")):
        bad("slug", "the file name has no letters or digits to make a URL from: add a 'slug:'")
    tags = _tags(data, bad)
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        bad("draft", f"expected true or false, got {describe(draft)}")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        bad("extra", "expected a mapping of your own keys")
        extra = {}
    macros = parse_macros(data["macros"], lambda m: bad("macros", m)) if "macros" in data else ()
    summary = _text(data, "summary", bad)
    description = _text(data, "description", bad)
    category = _text(data, "category", bad)
    if category is not None and not taxon_slug(category):
        bad("category", f"{_short(category)} has no letters or digits to make a URL from")
    bibliography = (
        bibliography_paths(data["bibliography"], path, lambda m: bad("bibliography", m))
        if "bibliography" in data
        else ()
    )
    authors = author_names(data["authors"], lambda m: bad("authors", m)) if "authors" in data else ()
    doi = _text(data, "doi", bad)
    if len(problems.errors) > errors_before or title is None or when is None:
        return None
    return Document(
        source=path,
        title=title,
        date=when,
        body=body,
        body_first_line=body_line,
        key_lines=mapping.key_lines,
        summary=summary,
        description=description,
        series=series,
        chapter=chapter,
        tags=tags,
        category=category,
        slug=slug,
        draft=bool(draft),
        updated=updated,
        extra=tuple(sorted(((str(k), v) for k, v in extra.items()), key=lambda item: item[0])),
        macros=macros,
        bibliography=bibliography,
        authors=authors,
        doi=doi,
    )


def _text(data: dict[str, Any], key: str, bad: Any, required: bool = False) -> str | None:
    """A key read as text (the loader gave it as written); None when absent or empty."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required" if key not in data else _NO_VALUE)
        return None
    value = data[key]
    if not isinstance(value, str):
        bad(key, f"expected text, got {type(value).__name__} {_short(value)}")
        return None
    text = value.strip()
    if control := _CONTROL.search(text):
        bad(key, f"contains the control character U+{ord(control.group()):04X}; remove it")
        return None
    if not text:
        if required:
            bad(key, "must not be empty")
        return None
    return text


def _when(data: dict[str, Any], key: str, zone: tzinfo, bad: Any, required: bool = False) -> datetime | None:
    """A date or datetime key; one without an offset is in `zone`."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required (a date such as 2026-03-02)" if key not in data else _NO_VALUE)
        return None
    value = data[key]
    if not isinstance(value, str):  # the loader reads dates as written: a list or a mapping is left
        bad(key, f"{_short(value)} is not a date (expected {DATE_FORMS})")
        return None
    try:
        when = parse_date_text(value.strip())
    except ValueError as error:
        bad(key, f"{_short(value)} is not a date: {error}")
        return None
    try:
        return when if when.tzinfo else in_zone(when, zone, date_only=DAY.fullmatch(value.strip()) is not None)
    except ValueError as error:
        bad(key, str(error))
        return None


# YAML reads an empty value, ~ and null (any case) as no value at all (YAML 1.2 §10.2.1.1)
_NO_VALUE = "has no value (YAML reads nothing, ~ and null as none): write one, in single quotes if it is the word null"


def _tags(data: dict[str, Any], bad: Any) -> tuple[str, ...]:
    value = data.get("tags")
    if value is None:
        return ()
    if isinstance(value, str) and "," in value:  # one tag "entropy, probability": a list was meant
        items = ", ".join(_flow_item(item.strip()) for item in value.split(",") if item.strip())
        bad("tags", f"{_short(value)} is one tag, with a comma: a list of tags is written in brackets: tags: [{items}]")
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        bad("tags", f"expected a list of tags, got {_short(value)}")
        return ()
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            bad("tags", f"{_short(item)} is not a tag (tags are words or short phrases)")
        elif not taxon_slug(item):
            bad("tags", f"{_short(item)} has no letters or digits to make a URL from")
        elif item.strip() not in tags:
            tags.append(item.strip())
    return tuple(tags)


def _flow_item(text: str) -> str:
    """A tag as an item of a YAML flow list: as it is, or single-quoted if YAML would read it otherwise."""
    plain = re.fullmatch(r"[^\s,\[\]{}#&*!|>'\"%@`:?-][^,\[\]{}:#]*", text) and not re.search(r"\s#", text)
    return text if plain else single_quoted(text)


def _short(value: object) -> str:
    text = f'"{value[:60]}"' if isinstance(value, str) else describe(value)
    return text if len(text) <= 60 else text[:57] + "…"


SERIES_KEYS = ["title", "kind", "collection", "order", "chapters", "gaps", "macros", "number_sections", "theorems"]
SERIES_TEXT: dict[str, TextShape] = {
    "title": TEXT, "kind": TEXT, "collection": TEXT, "macros": MACROS_TEXT, "theorems": THEOREMS_TEXT
}  # fmt: skip
SERIES_KEYS += ["bibliography", "authors", "books"]
SERIES_TEXT |= {"bibliography": [TEXT], "authors": [TEXT]}


@dataclass(frozen=True)
class SeriesMeta:
    """series/<slug>.md: a series' (or a collection's) metadata; the body is its description."""

    source: str
    slug: str
    title: str
    kind: str  # "series" or "collection"
    collection: str | None
    order: int
    planned_chapters: int | None
    gaps: tuple[int, ...]
    body: str
    body_first_line: int
    key_lines: dict[str, int]
    macros: tuple[tuple[str, str], ...] = ()  # TeX macros for its pages, over the site's
    number_sections: bool = False  # number h2/h3 headings after the chapter: "10.2 Reward modelling"
    theorems: dict[str, Any] | None = None  # its `theorems:` (checked), read over the site's (theoremkinds)
    bibliography: tuple[str, ...] = ()  # .bib files, site-relative, for its chapters
    authors: tuple[str, ...] = ()
    notes: tuple[tuple[str, str, str, str], ...] = ()  # macros with a meaning: (name, tex, means, defined)
    books: tuple[tuple[str, bool], ...] = ()  # its `books:`, read over the site's (sharedkeys.parse_books)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


class SeriesNames:
    """Which series a post's `series:` names: the one rule, read by every stage (listing, numbering, the math
    check, the theme). A name is the slug of a series file, else the title of one, else it makes a series of its
    own whose slug is the name's slug. Two series files with one title: the first by path is the one the title
    names, and `clashes` lists the pair (an error, reported where the site is assembled)."""

    def __init__(self, metas: Sequence[SeriesMeta]) -> None:
        series = sorted((m for m in metas if m.kind == "series"), key=lambda m: m.source)
        self.by_slug = {m.slug: m for m in series}
        self.by_title: dict[str, SeriesMeta] = {}
        self.clashes: list[tuple[SeriesMeta, SeriesMeta]] = []  # (the one the title names, the other)
        for meta in series:
            first = self.by_title.setdefault(meta.title, meta)
            if first is not meta:
                self.clashes.append((first, meta))

    def meta_of(self, name: str | None) -> SeriesMeta | None:
        """The series file `name` names, or None (no name, or a series with no file)."""
        if not name:
            return None
        return self.by_slug.get(name) or self.by_title.get(name) or self.by_slug.get(slugify(name))

    def slug_of(self, name: str | None) -> str | None:
        """The slug of the series `name` names: its file's, or the name's own for a series with no file."""
        if not name:
            return None
        meta = self.meta_of(name)
        return meta.slug if meta is not None else slugify(name)

    def clash_errors(self, problems: Problems) -> None:
        """Each pair of series files sharing a title: an error at the second's `title:` line naming the first."""
        for first, other in self.clashes:
            problems.error(
                f"title: {other.title!r} is also the title of {first.source}: a post's 'series: {other.title}' "
                f"would name {first.source} only; give each series its own title",
                other.source,
                other.line_of("title"),
            )


def series_finder(metas: Sequence[SeriesMeta]) -> Callable[[str | None], SeriesMeta | None]:
    """Finds the series file a post's `series:` names (SeriesNames.meta_of)."""
    return SeriesNames(metas).meta_of


Macros = tuple[tuple[str, str], ...]


def series_macros(site_macros: Macros, meta: SeriesMeta | None) -> Macros:
    """The TeX macros of a series' pages: the site's, then its series file's (a later definition of a name wins)."""
    return merge_macros(site_macros, meta.macros if meta is not None and meta.kind == "series" else ())


def post_macros(site_macros: Macros, meta: SeriesMeta | None, document: Document) -> Macros:
    """The TeX macros of a post, on its page, in feeds, in the check and when typeset at build time: the site's
    (site.yaml `macros:`), then its series' (the series file's `macros:`), then its own (front matter `macros:`).
    A `\\newcommand` inside one formula stays in that formula: KaTeX is given each formula apart."""
    return merge_macros(series_macros(site_macros, meta), document.macros)


def parse_series_file(source_root: Path, relative: str, problems: Problems) -> SeriesMeta | None:
    try:
        text = read_source(source_root, relative)
        yaml_text, body, body_line = split_front_matter(text, relative)
        mapping = load_yaml_mapping(yaml_text, relative, first_line=2, text_shape=SERIES_TEXT)
    except SiteError as error:
        problems.absorb(error)
        return None
    data = mapping.data
    errors_before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", relative, mapping.line_of(key))

    for key in data:
        if key not in SERIES_KEYS:
            problems.warning(f"unknown key {key!r}{suggest(key, SERIES_KEYS)}", relative, mapping.line_of(key))
    title = _text(data, "title", bad, required=True)
    kind = data.get("kind", "series")
    if kind not in ("series", "collection"):
        bad("kind", f"{_short(kind)} must be 'series' or 'collection'")
    collection = _text(data, "collection", bad)
    order = data.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        bad("order", f"expected a whole number, got {_short(order)}")
    planned = data.get("chapters")
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or planned < 1):
        bad("chapters", f"expected the number of planned chapters, got {_short(planned)}")
    gaps = data.get("gaps", [])
    if not isinstance(gaps, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in gaps):
        bad("gaps", f"expected a list of chapter numbers left out on purpose, got {_short(gaps)}")
        gaps = []
    macros = parse_macros(data["macros"], lambda m: bad("macros", m)) if "macros" in data else ()
    number_sections = data.get("number_sections", False)
    bibliography = (
        bibliography_paths(data["bibliography"], relative, lambda m: bad("bibliography", m))
        if "bibliography" in data
        else ()
    )
    authors = author_names(data["authors"], lambda m: bad("authors", m)) if "authors" in data else ()
    books = parse_books(data["books"], lambda m: bad("books", m)) if "books" in data else ()
    if books and kind == "collection":
        bad("books", "a collection is not written as one book: set `books:` in the files of its series")
    if not isinstance(number_sections, bool):
        bad("number_sections", f"expected true or false, got {_short(number_sections)}")
    theorems = data.get("theorems")
    if theorems is not None:
        parse_theorem_settings(theorems, lambda m: bad("theorems", m))
    stem = Path(relative).stem
    slug = slugify(stem)
    if slug != stem:
        problems.error(f"series file names are their slugs: rename to {slug}.md", relative, 1)
    if len(problems.errors) > errors_before or title is None:
        return None
    return SeriesMeta(
        source=relative,
        slug=slug,
        title=title,
        kind=str(kind),
        collection=slugify(collection) if collection else None,
        order=int(order),
        planned_chapters=planned,
        gaps=tuple(gaps),
        body=body,
        body_first_line=body_line,
        key_lines=mapping.key_lines,
        macros=macros,
        number_sections=bool(number_sections),
        theorems=theorems if isinstance(theorems, dict) else None,
        bibliography=bibliography,
        authors=authors,
        notes=macro_notes(data.get("macros")),
        books=books,
    )


def config_line(source: Path, key: str) -> int:
    """The line of a top-level key of site.yaml (1 if it cannot be read again)."""
    try:
        text = (source / CONFIG_FILE).read_text(encoding="utf-8")
        return load_yaml_mapping(text, CONFIG_FILE).line_of(key) or 1
    except (OSError, UnicodeDecodeError, SiteError):
        return 1
