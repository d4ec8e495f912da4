"""Parsing of the journey language's time values: durations, times of day, zones.

Shared by the compiler (which rejects bad values with a message) and the runtime
(which only ever sees values the compiler accepted).
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time
from functools import cache

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_COMPACT = re.compile(r"(?:[0-9]+[smhdw])+")
_COMPACT_PART = re.compile(r"([0-9]+)([smhdw])")
_ISO = re.compile(r"P(?:(?P<w>[0-9]+)W|(?:(?P<d>[0-9]+)D)?(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?)")
_TIME_OF_DAY = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")

DURATION_HELP = "write a duration like 30s, 15m, 1h, 2d, 1w, 1h30m or ISO 8601 like PT15M, P2DT3H"


def parse_duration(text: str, *, signed: bool = False) -> int:
    """Seconds in `text`. Raises ValueError with a user-facing message."""
    body = text.strip()
    sign = 1
    if signed and body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if _COMPACT.fullmatch(body):
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _COMPACT_PART.findall(body))
    else:
        iso = _ISO.fullmatch(body)
        if not iso or body in ("P", "PT") or body.endswith("T"):
            if re.fullmatch(r"P.*[YM].*", body) and "T" not in body.split("M")[0]:
                raise ValueError(f"'{text}': months and years vary in length; use days or weeks instead (e.g. 30d)")
            raise ValueError(f"'{text}' is not a duration; {DURATION_HELP}")
        seconds = sum(int(iso.group(g) or 0) * _UNIT_SECONDS[g] for g in "wdhms")
    if seconds == 0:
        raise ValueError(f"'{text}' is zero; a duration must be positive")
    return sign * seconds


def parse_time_of_day(text: str) -> time:
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a time of day; write 24-hour HH:MM such as 09:00 or 21:30")
    return time(int(match.group(1)), int(match.group(2)))


_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,2}")


@cache
def is_timezone(name: str) -> bool:
    """Whether `name` is an IANA zone. Names are checked for shape first: ZoneInfo reads files."""
    if len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def format_duration(seconds: int) -> str:
    """The compact form of a duration: 90 -> '1m30s', 172800 -> '2d'."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    parts = []
    for unit in "wdhms":
        count, rest = divmod(rest, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def utc_instant(text: str, zone: str) -> str:
    """An ISO 8601 datetime as UTC `...Z`; a value without offset is local to `zone`.

    Raises ValueError for text that is not a datetime, OverflowError past year 1 or 9999.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
