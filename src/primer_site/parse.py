"""A source file → Document: validated front matter (with each key's line) and the body."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from stat import S_ISREG
from typing import Any

from .config import MACROS_TEXT, parse_macros, suggest
from .errors import Problems, SiteError
from .model import ChapterNumber
from .urls import is_valid_slug, slug_from_filename, slugify
from .yamldoc import STRING, TEXT, TextShape, YamlMapping, describe, load_yaml_mapping

KNOWN_KEYS = [
    "title", "date", "summary", "series", "chapter", "tags", "category",
    "slug", "draft", "updated", "description", "extra",
]  # fmt: skip

# The keys documented as text, and the dates (checked here, not by YAML): read as written (see yamldoc).
POST_TEXT: dict[str, TextShape] = {
    "title": TEXT, "summary": TEXT, "description": TEXT, "chapter": TEXT, "tags": [TEXT], "category": TEXT,
    "series": TEXT, "slug": TEXT, "date": STRING, "updated": STRING,
}  # fmt: skip

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$")
_CHAPTER_DIGITS = 9  # per part: more is a typo, and int() refuses a string of over 4,300 digits


@dataclass(frozen=True)
class Document:
    source: str
    title: str
    date: datetime
    body: str
    body_first_line: int  # 1-based line of the body's first line in the file
    key_lines: dict[str, int]
    summary: str | None = None
    description: str | None = None
    series: str | None = None
    chapter: ChapterNumber | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None
    slug: str | None = None
    draft: bool = False
    updated: datetime | None = None
    extra: tuple[tuple[str, Any], ...] = ()

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


def read_source(source_root: Path, relative: str) -> str:
    """The file's text: UTF-8, byte-order mark dropped, line endings made "\\n"."""
    path = source_root / relative
    try:
        if not S_ISREG(path.stat().st_mode):  # reading a FIFO would wait for ever, /dev/zero never end
            raise SiteError("not a regular file (a FIFO, a device or a socket): only files are read", relative)
        raw = path.read_bytes()
    except OSError as exc:
        raise SiteError(f"cannot read file: {exc.strerror}", relative) from None
    return decode_source(raw, relative)


def decode_source(raw: bytes, relative: str) -> str:
    """A source file's bytes as text: UTF-8, byte-order mark dropped, line endings made "\\n"; SiteError at the
    line of the first byte that is not UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SiteError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})", relative, line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, path: str) -> tuple[str, str, int]:
    """(front matter YAML, body, body's first line); the YAML starts on line 2."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]) or lines[0].startswith("..."):
        raise SiteError("missing front matter: the file must start with a '---' line", path, 1)
    for index in range(1, len(lines)):
        if _FENCE.match(lines[index]):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise SiteError("front matter is not closed: add a '---' line after it", path, 1)


def parse_document(
    source_root: Path, relative: str, zone: tzinfo, problems: Problems, raw: bytes | None = None
) -> Document | None:
    """Read and validate one post; problems are added to `problems` (None when it cannot be used). `raw`: the
    file's bytes, already read (by a caller that digests what it parses), else the file is read here."""
    try:
        text = read_source(source_root, relative) if raw is None else decode_source(raw, relative)
        yaml_text, body, body_line = split_front_matter(text, relative)
        mapping = load_yaml_mapping(yaml_text, relative, first_line=2, text_shape=POST_TEXT)
    except SiteError as error:
        problems.absorb(error)
        return None
    return document_from_mapping(relative, mapping, body, body_line, zone, problems)


def document_from_mapping(
    path: str, mapping: YamlMapping, body: str, body_line: int, zone: tzinfo, problems: Problems
) -> Document | None:
    data = mapping.data
    errors_before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", path, mapping.line_of(key))

    for key in data:
        if key not in KNOWN_KEYS:
            problems.warning(f"unknown key {key!r}{suggest(key, KNOWN_KEYS)}", path, mapping.line_of(key))

    title = _text(data, "title", bad, required=True)
    when = _when(data, "date", zone, bad, required=True)
    updated = _when(data, "updated", zone, bad)
    series = _text(data, "series", bad)
    if series is not None and not slugify(series):
        bad("series", f"{_short(series)} has no letters or digits to make a URL from")
    chapter = None
    if "chapter" in data:
        chapter = ChapterNumber.parse(data["chapter"])
        if chapter is not None and any(len(part) > _CHAPTER_DIGITS for part in chapter.text.split(".")):
            chapter = None
        if chapter is None and data["chapter"] is None:
            bad("chapter", 'empty: give the chapter number (like 3, or "1.3")')
        elif chapter is None:
            bad("chapter", f'{describe(data["chapter"])} is not a chapter number (like 3, or "1.3")')
        elif not series:
            bad("chapter", "a chapter needs a series: add 'series:'")
    elif series:
        problems.error("series: a post in a series must have a 'chapter:'", path, mapping.line_of("series"))
    slug = _text(data, "slug", bad)
    if slug is not None and not is_valid_slug(slug):
        hint = slugify(slug)
        bad(
            "slug",
            f"{slug!r} is not a valid slug (letters, digits, '-', '_', '.')" + (f"; try {hint!r}" if hint else ""),
        )
    elif slug is None and not slug_from_filename(path.rsplit("/", 1)[-1].removesuffix(".md")):
        bad("slug", "the file name has no letters or digits to make a URL from: add a 'slug:'")
    tags = _tags(data, bad)
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        bad("draft", f"expected true or false, got {describe(draft)}")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        bad("extra", "expected a mapping of your own keys")
        extra = {}
    summary = _text(data, "summary", bad)
    description = _text(data, "description", bad)
    category = _text(data, "category", bad)
    if category is not None and not slugify(category):
        bad("category", f"{_short(category)} has no letters or digits to make a URL from")
    if len(problems.errors) > errors_before or title is None or when is None:
        return None
    return Document(
        source=path,
        title=title,
        date=when,
        body=body,
        body_first_line=body_line,
        key_lines=mapping.key_lines,
        summary=summary,
        description=description,
        series=series,
        chapter=chapter,
        tags=tags,
        category=category,
        slug=slug,
        draft=bool(draft),
        updated=updated,
        extra=tuple(sorted(((str(k), v) for k, v in extra.items()), key=lambda item: item[0])),
    )


def _text(data: dict[str, Any], key: str, bad: Any, required: bool = False) -> str | None:
    """A key read as text (the loader gave it as written); None when absent or empty."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required")
        return None
    value = data[key]
    if not isinstance(value, str):
        bad(key, f"expected text, got {type(value).__name__} {_short(value)}")
        return None
    text = value.strip()
    if control := _CONTROL.search(text):
        bad(key, f"contains the control character U+{ord(control.group()):04X}; remove it")
        return None
    if not text:
        if required:
            bad(key, "must not be empty")
        return None
    return text


def _when(data: dict[str, Any], key: str, zone: tzinfo, bad: Any, required: bool = False) -> datetime | None:
    """A date or datetime key; one without an offset is in `zone`."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required (a date such as 2026-03-02)")
        return None
    value = data[key]
    if not isinstance(value, str):  # the loader reads dates as written: a list or a mapping is left
        bad(key, f"{_short(value)} is not a date (expected {_DATE_FORMS})")
        return None
    try:
        when = parse_date_text(value.strip())
    except ValueError as error:
        bad(key, f"{_short(value)} is not a date: {error}")
        return None
    try:
        return when if when.tzinfo else in_zone(when, zone, date_only=_DAY.fullmatch(value.strip()) is not None)
    except ValueError as error:
        bad(key, str(error))
        return None


_DAY = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def in_zone(local: datetime, zone: tzinfo, date_only: bool = False) -> datetime:
    """A naive local date-time read in `zone` (a front-matter date without a UTC offset).

    A wall time the zone skips (clocks put forward) or shows twice (clocks put back) raises ValueError naming the
    offsets to write, rather than a guess. A date without a time is that day's first instant: midnight, the
    earlier midnight where it comes twice, and the moment the clocks jump where midnight is skipped (Chile and
    Cuba put them forward at 00:00). Gaps and folds as PEP 495 defines them (`fold`).
    """
    early, late = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    skipped = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local
    if date_only:
        return _first_instant(local, zone) if skipped else early
    if skipped:
        after = early.astimezone(UTC).astimezone(zone)
        raise ValueError(
            f"{local.isoformat()} does not exist in {zone} (the clocks are put forward that day, from UTC"
            f"{_offset(early)} to UTC{_offset(late)}): write the time with its UTC offset, "
            f"such as {after.isoformat()}"
        )
    raise ValueError(
        f"{local.isoformat()} comes twice in {zone} (the clocks are put back that day): write it with its UTC "
        f"offset, {early.isoformat()} for the first or {late.isoformat()} for the second"
    )


def _offset(moment: datetime) -> str:
    return moment.isoformat()[-6:]


def _first_instant(day: datetime, zone: tzinfo) -> datetime:
    """The first instant of a day whose midnight `zone` skips: the moment its clocks jump (to the second)."""
    low = day.replace(tzinfo=zone, fold=1).astimezone(UTC)  # still the day before
    high = day.replace(tzinfo=zone, fold=0).astimezone(UTC)  # already that day
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        if middle.astimezone(zone).date() < day.date():
            low = middle
        else:
            high = middle
    return high.astimezone(zone)


_DATE_FORMS = "YYYY-MM-DD or an ISO datetime such as 2026-03-12T09:00:00+01:00"
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:(?:[Tt]|[ \t]+)(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?[ \t]*(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?)?"
)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(.*)", re.DOTALL)
# After the date: T (or spaces, as YAML's timestamp allows), hh:mm, :ss and a fraction, an offset (Z, +hh:mm, +hhmm).
_TIME = re.compile(
    r"(?:[Tt]|[ \t]+)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?[ \t]*(?:([Zz])|([+-])(\d{1,2})(?::?(\d\d))?)?"
)


def parse_date_text(text: str) -> datetime:
    """A date or datetime in ISO 8601's extended form, as RFC 3339 writes it, with YAML's timestamp leniencies (a
    space for the T, a space before the offset) and seconds optional; naive when it has no offset.

    Raises ValueError saying what is wrong: "February has no day 30", "there is no hour 25", "+01:60 is not a UTC
    offset" (which datetime.fromisoformat and PyYAML's timestamp both read as +02:00).
    """
    if fast := _RFC3339.fullmatch(text):  # the usual spellings, all fields two digits: no explaining needed
        year, month, day, hour, minute, second, fraction, utc, sign, offset_hours, offset_minutes = fast.groups()
        zone = UTC if utc else None
        if sign and int(offset_hours) < 24 and int(offset_minutes or 0) < 60:
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes or 0))
            zone = timezone(-offset if sign == "-" else offset)
        if (zone is not None or not sign) and int(hour or 0) < 24 and int(minute or 0) < 60 and int(second or 0) < 60:
            with suppress(ValueError):  # a day the month lacks: explained below
                return datetime(
                    int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                    int((fraction or "")[1:7].ljust(6, "0")), tzinfo=zone,
                )  # fmt: skip
    return explain_date_text(text)


def explain_date_text(text: str) -> datetime:
    """parse_date_text, field by field: slower, and raises ValueError saying what is wrong."""
    parts = _DATE.fullmatch(text)
    if not parts:
        raise ValueError(f"expected {_DATE_FORMS}")
    year, month, day = int(parts.group(1)), int(parts.group(2)), int(parts.group(3))
    try:
        midnight = datetime(year, month, day)
    except ValueError:
        raise ValueError(_calendar_problem(year, month, day, parts.group(2), parts.group(3))) from None
    if len(parts.group(2)) < 2 or len(parts.group(3)) < 2:
        raise ValueError(f"write the month and the day with two digits: {year:04d}-{month:02d}-{day:02d}")
    if not parts.group(4):
        return midnight
    time_of_day = _TIME.fullmatch(parts.group(4))
    if not time_of_day:
        raise ValueError(f"{parts.group(4).strip()!r} after the date is not a time (expected {_DATE_FORMS})")
    written = [part for part in time_of_day.group(1, 2, 3) if part is not None]
    for name, part, top in zip(("hour", "minute", "second"), written, (23, 59, 59), strict=False):
        if int(part) > top:
            raise ValueError(f"there is no {name} {part} (from 00 to {top})")
    if any(len(part) < 2 for part in written):
        raise ValueError(
            "write hours, minutes and seconds with two digits: " + ":".join(f"{int(p):02d}" for p in written)
        )
    hour, minute, second = (int(p) for p in [*written, "0"][:3])
    fraction = int(((time_of_day.group(4) or ".")[1:] + "000000")[:6])
    zone = UTC if time_of_day.group(5) else None
    if sign := time_of_day.group(6):
        offset = f"{sign}{time_of_day.group(7)}" + (f":{time_of_day.group(8)}" if time_of_day.group(8) else "")
        hours, minutes = int(time_of_day.group(7)), int(time_of_day.group(8) or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"{offset} is not a UTC offset (they go from -23:59 to +23:59)")
        if len(time_of_day.group(7)) < 2:
            raise ValueError(f"write the offset's hours with two digits: {sign}{hours:02d}:{minutes:02d}")
        zone = timezone((-1 if sign == "-" else 1) * timedelta(hours=hours, minutes=minutes))
    return datetime(year, month, day, hour, minute, second, fraction, tzinfo=zone)


def _calendar_problem(year: int, month: int, day: int, month_text: str, day_text: str) -> str:
    if year < 1:
        return "there is no year 0000 (years go from 0001 to 9999)"
    if not 1 <= month <= 12:
        return f"there is no month {month_text}"
    if (month, day) == (2, 29):
        return f"February {year} has no day 29 ({year} is not a leap year)"
    return f"{calendar.month_name[month]} has no day {day_text}"


def _tags(data: dict[str, Any], bad: Any) -> tuple[str, ...]:
    value = data.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        bad("tags", f"expected a list of tags, got {_short(value)}")
        return ()
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            bad("tags", f"{_short(item)} is not a tag (tags are words or short phrases)")
        elif not slugify(item):
            bad("tags", f"{_short(item)} has no letters or digits to make a URL from")
        elif item.strip() not in tags:
            tags.append(item.strip())
    return tuple(tags)


def _short(value: object) -> str:
    text = f'"{value[:60]}"' if isinstance(value, str) else describe(value)
    return text if len(text) <= 60 else text[:57] + "…"


SERIES_KEYS = ["title", "kind", "collection", "order", "chapters", "gaps", "macros", "number_sections"]
SERIES_TEXT: dict[str, TextShape] = {"title": TEXT, "kind": TEXT, "collection": TEXT, "macros": MACROS_TEXT}


@dataclass(frozen=True)
class SeriesMeta:
    """series/<slug>.md: a series' (or a collection's) metadata; the body is its description."""

    source: str
    slug: str
    title: str
    kind: str  # "series" or "collection"
    collection: str | None
    order: int
    planned_chapters: int | None
    gaps: tuple[int, ...]
    body: str
    body_first_line: int
    key_lines: dict[str, int]
    macros: tuple[tuple[str, str], ...] = ()  # TeX macros for its pages, over the site's
    number_sections: bool = False  # number h2/h3 headings after the chapter: "10.2 Reward modelling"

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)


def series_finder(metas: Sequence[SeriesMeta]) -> Callable[[str | None], SeriesMeta | None]:
    """Finds the series file a post's `series:` names: by slug, by title, or by the title's slug."""
    series = [m for m in metas if m.kind == "series"]
    by_slug = {m.slug: m for m in series}
    by_title = {m.title: m for m in reversed(series)}

    def find(name: str | None) -> SeriesMeta | None:
        if not name:
            return None
        return by_slug.get(name) or by_title.get(name) or by_slug.get(slugify(name))

    return find


def parse_series_file(source_root: Path, relative: str, problems: Problems) -> SeriesMeta | None:
    try:
        text = read_source(source_root, relative)
        yaml_text, body, body_line = split_front_matter(text, relative)
        mapping = load_yaml_mapping(yaml_text, relative, first_line=2, text_shape=SERIES_TEXT)
    except SiteError as error:
        problems.absorb(error)
        return None
    data = mapping.data
    errors_before = len(problems.errors)

    def bad(key: str, message: str) -> None:
        problems.error(f"{key}: {message}", relative, mapping.line_of(key))

    for key in data:
        if key not in SERIES_KEYS:
            problems.warning(f"unknown key {key!r}{suggest(key, SERIES_KEYS)}", relative, mapping.line_of(key))
    title = _text(data, "title", bad, required=True)
    kind = data.get("kind", "series")
    if kind not in ("series", "collection"):
        bad("kind", f"{_short(kind)} must be 'series' or 'collection'")
    collection = _text(data, "collection", bad)
    order = data.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        bad("order", f"expected a whole number, got {_short(order)}")
    planned = data.get("chapters")
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or planned < 1):
        bad("chapters", f"expected the number of planned chapters, got {_short(planned)}")
    gaps = data.get("gaps", [])
    if not isinstance(gaps, list) or not all(isinstance(g, int) and not isinstance(g, bool) for g in gaps):
        bad("gaps", f"expected a list of chapter numbers left out on purpose, got {_short(gaps)}")
        gaps = []
    macros = parse_macros(data["macros"], lambda m: bad("macros", m)) if "macros" in data else ()
    number_sections = data.get("number_sections", False)
    if not isinstance(number_sections, bool):
        bad("number_sections", f"expected true or false, got {_short(number_sections)}")
    stem = Path(relative).stem
    slug = slugify(stem)
    if slug != stem:
        problems.error(f"series file names are their slugs: rename to {slug}.md", relative, 1)
    if len(problems.errors) > errors_before or title is None:
        return None
    return SeriesMeta(
        source=relative,
        slug=slug,
        title=title,
        kind=str(kind),
        collection=slugify(collection) if collection else None,
        order=int(order),
        planned_chapters=planned,
        gaps=tuple(gaps),
        body=body,
        body_first_line=body_line,
        key_lines=mapping.key_lines,
        macros=macros,
        number_sections=bool(number_sections),
    )
