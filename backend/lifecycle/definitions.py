"""The lifecycle template document: what an admin edits, and what a project runs for its whole life.

A template version is immutable JSON validated by these structs; editing a template stores a new version, and a
project keeps the version it started with. Durations are whole hours, counted in the branch's working hours when
`business_hours` is on and the branch has a calendar, in wall-clock hours otherwise.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec

from backend.errors import Invalid
from backend.schemas import NO_NUL

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]
Hours = Annotated[int, msgspec.Meta(ge=0, le=24 * 366)]
SlaHours = Annotated[int, msgspec.Meta(ge=1, le=24 * 366)]

# Who owns a stage or a milestone, or is told when a stage begins. Roles are looked up in the project's branch.
Party = Literal["project_owner", "project_manager", "legal", "finance", "branch_manager"]
MilestoneOwner = Literal["stage_owner", "project_owner", "project_manager", "legal", "finance", "branch_manager"]
# "above_branch": the next link of the supervisor chain above the branch (the branch manager's supervisor: in a
# brokerage, the executive), so a deadline long missed reaches whoever compares the branches.
EscalationTarget = Literal["supervisor", "branch_manager", "above_branch", "role", "user"]
EscalationRole = Literal["legal", "finance", "branch_manager"]
AutoRule = Literal["full_collection"]

MAX_STAGES = 20
MAX_MILESTONES = 30
MAX_STEPS = 10
MAX_PARTIES = 5  # each Party at most once


class EscalationStep(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fires `after_hours` past the milestone's deadline (0 = at the deadline), to the milestone owner's
    supervisor, the branch manager, the branch manager's supervisor, every user of a role in the branch, or one
    named user."""

    after_hours: Hours
    to: EscalationTarget
    role: EscalationRole | None = None
    user_id: uuid.UUID | None = None


class MilestoneDef(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    key: Key
    title_zh: Label
    title_en: Label
    owner: MilestoneOwner = "stage_owner"
    sla_hours: SlaHours | None = None  # None: the stage's SLA
    auto: AutoRule | None = None  # completes itself (full_collection: when collections reach the contract value)


class StageDef(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    key: Key
    name_zh: Label
    name_en: Label
    owner: Party
    sla_hours: SlaHours
    remind_before_hours: Hours = 0  # 0: no reminder before the deadline
    notify_on_entry: Annotated[list[Party], msgspec.Meta(max_length=MAX_PARTIES)] = msgspec.field(default_factory=list)
    escalation: Annotated[list[EscalationStep], msgspec.Meta(max_length=MAX_STEPS)] = msgspec.field(
        default_factory=list)
    milestones: Annotated[list[MilestoneDef], msgspec.Meta(max_length=MAX_MILESTONES)] = msgspec.field(
        default_factory=list)
    # milestones that must be done to leave forwards
    requires: Annotated[list[Key], msgspec.Meta(max_length=MAX_STAGES * MAX_MILESTONES)] = msgspec.field(
        default_factory=list)


class TemplateDef(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    stages: Annotated[list[StageDef], msgspec.Meta(max_length=MAX_STAGES)]
    business_hours: bool = False

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def position(self, key: str) -> int:
        return next(i for i, stage in enumerate(self.stages) if stage.key == key)

    def milestone(self, key: str) -> MilestoneDef | None:
        for stage in self.stages:
            for milestone in stage.milestones:
                if milestone.key == key:
                    return milestone
        return None


def decode(raw: str | bytes | dict[str, Any]) -> TemplateDef:
    """A stored or submitted definition; shape errors name the JSON path (`stages[2].sla_hours`)."""
    try:
        if isinstance(raw, dict):
            definition = msgspec.convert(raw, TemplateDef)
        else:
            definition = msgspec.json.decode(raw, type=TemplateDef)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rsplit(" - at `$.", 1)[1].rstrip("`") if " - at `$." in text else None
        raise Invalid(text, field=f"definition.{path}" if path else "definition") from None
    check(definition)
    return definition


def encode(definition: TemplateDef) -> str:
    return msgspec.json.encode(definition).decode()


def check(definition: TemplateDef) -> None:
    """The rules a schema cannot say: unique keys, guards that point backwards, well-formed ladders."""

    def bad(path: str, message: str) -> Invalid:
        return Invalid(message, field=f"definition.{path}")

    if not 1 <= len(definition.stages) <= MAX_STAGES:
        raise bad("stages", f"A lifecycle has 1 to {MAX_STAGES} stages")
    stage_keys: set[str] = set()
    milestone_keys: set[str] = set()
    full_collection = 0
    for i, stage in enumerate(definition.stages):
        if stage.key in stage_keys:
            raise bad(f"stages[{i}].key", f"Stage key {stage.key!r} is used twice: stages run in order and a "
                                          "lifecycle never returns to one (that would be a cycle)")
        stage_keys.add(stage.key)
        if len(stage.milestones) > MAX_MILESTONES:
            raise bad(f"stages[{i}].milestones", f"A stage has at most {MAX_MILESTONES} milestones")
        for j, milestone in enumerate(stage.milestones):
            if milestone.key in milestone_keys:
                raise bad(f"stages[{i}].milestones[{j}].key", f"Milestone key {milestone.key!r} is used twice")
            milestone_keys.add(milestone.key)
            full_collection += milestone.auto == "full_collection"
        for j, key in enumerate(stage.requires):
            if key not in milestone_keys:
                raise bad(f"stages[{i}].requires[{j}]",
                          f"{key!r} is not a milestone of this stage or an earlier one")
        if len(stage.escalation) > MAX_STEPS:
            raise bad(f"stages[{i}].escalation", f"An escalation ladder has at most {MAX_STEPS} levels")
        previous = 0
        for j, step in enumerate(stage.escalation):
            path = f"stages[{i}].escalation[{j}]"
            if step.after_hours < previous:
                raise bad(f"{path}.after_hours", "Escalation levels must come in order of after_hours")
            previous = step.after_hours
            if (step.to == "role") != (step.role is not None):
                raise bad(f"{path}.role", "Give `role` exactly when escalating to a role")
            if (step.to == "user") != (step.user_id is not None):
                raise bad(f"{path}.user_id", "Give `user_id` exactly when escalating to a named user")
    if full_collection > 1:
        raise bad("stages", "At most one milestone may complete on full collection")


def named_users(definition: TemplateDef) -> list[tuple[str, uuid.UUID]]:
    """(path, user id) of every escalation step that names a user, for the caller to check they exist."""
    return [
        (f"definition.stages[{i}].escalation[{j}].user_id", step.user_id)
        for i, stage in enumerate(definition.stages)
        for j, step in enumerate(stage.escalation)
        if step.user_id is not None
    ]
