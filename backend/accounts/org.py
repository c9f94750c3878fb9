"""Regions and branches (admin-managed organisation structure)."""

from __future__ import annotations

import uuid
import zoneinfo
from typing import Any

from backend import records
from backend.accounts.schemas import BranchOut, RegionOut
from backend.accounts.tables import Branch, Region
from backend.errors import Invalid
from backend.service import Resource

REGION_SPEC = records.Spec(resource="region", table=Region, search=("code", "name"), owner_field=None)
BRANCH_SPEC = records.Spec(
    resource="branch", table=Branch, search=("code", "name"), filters={"region": uuid.UUID},
    references={"region": "region"}, owner_field=None,
)


def check_timezone(values: dict[str, Any]) -> None:
    name = values.get("timezone")
    if name is None:
        return
    if not str(name).strip():
        raise Invalid("Every branch needs a time zone (\"today\" and deadlines use it)", field="timezone")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Unknown time zone {name!r}; use an IANA name such as Asia/Shanghai", field="timezone") from None


def check_branch(values: dict[str, Any], current: dict[str, Any] | None = None) -> None:
    check_timezone(values)


REGIONS = Resource(REGION_SPEC, RegionOut)
BRANCHES = Resource(BRANCH_SPEC, BranchOut, on_create=check_branch, on_update=check_branch)
