"""One assembly's inputs, and the maker of each part of the site from them: a post, its links resolved, its
citations, a series, its notation, neighbours and chapters, a collection, a tag. Each part is made through the
assemble memo, so that one made from the very same inputs as in the last assembly of this process is the very same
object. assemble.py makes every part; reassemble.py only those an edit reaches.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import is_
from typing import Any

from primer_site.errors import Problems
from primer_site.frozen import built_of, replaced
from primer_site.math.mathhtml import find_math
from primer_site.model import Collection, Extra, Post, PostLink, Series, Taxon
from primer_site.site.assemblememo import AssembleMemo
from primer_site.site.citeformat import retitle_references
from primer_site.site.citing import cited_volume, resolve_post_citations
from primer_site.site.i18n import REFERENCE_DATE_KEY, Catalogue
from primer_site.site.postlinks import NUMBERED_WORDS, TAG, resolve_links
from primer_site.site.postreads import link_targets
from primer_site.site.series import Selection, SeriesGroups, assemble_collections, make_series
from primer_site.site.taxonomies import TaxaGroups, distinct_tags, make_taxon
from primer_site.sources.bibliography import Bibliography
from primer_site.sources.config import SiteConfig
from primer_site.sources.notation import add_notation
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import Macros, PostMacros, SeriesMeta, SeriesNames
from primer_site.syntax.markdown import RenderedBody
from primer_site.urls import expand_permalink, output_path, page_url, slug_from_filename

_WORDS = (*NUMBERED_WORDS, "coming_on_title", "chapter", "section", "introduction", "notation_out_on", ":locale")


@dataclass
class SeriesFiles:
    """What the series files say, for every assembly while they are the very same objects: which series a post
    names, and (read when first asked) each series' notation notes and where its `macros:` are."""

    metas: tuple[SeriesMeta, ...]
    names: SeriesNames
    notes: dict[str, tuple] | None = None
    where: dict[str, tuple[str, int]] = field(default_factory=dict)


class Assembly:
    """One assembly's inputs, and the makers of its parts: each part made through the memo, so that one made from
    the very same inputs as in the last assembly of this process is the very same object. Used for the whole site
    by assemble_site, and for the parts an edit reaches by reassemble."""

    def __init__(
        self,
        config: SiteConfig,
        documents: Sequence[Document],
        bodies: Sequence[RenderedBody],
        metas: Sequence[SeriesMeta],
        series_bodies: Sequence[RenderedBody],
        selection: Selection,
        unreadable: frozenset[str],
        memo: AssembleMemo,
    ) -> None:
        self.config, self.documents, self.bodies = config, documents, bodies
        self.metas, self.series_bodies, self.selection, self.unreadable = metas, series_bodies, selection, unreadable
        self.memo = memo
        # what the series files say, read once while they are the very same objects (a preview's rebuilds)
        known = memo.series_files
        if known is None or len(known.metas) != len(metas) or not all(map(is_, known.metas, metas)):
            known = memo.series_files = SeriesFiles(tuple(metas), SeriesNames(metas))
        self.files = known
        self.names = known.names
        self.post_macros = PostMacros(config.macros)  # post macros, merged once per series file for most posts
        self.unreported = Problems()  # where the parts that report nothing report it: one, not one per post

    def set_language(
        self, catalogue: Catalogue | None, bibliographies: dict[str, tuple[tuple[str, ...], Bibliography]]
    ) -> None:
        self.catalogue, self.bibliographies = catalogue, bibliographies
        # the messages made here: a memo made with other words is stale
        self.words = tuple(repr(catalogue.fingerprint_of(k)) for k in _WORDS) if catalogue is not None else ()
        self.heading = None  # a References section's heading, in the site's language
        if catalogue is not None and catalogue.words(("references",)) is not None:
            self.heading = str(catalogue.text("references"))

    def inputs(self) -> tuple:
        """What every part may read (besides the posts): reassemble remakes everything when one of these changes."""
        return (
            self.config,
            tuple(self.metas),
            tuple(self.series_bodies),
            self.selection,
            self.unreadable,
            self.words,
            self.heading,
            list(self.bibliographies),
            list(self.bibliographies.values()),
        )

    def reuse(self, problems: Problems) -> Callable[..., Any]:
        """The memo's reuse(kind, name, inputs, make), reporting to `problems`."""
        return lambda *made: self.memo.reuse(*made, problems)

    def made(self, doc: Document, body: RenderedBody, problems: Problems) -> Post:
        """The post of a document and its body."""
        meta = self.names.meta_of(doc.series)
        config, memo = self.config, self.memo
        # the very same tuple while what it is merged from is the same: the post's inputs then compare by identity
        macros = memo.reuse(
            "macros",
            doc.source,
            (config.macros, meta, doc.macros),
            lambda _: self.post_macros(meta, doc),
            problems,
        )
        series = (self.names.slug_of(doc.series, meta), macros)
        scheduled = doc.date > self.selection.now  # compared once: two zones' datetimes ask each its offset
        inputs = (config, doc, body, scheduled, series)
        return memo.reuse(
            "post", doc.source, inputs, lambda found: _post(config, doc, body, scheduled, series, found), problems
        )

    def resolved(
        self,
        post: Post,
        body: RenderedBody,
        by_source: dict[str, Post],
        body_of: dict[str, RenderedBody],
        published: set[str],
        drafts: frozenset[str],
        problems: Problems,
    ) -> Post:
        """The post with its links to other posts resolved."""
        links = body.links
        if not links:
            return post
        unreadable = self.unreadable
        # what resolving reads of each target: its post, its body (ids, labels), whether it is out
        targets = tuple(
            (by_source.get(t), body_of.get(t), t in published, t in unreadable, t in drafts)
            for t in link_targets(links)
        )
        return self.memo.reuse(
            "links",
            post.source,
            (post, links, targets, post.source in published, self.words),
            lambda found: resolve_links(
                post, links, by_source, body_of, published, unreadable, found, drafts, self.catalogue
            ),
            problems,
        )

    def cited(self, post: Post, doc: Document, body: RenderedBody, problems: Problems) -> Post:
        """Citations filled, References appended, the cite-this BibTeX: from the entries it cites."""
        citations = body.citations
        paths, entries = self.bibliographies.get(post.source, ((), {}))
        meta = self.names.meta_of(doc.series)
        config = self.config
        inputs: tuple = ()  # what the memo compares: worked out only for a memo that keeps what it made
        if self.memo.keeps:
            keys = {item.key for c in citations for item in c.items}
            seen = tuple(entries.get(k) for k in sorted(keys))
            everything = tuple(sorted(entries)) if None in seen else ()  # an unknown key: the suggestion reads all
            inputs = (config, post, doc, citations, paths, seen, everything, meta)
        return self.memo.reuse(
            "citations",
            post.source,
            inputs,
            lambda found: resolve_post_citations(post, doc, citations, paths, entries, config, meta, found),
            problems,
        )

    def headed(self, post: Post, problems: Problems) -> Post:
        """The post with its References section's heading in the site's language."""
        title = self.heading
        if title is None:
            return post
        return self.memo.reuse(
            "references heading", post.source, (post, title), lambda _: _headed(post, title), problems
        )

    def one_series(
        self,
        groups: SeriesGroups,
        slug: str,
        chapters: tuple[Post, ...],
        key_lines: dict[str, dict[str, int]],
        problems: Problems,
    ) -> Series:
        return make_series(self.config, slug, groups, chapters, self.selection, key_lines, problems, self.memo)

    def notes(self) -> dict[str, tuple]:
        """Each series' notation notes (series files'), by slug."""
        files = self.files
        if files.notes is None:
            files.notes = {m.slug: m.notes for m in files.metas if m.notes}
            files.where = {m.slug: (m.source, m.line_of("macros")) for m in files.metas}
        return files.notes

    def noted(
        self,
        one: Series,
        notes: dict[str, tuple],
        later_of: dict[str, list[Post]],
        doc_of: Mapping[str, Document],
        problems: Problems,
    ) -> Series:
        """Its notation page's rows: the same object while its inputs are (the dev server's rebuilds): the
        series, its notes, its chapters not out yet and its chapters' documents (whose text is searched for
        uses), never every post's: a site of many series with notes stays linear."""
        if one.slug not in notes:
            return one
        catalogue = self.catalogue
        label = out_on = None
        if catalogue is not None:  # the rows' chapter labels and dates in the site's language

            def label(post: Post) -> str:
                return catalogue.chapter_label(post.chapter)

            def out_on(post: Post) -> str:
                day = catalogue.date(post.date, str(catalogue.messages[REFERENCE_DATE_KEY]))
                return catalogue.text("notation_out_on", chapter=label(post) or post.title, date=day)  # Markup

        ahead = later_of.get(one.slug, [])
        read = tuple(doc_of[p.source] for p in one.posts)
        where = {one.slug: self.files.where[one.slug]}
        texts = {d.source: (d.body, d.body_first_line) for d in read}
        inputs = (one, notes.get(one.slug), tuple(ahead), read, self.words)
        make = lambda found: add_notation([one], notes, where, texts, found, ahead, label, out_on)[0]  # noqa: E731
        return self.memo.reuse("notation", one.slug, inputs, make, problems)

    def neighbours(self, series: Iterable[Series], into: dict[str, tuple[PostLink | None, PostLink | None]]) -> None:
        """Each chapter of `series`: the links to the chapters before and after it, into `into` by source."""
        catalogue, memo = self.catalogue, self.memo
        # "Chapter 3" once per number, not once per post and neighbour: by the number's text, which is all a
        # ChapterNumber compares and hashes by (its dataclass __eq__ and __hash__, each a call in Python)
        chapter_labels: dict[str | None, str] = {}
        links_to: dict[str, PostLink] = {}  # each chapter's link made once, not once per neighbour
        unreported = self.unreported

        def link(post: Post) -> PostLink:
            """How other chapters point at this one."""
            if (known := links_to.get(post.source)) is None:
                chapter = post.chapter
                if catalogue is None:
                    label = post.chapter_label
                else:
                    number = chapter.text if chapter is not None else None
                    label = chapter_labels.get(number)
                    if label is None:
                        label = chapter_labels[number] = catalogue.chapter_label(chapter)
                known = links_to[post.source] = memo.reuse(
                    "post link", post.source, (post, label), lambda _: PostLink(post.title, post.url, label), unreported
                )
            return known

        for one in series:
            chapters = one.posts
            for index, post in enumerate(chapters):
                into[post.source] = (
                    link(chapters[index - 1]) if index > 0 else None,
                    link(chapters[index + 1]) if index + 1 < len(chapters) else None,
                )

    def placed(self, post: Post, neighbours: tuple[PostLink | None, PostLink | None] | None) -> Post:
        """The post with its links to the chapters before and after it."""
        previous, following = neighbours or (None, None)
        if previous is None and following is None:
            return post
        return self.memo.reuse(
            "placed",
            post.source,
            (post, previous, following),
            lambda _: replaced(post, previous=previous, next=following),
            self.unreported,
        )

    def with_chapters(self, one: Series, placed: dict[str, Post]) -> Series:
        """The series with its chapters as placed."""
        chapters = tuple(placed[p.source] for p in one.posts)
        return self.memo.reuse(
            "series, placed", one.slug, (one, chapters), lambda _: replaced(one, posts=chapters), self.unreported
        )

    def with_references(self, one: Series, problems: Problems) -> Series:
        """The series with every work its chapters cite."""
        catalogue = self.catalogue
        citing = [p for p in one.posts if p.references]
        entries = tuple(self.bibliographies.get(p.source, ((), {}))[1] for p in citing)
        read = tuple(e.get(r.key) for p, e in zip(citing, entries, strict=True) for r in p.references)
        label = (lambda p: catalogue.chapter_label(p.chapter)) if catalogue is not None else None
        return self.memo.reuse(
            "volume references",
            one.slug,
            (one, read, self.words),
            lambda _: cited_volume(one, entries, label),
            problems,
        )

    def collections(self, series: list[Series], problems: Problems) -> list[Collection]:
        return assemble_collections(self.config, series, self.metas, self.series_bodies, problems, self.memo)

    def taxon(self, groups: TaxaGroups, slug: str, problems: Problems) -> Taxon:
        return make_taxon(self.config, groups, slug, tuple(groups.members[slug]), self.memo, problems)


_NO_EXTRA = Extra.of(())  # a post without `extra:` (most): the one value, made once


def _post(
    config: SiteConfig,
    doc: Document,
    body: RenderedBody,
    scheduled: bool,
    series: tuple[str | None, Macros],
    problems: Problems,
) -> Post:
    """`scheduled`: dated after the build's "now"; `series`: the slug of the post's series and the post's macros
    (seriesfile.SeriesNames, seriesfile.post_macros)."""
    slug = doc.slug or slug_from_filename(doc.source.rsplit("/", 1)[-1].removesuffix(".md"))
    path = expand_permalink(config.permalinks["post"], slug, doc.date)
    summary_html = body.first_paragraph  # or the front matter's summary, its files' URLs in (assets.AssetIndex.fill)
    # a summary without a tag (two in three) is its own text: TAG's search would find nothing in it
    summary_text = html.unescape(TAG.sub("", summary_html) if "<" in summary_html else summary_html).strip()
    return built_of(  # Post(...) without its frozen __init__ (nor a keyword call): a new process makes one per post
        Post,
        {
            "source": doc.source,
            "title": doc.title,
            "date": doc.date,
            "slug": slug,
            "url": page_url(config.base_path, path),
            "output_path": output_path(path),
            "body_html": body.html,
            "summary_html": summary_html,
            "summary_text": summary_text,
            "description": doc.description or summary_text,
            "headings": body.headings,
            # a summary from the front matter has its own math, found as the pages' math is found (mathhtml)
            "has_math": body.has_math or bool(summary_html and find_math(summary_html).elements),
            "word_count": body.word_count,
            "display_equations": body.display_equations,
            "updated": doc.updated,
            "series": series[0],
            "chapter": doc.chapter,
            "tags": distinct_tags(doc, problems),
            "category": doc.category,
            "draft": doc.draft,
            "scheduled": scheduled,
            "extra": Extra.of(doc.extra) if doc.extra else _NO_EXTRA,
            "links": body.others,
            "macros": series[1],
        },
    )


def _headed(post: Post, title: str) -> Post:
    """`post` with its References section's heading (citeformat's REFERENCES_TITLE) in the site's language."""
    body = retitle_references(post.body_html, title)
    return post if body == post.body_html else replaced(post, body_html=body)
