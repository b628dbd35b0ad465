"""Times as a youth worker reads and types them: in the organisation's time zone, never ISO text."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from wallet.errors import DomainError

DURATIONS = (
    (30, "30 minutes"),
    (60, "1 hour"),
    (90, "1½ hours"),
    (120, "2 hours"),
    (180, "3 hours"),
    (240, "4 hours"),
    (480, "8 hours"),
    (1440, "1 day"),
    (10080, "1 week"),
)
"""The session lengths the form offers (minutes, label); two hours is the default."""
DEFAULT_DURATION = 120


def zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def local(moment: dt.datetime, time_zone: str) -> dt.datetime:
    return moment.astimezone(zone(time_zone))


def show(moment: dt.datetime | None, time_zone: str, *, now: dt.datetime | None = None) -> str:
    """``Mon 23 Nov, 10:00`` (the year only when it is not this year's)."""
    if moment is None:
        return ""
    when = local(moment, time_zone)
    this_year = now is None or local(now, time_zone).year == when.year
    return when.strftime("%a %-d %b, %H:%M" if this_year else "%a %-d %b %Y, %H:%M")


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("request.validation_failed", message, errors={field: [message]})


def session_window(
    *, start_date: str, start_time: str, duration_minutes: str, time_zone: str, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """(starts_at, ends_at) from the form: a blank start is *now*; date and time come from the pickers."""
    try:
        minutes = int(duration_minutes or DEFAULT_DURATION)
    except ValueError as error:
        raise _invalid("duration", "Pick how long the session runs.") from error
    if minutes not in {value for value, _ in DURATIONS}:
        raise _invalid("duration", "Pick how long the session runs.")
    tz = zone(time_zone)
    if not start_time.strip():
        starts = now
        if start_date.strip() and start_date.strip() != local(now, time_zone).date().isoformat():
            raise _invalid("start_time", "Give a start time for a session on another day.")
    else:
        try:
            day = dt.date.fromisoformat(start_date.strip()) if start_date.strip() else local(now, time_zone).date()
            clock = dt.time.fromisoformat(start_time.strip())
        except ValueError as error:
            raise _invalid("start_time", "Pick the start date and time with the pickers.") from error
        if day < local(now, time_zone).date():
            raise _invalid("start_date", "That day is in the past.")
        starts = dt.datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tz).astimezone(dt.UTC)
    return starts, starts + dt.timedelta(minutes=minutes)
