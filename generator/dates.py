"""Parsing the date strings archivers write, always to an aware UTC datetime."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

_DMY_HM = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})\s*-\s*(\d{1,2}):(\d{2})$")
# Outlets whose date line carries no zone, and the zone their newsroom writes in.
PARIS = ZoneInfo("Europe/Paris")
# Earliest and latest times accepted as real publication times.
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


class DateParseError(ValueError):
    pass


def parse_date(value: object, naive_zone: ZoneInfo) -> tuple[datetime, bool]:
    """Parse RFC 822, ISO 8601, 'DD/MM/YYYY - HH:MM' or a YAML date/datetime.

    Returns (UTC datetime, had_zone). A value without a zone is read in
    `naive_zone` and had_zone is False so the caller can warn.
    """
    if isinstance(value, datetime):
        return _aware(value, naive_zone)
    if isinstance(value, date):
        return _aware(datetime(value.year, value.month, value.day), naive_zone)
    if not isinstance(value, str):
        raise DateParseError(f"{value!r} is not a date")
    text = value.strip()
    for parse in (_rfc822, _iso, _dmy):
        parsed = parse(text)
        if parsed is not None:
            return _aware(parsed, naive_zone)
    raise DateParseError(f"{text!r} is not a date")


def _aware(value: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    had_zone = value.tzinfo is not None
    if not had_zone:
        value = value.replace(tzinfo=zone)
    try:
        result = value.astimezone(timezone.utc)
    except OverflowError:
        # Year 1 east of UTC or year 9999 west of it has no UTC equivalent.
        raise DateParseError(f"{value.isoformat()} is outside 1990–2099") from None
    if not EARLIEST <= result < LATEST:
        raise DateParseError(f"{result.isoformat()} is outside 1990–2099")
    return result, had_zone


def _rfc822(text: str) -> datetime | None:
    if not re.match(r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", text):
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # e.g. hour 99999999999
        return None
    if text.rstrip().endswith(("-0000",)):
        return parsed.replace(tzinfo=None)  # RFC 2822: -0000 means "zone unknown"
    return parsed


def _iso(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None


def _dmy(text: str) -> datetime | None:
    match = _DMY_HM.match(text)
    if match is None:
        return None
    day, month, year, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=PARIS)
    except ValueError:
        return None


def from_epoch_ms(ms: int) -> datetime:
    """A millisecond epoch (the archiver's comment) as UTC."""
    try:
        result = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise DateParseError(f"epoch {ms} is outside 1990–2099") from None
    if not EARLIEST <= result < LATEST:
        raise DateParseError(f"epoch {ms} is outside 1990–2099")
    return result
