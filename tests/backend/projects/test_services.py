"""A project started from a client or a won opportunity, with its team, in one transaction."""

import decimal

import pytest

from backend.clients import services as clients
from backend.errors import Invalid, NotFound
from backend.projects import services
from backend.projects.tables import Project, ProjectMember
from tests.support.factories import actor

pytestmark = pytest.mark.anyio


async def test_a_won_opportunity_becomes_a_project_with_its_client_and_team(org):
    agent = actor(org.a.users["agent1"])
    opportunity = org.a.records["agent1"]["opportunity"]
    moved = await clients.move_opportunity(agent, opportunity.id, 1, "following")
    await clients.move_opportunity(agent, opportunity.id, moved.version, "won")
    legal = org.a.users["legal"]
    project = await services.PROJECTS.create(agent, {
        "title": "浦东三居室", "business_line_id": org.line.id, "opportunity_id": opportunity.id,
        "contract_value": decimal.Decimal("50000"), "team_ids": [legal.id, agent.id]})
    assert project.client_id == org.a.records["agent1"]["client"].id
    assert project.contract_value == decimal.Decimal("50000.00") and project.stage_key == "intake"
    team = await ProjectMember.select(ProjectMember.user).where(
        (ProjectMember.project == project.id) & (ProjectMember.kind == "team"))
    assert {row["user"] for row in team} == {legal.id}


async def test_only_a_won_opportunity_of_ones_own_and_a_team_of_the_branch(org):
    agent = actor(org.a.users["agent1"])
    before = await Project.count()
    with pytest.raises(Invalid) as not_won:
        await services.PROJECTS.create(agent, {"title": "x", "business_line_id": org.line.id,
                                               "opportunity_id": org.a.records["agent1"]["opportunity"].id})
    assert not_won.value.field == "opportunity_id"
    with pytest.raises(NotFound) as invisible:
        await services.PROJECTS.create(agent, {"title": "x", "business_line_id": org.line.id,
                                               "opportunity_id": org.a.records["agent2"]["opportunity"].id})
    assert invisible.value.field == "opportunity_id"
    with pytest.raises(Invalid) as outsider:
        await services.PROJECTS.create(agent, {"title": "x", "business_line_id": org.line.id,
                                               "team_ids": [org.b.users["legal"].id]})
    assert outsider.value.field == "team_ids"
    assert await Project.count() == before  # nothing of the refused projects was written
