"""How projects and business lines are described to the service template: a leaf module, so the lifecycle
(which changes projects) and the projects service (which starts lifecycles) both import it without a cycle."""

from __future__ import annotations

import uuid
from typing import Any

from backend import records
from backend.projects.tables import BusinessLine, Project
from backend.specs import is_overdue


def overdue(row: dict[str, Any]) -> dict[str, Any]:
    """An open project is overdue while its earliest open milestone deadline has passed."""
    return {"overdue": row.get("status") == "open" and is_overdue(row.get("next_due_at"))}


PROJECT_SPEC = records.Spec(
    resource="project", table=Project, search=("title",),
    filters={"owner": uuid.UUID, "manager": uuid.UUID, "client": uuid.UUID, "business_line": uuid.UUID,
             "stage_key": str, "status": str},
    references={"client": "client", "business_line": "business_line", "manager": "user"},
    computed=overdue,
)
BUSINESS_LINE_SPEC = records.Spec(
    resource="business_line", table=BusinessLine, search=("key", "name_zh", "name_en"), owner_field=None,
)
