"""Deadlines in working hours: a branch's working days, hours and holidays, read in its own time zone.

`add(start, hours)` walks the branch's working intervals day by day (local wall-clock times converted to UTC, so
daylight-saving changes are right) until the hours are used up. A deadline that lands exactly on the end of an
interval stays there rather than jumping to the next morning, which keeps `add(add(t, a), b) == add(t, a + b)`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Annotated, Protocol

import msgspec

from backend.errors import Invalid

UTC = dt.UTC
MAX_DAYS = 3700  # ten years of calendar; a template SLA is at most a year of working time
ClockTime = Annotated[str, msgspec.Meta(max_length=5, pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
MAX_INTERVALS = 6
MAX_DATES = 1000  # holidays and extra working days together
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]


class CalendarDef(msgspec.Struct, forbid_unknown_fields=True):
    """Working days as ISO weekdays (1 = Monday), working hours as local [start, end) pairs, public holidays,
    and extra working days (调休: a weekend day that is worked in exchange for a holiday)."""

    working_days: Annotated[list[Weekday], msgspec.Meta(max_length=7)] = msgspec.field(
        default_factory=lambda: [1, 2, 3, 4, 5])
    hours: Annotated[list[tuple[ClockTime, ClockTime]], msgspec.Meta(max_length=MAX_INTERVALS)] = msgspec.field(
        default_factory=lambda: [("09:00", "18:00")])
    holidays: Annotated[list[dt.date], msgspec.Meta(max_length=MAX_DATES)] = msgspec.field(default_factory=list)
    workdays: Annotated[list[dt.date], msgspec.Meta(max_length=MAX_DATES)] = msgspec.field(default_factory=list)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_calendar(calendar: CalendarDef) -> None:
    if not calendar.working_days and not calendar.workdays:
        raise Invalid("A calendar needs at least one working day", field="working_days")
    if not 1 <= len(calendar.hours) <= MAX_INTERVALS:
        raise Invalid(f"Give 1 to {MAX_INTERVALS} working-hour intervals", field="hours")
    previous_end = 0
    for i, (start, end) in enumerate(calendar.hours):
        if _minutes(start) >= _minutes(end):
            raise Invalid(f"Interval {start}–{end} ends before it starts", field=f"hours[{i}]")
        if _minutes(start) < previous_end:
            raise Invalid("Working-hour intervals must be in order and must not overlap", field=f"hours[{i}]")
        previous_end = _minutes(end)
    if len(calendar.holidays) + len(calendar.workdays) > MAX_DATES:
        raise Invalid(f"At most {MAX_DATES:,} holidays and extra working days", field="holidays")


class Deadlines(Protocol):
    def add(self, start: dt.datetime, hours: float) -> dt.datetime: ...


class WallClock:
    """Hours are hours: used when the template does not count business hours or the branch has no calendar."""

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        return start + dt.timedelta(hours=hours)


WALL_CLOCK = WallClock()


@dataclass(frozen=True)
class WorkingHours:
    timezone: zoneinfo.ZoneInfo
    working_days: frozenset[int]
    intervals: tuple[tuple[int, int], ...]  # minutes after local midnight
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    @classmethod
    def of(cls, calendar: CalendarDef, timezone: str) -> WorkingHours:
        return cls(
            timezone=zoneinfo.ZoneInfo(timezone),
            working_days=frozenset(calendar.working_days),
            intervals=tuple((_minutes(a), _minutes(b)) for a, b in calendar.hours),
            holidays=frozenset(calendar.holidays),
            workdays=frozenset(calendar.workdays),
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.isoweekday() in self.working_days and day not in self.holidays

    def _local(self, day: dt.date, minutes: int) -> dt.datetime:
        wall = dt.datetime.combine(day, dt.time(0), tzinfo=self.timezone) + dt.timedelta(minutes=minutes)
        return wall.astimezone(UTC)

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        remaining = dt.timedelta(hours=hours)
        if remaining <= dt.timedelta(0):
            return start
        day = start.astimezone(self.timezone).date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                for begin, end in self.intervals:
                    opens, closes = max(self._local(day, begin), start), self._local(day, end)
                    if closes <= opens:
                        continue
                    if remaining <= closes - opens:
                        return opens + remaining
                    remaining -= closes - opens
            day += dt.timedelta(days=1)
        raise ValueError("The calendar has no working time in the next ten years")
