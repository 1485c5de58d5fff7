"""The site as plain immutable data: what the pipeline builds and templates read."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, total_ordering

_CHAPTER = re.compile(r"\d+(\.\d+)*")
WORDS_PER_MINUTE = 220
DISPLAY_EQUATION_SECONDS = 10  # reading time per display equation, whatever the length of its TeX


@total_ordering
@dataclass(frozen=True)
class ChapterNumber:
    """A chapter or dotted section number ("4", "1.3", "3.0") that sorts naturally."""

    text: str

    @cached_property
    def parts(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.text.split("."))

    @classmethod
    def parse(cls, value: object) -> ChapterNumber | None:
        """None when `value` is not a chapter number."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int) and value >= 0:
            return cls(str(value))
        if isinstance(value, float):
            # YAML reads 1.3 unquoted as a float; its repr is the text the author wrote
            value = repr(value)
        if isinstance(value, str) and _CHAPTER.fullmatch(value.strip()):
            return cls(value.strip())
        return None

    @cached_property
    def order(self) -> tuple[tuple[int, ...], str]:
        """Where it sorts: by its numbers, then its text ("1.10" after "1.9"; "02" beside "2"). Equal numbers are
        those of equal text (the dataclass's __eq__ and __hash__)."""
        return (self.parts, self.text)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ChapterNumber):
            return NotImplemented
        return self.order < other.order

    @property
    def is_introduction(self) -> bool:
        return self.parts == (0,)

    @property
    def is_section(self) -> bool:
        """A dotted number such as 1.3: a section of a book rather than a chapter."""
        return len(self.parts) > 1

    @property
    def label(self) -> str:
        if self.is_introduction:
            return "Introduction"
        return f"Section {self.text}" if self.is_section else f"Chapter {self.text}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, repr=False)
class Extra(Mapping):
    """A post's `extra:`, free data for templates: a read-only mapping (`post.extra.venue`, `post.extra["venue"]`),
    its mappings Extra too and its lists tuples, so that no template can change what another page reads. A
    dataclass, so that a page's read of it is fingerprinted by value (dependencies.fingerprint)."""

    pairs: tuple[tuple[str, object], ...] = ()  # sorted by key

    @classmethod
    def of(cls, value: Mapping | tuple[tuple[str, object], ...]) -> Extra:
        pairs = value.items() if isinstance(value, Mapping) else value
        return cls(tuple(sorted(((str(k), _frozen(v)) for k, v in pairs), key=lambda pair: pair[0])))

    def __getitem__(self, key: str) -> object:
        for name, value in self.pairs:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:  # as a dict shows, for `{{ post.extra }}` while writing a template
        return "{" + ", ".join(f"{name!r}: {value!r}" for name, value in self.pairs) + "}"


def _frozen(value: object) -> object:
    if isinstance(value, Mapping):
        return Extra.of(value)
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


@dataclass(frozen=True)
class Heading:
    """A heading of a post's body: its level, its id and its text, for the table of contents."""

    level: int
    id: str
    text: str
    html: str


@dataclass(frozen=True)
class Link:
    """A link or image in a post's Markdown, and the line that holds it."""

    href: str
    line: int


@dataclass(frozen=True)
class PostLink:
    """How one post points at another (previous/next, listings of scheduled chapters)."""

    title: str
    url: str
    label: str


@dataclass(frozen=True)
class Reference:
    """One work in a References list: its BibTeX key, the id citations link to, its number in a numeric style
    ("[3]", else ""), and the entry as HTML (escaped, math as math elements)."""

    key: str
    id: str
    label: str
    html: str


@dataclass(frozen=True)
class VolumeReference:
    """One work on a volume's references page, and the chapters that cite it (in chapter order)."""

    reference: Reference
    citing: tuple[PostLink, ...]


@dataclass(frozen=True)
class Post:
    """A post: its front matter, its rendered body, and what assembly gave it (its series, links, numbers)."""

    source: str
    title: str
    date: datetime
    slug: str
    url: str
    output_path: str
    body_html: str
    summary_html: str
    summary_text: str
    description: str
    headings: tuple[Heading, ...]
    has_math: bool
    word_count: int
    display_equations: int = 0
    updated: datetime | None = None
    series: str | None = None  # the slug of its series (seriesfile.SeriesNames: the one rule for what `series:` names)
    chapter: ChapterNumber | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None
    draft: bool = False
    scheduled: bool = False
    extra: Extra = Extra()
    previous: PostLink | None = None
    next: PostLink | None = None
    links: tuple[Link, ...] = ()
    macros: tuple[tuple[str, str], ...] = ()  # TeX macros of its page, feeds and check (seriesfile.post_macros)
    references: tuple[Reference, ...] = ()  # the works it cites (also listed at the end of body_html)
    authors: tuple[str, ...] = ()  # for "cite this chapter": the post's, else its series', else the site's
    doi: str | None = None
    bibtex: str = ""  # a BibTeX entry citing this post (cite.bib beside its page); "" without authors
    previews_html: str = ""  # <template> of what its references to other posts show on hover (previews.py)

    @property
    def reading_minutes(self) -> int:
        seconds = self.word_count * 60 / WORDS_PER_MINUTE + self.display_equations * DISPLAY_EQUATION_SECONDS
        return max(1, round(seconds / 60))

    @property
    def cite_bib_path(self) -> str:
        """Where its BibTeX entry is published, beside its page: "posts/x/cite.bib" (or "posts/x.cite.bib")."""
        if self.output_path.endswith("index.html"):
            return self.output_path.removesuffix("index.html") + "cite.bib"
        return self.output_path.rsplit(".", 1)[0] + ".cite.bib"

    @cached_property
    def chapter_label(self) -> str:
        if self.chapter is None:
            return ""
        return self.chapter.label


@dataclass(frozen=True)
class ScheduledChapter:
    """A future chapter shown on its series page without a link: the author's schedule."""

    chapter: ChapterNumber
    title: str
    date: datetime
    macros: tuple[tuple[str, str], ...] = ()  # the post's (Post.macros), for the math in its title


BOOK_FORMS = ("epub", "pdf")  # `books:` in site.yaml or a series file: the forms a volume is written in whole


@dataclass(frozen=True)
class Books:
    """Which whole-volume files a series is written as, besides its print page (sharedkeys.parse_books reads it)."""

    epub: bool = False  # /series/<slug>/<slug>.epub (epub.py)
    pdf: bool = False  # /series/<slug>/<slug>.pdf

    def over(self, settings: tuple[tuple[str, bool], ...]) -> Books:
        """These forms with `settings` (a series file's `books:`, key by key) over them."""
        return Books(**{**{form: getattr(self, form) for form in BOOK_FORMS}, **dict(settings)})


@dataclass(frozen=True)
class Series:
    """A series: its settings from its file, and its posts in chapter order."""

    slug: str
    title: str
    url: str
    description_html: str
    source: str | None
    collection: str | None
    order: int
    planned_chapters: int | None
    posts: tuple[Post, ...] = ()
    gaps: tuple[int, ...] = ()  # chapter numbers the author skips on purpose
    macros: tuple[tuple[str, str], ...] = ()  # TeX macros for KaTeX on its pages: the site's, then its own
    scheduled: tuple[ScheduledChapter, ...] = ()
    references: tuple[VolumeReference, ...] = ()  # every work its published chapters cite
    books: Books = Books()  # the forms it is written in whole: the site's `books:`, its series file's over them

    @property
    def cited_count(self) -> int:
        """How many works its chapters cite: a page showing the count is not made again when an entry's text
        changes."""
        return len(self.references)

    @property
    def references_url(self) -> str:
        return self.url + "references/"

    notation: tuple[object, ...] = ()  # notation.NotationEntry: the rows of its notation page (none: no page)

    @property
    def print_url(self) -> str:
        """The whole volume on one page (its published chapters), to read offline or print."""
        return self.url + "print/"

    def book_url(self, form: str) -> str:
        """Where the volume is published in `form` (one of BOOK_FORMS), beside its page: "/series/vol/vol.epub"."""
        return f"{self.url}{self.slug}.{form}"

    @cached_property
    def published_count(self) -> int:
        """Chapters published: whole numbers from 1 (an introduction, 0, and sections such as 1.3 are not chapters)."""
        return sum(1 for p in self.posts if not p.chapter or not (p.chapter.is_introduction or p.chapter.is_section))

    @cached_property
    def total_count(self) -> int:
        scheduled = sum(1 for s in self.scheduled if not (s.chapter.is_introduction or s.chapter.is_section))
        return max(self.planned_chapters or 0, self.published_count + scheduled)


@dataclass(frozen=True)
class Collection:
    """A collection of series, with its own page listing them."""

    slug: str
    title: str
    url: str
    description_html: str
    source: str | None
    series: tuple[Series, ...] = ()


@dataclass(frozen=True)
class Taxon:
    """A tag or a category: a name and the posts carrying it, newest first."""

    name: str
    slug: str
    url: str
    posts: tuple[Post, ...] = ()


@dataclass(frozen=True)
class Site:
    """The whole site as the templates see it: its published posts, series, collections, tags and categories."""

    posts: tuple[Post, ...]  # published, newest first
    series: tuple[Series, ...]
    collections: tuple[Collection, ...]
    tags: tuple[Taxon, ...]
    categories: tuple[Taxon, ...]
    warnings: tuple[object, ...] = field(default=())

    def series_wanting(self, form: str) -> tuple[Series, ...]:
        """The series written whole in `form` ("epub" or "pdf", BOOK_FORMS): `books: {form: true}` in site.yaml or
        in its series file, and at least one published chapter (the schedule, drafts and --future applied)."""
        if form not in BOOK_FORMS:
            raise ValueError(f"unknown book form {form!r}: one of {', '.join(BOOK_FORMS)}")
        return tuple(one for one in self.series if one.posts and getattr(one.books, form))


@dataclass(frozen=True)
class Output:
    """One file the build writes: its path relative to the output folder, and its bytes."""

    path: str
    data: bytes
    digest: bytes | None = None  # of `data` (blake2b, 16 bytes), when the maker worked it out already


@dataclass(frozen=True)
class Unchanged:
    """An output the build did not make again: the file the last build wrote at `path` is still right."""

    path: str
    digest: bytes  # of its bytes, as the last build made them
