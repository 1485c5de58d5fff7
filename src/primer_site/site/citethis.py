"""Cite this chapter: the BibTeX entry a reader copies to cite a post (cite.bib beside its page), and the key it has.

The key is stable from one build to the next: the first author's surname, the year and the post's slug
("doe2026-dpo-derived"), in the characters every BibTeX reads. Text is TeX-escaped (`&`, `%`, `_`, `#`, `$` outside
math, `{`, `}`, `~`, `^`, `\\`): a title's `$…$` math is kept as TeX, which BibTeX passes through.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from primer_site.lazyregex import lazy_compile

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "_": r"\_",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL = re.compile(r"[\\&%_#${}~^]")
_MATH = lazy_compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")
_KEY_CHARACTERS = re.compile(r"[^a-z0-9-]+")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def tex_escape(text: str) -> str:
    """Text for a BibTeX field: TeX's special characters escaped, `$…$` math kept as written."""
    parts = []
    at = 0
    for math in _MATH.finditer(text):
        parts.append(_SPECIAL.sub(lambda m: _TEX_SPECIAL[m.group()], text[at : math.start()]))
        parts.append(math.group())
        at = math.end()
    parts.append(_SPECIAL.sub(lambda m: _TEX_SPECIAL[m.group()], text[at:]))
    return "".join(parts)


def author_surname(name: str) -> str:
    """The family name of "Given Family" or "Family, Given"."""
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    return name.split()[-1] if name.split() else name


def cite_key(authors: Sequence[str], date: datetime, slug: str) -> str:
    """ "doe2026-dpo-derived": ASCII letters, digits and dashes only."""
    surname = unicodedata.normalize("NFKD", author_surname(authors[0]) if authors else "anon")
    surname = surname.encode("ascii", "ignore").decode().lower()
    surname = _KEY_CHARACTERS.sub("", surname) or "anon"
    return f"{surname}{date.year}-{_KEY_CHARACTERS.sub('-', slug.lower()).strip('-')}"


def chapter_bibtex(
    authors: Sequence[str],
    title: str,
    date: datetime,
    slug: str,
    url: str,
    site_title: str,
    series_title: str | None = None,
    chapter: str | None = None,
    doi: str | None = None,
) -> str:
    """The BibTeX entry citing one post: @incollection in a series (its volume is the book), else @online."""
    fields = [("author", " and ".join(tex_escape(a) for a in authors)), ("title", "{" + tex_escape(title) + "}")]
    if series_title:
        fields.append(("booktitle", "{" + tex_escape(series_title) + "}"))
        if chapter:
            fields.append(("chapter", tex_escape(chapter)))
    else:
        fields.append(("organization", tex_escape(site_title)))
    fields += [("year", str(date.year)), ("month", _MONTHS[date.month - 1])]
    if doi:
        fields.append(("doi", tex_escape(doi)))
    fields.append(("url", url))
    kind = "incollection" if series_title else "online"
    body = ",\n".join(f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{cite_key(authors, date, slug)},\n{body}\n}}\n"
