"""The access matrix's organisation: the factory one (tests/support/factories.py) plus an agent and a project
manager of branch A who moved to branch B, still owning (managing) branch A records and a milestone; legal A on
agent2's team; legal B on the team of a branch A project (which grants nothing across branches); a legal
milestone owned by legal A; a payment on every project of branch A."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from backend import db
from backend.accounts.tables import User
from backend.clients.tables import Client, Opportunity
from backend.lifecycle import templates
from backend.lifecycle.tables import Collection, Milestone, StageEntry
from backend.projects.tables import Project, ProjectMember
from backend.visits.tables import Note, Visit
from tests.support.factories import Org, make_org, make_user


@dataclass
class MatrixOrg:
    org: Org
    moved: dict[str, Any]  # "a.moved" (agent), "a.moved_pm": of branch A, now in branch B
    milestones: dict[str, Any]  # "moved": owned by the moved agent; "legal": owned by legal A on agent1's project

    @property
    def a(self) -> Any:
        return self.org.a

    @property
    def b(self) -> Any:
        return self.org.b

    def users(self) -> dict[str, Any]:
        return self.org.all_users() | self.moved


async def _milestone(project: Any, owner: Any, rule: str) -> Any:
    entry = StageEntry(project=project.id, branch=project.branch, stage_key="intake", owner=owner.id)
    await StageEntry.insert(entry)
    milestone = Milestone(project=project.id, branch=project.branch, stage=entry.id, stage_key="intake",
                          key=f"m_{rule}", title_zh=f"{rule} 里程碑", title_en=f"{rule} milestone", owner=owner.id,
                          owner_rule=rule, due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    await Milestone.insert(milestone)
    return milestone


async def make_matrix_org() -> MatrixOrg:
    org = await make_org()
    a, b = org.a, org.b
    manager = a.users["branch_manager"]
    moved = await make_user(a.branch, "agent", "A_moved", manager)
    moved_pm = await make_user(a.branch, "project_manager", "A_moved_pm", manager)
    client = Client(branch=a.branch.id, owner=moved.id, name="client of A_moved", tags=["首套"], private_notes="secret")
    await Client.insert(client)
    opportunity = Opportunity(branch=a.branch.id, owner=moved.id, client=client.id, title="deal",
                              value=decimal.Decimal("1000"))
    await Opportunity.insert(opportunity)
    project = Project(branch=a.branch.id, business_line=org.line.id, client=client.id, owner=moved.id,
                      manager=moved_pm.id, title="project of A_moved", contract_value=decimal.Decimal("50000"),
                      description="confidential terms")
    await Project.insert(project)
    visit = Visit(branch=a.branch.id, owner=moved.id, client=client.id, project=project.id, address="世纪大道9号",
                  scheduled_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    await Visit.insert(visit)
    notes = {parent: Note(branch=a.branch.id, author=moved.id, body=f"note on {parent}", **{parent: row.id})
             for parent, row in (("client", client), ("project", project), ("visit", visit))}
    await Note.insert(*notes.values())
    a.records["moved"] = {"client": client, "opportunity": opportunity, "project": project, "visit": visit,
                          **{f"note_{k}": v for k, v in notes.items()}}
    agent1_project, agent2_project = a.records["agent1"]["project"], a.records["agent2"]["project"]
    await ProjectMember.insert(
        ProjectMember(project=project.id, user=moved.id, kind="team"),
        ProjectMember(project=agent2_project.id, user=a.users["legal"].id, kind="team"),
        ProjectMember(project=agent2_project.id, user=b.users["legal"].id, kind="team"),  # another branch's
    )
    async with db.write_transaction():  # the lifecycle a milestone's reassignment reads (the seed, stored)
        version = await templates.ensure_template(org.line.id)
    await Project.update({Project.template_version: version["id"]}).where(Project.branch == a.branch.id)
    milestones = {"moved": await _milestone(project, moved, "project_owner"),
                  "legal": await _milestone(agent1_project, a.users["legal"], "legal")}
    for each in (agent1_project, agent2_project, project):
        await Collection.insert(Collection(project=each.id, branch=a.branch.id, amount=decimal.Decimal("10"),
                                           received_on=dt.date.today(), recorded_by=a.users["finance"].id))
    await User.update({User.branch: b.branch.id}).where(User.id.is_in([moved.id, moved_pm.id]))
    moved.branch = moved_pm.branch = b.branch.id
    return MatrixOrg(org=org, moved={"a.moved": moved, "a.moved_pm": moved_pm}, milestones=milestones)
