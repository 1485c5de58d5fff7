"""A post's source file → Document: validated front matter (with each key's line) and the body. Series files:
seriesfile.py; the fences and the fields both share: frontmatter.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from primer_site.errors import Problems, SiteError
from primer_site.model import ChapterNumber
from primer_site.sources.frontmatter import (
    date_field,
    decode_source,
    read_source,
    short_value,
    split_front_matter,
    text_field,
)
from primer_site.sources.sharedkeys import (
    MACROS_TEXT,
    author_names,
    bibliography_paths,
    parse_macros,
    warn_unknown_keys,
)
from primer_site.sources.yamldoc import YamlMapping, describe, load_yaml_mapping
from primer_site.sources.yamlhints import single_quoted
from primer_site.sources.yamltext import STRING, TEXT, TextShape
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

_CHAPTER_DIGITS = 9  # per part: more is a typo, and int() refuses a string of over 4,300 digits


@dataclass(frozen=True)
class Document:
    """A post's file, parsed: its front matter's values (with their lines) and its Markdown body."""

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

    warn_unknown_keys(mapping, KNOWN_KEYS, path, problems)

    title = text_field(data, "title", bad, required=True)
    when = date_field(data, "date", zone, bad, required=True)
    updated = date_field(data, "updated", zone, bad)
    series = text_field(data, "series", bad)
    if series is not None and not slugify(series):
        bad("series", f"{short_value(series)} has no letters or digits to make a URL from")
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
    slug = text_field(data, "slug", bad)
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
    summary = text_field(data, "summary", bad)
    description = text_field(data, "description", bad)
    category = text_field(data, "category", bad)
    if category is not None and not taxon_slug(category):
        bad("category", f"{short_value(category)} has no letters or digits to make a URL from")
    bibliography = (
        bibliography_paths(data["bibliography"], path, lambda m: bad("bibliography", m))
        if "bibliography" in data
        else ()
    )
    authors = author_names(data["authors"], lambda m: bad("authors", m)) if "authors" in data else ()
    doi = text_field(data, "doi", bad)
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


def _tags(data: dict[str, Any], bad: Any) -> tuple[str, ...]:
    value = data.get("tags")
    if value is None:
        return ()
    if isinstance(value, str) and "," in value:  # one tag "entropy, probability": a list was meant
        items = ", ".join(_flow_item(item.strip()) for item in value.split(",") if item.strip())
        bad(
            "tags",
            f"{short_value(value)} is one tag, with a comma: a list of tags is written in brackets: tags: [{items}]",
        )
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        bad("tags", f"expected a list of tags, got {short_value(value)}")
        return ()
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            bad("tags", f"{short_value(item)} is not a tag (tags are words or short phrases)")
        elif not taxon_slug(item):
            bad("tags", f"{short_value(item)} has no letters or digits to make a URL from")
        elif item.strip() not in tags:
            tags.append(item.strip())
    return tuple(tags)


def _flow_item(text: str) -> str:
    """A tag as an item of a YAML flow list: as it is, or single-quoted if YAML would read it otherwise."""
    plain = re.fullmatch(r"[^\s,\[\]{}#&*!|>'\"%@`:?-][^,\[\]{}:#]*", text) and not re.search(r"\s#", text)
    return text if plain else single_quoted(text)
