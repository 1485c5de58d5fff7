"""A parsed post's and a series file's row in the document cache (documentcache.py): the parse's result and
problems as a sealed cell of plain tuples (diskstore.sealed: marshal's bytes behind their digest), and back. Dates
keep their time zone (a zone's key, a fixed offset with or without its name, or none); `extra`'s YAML values keep
their types (floats, dates, lists, mappings told apart)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from primer_site.diskstore import DAMAGED, sealed, unsealed
from primer_site.errors import Diagnostic, Problems
from primer_site.frozen import maker
from primer_site.model import ChapterNumber
from primer_site.sources.parse import Document
from primer_site.sources.seriesfile import SeriesMeta
from primer_site.syntax.inline import remember_inline, render_inline

Entry = tuple[str, str, bytes, "str | None"]  # a row: (stamp, digest, meta, body)
UNUSABLE = object()  # what a decoder gives for a row that is not exactly what its encoder wrote


def encode_post(
    parsed: tuple[Document, str] | None, diagnostics: Sequence[Diagnostic]
) -> tuple[bytes, str | None] | None:
    """The post and its body's digest as a sealed cell of plain tuples (diskstore.sealed; its body apart), or None
    if a value in `extra` has no plain form (it is parsed again)."""
    found = tuple((d.path, d.line, d.column, d.severity, d.message) for d in diagnostics)
    if parsed is None:
        return sealed((found,)), None
    document, digest = parsed
    try:
        extra = tuple((key, _value(value)) for key, value in document.extra)
    except TypeError:
        return None
    summary = None
    if document.summary:  # its HTML too: rendering 5,000 summaries costs more than parsing their front matter
        html, block = render_inline(document.summary, raw_html=False)
        summary = (str(html), bool(block))
    meta = (
        found,
        document.title,
        _moment(document.date),
        document.body_first_line,
        dict(document.key_lines),
        document.summary,
        summary,
        document.description,
        document.series,
        document.chapter.text if document.chapter else None,
        tuple(document.tags),
        document.category,
        document.slug,
        bool(document.draft),
        _moment(document.updated) if document.updated else None,
        extra,
        tuple((str(name), str(tex)) for name, tex in document.macros),
        tuple(document.bibliography),
        tuple(document.authors),
        document.doi,
        digest,
    )
    try:
        return sealed(meta), document.body
    except ValueError:  # a value marshal cannot hold (a str subclass from YAML, say): parsed again next time
        return None


_DOCUMENT = maker(Document)


def decode_post(entry: Entry, source: str, problems: Problems) -> tuple[Document, str] | object | None:
    """The post an entry holds and its body's digest (bodycache.body_digest), or None for a file that did not
    parse, its problems added; UNUSABLE if damaged. The cell's digest vouches for its types: each field is taken
    as stored."""
    meta = unsealed(entry[2])
    if meta is DAMAGED or not isinstance(meta, tuple) or not meta or not isinstance(meta[0], tuple):
        return UNUSABLE  # damaged, or a series file's row
    try:
        diagnostics = [Diagnostic(*d) for d in meta[0]]
        if len(meta) == 1:
            problems.extend(diagnostics)
            return None
        (
            _,
            title,
            moment,
            first_line,
            key_lines,
            summary,
            summary_html,
            description,
            series,
            chapter,
            tags,
            category,
            slug,
            draft,
            updated,
            extra,
            macros,
            bibliography,
            authors,
            doi,
            digest,
        ) = meta
        if not isinstance(entry[3], str):
            return UNUSABLE
        if summary_html is not None:
            remember_inline(summary, False, summary_html)
        document = _DOCUMENT(
            source,
            title,
            _unmoment(moment),
            entry[3],
            first_line,
            key_lines,
            summary,
            description,
            series,
            ChapterNumber(chapter) if chapter is not None else None,
            tags,
            category,
            slug,
            draft,
            _unmoment(updated) if updated is not None else None,
            tuple((key, _unvalue(value)) for key, value in extra) if extra else (),
            macros,
            bibliography,
            authors,
            doi,
        )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return UNUSABLE
    problems.extend(diagnostics)
    return document, digest


def encode_series(meta: SeriesMeta | None, diagnostics: Sequence[Diagnostic]) -> tuple[bytes, None] | None:
    """A series file as a sealed cell of plain tuples (its body within), or None if its `theorems:` has a value
    with no plain form (it is parsed again)."""
    found = tuple((d.path, d.line, d.column, d.severity, d.message) for d in diagnostics)
    if meta is None:
        return sealed(("series", found)), None
    try:
        theorems = _value(meta.theorems) if meta.theorems is not None else None
        fields = (
            meta.source,
            meta.slug,
            meta.title,
            meta.kind,
            meta.collection,
            int(meta.order),
            meta.planned_chapters,
            tuple(meta.gaps),
            meta.body,
            int(meta.body_first_line),
            dict(meta.key_lines),
            tuple(map(tuple, meta.macros)),
            bool(meta.number_sections),
            theorems,
            tuple(meta.bibliography),
            tuple(meta.authors),
            tuple(map(tuple, meta.notes)),
            tuple(map(tuple, meta.books)),
        )
        return sealed(("series", found, fields)), None
    except (TypeError, ValueError):  # no plain form (a value marshal cannot hold): parsed each time
        return None


_SERIES = maker(SeriesMeta)


def decode_series(entry: Entry, source: str, problems: Problems) -> SeriesMeta | object | None:
    """The series file an entry holds (None for one that did not parse), its problems added; UNUSABLE if damaged."""
    meta = unsealed(entry[2])
    if meta is DAMAGED or not isinstance(meta, tuple) or not meta or meta[0] != "series":
        return UNUSABLE
    try:
        diagnostics = [Diagnostic(*d) for d in meta[1]]
        if len(meta) == 2:
            problems.extend(diagnostics)
            return None
        fields = list(meta[2])
        if fields[0] != source:
            return UNUSABLE
        if fields[13] is not None:
            fields[13] = _unvalue(fields[13])
        found = _SERIES(*fields)
    except (ValueError, TypeError, KeyError, IndexError):
        return UNUSABLE
    problems.extend(diagnostics)
    return found


def _moment(value: datetime) -> list[Any]:
    return [value.replace(tzinfo=None).isoformat(), *_zone(value.tzinfo)]


def _zone(zone: tzinfo | None) -> list[Any]:
    if isinstance(zone, ZoneInfo):
        return ["zone", zone.key]
    if isinstance(zone, timezone):
        offset = zone.utcoffset(None)
        named = repr(zone) != repr(timezone(offset))  # a name given, not the one made from the offset
        return ["offset", offset.total_seconds(), zone.tzname(None) if named else None]
    if zone is None:
        return ["naive"]
    raise TypeError(f"time zone {zone!r}")


def _unmoment(data: list[Any]) -> datetime:
    naive = datetime.fromisoformat(str(data[0]))
    kind = data[1]
    if kind == "zone":
        return naive.replace(tzinfo=_zone_named(str(data[2])))
    if kind == "offset":
        offset = timedelta(seconds=float(data[2]))
        name = data[3]
        if name is None:
            zone = timezone(offset)  # as parsed: an offset with no name of its own
        else:
            zone = UTC if offset == timedelta(0) and name == "UTC" else timezone(offset, str(name))
        return naive.replace(tzinfo=zone)
    if kind == "naive":
        return naive
    raise ValueError(f"time zone kind {kind!r}")


@lru_cache(maxsize=64)
def _zone_named(key: str) -> ZoneInfo:
    return ZoneInfo(key)


def _value(value: Any) -> Any:
    """A YAML value of `extra` as JSON that tells its type apart (TypeError for one with no JSON form)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, float) else {"f": repr(value)}
    if isinstance(value, datetime):
        return {"t": _moment(value)}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, list):
        return {"l": [_value(item) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"m": [[key, _value(item)] for key, item in value.items()]}
    raise TypeError(type(value).__name__)


def _unvalue(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    (kind, value), *_ = data.items()
    if kind == "f":
        return float(value)
    if kind == "t":
        return _unmoment(value)
    if kind == "d":
        return date.fromisoformat(value)
    if kind == "l":
        return [_unvalue(item) for item in value]
    if kind == "m":
        return {str(key): _unvalue(item) for key, item in value}
    raise ValueError(f"value kind {kind!r}")
