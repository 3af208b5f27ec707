"""Publication dates to one form: ISO 8601 UTC, ``2023-11-27T08:45:59Z``."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

EXPECTED = "ISO 8601 (2023-11-27T08:45:59Z), RFC 2822 (Mon, 27 Nov 2023 08:45:59 GMT) or epoch seconds"

# Fractions of a second longer than microseconds ("08:45:59.000000000Z"): Python reads at most 6 digits.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_EPOCH = re.compile(r"[+-]?\d{9,}(\.\d*)?")
# A number of three or more digits standing alone in an RFC 2822 date is its year as written;
# the email parser would read "0001" as 2001 (its rule for two-digit years).
_WRITTEN_YEAR = re.compile(r"(?<![\d:.+-])\d{3,}(?![\d:])")


def normalize_date(value: str | int | float | None) -> str | None:
    """``value`` as ``YYYY-MM-DDTHH:MM:SSZ``; None or blank gives None.

    Accepts ISO 8601 (any offset, date-only, up to nanoseconds), RFC 2822 and epoch seconds
    (number or digit string). Times without an offset are taken as UTC; fractions of a second
    are dropped. Raises ValueError naming the value when it is none of these.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"unparseable date {value!r} (a {type(value).__name__}): expected {EXPECTED}")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        parsed = _from_epoch(float(text), value) if _EPOCH.fullmatch(text) else _from_text(text)
    else:
        parsed = _from_epoch(value, value)
    if parsed is None:
        raise ValueError(f"unparseable date {value!r}: expected {EXPECTED}")
    return _format(parsed, value)


def _from_text(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    written = _WRITTEN_YEAR.findall(text)
    if len(written) == 1 and int(written[0]) != parsed.year:
        try:
            parsed = parsed.replace(year=int(written[0]))
        except ValueError:
            return None  # year 0 or beyond 9999
    return parsed


def _from_epoch(seconds: int | float, original: object) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"date {original!r} is out of range for epoch seconds: expected {EXPECTED}") from None


def _format(moment: datetime, original: object) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        utc = moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    except (OverflowError, ValueError):
        # 9999-12-31T23:59:59-05:00 is in the year 10000 in UTC; 0001-01-01T00:00:00+14:00 in the year 0.
        raise ValueError(f"date {original!r} falls outside the years 1-9999 once converted to UTC: "
                         f"expected {EXPECTED}") from None
    return utc.isoformat() + "Z"
