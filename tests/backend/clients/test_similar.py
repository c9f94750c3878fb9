"""Similar clients: the pure score and its reasons, and the scoped search (an agent compares only their own)."""

from __future__ import annotations

import uuid

import pytest

from backend.clients import similar
from backend.clients.services import create_client, similar_clients
from backend.errors import NotFound
from tests.support.factories import actor, make_org


def client(**values: object) -> dict[str, object]:
    return {"id": uuid.uuid4(), "name": "x", "tags": [], "budget_min": None, "budget_max": None,
            "area_preference": "", "intent": "", **values}


def test_similarity_explains_shared_tags_budget_area_and_intent() -> None:
    a = client(tags=["学区房", "首套", "全款"], budget_min=300, budget_max=500, area_preference="张江", intent="buy")
    b = client(tags=["首套", "学区房", "投资"], budget_min=400, budget_max=600, area_preference=" 张江 ", intent="buy")
    result = similar.similarity(a, b)
    kinds = {r.kind: r for r in result.reasons}
    assert kinds["tags"].detail == ("学区房", "首套") and kinds["tags"].share == 0.5
    assert kinds["budget"].share == pytest.approx(1 / 3, abs=0.01)
    assert kinds["area"].detail == ("张江",)
    assert kinds["intent"].detail == ("buy",)
    assert result.score == pytest.approx(0.4 * 0.5 + 0.3 * (100 / 300) + 0.2 + 0.1, abs=0.001)


def test_similarity_of_unrelated_clients_is_zero_without_reasons() -> None:
    a = client(tags=["急售"], budget_min=100, budget_max=200, area_preference="蛇口", intent="sell")
    b = client(tags=["新房"], budget_min=500, budget_max=900, area_preference="陆家嘴", intent="rent")
    result = similar.similarity(a, b)
    assert result.score == 0 and result.reasons == ()


def test_budget_overlap_handles_missing_and_single_bounds() -> None:
    assert similar.budget_overlap(client(), client(budget_min=1, budget_max=2)) == 0
    assert similar.budget_overlap(client(budget_min=100), client(budget_min=100, budget_max=100)) == 1
    overlap = similar.budget_overlap(client(budget_min=0, budget_max=100), client(budget_min=50, budget_max=150))
    assert overlap == 50 / 150


def test_rank_similar_orders_best_first_excludes_target_and_weak_matches() -> None:
    target = client(name="t", tags=["首套"], area_preference="张江", intent="buy", budget_min=100, budget_max=200)
    strong = client(name="strong", tags=["首套"], area_preference="张江", intent="buy", budget_min=100, budget_max=200)
    medium = client(name="medium", tags=["首套"], area_preference="张江")
    weak = client(name="weak", intent="buy")
    ranked = similar.rank_similar(target, [weak, target, medium, strong], limit=5)
    assert [c["name"] for c, _ in ranked] == ["strong", "medium"]
    assert similar.rank_similar(target, [strong, medium], limit=1)[0][0]["name"] == "strong"


@pytest.mark.anyio
async def test_similar_clients_only_among_clients_the_actor_sees(database: object) -> None:
    org = await make_org()
    agent1, agent2 = actor(org.a.users["agent1"]), actor(org.a.users["agent2"])
    manager = actor(org.a.users["branch_manager"])
    mine = org.a.records["agent1"]["client"]
    twin = await create_client(agent1, {"name": "twin", "tags": ["首套"], "area_preference": "浦东"})
    ranked = await similar_clients(agent1, mine.id)
    assert [c.id for c, _ in ranked] == [twin.id]  # agent2's client is just as similar, but not visible
    ranked_by_manager = {c.id for c, _ in await similar_clients(manager, mine.id)}
    assert ranked_by_manager == {twin.id, org.a.records["agent2"]["client"].id}
    with pytest.raises(NotFound):
        await similar_clients(agent2, mine.id)
