"""What a post and a volume cite: a post's citations filled and its References section, the volume's references
page, and the data "cite this chapter" shows (site stage, run by assemble)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import unescape

from primer_site.errors import Problems
from primer_site.frozen import replaced
from primer_site.model import Heading, Post, PostLink, Reference, Series, VolumeReference
from primer_site.site.citeformat import (
    AUTHOR_YEAR,
    cited_works,
    fill_as_text,
    references_section,
    resolve_citations,
    sort_key,
)
from primer_site.site.citethis import chapter_bibtex
from primer_site.site.entryformat import format_entry
from primer_site.sources.bibliography import BibEntry, Bibliography
from primer_site.sources.config import SiteConfig
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.syntax.citations import Citation, bracketed_citations

_LINK_TAG = re.compile(r"</?a\b[^>]*>")


def resolve_post_citations(
    post: Post,
    doc: Document,
    citations: Sequence[Citation],
    paths: Sequence[str],
    bibliography: Bibliography,
    config: SiteConfig,
    meta: SeriesMeta | None,
    problems: Problems,
) -> Post:
    """`post` with its citations filled in from `bibliography` (in the site's style), its References at the end of
    its body, and its authors and BibTeX for "cite this chapter"; problems (unknown keys) go to `problems`. `meta`:
    the series file the post's `series:` names (seriesfile.SeriesNames.meta_of), found once by the caller."""
    for written in bracketed_citations(doc.summary or ""):
        problems.error(
            f"summary: citation {written}: a summary is shown without References (on listings and in feeds): name "
            "the work in words, and cite it in the body",
            doc.source,
            doc.line_of("summary"),
        )
    authors = doc.authors or (meta.authors if meta else ()) or config.authors
    bibtex = ""
    if authors:
        bibtex = chapter_bibtex(
            authors,
            post.title,
            post.date,
            post.slug,
            post.url if "://" in post.url else config.origin + post.url,
            config.title,
            (meta.title if meta else doc.series) if doc.series else None,
            str(post.chapter) if post.chapter else None,
            doc.doi,
        )
    if not citations:
        if authors == post.authors and doc.doi == post.doi and bibtex == post.bibtex:
            return post  # nothing to fill: no copy (a site without authors, DOIs or citations: every post)
        return replaced(post, authors=authors, doi=doc.doi, bibtex=bibtex)
    headings = [h.html for h in post.headings]
    filled, references, found = resolve_citations(
        [post.body_html, post.summary_html, *headings],
        citations,
        bibliography,
        config.citation_style,
        (post.source, doc.body_first_line),
        paths,
    )
    problems.extend(found)
    body, summary, *heading_html = filled
    changes: dict[str, object] = {}
    if summary != post.summary_html:  # a citation in the first paragraph: text there (a listing has no references)
        summary = _LINK_TAG.sub("", summary)
        text = unescape(re.sub(r"<[^>]+>", "", summary)).strip()
        changes.update(summary_html=summary, summary_text=text)
        if post.description == post.summary_text:
            changes["description"] = text
    if heading_html != headings:
        changes["headings"] = tuple(
            Heading(h.level, h.id, h.text, _LINK_TAG.sub("", new))
            for h, new in zip(post.headings, heading_html, strict=True)
        )
    return replaced(
        post,
        body_html=body + references_section(references, body),
        references=references,
        authors=authors,
        doi=doc.doi,
        bibtex=bibtex,
        **changes,  # type: ignore[arg-type]
    )


def cited_volume(
    one: Series, bibliographies: Sequence[Bibliography], label: Callable[[Post], str] | None = None
) -> Series:
    """`one` with every work its (published) chapters cite, sorted by author and year, each with the chapters
    citing it. `bibliographies`: those of its chapters that cite something, in chapter order; `label`: a chapter's
    label in the site's language (default: post.chapter_label, English)."""
    entries: dict[str, BibEntry] = {}
    citing: dict[str, list[PostLink]] = {}
    posts = [p for p in one.posts if p.references]
    for post, bibliography in zip(posts, bibliographies, strict=True):
        for reference in post.references:
            entry = bibliography.get(reference.key)
            if entry is None:
                continue
            entries.setdefault(reference.key, entry)
            shown = label(post) if label is not None else post.chapter_label
            citing.setdefault(reference.key, []).append(PostLink(post.title, post.url, shown))
    if not entries:
        return one if not one.references else replaced(one, references=())
    works = cited_works(list(entries), entries, AUTHOR_YEAR)
    ordered = sorted(works.values(), key=lambda w: sort_key(w.entry))
    return replaced(
        one,
        references=tuple(
            VolumeReference(
                Reference(w.entry.key, f"ref-{w.entry.key}", "", format_entry(w.entry, w.year)),
                tuple(citing[w.entry.key]),
            )
            for w in ordered
        ),
    )


def description_html(html_text: str, citations: Sequence[Citation], meta: SeriesMeta, problems: Problems) -> str:
    """A series' or collection's description: it has no References, so a bracketed citation there is an error at its
    line; an in-text `@name` stays text, as in a post without a bibliography."""
    for citation in citations:
        if not citation.in_text:
            problems.error(
                f"citation {citation.written}: a series description has no References: cite in a chapter",
                meta.source,
                meta.body_first_line + citation.line,
            )
    return fill_as_text(html_text, citations)
