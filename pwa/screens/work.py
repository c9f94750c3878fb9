"""The lifecycle's data as screens need it: open milestones, stage names. Calls the lifecycle services."""

from __future__ import annotations

from typing import Any

from backend.access import Actor


async def my_open_milestones(actor: Actor) -> list[dict[str, Any]]:
    return []


async def stage_names_for(actor: Actor, projects: list[dict[str, Any]]) -> dict[Any, dict[str, dict[str, str]]]:
    """Per project id: {stage_key: {"zh": name, "en": name}} from its lifecycle template."""
    return {}
