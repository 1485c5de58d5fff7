"""series/<slug>.md → SeriesMeta; which series a post's `series:` names (SeriesNames, the one rule); and the TeX
macros of a series' and a post's pages, layered site, series, post."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from primer_site.errors import Problems, SiteError
from primer_site.sources.frontmatter import decode_source, read_source, short_value, split_front_matter, text_field
from primer_site.sources.notation import macro_notes
from primer_site.sources.parse import Document
from primer_site.sources.sharedkeys import (
    MACROS_TEXT,
    author_names,
    bibliography_paths,
    merge_macros,
    parse_books,
    parse_macros,
    warn_unknown_keys,
)
from primer_site.sources.theoremkinds import THEOREMS_TEXT, parse_theorem_settings
from primer_site.sources.yamldoc import load_yaml_mapping
from primer_site.sources.yamltext import TEXT, TextShape
from primer_site.urls import slugify

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

    def slug_of(self, name: str | None, meta: SeriesMeta | None = None) -> str | None:
        """The slug of the series `name` names: its file's, or the name's own for a series with no file. `meta`:
        the file `name` names, if the caller found it already (meta_of)."""
        if not name:
            return None
        if meta is None:
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


class PostMacros:
    """`post_macros` for many posts, merged once per (series file, front matter's macros): most posts have no macros
    of their own, so a series' posts share one merge, and the very same tuple (a post's inputs then compare by
    identity). A series file is known by its object, so one of these lives no longer than the SeriesMeta it met."""

    def __init__(self, site_macros: Macros) -> None:
        self.site_macros = site_macros
        self._merged: dict[tuple[int, Macros], Macros] = {}

    def __call__(self, meta: SeriesMeta | None, document: Document) -> Macros:
        layers = (id(meta), document.macros)
        macros = self._merged.get(layers)
        if macros is None:
            macros = self._merged[layers] = post_macros(self.site_macros, meta, document)
        return macros


def parse_series_file(
    source_root: Path, relative: str, problems: Problems, raw: bytes | None = None
) -> SeriesMeta | None:
    """Read and check one series file; problems go to `problems` (None when it cannot be used). `raw`: the file's
    bytes, already read (by a caller that digests what it parses), else the file is read here."""
    try:
        text = read_source(source_root, relative) if raw is None else decode_source(raw, relative)
        yaml_text, body, body_line = split_front_matter(text, relative)
        mapping = load_yaml_mapping(yaml_text, relative, first_line=2, text_shape=SERIES_TEXT)
    except SiteError as error:
        problems.absorb(error)
        return None
    data = mapping.data
    errors_before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", relative, mapping.line_of(key))

    warn_unknown_keys(mapping, SERIES_KEYS, relative, problems)
    title = text_field(data, "title", bad, required=True)
    kind = data.get("kind", "series")
    if kind not in ("series", "collection"):
        bad("kind", f"{short_value(kind)} must be 'series' or 'collection'")
    collection = text_field(data, "collection", bad)
    order = data.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        bad("order", f"expected a whole number, got {short_value(order)}")
    planned = data.get("chapters")
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or planned < 1):
        bad("chapters", f"expected the number of planned chapters, got {short_value(planned)}")
    gaps = data.get("gaps", [])
    if not isinstance(gaps, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in gaps):
        bad("gaps", f"expected a list of chapter numbers left out on purpose, got {short_value(gaps)}")
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
        bad("number_sections", f"expected true or false, got {short_value(number_sections)}")
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
