import pytest

from tests.support.factories import caller, make_org

pytestmark = pytest.mark.anyio


async def test_clients_list_agent_sees_own(api):
    org = await make_org()
    agent = await caller(api, org.a.users["agent1"])
    response = await agent.get("/api/clients")
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["items"]] == [str(org.a.records["agent1"]["client"].id)]
