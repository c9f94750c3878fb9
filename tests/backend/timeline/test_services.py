"""One timeline per client and per project: every kind of event, who and when, newest first, paged, and only what
the reader may see."""

import datetime as dt
import decimal

import pytest

from backend.clients import services as clients
from backend.errors import NotFound
from backend.lifecycle import actions, collections
from backend.timeline.services import client_timeline, project_timeline
from backend.visits import services as visits
from tests.support.factories import actor
from tests.support.lifecycle import new_project, open_milestones, walk_to

pytestmark = pytest.mark.anyio


async def test_the_client_timeline_holds_visit_notes_and_moves_newest_first(org):
    agent = actor(org.a.users["agent1"])
    records = org.a.records["agent1"]
    note = await visits.create_note(agent, {"visit_id": records["visit"].id, "body": "客户喜欢南向的客厅"})
    await clients.move_opportunity(agent, records["opportunity"].id, 1, "following")
    page = await client_timeline(agent, records["client"].id)
    kinds = [item.kind for item in page.items]
    assert {"note", "visit", "opportunity"} <= set(kinds)
    texts = [item.text for item in page.items if item.kind == "note"]
    assert "客户喜欢南向的客厅" in texts and "note on client" in texts and "note on visit" in texts
    assert all(a.at >= b.at for a, b in zip(page.items, page.items[1:], strict=False))
    mine = next(item for item in page.items if item.id == str(note.id))
    assert mine.actor_name == "A_AGENT1" and mine.link == f"/visits/{records['visit'].id}"
    assert page.total == len(page.items)
    with pytest.raises(NotFound):
        await client_timeline(actor(org.a.users["agent2"]), records["client"].id)


async def test_the_timeline_pages_without_losing_or_repeating_an_event(org):
    agent = actor(org.a.users["agent1"])
    client = org.a.records["agent1"]["client"]
    for n in range(7):
        await visits.create_note(agent, {"client_id": client.id, "body": f"跟进 {n}"})
    whole = await client_timeline(agent, client.id, limit=100)
    pages = [await client_timeline(agent, client.id, limit=3, offset=offset) for offset in range(0, whole.total, 3)]
    assert [i.id for p in pages for i in p.items] == [i.id for i in whole.items]
    assert {p.total for p in pages} == {whole.total}


async def test_the_project_timeline_holds_stages_milestones_collections_and_reassignments(org):
    project = await new_project(org, contract_value=decimal.Decimal("1000.00"))
    agent = actor(org.a.users["agent1"])
    first = (await open_milestones(project["id"]))[0]
    await actions.complete_milestone(agent, first["id"], first["version"])
    await walk_to(org, project["id"], "collection")
    finance = actor(org.a.users["finance"])
    await collections.record_collection(finance, project["id"], amount=decimal.Decimal("400"),
                                        received_on=dt.date.today())
    manager = actor(org.a.users["branch_manager"])
    milestone = (await open_milestones(project["id"]))[0]
    await actions.reassign_milestone(manager, milestone["id"], org.a.users["branch_manager"].id,
                                     milestone["version"])
    page = await project_timeline(agent, project["id"], limit=100)
    kinds = {item.kind for item in page.items}
    assert {"stage", "milestone", "collection", "reassignment"} <= kinds
    payment = next(item for item in page.items if item.kind == "collection")
    assert payment.amount == decimal.Decimal("400.00") and payment.actor_name == "A_FINANCE"
    assert page.items[0].kind == "reassignment"  # the latest thing that happened
    # Finance sees the money and the stages, never notes or photos.
    seen = await project_timeline(finance, project["id"], limit=100)
    assert "note" not in {item.kind for item in seen.items} and "collection" in {item.kind for item in seen.items}
