"""The site as plain immutable data: what the pipeline builds and templates read."""

from __future__ import annotations

import re
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

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ChapterNumber):
            return NotImplemented
        return (self.parts, self.text) < (other.parts, other.text)

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


@dataclass(frozen=True)
class Heading:
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
class Post:
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
    series: str | None = None
    chapter: ChapterNumber | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None
    draft: bool = False
    scheduled: bool = False
    extra: tuple[tuple[str, object], ...] = ()
    previous: PostLink | None = None
    next: PostLink | None = None
    links: tuple[Link, ...] = ()
    previews_html: str = ""  # <template> of what its references to other posts show on hover (previews.py)

    @property
    def reading_minutes(self) -> int:
        seconds = self.word_count * 60 / WORDS_PER_MINUTE + self.display_equations * DISPLAY_EQUATION_SECONDS
        return max(1, round(seconds / 60))

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


@dataclass(frozen=True)
class Series:
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
    notation: tuple[object, ...] = ()  # notation.NotationEntry: the rows of its notation page (none: no page)

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
    posts: tuple[Post, ...]  # published, newest first
    series: tuple[Series, ...]
    collections: tuple[Collection, ...]
    tags: tuple[Taxon, ...]
    categories: tuple[Taxon, ...]
    warnings: tuple[object, ...] = field(default=())


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
