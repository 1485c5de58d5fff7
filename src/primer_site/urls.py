"""Slugs, and the rules between a page's URL and its output path (pure functions)."""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

_NOT_WORD = re.compile(r"[\W_]+")  # "_" too: "a:_b" is "a-b", not "a--b"
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}[-_]")
_SLUG = re.compile(r"[\w][\w.-]*")


@lru_cache(maxsize=65536)
def slugify(text: str) -> str:
    """Lowercase words joined by "-"; accents dropped (Café → cafe), other scripts kept."""
    if text.isascii():  # NFKD and NFC leave ASCII as it is, and no ASCII character is combining
        return _NOT_WORD.sub("-", text.lower()).strip("-")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub("-", unicodedata.normalize("NFC", stripped).lower()).strip("-")


# Symbols that tell tags apart, spelt as words before slugifying: C++, C# and C are three languages, which a slug
# that drops symbols makes one page (Pelican's, getpelican/pelican#2658). GitHub's topic for C++ is c-plus-plus
# and Wikipedia writes C# as "C Sharp"; Q&A is q-and-a. Other symbols only separate words, as in any slug.
_TAXON_SYMBOLS = re.compile(r"[+#&@]")
_TAXON_WORDS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}


@lru_cache(maxsize=65536)
def taxon_slug(name: str) -> str:
    """The slug of a tag or category: `slugify` with + # & @ spelt as words, so that "C++" is "c-plus-plus", "C#"
    "c-sharp", "R&D" "r-and-d", and "C" stays "c"; "Café" and "cafe" are still one."""
    return slugify(_TAXON_SYMBOLS.sub(lambda m: _TAXON_WORDS[m.group()], name))


@lru_cache(maxsize=65536)
def collision_key(path: str) -> str:
    """Paths equal under this key collide on case-insensitive or normalising hosts (Café, cafe, CAFE)."""
    if path.isascii():  # as slugify: NFKD leaves ASCII as it is
        return path.casefold()
    decomposed = unicodedata.normalize("NFKD", path)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def slug_from_filename(stem: str) -> str:
    """A post's default slug: its file name without a leading YYYY-MM-DD- date."""
    # a name that starts with no digit has no date to drop (isdigit holds for every digit \d matches, and more)
    return slugify(_DATE_PREFIX.sub("", stem) if stem[:1].isdigit() else stem)


def is_valid_slug(slug: str) -> bool:
    """Safe as one path segment: word characters, "." and "-", not starting with a dot."""
    return bool(_SLUG.fullmatch(slug)) and ".." not in slug


@lru_cache(maxsize=64)
def permalink_fields(pattern: str) -> tuple[tuple[str, str, str | None], ...]:
    """The replacement fields of a permalink pattern, as (name, format spec, conversion), in order: str.format's
    own reading of it (string.Formatter.parse; "{{" is a literal brace). ValueError for a pattern it cannot read."""
    return tuple(
        (name, spec or "", conversion)
        for _, name, spec, conversion in string.Formatter().parse(pattern)
        if name is not None
    )


_DATE_PARTS = frozenset({"year", "month", "day"})


def expand_permalink(pattern: str, slug: str, date: datetime | None = None) -> str:
    """The site-relative URL path (starting with "/") for a page of this kind."""
    if date is None or _DATE_PARTS.isdisjoint(name for name, _, _ in permalink_fields(pattern)):
        # the date's parts are spelt out only for a pattern that names one (not the default /posts/{slug}/)
        return pattern.format_map({"slug": slug})
    return pattern.format_map(
        {"slug": slug, "year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}"}
    )


def output_path(url_path: str) -> str:
    """Where a URL path is written: "/posts/x/" → "posts/x/index.html"."""
    relative = url_path.lstrip("/")
    if not relative or relative.endswith("/"):
        relative += "index.html"
    return relative


def page_url(base_path: str, url_path: str) -> str:
    """A site-relative URL path under the site's base path, percent-encoded for href."""
    path = base_path.rstrip("/") + url_path
    if _URL_SAFE.fullmatch(path):  # what quote() would give back as it is (a new process asks for every post)
        return path
    return quote(path, safe=_SAFE)


_SAFE = "/#%:@!$&'()*+,;=~.-_"  # quote()'s `safe`: besides these, letters and digits are left as they are
_URL_SAFE = re.compile(f"[A-Za-z0-9{re.escape(_SAFE)}]*")  # the same set: one home for it


def paginated_path(first: str, page: int) -> str:
    """The URL path of page `page` (1-based) of a listing whose first page is `first`."""
    return first if page == 1 else f"{first}page/{page}/"


def is_inside(relative: str) -> bool:
    """True when a relative output path cannot climb out of the output folder."""
    parts = relative.replace("\\", "/").split("/")
    return not relative.startswith("/") and ".." not in parts and "" not in parts[:-1]
