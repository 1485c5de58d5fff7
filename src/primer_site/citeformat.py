"""Citations and reference lists as HTML, in one of two styles: author-year (the default) and numeric.

Author-year follows the Chicago author-date conventions pandoc's citeproc uses by default: "(Vaswani et al.
2017)", "Rafailov et al. (2023)" in the text, years told apart by a letter (2023a, 2023b) among the works one page
cites, the list sorted by author, year and title. Its one departure: "et al." from three authors (Chicago's is from
four), so that a citation stays short. Numeric numbers works in the order a page first cites them, "[1, 3–5]".

Every text from a .bib file is escaped here; a title's `$…$` is math, made into math elements by render_title.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .bibliography import BibEntry, Bibliography, Person
from .citations import CITATION_PLACEHOLDER, Citation, CiteItem
from .errors import Diagnostic
from .markdown import render_title
from .model import Reference

AUTHOR_YEAR, NUMERIC = "author-year", "numeric"
ET_AL_FROM = 3  # authors: "Vaswani et al." from three
_LISTED_AUTHORS = 10  # a reference lists up to ten authors; past that, the first seven and "et al."
_SAFE_URL = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)
_ARXIV = re.compile(r"^(?:arxiv:)?(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Work:
    """A cited entry with what its citations show: author names, year (with its letter), number."""

    entry: BibEntry
    names: str  # "Vaswani et al.", "Rafailov and Sharma", or the title where no one is named
    year: str  # "2017", "2023a", "n.d."
    number: int


def entry_year(entry: BibEntry) -> str:
    """The year a citation shows: `year`, else the year of `date` (biblatex), else "n.d."."""
    year = entry.get("year") or entry.get("date")[:4]
    return year.strip() or "n.d."


def cited_names(entry: BibEntry) -> str:
    """The names an author-year citation shows: one or two surnames, "et al." from three, editors where there is
    no author, the title where there is neither."""
    listed = entry.authors or entry.editors
    persons = [p for p in listed if p.family != "others"]
    if not persons:
        return entry.get("title") or entry.key
    if len(listed) >= ET_AL_FROM or len(persons) < len(listed):
        return f"{persons[0].surname} et al."
    if len(persons) == 2:
        return f"{persons[0].surname} and {persons[1].surname}"
    return persons[0].surname


def cited_works(keys: Sequence[str], bibliography: Bibliography, style: str) -> dict[str, Work]:
    """The works cited, in order of first citation, with years told apart (a, b…) where names and year agree."""
    entries = [bibliography[k] for k in keys]
    letters: dict[str, str] = {}
    groups: dict[tuple[str, str], list[BibEntry]] = {}
    for entry in entries:
        groups.setdefault((cited_names(entry), entry_year(entry)), []).append(entry)
    for group in groups.values():
        if len(group) > 1:
            for index, entry in enumerate(sorted(group, key=sort_key)):
                letters[entry.key] = chr(ord("a") + index) if index < 26 else f"-{index + 1}"
    return {
        entry.key: Work(entry, cited_names(entry), entry_year(entry) + letters.get(entry.key, ""), number)
        for number, entry in enumerate(entries, start=1)
    }


def sort_key(entry: BibEntry) -> tuple[str, str, str]:
    """Author (family names, a particle such as "van der" after them, as citeproc sorts BibTeX names), year,
    title."""
    persons = [p for p in (entry.authors or entry.editors) if p.family != "others"]
    names = " ".join(f"{p.family} {p.given} {p.von}" for p in persons) if persons else entry.get("title")
    return (names.casefold(), entry_year(entry), entry.get("title").casefold())


def _text(value: str) -> str:
    """A .bib text as HTML: escaped, its math made math elements."""
    return render_title(value)


def _cite_item(item: CiteItem, work: Work, style: str, in_text: bool) -> str:
    href = f"#ref-{html.escape(work.entry.key)}"
    if style == NUMERIC:
        inner = f'<a href="{href}">{work.number}</a>'
        return inner
    shown = work.year if item.year_only else f"{_text(work.names)} {work.year}"
    if in_text:
        return f'<a href="{href}">{_text(work.names)} ({work.year})</a>'
    return f'<a href="{href}">{shown}</a>'


def format_citation(citation: Citation, works: dict[str, Work], style: str) -> str:
    """One citation's HTML (every key known to `works`)."""
    if citation.in_text:
        item = citation.items[0]
        work = works[item.key]
        if style == NUMERIC:
            link = f'<a href="#ref-{html.escape(work.entry.key)}">{work.number}</a>'
            return f'<span class="citation">{_text(work.names)} [{link}]</span>'
        return f'<span class="citation">{_cite_item(item, work, style, True)}</span>'
    parts = []
    if style == NUMERIC and all(not i.prefix and not i.suffix for i in citation.items):
        numbers = sorted({works[i.key].number for i in citation.items})
        by_number = {works[i.key].number: works[i.key] for i in citation.items}
        for run in _runs(numbers):
            links = [f'<a href="#ref-{html.escape(by_number[n].entry.key)}">{n}</a>' for n in run]
            parts.append(f"{links[0]}–{links[-1]}" if len(run) >= 3 else ", ".join(links))
        return f'<span class="citation">[{", ".join(parts)}]</span>'
    previous: CiteItem | None = None
    for item in citation.items:
        work = works[item.key]
        if (
            style != NUMERIC
            and previous is not None
            and not previous.suffix
            and not previous.year_only
            and not item.prefix
            and not item.year_only
            and works[previous.key].names == work.names
        ):
            # the same authors again: their name once, "Rafailov and Sharma 2023a, 2023b" (as citeproc does)
            parts[-1] += f', <a href="#ref-{html.escape(work.entry.key)}">{work.year}</a>'
            if item.suffix:
                parts[-1] += f", {html.escape(item.suffix)}"
            previous = item
            continue
        previous = item
        text = _cite_item(item, work, style, False)
        if item.prefix:
            text = f"{html.escape(item.prefix)} {text}"
        if item.suffix:
            text = f"{text}, {html.escape(item.suffix)}"
        parts.append(text)
    joined = ", ".join(parts) if style == NUMERIC else "; ".join(parts)
    return f'<span class="citation">{"[" if style == NUMERIC else "("}{joined}{"]" if style == NUMERIC else ")"}</span>'


def _runs(numbers: list[int]) -> list[list[int]]:
    """Consecutive numbers grouped: [1, 2, 3, 5] → [[1, 2, 3], [5]]."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs


def resolve_citations(
    texts: Sequence[str],
    citations: Sequence[Citation],
    bibliography: Bibliography,
    style: str,
    where: tuple[str, int],
    files: Sequence[str],
) -> tuple[list[str], tuple[Reference, ...], list[Diagnostic]]:
    """Citation placeholders filled in each of `texts` (a body, its summary…), the references the body cites, and the problems found (an unknown key,
    with the nearest key), located at `where` (the post's path and its body's first line).

    A post with no bibliography at all keeps an in-text `@name` as the text it is; a bracketed citation there is
    an error, since its author meant a citation.
    """
    problems: list[Diagnostic] = []
    keys: dict[str, None] = {}
    known: list[bool] = []
    path, first_line = where
    for citation in citations:
        if not bibliography:
            if not citation.in_text:
                problems.append(
                    Diagnostic(
                        path,
                        first_line + citation.line,
                        citation.column,
                        "error",
                        f"citation {citation.written}: no bibliography for this post: name a .bib file with "
                        "'bibliography: refs.bib' in its front matter, its series file or site.yaml",
                    )
                )
            known.append(False)
            continue
        missing = [item.key for item in citation.items if item.key not in bibliography]
        for key in missing:
            close = difflib.get_close_matches(key, list(bibliography), n=1, cutoff=0.6)
            hint = f' (did you mean "@{close[0]}"?)' if close else ""
            escape_hint = " (an @ that is no citation: write \\@)" if citation.in_text and not close else ""
            problems.append(
                Diagnostic(
                    path,
                    first_line + citation.line,
                    citation.column,
                    "error",
                    f"citation {citation.written}: no entry {key!r} in {', '.join(files)}{hint}{escape_hint}",
                )
            )
        known.append(not missing)
        if not missing:
            for item in citation.items:
                keys.setdefault(item.key, None)
    works = cited_works(list(keys), bibliography, style)

    def fill(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(citations):
            return ""
        citation = citations[index]
        if not known[index]:
            return html.escape(citation.written, quote=False)
        return format_citation(citation, works, style)

    filled = [CITATION_PLACEHOLDER.sub(fill, text) if "\x00C" in text or "\ue000" in text else text for text in texts]
    ordered = sorted(works.values(), key=lambda w: w.number if style == NUMERIC else sort_key(w.entry))
    references = tuple(
        Reference(w.entry.key, f"ref-{w.entry.key}", f"[{w.number}]" if style == NUMERIC else "", format_entry(w))
        for w in ordered
    )
    return filled, references, problems


def fill_as_text(html_text: str, citations: Sequence[Citation]) -> str:
    """Placeholders replaced by what was written (a page that resolves no citations: a series' description)."""
    return CITATION_PLACEHOLDER.sub(
        lambda m: (
            html.escape(citations[int(m.group(1))].written, quote=False) if int(m.group(1)) < len(citations) else ""
        ),
        html_text,
    )


def references_section(references: Sequence[Reference]) -> str:
    """The References section a post's body ends with."""
    if not references:
        return ""
    items = []
    for reference in references:
        label = f'<span class="ref-label">{reference.label}</span> ' if reference.label else ""
        items.append(f'<li id="{html.escape(reference.id)}">{label}{reference.html}</li>\n')
    return (
        '<section class="references" role="doc-bibliography" aria-labelledby="references">\n'
        '<h2 id="references">References</h2>\n'
        f'<ol class="reference-list">\n{"".join(items)}</ol>\n</section>\n'
    )


# Entries ----------------------------------------------------------------------------------------------------------


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


def format_entry(work: Work) -> str:
    """One entry of a reference list as HTML, by its type: article, inproceedings, book, incollection/inbook,
    phdthesis/mastersthesis/thesis, techreport/report, misc (with an arXiv id), online/webpage; any other type
    as misc."""
    entry = work.entry
    get = entry.get
    kind = entry.kind
    parts: list[str] = []
    persons = entry.authors or entry.editors
    if persons:
        who = person_list(persons)
        if not entry.authors:
            who += ", ed." if len(entry.editors) == 1 else ", eds."
        parts.append(_sentence(_text(who)))
    parts.append(_sentence(html.escape(work.year)))
    title = get("title")
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
