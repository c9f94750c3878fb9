"""Inbox alerts about accounts: a privileged role was granted (texts in `backend.alerts`, kind "role_granted")."""

from __future__ import annotations

import uuid

from backend import alerts
from notifications import Notice

# Roles that see every record (executive), a whole branch (branch_manager) or administer users (admin): granting
# one is announced to the executives, so no such account appears without somebody being told.
PRIVILEGED_ROLES = frozenset({"executive", "branch_manager", "admin"})
ROLE_NAMES = alerts.ROLE_NAMES


def role_granted(*, recipient: uuid.UUID, language: str, user_id: uuid.UUID, user: str, branch: str, role: str,
                 previous_role: str | None, actor: str | None) -> Notice:
    """Urgent: an unexpected privileged account is checked at once."""
    return alerts.notice("role_granted", user_id=recipient, lang=language, source_id=user_id, subject_id=user_id,
                         urgent=True, user=user, branch=branch, role=role, previous_role=previous_role or "",
                         actor=actor or "")
