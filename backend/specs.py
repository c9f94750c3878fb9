"""Small definitions everything shares, in one leaf module (it imports nothing of the project): the roles, what
"now" is and what "overdue" means. Screens may import it too."""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

Role = Literal["agent", "project_manager", "legal", "finance", "branch_manager", "executive", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
BUSINESS_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != "admin")


def now() -> dt.datetime:
    """The current time, timezone-aware in UTC: the one clock of code that takes no injected time."""
    return dt.datetime.now(dt.UTC)


def is_overdue(due_at: dt.datetime | None, at: dt.datetime | None = None) -> bool:
    """An open item is overdue once its deadline has passed (callers decide what is open)."""
    return due_at is not None and due_at < (at or now())
