"""Issue 14, the template editor's service face: a stale save answers 409 with what the other admin changed; a
lifecycle of 500 stages or one returning to a stage is refused naming the field; a ladder step to a role a branch
lacks is a warning, not a refusal; each version says how many open projects run it."""

from __future__ import annotations

import copy

import pytest

from backend.accounts.tables import User
from backend.errors import Invalid
from backend.lifecycle import services as life
from backend.lifecycle.seeds import seed_for
from tests.support.factories import actor, caller, make_org
from tests.support.lifecycle import new_project

pytestmark = pytest.mark.anyio


def seed_json(key: str) -> dict:
    import msgspec

    return msgspec.to_builtins(seed_for(key))


async def test_stale_save_answers_409_with_the_other_admins_changes(api):
    org = await make_org()
    admin = await caller(api, org.admin)
    url = f"/api/business-lines/{org.line.id}/template"
    mine, theirs = seed_json("real_estate"), seed_json("real_estate")
    theirs["stages"][2]["sla_hours"] = 24
    theirs["stages"][2]["milestones"].append({"key": "keys_handover", "title_zh": "交接钥匙",
                                              "title_en": "Hand over the keys", "sla_hours": 48})
    assert (await admin.request("PUT", url, json={"definition": theirs, "based_on": 1})).status_code == 200
    mine["business_hours"] = True
    stale = await admin.request("PUT", url, json={"definition": mine, "based_on": 1})
    assert stale.status_code == 409, stale.text
    diff = stale.json()["diff"]
    assert "~ signing.sla_hours: 72 → 24" in diff and "+ milestone keys_handover in signing" in diff


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d.update(stages=[copy.deepcopy(d["stages"][0]) | {"key": f"s{i}"} for i in range(500)]),
     "definition.stages", "20"),
    (lambda d: d["stages"].append(copy.deepcopy(d["stages"][0])), "definition.stages[6].key", "cycle"),
    (lambda d: d["stages"][1]["milestones"][0].update(sla_hours=0), "definition.stages[1].milestones[0].sla_hours",
     ">= 1"),
])
async def test_bad_drafts_are_refused_naming_the_field(database, change, field, words):
    draft = seed_json("real_estate")
    change(draft)
    with pytest.raises(Invalid) as refused:
        await life.check_template(draft)
    assert refused.value.field == field and words in refused.value.message


async def test_ladder_step_to_a_role_a_branch_lacks_is_a_warning(database):
    org = await make_org()
    await User.update({User.is_active: False}).where(User.id == org.b.users["legal"].id)
    draft = seed_json("real_estate")
    ladder = draft["stages"][0]["escalation"]
    ladder.append({"after_hours": 500, "to": "role", "role": "legal"})
    found = await life.check_template(draft)
    assert {"field": f"definition.stages[0].escalation[{len(ladder) - 1}].role", "role": "legal",
            "branches": ["Branch B"]} in found["warnings"]
    assert all(w["branches"] == ["Branch B"] for w in found["warnings"])  # branch A has its legal specialist
    saved = await life.save_template(actor(org.admin), org.line.id, draft, 1)
    assert saved["number"] == 2


async def test_each_version_says_how_many_open_projects_run_it(database):
    org = await make_org()
    await new_project(org)
    await new_project(org, owner="agent2")
    admin = actor(org.admin)
    before = await life.template_editor(admin, org.line.id)
    draft = copy.deepcopy(before["definition"])
    draft["stages"][0]["sla_hours"] = 48
    await life.save_template(admin, org.line.id, draft, before["number"])
    await new_project(org)
    after = await life.template_editor(admin, org.line.id)
    running = {v["number"]: v["running"] for v in after["versions"]}
    assert after["number"] == before["number"] + 1
    assert running[before["number"]] >= 2 and running[after["number"]] == 1
