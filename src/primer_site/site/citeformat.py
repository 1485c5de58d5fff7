"""Citations and reference lists as HTML, in one of two styles: author-year (the default) and numeric.

Author-year follows the Chicago author-date conventions pandoc's citeproc uses by default: "(Vaswani et al.
2017)", "Rafailov et al. (2023)" in the text, years told apart by a letter (2023a, 2023b) among the works one page
cites, the list sorted by author, year and title, "et al." from three authors (tests/test_citations_oracle.py holds
it to citeproc). Numeric numbers works in the order a page first cites them, "[1, 3–5]". Entries are formatted by
entryformat.py.

Every text from a .bib file is escaped here; a title's `$…$` is math, made into math elements by render_title.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from primer_site.errors import Diagnostic
from primer_site.lazyregex import lazy_compile
from primer_site.model import Reference
from primer_site.site.entryformat import format_entry
from primer_site.sources.bibliography import BibEntry, Bibliography
from primer_site.syntax.citations import CITATION_PLACEHOLDER, Citation, CiteItem
from primer_site.syntax.inline import render_title

AUTHOR_YEAR, NUMERIC = "author-year", "numeric"
ET_AL_FROM = 3  # authors: "Vaswani et al." from three


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
            import difflib  # a misspelling's suggestion only: a build that meets none never loads it

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
        Reference(
            w.entry.key,
            f"ref-{w.entry.key}",
            f"[{w.number}]" if style == NUMERIC else "",
            format_entry(w.entry, w.year),
        )
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


_ID = re.compile(r'\bid="([^"]*)"')


REFERENCES_TITLE = "References"  # a post's References heading; in another language: assemble, from the catalogue
_SECTION_OPENING = '<section class="references" role="doc-bibliography" aria-labelledby="'
_REFERENCES_HEADING = lazy_compile(
    re.escape(_SECTION_OPENING) + r'([^"]*)">\n<h2 id="\1">' + re.escape(REFERENCES_TITLE) + "</h2>"
)


def retitle_references(body_html: str, title_html: str) -> str:
    """`body_html` with the heading of the References section references_section put at its end reading
    `title_html` (HTML) instead."""
    start = body_html.rfind(_SECTION_OPENING)
    if start < 0:
        return body_html
    tail = _REFERENCES_HEADING.sub(
        lambda m: f'{_SECTION_OPENING}{m.group(1)}">\n<h2 id="{m.group(1)}">{title_html}</h2>', body_html[start:], 1
    )
    return body_html[:start] + tail


def references_section(references: Sequence[Reference], body_html: str = "") -> str:
    """The References section a post's body ends with; its heading's id is "references", or "references-2"… where
    the body has that id already (a heading of the author's own named References)."""
    if not references:
        return ""
    taken = set(_ID.findall(body_html)) if 'id="references' in body_html else set()
    anchor = next(a for a in ("references", *(f"references-{n}" for n in range(2, len(taken) + 3))) if a not in taken)
    items = []
    for reference in references:
        label = f'<span class="ref-label">{reference.label}</span> ' if reference.label else ""
        items.append(f'<li id="{html.escape(reference.id)}">{label}{reference.html}</li>\n')
    return (
        f'<section class="references" role="doc-bibliography" aria-labelledby="{anchor}">\n'
        f'<h2 id="{anchor}">{REFERENCES_TITLE}</h2>\n'
        f'<ol class="reference-list">\n{"".join(items)}</ol>\n</section>\n'
    )
