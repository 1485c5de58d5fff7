"""Front-matter dates: the spellings primer-site reads, what is wrong with one it cannot, and a local time placed
in the site's time zone (refusing a time the zone skips or shows twice rather than guessing)."""

from __future__ import annotations

import math
import re
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from primer_site.lazyregex import lazy_compile

DAY = lazy_compile(r"\d{4}-\d{1,2}-\d{1,2}")


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


# RFC 3339 §5.6: date-time = full-date "T" partial-time time-offset, time-offset = "Z" / ("+" / "-") hh ":" mm.
RFC3339_DATE_TIME = lazy_compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def rfc3339(moment: datetime) -> str:
    """`moment` (aware) as an RFC 3339 date-time, the one spelling of every date in the feeds, the sitemap and
    JSON-LD. RFC 3339's offsets are whole minutes (±hh:mm); a zone's local mean time before standard time had
    seconds (Europe/Amsterdam until 1937: +00:19:32), so such an offset is rounded to the nearest minute, half a
    minute up, and the clock time is moved with it: the instant stays exact (…T00:00:00+00:19:32 is written
    …T00:00:28+00:20)."""
    offset = moment.utcoffset() or timedelta(0)
    seconds = offset.total_seconds()
    if seconds % 60:
        minutes = math.floor(seconds / 60 + 0.5)
        moment = moment.astimezone(timezone(timedelta(minutes=minutes)))
    return moment.isoformat()


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


DATE_FORMS = "YYYY-MM-DD or an ISO datetime such as 2026-03-12T09:00:00+01:00"
_RFC3339 = lazy_compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:(?:[Tt]|[ \t]+)(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?[ \t]*(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?)?"
)
_DATE = lazy_compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(.*)", re.DOTALL)
# After the date: T (or spaces, as YAML's timestamp allows), hh:mm, :ss and a fraction, an offset (Z, +hh:mm, +hhmm).
_TIME = lazy_compile(
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
        raise ValueError(f"expected {DATE_FORMS}")
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
        raise ValueError(f"{parts.group(4).strip()!r} after the date is not a time (expected {DATE_FORMS})")
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
    import calendar  # a wrong date's message only: ~3 ms a build that meets none does not load

    return f"{calendar.month_name[month]} has no day {day_text}"
