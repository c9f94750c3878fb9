"""Lifecycle alerts: a kind of `backend.alerts` plus the project (and milestone) they are about."""

from __future__ import annotations

import uuid
from typing import Any

from backend import alerts
from notifications import Notice

language = alerts.language
when = alerts.when


def notice(kind: str, *, user_id: uuid.UUID, lang: str | None, project_id: uuid.UUID, source_id: uuid.UUID | None,
           milestone_id: uuid.UUID | None = None, urgent: bool | None = None, **params: Any) -> Notice:
    """One inbox item. `params` fill the texts; bilingual pairs such as `milestone=("合同审核", "Contract review")`
    are picked by the reader's language, and `due` (a datetime) is shown in `timezone`."""
    return alerts.notice(kind, user_id=user_id, lang=lang, source_id=source_id, urgent=urgent,
                         subject_id=milestone_id or project_id, project_id=project_id, milestone_id=milestone_id,
                         **params)
