"""Who a template's rules name: milestone owners, people told when a stage begins, escalation recipients.

Rules resolve against the people of the project's branch. When a rule names nobody usable (no such role in the
branch, a disabled account, a supervisor in another branch), the branch manager stands in, so an alert is never
addressed to no one. Recipients who could not otherwise open the project (legal, finance, an agent who is not the
owner) are added to its participants, which is what `backend/access.py` reads. Who may be told, and who needs
to be a participant for it, are rules of `backend/access.py` (`can_be_told`, `MEMBERSHIP_NEEDED`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from piccolo.query.functions.aggregate import Count

from backend import access
from backend.accounts.tables import User
from backend.audit.services import record_changes
from backend.lifecycle.tables import Milestone
from backend.projects.tables import ProjectMember


@dataclass(frozen=True, slots=True)
class Person:
    id: uuid.UUID
    role: str
    branch: uuid.UUID
    supervisor: uuid.UUID | None
    is_active: bool
    language: str
    display_name: str


COLUMNS = (User.id, User.role, User.branch, User.supervisor, User.is_active, User.language, User.display_name)


async def load_people(branch_ids: Iterable[uuid.UUID], user_ids: Iterable[uuid.UUID] = ()) -> dict[uuid.UUID, Person]:
    """Everyone in the branches, the named users, and the supervisors of all of them (who may sit elsewhere)."""
    branches, users = list(set(branch_ids)), list({u for u in user_ids if u is not None})
    clause: Any = User.branch.is_in(branches) if branches else None
    if users:
        clause = User.id.is_in(users) if clause is None else clause | User.id.is_in(users)
    people: dict[uuid.UUID, Person] = {}
    if clause is None:
        return people
    for row in await User.select(*COLUMNS).where(clause):
        people[row["id"]] = Person(**row)
    missing = list({p.supervisor for p in people.values() if p.supervisor and p.supervisor not in people})
    if missing:
        for row in await User.select(*COLUMNS).where(User.id.is_in(missing)):
            people[row["id"]] = Person(**row)
    return people


async def open_load(branch_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """Open milestones per owner in a branch, so a role's work goes to whoever has least."""
    rows = await Milestone.select(Milestone.owner, Count(Milestone.id, alias="open")).where(
        (Milestone.branch == branch_id) & (Milestone.state == "open")
    ).group_by(Milestone.owner)
    return {row["owner"]: row["open"] for row in rows if row["owner"] is not None}


@dataclass
class Staff:
    people: dict[uuid.UUID, Person]
    load: dict[uuid.UUID, int] = field(default_factory=dict)

    def active(self, user_id: uuid.UUID | None) -> Person | None:
        person = self.people.get(user_id) if user_id else None
        return person if person and person.is_active else None

    def in_role(self, branch: uuid.UUID, role: str) -> list[Person]:
        matches = [p for p in self.people.values() if p.is_active and p.branch == branch and p.role == role]
        return sorted(matches, key=lambda p: (self.load.get(p.id, 0), p.display_name, str(p.id)))

    def can_be_told(self, person: Person, branch: uuid.UUID, project: dict[str, Any] | None = None) -> bool:
        return access.can_be_told(person.role, person.id, person.branch, branch, project)

    def owner_for(self, rule: str, project: dict[str, Any]) -> Person | None:
        """The user a stage or milestone owner rule names for `project` (rule `stage_owner` is the caller's)."""
        branch = project["branch"]
        if rule == "project_owner":
            person = self.active(project["owner"])
        elif rule == "project_manager":
            person = self.active(project.get("manager")) or self.active(project["owner"])
        else:
            person = next(iter(self.in_role(branch, rule)), None)
        return person or next(iter(self.in_role(branch, "branch_manager")), None) or self.active(project["owner"])

    def escalation_recipients(self, target: str, role: str, user_id: uuid.UUID | None, owner: Person | None,
                              branch: uuid.UUID, project: dict[str, Any] | None = None) -> list[Person]:
        """Who a timer's rule names, among those who can open the project (`project`: its owner and manager);
        the branch manager stands in when that leaves nobody."""
        if target == "owner":
            candidates = [owner] if owner and owner.is_active else []
        elif target == "supervisor":
            supervisor = self.active(owner.supervisor) if owner else None
            candidates = [supervisor] if supervisor else []
        elif target == "branch_manager":
            candidates = self.in_role(branch, "branch_manager")
        elif target == "above_branch":
            managers = self.in_role(branch, "branch_manager")
            above = [self.active(m.supervisor) for m in managers]
            candidates = list({p.id: p for p in above if p is not None and p not in managers}.values())
        elif target == "role":
            candidates = [p for p in self.in_role(branch, role) if owner is None or p.id != owner.id]
        else:
            named = self.active(user_id)
            candidates = [named] if named else []
        candidates = [p for p in candidates if self.can_be_told(p, branch, project)]
        if candidates or target == "owner":
            return candidates
        stand_ins = [p for p in self.in_role(branch, "branch_manager") if owner is None or p.id != owner.id]
        if stand_ins:
            return stand_ins
        supervisor = self.active(owner.supervisor) if owner else None
        return [supervisor] if supervisor and self.can_be_told(supervisor, branch, project) else []


async def ensure_participants(pairs: Iterable[tuple[uuid.UUID, Person, uuid.UUID, str]], actor_id: uuid.UUID | None,
                              project_owner: dict[uuid.UUID, uuid.UUID] | None = None) -> None:
    """Make each (project, person, branch, why) a participant when their role needs it to open the project.

    An agent who owns the project needs nothing; `project_owner` maps project → owner for that check.
    """
    wanted: dict[tuple[uuid.UUID, uuid.UUID], tuple[str, uuid.UUID]] = {}
    for project_id, person, branch, _why in pairs:
        kind = access.MEMBERSHIP_NEEDED.get(person.role)
        if kind is None or (project_owner and project_owner.get(project_id) == person.id):
            continue
        wanted[(project_id, person.id)] = (kind, branch)
    if not wanted:
        return
    projects = list({p for p, _ in wanted})
    users = list({u for _, u in wanted})
    existing = await ProjectMember.select(ProjectMember.project, ProjectMember.user, ProjectMember.kind).where(
        ProjectMember.project.is_in(projects) & ProjectMember.user.is_in(users)
    )
    have = {(r["project"], r["user"], r["kind"]) for r in existing}
    rows = [ProjectMember(project=p, user=u, kind=kind) for (p, u), (kind, _b) in wanted.items()
            if (p, u, kind) not in have]
    if not rows:
        return
    await ProjectMember.insert(*rows)
    await record_changes([
        {"actor_id": actor_id, "action": "add_member", "table": "project_members", "row_id": row.id,
         "after": {"project": row.project, "user": row.user, "kind": row.kind},
         "branch_id": wanted[(row.project, row.user)][1], "owner_id": row.user}
        for row in rows
    ])
