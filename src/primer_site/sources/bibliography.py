"""BibTeX files → entries: each entry's fields as text (TeX accents and commands turned into characters, math kept
as `$…$`), its authors split into name parts, and the line it starts at; duplicate keys and syntax errors located
in the .bib file.

The BibTeX grammar and name rules ("von Last, Jr, First", "and" between persons, braces protecting a corporate
name) are bibtexparser's (v2); TeX to Unicode is pylatexenc's. A post's bibliography is the union of the files
its front matter, its series file and site.yaml name, the nearest first: a key the post's own file defines wins.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import attrgetter
from pathlib import Path
from typing import Any

from primer_site.errors import Diagnostic, Problems, SiteError
from primer_site.lazyregex import lazy_compile
from primer_site.sources.config import CONFIG_FILE, SiteConfig
from primer_site.sources.discover import CONTENT_DIR, SERIES_DIR
from primer_site.sources.frontmatter import decode_source
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta, series_finder

# bibtexparser logs each failed block as well as returning it: the block is reported here, at its line
logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)

_URL_COMMAND = lazy_compile(r"\\(?:url|href)\{([^{}]*)\}(?:\{[^{}]*\})?")
_SPACE = re.compile(r"\s+")
# TeX's text ligatures, as pylatexenc reads them (the longest first where two start alike)
_LIGATURES = {"---": "—", "--": "–", "``": "“", "''": "”", "!`": "¡", "?`": "¿"}
_LIGATURE = lazy_compile("|".join(re.escape(written) for written in _LIGATURES))
_LITERAL_FIELDS = frozenset({"url", "doi", "eprint", "isbn", "issn", "file"})  # never TeX: kept as written


@dataclass(frozen=True)
class Person:
    """One author or editor, in BibTeX's four parts (each as text)."""

    given: str
    family: str
    von: str = ""
    suffix: str = ""

    @property
    def surname(self) -> str:
        """What an author-year citation shows: "van Beethoven", "OpenAI"."""
        return f"{self.von} {self.family}".strip()


@dataclass(frozen=True)
class BibEntry:
    """One BibTeX entry: its key, type (lower case), fields as text, persons, and where it is written."""

    key: str
    kind: str
    fields: tuple[tuple[str, str], ...]  # (name in lower case, text), in the order written
    authors: tuple[Person, ...]
    editors: tuple[Person, ...]
    source: str  # the .bib file, site-relative
    line: int  # 1-based line of its `@type{`

    def get(self, name: str) -> str:
        return next((value for key, value in self.fields if key == name), "")


@lru_cache(maxsize=1)
def _latex() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=True)


@lru_cache(maxsize=65536)  # names and journals repeat across a bibliography
def tex_to_text(tex: str) -> str:
    """BibTeX text → Unicode: `{\\"o}` → ö, `--` → –, `\\&` → &, braces dropped, `$…$` math kept as written.

    Text with no command and no math is done here (pylatexenc costs ~1 ms a field); the rest by pylatexenc.
    """
    if "\\" in tex or "$" in tex:  # a command, or math (its braces and `$` are TeX's to read): pylatexenc
        text = _latex().latex_to_text(_URL_COMMAND.sub(r"\1", tex))
    else:
        # ligatures before the braces go (`-{}-` is two hyphens, as in TeX), read left to right as TeX does
        text = _LIGATURE.sub(lambda m: _LIGATURES[m.group()], tex)
        text = text.replace("{", "").replace("}", "").replace("~", " ")
    return _SPACE.sub(" ", text).strip()


def _persons(value: str) -> tuple[Person, ...]:
    from bibtexparser.middlewares.names import (
        InvalidNameError,
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    persons = []
    for name in split_multiple_persons_names(value):
        if name.strip().lower() == "others":
            persons.append(Person("", "others"))
            continue
        try:
            parts = parse_single_name_into_parts(name, strict=False)
        except InvalidNameError:  # unbalanced braces and the like: the name as one family name
            persons.append(Person("", tex_to_text(name)))
            continue
        persons.append(
            Person(
                tex_to_text(" ".join(parts.first)),
                tex_to_text(" ".join(parts.last)),
                tex_to_text(" ".join(parts.von)),
                tex_to_text(" ".join(parts.jr)),
            )
        )
    return tuple(persons)


@lru_cache(maxsize=64)
def parse_bibtex(text: str, source: str) -> tuple[tuple[BibEntry, ...], tuple[Diagnostic, ...]]:
    """The entries of one .bib file's text, and its problems located at their lines (1-based)."""
    import bibtexparser  # with pylatexenc, imported only for a site with a bibliography
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry, ParsingFailedBlock

    library = bibtexparser.parse_string(text)
    entries: list[BibEntry] = []
    problems: list[Diagnostic] = []
    first_line: dict[str, int] = {}
    for block in library.blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, ParsingFailedBlock) and not isinstance(block, DuplicateBlockKeyBlock):
            if isinstance(block, DuplicateFieldKeyBlock):
                names = ", ".join(sorted(block._duplicate_keys))  # no public accessor
                message = f"BibTeX: field {names} given twice in one entry: keep one"
            else:
                reason = str(getattr(block.error, "abort_reason", "") or "the entry is not complete").strip()
                end = getattr(block.error, "end_index", None)
                if reason.startswith("Unexpected block start"):
                    reason = "the entry is not closed before the next one starts (a missing '}' or ',')"
                elif isinstance(end, int):  # where reading stopped: the line of the mistake
                    line = text.count("\n", 0, min(end, len(text.rstrip()))) + 1
                opened = (block.start_line or 0) + 1
                where = f" (in the entry that starts at line {opened})" if line != opened else ""
                message = f"BibTeX syntax error: {reason.rstrip('. ')}{where}"
            problems.append(Diagnostic(source, line, 0, "error", message))
            continue
        if isinstance(block, DuplicateBlockKeyBlock):
            key = block.key
            before = first_line.get(key) or (block.previous_block.start_line or 0) + 1
            problems.append(
                Diagnostic(
                    source,
                    line,
                    0,
                    "error",
                    f"BibTeX: key {key!r} is already the key of the entry at {source}:{before}: rename one",
                )
            )
            continue
        if not isinstance(block, Entry):
            continue
        first_line[block.key] = line
        fields = []
        authors: tuple[Person, ...] = ()
        editors: tuple[Person, ...] = ()
        for field in block.fields:
            name = field.key.lower()
            value = str(field.value)
            if name == "author":
                authors = _persons(value)
            elif name == "editor":
                editors = _persons(value)
            fields.append((name, _SPACE.sub(" ", value).strip() if name in _LITERAL_FIELDS else tex_to_text(value)))
        entries.append(BibEntry(block.key, block.entry_type.lower(), tuple(fields), authors, editors, source, line))
    return tuple(entries), tuple(problems)


Bibliography = dict[str, BibEntry]


class BibliographyFiles:
    """The .bib files of one build, each read and parsed once, and the union a post sees."""

    def __init__(self, root: Path, problems: Problems) -> None:
        self.root = root
        self.problems = problems
        self.files: dict[str, Bibliography] = {}

    def file(self, relative: str, named_at: tuple[str, int]) -> Bibliography:
        """The entries of one .bib file (site-relative); `named_at` (path, line) is the `bibliography:` naming it,
        where a missing file is reported."""
        known = self.files.get(relative)
        if known is not None:
            return known
        entries: Bibliography = {}
        try:
            if relative.split("/", 1)[0] not in (CONTENT_DIR, SERIES_DIR):
                raise SiteError(
                    f"bibliography: {relative} is outside {CONTENT_DIR}/ and {SERIES_DIR}/: move it there, where "
                    "builds and the preview see it change",
                    *named_at,
                )
            path = self.root / relative
            if not path.is_file():
                raise SiteError(f"bibliography: no such file {relative}", *named_at)
            found, problems = parse_bibtex(decode_source(path.read_bytes(), relative), relative)
            self.problems.extend(problems)
            for entry in found:
                entries.setdefault(entry.key, entry)
        except SiteError as error:
            self.problems.absorb(error)
        except OSError as exc:
            self.problems.error(f"cannot read BibTeX file: {exc.strerror}", relative)
        self.files[relative] = entries
        return entries

    def union(self, named: Sequence[tuple[str, tuple[str, int]]]) -> Bibliography:
        """The entries of these files (each with where it is named), the first file's winning a key two files
        define (nearest first)."""
        result: Bibliography = {}
        for relative, named_at in named:
            for key, entry in self.file(relative, named_at).items():
                result.setdefault(key, entry)
        return result


_SITE_KEY = re.compile(r"^bibliography[ \t]*:", re.MULTILINE)


def post_bibliographies(
    root: Path, config: SiteConfig, documents: Sequence[Document], metas: Sequence[SeriesMeta], problems: Problems
) -> dict[str, tuple[tuple[str, ...], Bibliography]]:
    """Each post's .bib files (its own, its series file's, site.yaml's: nearest first) and the entries they hold
    together. Each file is read once; its problems go to `problems`. A post that none names is left out when
    neither site.yaml nor a series file names one (found in C: the dev server's rebuild visits no other post)."""
    files = BibliographyFiles(root, problems)
    series_of = series_finder(metas)
    site_line = 1
    if config.bibliography:  # where site.yaml names them, for a missing file (a top-level key: its line)
        try:
            found_key = _SITE_KEY.search((root / CONFIG_FILE).read_text(encoding="utf-8"))
            site_line = found_key.string.count("\n", 0, found_key.start()) + 1 if found_key else 1
        except (OSError, UnicodeDecodeError):
            site_line = 1
    from_site = [(path, (CONFIG_FILE, site_line)) for path in config.bibliography]
    found = {}
    if not from_site and not any(m.bibliography for m in metas):
        documents = list(compress(documents, map(attrgetter("bibliography"), documents)))
    for doc in documents:
        meta = series_of(doc.series)
        named = [(path, (doc.source, doc.line_of("bibliography"))) for path in doc.bibliography]
        if meta is not None:
            named += [(path, (meta.source, meta.line_of("bibliography"))) for path in meta.bibliography]
        named += from_site
        first: dict[str, tuple[str, int]] = {}
        for path, at in named:
            first.setdefault(path, at)
        unique = list(first.items())
        paths = tuple(first)
        found[doc.source] = (paths, files.union(unique) if unique else {})
    for path, at in from_site:  # a file no post sees is still checked
        files.file(path, at)
    return found
