"""A source file's text and its front matter: read as UTF-8 (SiteError at the line of a bad byte), split at its
`---` fences; and the readers of the fields posts and series files share (text, dates), each reporting through
`bad(key, message)`."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from pathlib import Path
from stat import S_ISREG
from typing import Any

from primer_site.errors import SiteError
from primer_site.sources.dates import DATE_FORMS, DAY, in_zone, parse_date_text
from primer_site.sources.yamldoc import describe

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$")


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


def text_field(data: dict[str, Any], key: str, bad: Any, required: bool = False) -> str | None:
    """A key read as text (the loader gave it as written); None when absent or empty."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required" if key not in data else NO_VALUE)
        return None
    value = data[key]
    if not isinstance(value, str):
        bad(key, f"expected text, got {type(value).__name__} {short_value(value)}")
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


def date_field(data: dict[str, Any], key: str, zone: tzinfo, bad: Any, required: bool = False) -> datetime | None:
    """A date or datetime key; one without an offset is in `zone`."""
    if key not in data or data[key] is None:
        if required:
            bad(key, "is required (a date such as 2026-03-02)" if key not in data else NO_VALUE)
        return None
    value = data[key]
    if not isinstance(value, str):  # the loader reads dates as written: a list or a mapping is left
        bad(key, f"{short_value(value)} is not a date (expected {DATE_FORMS})")
        return None
    try:
        when = parse_date_text(value.strip())
    except ValueError as error:
        bad(key, f"{short_value(value)} is not a date: {error}")
        return None
    try:
        return when if when.tzinfo else in_zone(when, zone, date_only=DAY.fullmatch(value.strip()) is not None)
    except ValueError as error:
        bad(key, str(error))
        return None


# YAML reads an empty value, ~ and null (any case) as no value at all (YAML 1.2 §10.2.1.1)
NO_VALUE = "has no value (YAML reads nothing, ~ and null as none): write one, in single quotes if it is the word null"


def short_value(value: object) -> str:
    """A value as an error message quotes it: text in quotes, at most 60 characters."""
    text = f'"{value[:60]}"' if isinstance(value, str) else describe(value)
    return text if len(text) <= 60 else text[:57] + "…"
