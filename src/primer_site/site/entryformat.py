"""One BibTeX entry as an entry of a reference list, in HTML: Chicago author-date's order (authors, year, title,
container, publisher, identifiers), by entry type.

Every text from a .bib file is escaped here; a title's `$…$` is math, made into math elements by render_title.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from primer_site.lazyregex import lazy_compile
from primer_site.sources.bibliography import BibEntry, Person
from primer_site.syntax.inline import render_title

_LISTED_AUTHORS = 10  # a reference lists up to ten authors; past that, the first seven and "et al."
_SAFE_URL = lazy_compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
_ARXIV = lazy_compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", re.IGNORECASE)


def _text(value: str) -> str:
    """A .bib text as HTML: escaped, its math made math elements."""
    return render_title(value)


def _person(person: Person, inverted: bool) -> str:
    if person.family == "others":
        return "et al."
    family = person.surname
    if inverted and person.given:
        return f"{family}, {person.given}" + (f", {person.suffix}" if person.suffix else "")
    return " ".join(p for p in (person.given, family, person.suffix) if p)


def person_list(persons: Sequence[Person]) -> str:
    """ "Vaswani, Ashish, Noam Shazeer, and Niki Parmar": the first inverted, as Chicago lists them."""
    shown = list(persons)
    etal = False
    if len(shown) > _LISTED_AUTHORS:
        shown, etal = shown[:7], True
    if shown and shown[-1].family == "others":
        shown, etal = shown[:-1], True
    names = [_person(p, index == 0) for index, p in enumerate(shown)]
    if etal:
        return ", ".join(names) + ", et al."
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]}, and {names[1]}" if "," in names[0] else f"{names[0]} and {names[1]}"
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".?!" else text + "."


def _quoted(title: str) -> str:
    """A title in quotes, its period inside them (American usage, as Chicago)."""
    inner = title.strip()
    if inner and inner[-1] not in ".?!":
        inner += "."
    return f"“{_text(inner)}”"


def _link(url: str, shown: str | None = None) -> str:
    if not _SAFE_URL.match(url):
        return html.escape(url)
    return f'<a href="{html.escape(url)}">{html.escape(shown or url)}</a>'


def format_entry(entry: BibEntry, year: str) -> str:
    """One entry of a reference list as HTML, by its type: article, inproceedings, book, incollection/inbook,
    phdthesis/mastersthesis/thesis, techreport/report, misc (with an arXiv id), online/webpage; any other type
    as misc. `year` is what the citations show ("2023a")."""
    get = entry.get
    kind = entry.kind
    parts: list[str] = []
    persons = entry.authors or entry.editors
    if persons:
        who = person_list(persons)
        if not entry.authors:
            who += ", ed." if len(entry.editors) == 1 else ", eds."
        parts.append(_sentence(_text(who)))
    parts.append(_sentence(html.escape(year)))
    title = get("title")
    if kind == "inbook" and get("chapter") and not get("booktitle"):
        title = get("chapter")  # @inbook: `title` is the book's, `chapter` the part cited
    if kind == "book":
        if title:
            parts.append(_sentence(f"<i>{_text(title)}</i>") if title[-1] not in ".?!" else f"<i>{_text(title)}</i>")
    elif title:
        parts.append(_quoted(title))
    container = []
    if kind == "article":
        journal = get("journal") or get("journaltitle")
        if journal:
            where = f"<i>{_text(journal)}</i>"
            if get("volume"):
                where += f" {html.escape(get('volume'))}"
            if get("number"):
                where += f" ({html.escape(get('number'))})"
            if get("pages"):
                where += f": {html.escape(get('pages'))}"
            container.append(where)
    elif kind in ("inproceedings", "conference", "incollection", "inbook"):
        book = get("booktitle") or (get("title") if kind == "inbook" and get("chapter") else "")
        if book:
            where = f"In <i>{_text(book)}</i>"
            if entry.editors:
                where += f", edited by {_text(person_list_plain(entry.editors))}"
            if get("pages"):
                where += f", {html.escape(get('pages'))}"
            container.append(where)
        if get("publisher"):
            container.append(_text(get("publisher")))
    elif kind in ("phdthesis", "mastersthesis", "thesis"):
        degree = {"phdthesis": "PhD diss.", "mastersthesis": "Master’s thesis"}.get(kind, get("type") or "Thesis")
        school = get("school") or get("institution")
        container.append(", ".join(p for p in (html.escape(degree), _text(school)) if p))
    elif kind in ("techreport", "report"):
        label = get("type") or "Technical report"
        number = f" {get('number')}" if get("number") else ""
        container.append(html.escape(label + number))
        if get("institution"):
            container.append(_text(get("institution")))
    elif kind == "book":
        if get("edition"):
            container.append(html.escape(get("edition")) + " ed")
        publisher = ": ".join(_text(p) for p in (get("address") or get("location"), get("publisher")) if p)
        if publisher:
            container.append(publisher)
    else:  # misc, online, webpage, electronic, unpublished…
        if get("howpublished"):
            container.append(_text(get("howpublished")))
        elif get("organization") or get("publisher"):
            container.append(_text(get("organization") or get("publisher")))
    for piece in container:
        parts.append(_sentence(piece))
    arxiv = _arxiv_id(entry)
    if arxiv:
        parts.append(_sentence(_link(f"https://arxiv.org/abs/{arxiv}", f"arXiv:{arxiv}")))
    doi = get("doi").removeprefix("https://doi.org/").removeprefix("doi:")
    if doi:
        parts.append(_sentence(_link(f"https://doi.org/{doi}")))
    elif get("url") and not arxiv:
        parts.append(_sentence(_link(get("url"))))
        if get("urldate"):
            parts.append(_sentence(f"Accessed {html.escape(get('urldate'))}"))
    if get("note"):
        parts.append(_sentence(_text(get("note"))))
    return " ".join(p for p in parts if p)


def person_list_plain(persons: Sequence[Person]) -> str:
    """Names in their natural order, "A, B, and C" (editors after "edited by")."""
    names = [_person(p, False) for p in persons if p.family != "others"]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _arxiv_id(entry: BibEntry) -> str:
    """An arXiv preprint's id, from `eprint` (with `archivePrefix`/`eprinttype` arXiv) or the journal field
    "arXiv preprint arXiv:1706.03762"."""
    prefix = (entry.get("archiveprefix") or entry.get("eprinttype")).lower()
    eprint = entry.get("eprint").strip()
    if eprint and (prefix == "arxiv" or _ARXIV.match(eprint)):
        found = _ARXIV.match(eprint)
        return found.group(1) if found else ""
    journal = entry.get("journal")
    found = re.search(r"arxiv:(\S+)", journal, re.IGNORECASE)
    if found and _ARXIV.match(found.group(1)):
        return found.group(1)
    return ""
