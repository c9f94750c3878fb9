"""Who gets which pushes when: muted kinds, escalations always on for managers, quiet hours in local time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Kinds a user can switch on and off in settings (the lifecycle's); unknown (newer) kinds push until muted.
KINDS = ("escalation", "nudge", "reminder", "assignment", "stage_entry", "project_assigned")
MANAGER_ROLES = frozenset({"project_manager", "branch_manager", "executive"})
# Kinds that ignore preferences and quiet hours altogether: the one a person asked for from the command line.
ALWAYS = frozenset({"test"})


def urgency_header(kind: str, urgency: str) -> str:
    """`Urgency: high` for escalations and anything the sender marked high; `normal` otherwise."""
    return "high" if kind == "escalation" or urgency == "high" else "normal"


def ignores_quiet_hours(kind: str) -> bool:
    """Escalations go out at once, quiet hours or not; everything else waits for the morning."""
    return kind == "escalation" or kind in ALWAYS


def locked_on(role: str) -> frozenset[str]:
    """Kinds this role cannot mute."""
    return frozenset({"escalation"}) if role in MANAGER_ROLES else frozenset()


@dataclass(frozen=True)
class Preference:
    muted_kinds: frozenset[str] = frozenset()
    quiet_start: int | None = None  # minutes after local midnight
    quiet_end: int | None = None

    def pushes(self, kind: str, role: str) -> bool:
        return kind in ALWAYS or kind in locked_on(role) or kind not in self.muted_kinds

    def held_until(self, at: dt.datetime, timezone: str, kind: str) -> dt.datetime:
        """When a push made at `at` may go: `at`, or the end of the quiet hours it falls in."""
        if ignores_quiet_hours(kind):
            return at
        end = quiet_hours_end(at, timezone, self.quiet_start, self.quiet_end)
        return end or at


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_hours_end(at: dt.datetime, timezone: str, start: int | None, end: int | None) -> dt.datetime | None:
    """The UTC end of the quiet period `at` falls in, or None. Periods may wrap midnight (22:00–07:00).

    Local wall-clock times are resolved with zoneinfo, so a period ending in a DST gap or fold still ends once.
    """
    if start is None or end is None or start == end:
        return None
    zone = _zone(timezone)
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else minute >= start or minute < end
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + dt.timedelta(days=1)
    wall = dt.datetime.combine(day, dt.time(end // 60, end % 60), tzinfo=zone)
    return wall.astimezone(dt.UTC)


def parse_hhmm(text: str) -> int:
    """'07:30' → 450; ValueError for anything else."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise ValueError(f"expected HH:MM, got {text!r}")
    value = int(hours) * 60 + int(minutes)
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"expected HH:MM, got {text!r}")
    return value


def format_hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"
