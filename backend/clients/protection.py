"""Client protection (客源保护): one phone number, one client per branch.

An agent who registers a phone the branch already holds is refused without learning whose client it is (no name,
no owner: the refusal must not leak another agent's client); the branch managers are told in the same breath, with
the names, so they can resolve it — keep the client where it is, transfer it to the agent who met the person, or
merge what the agent knew into it. The inbox item is written in a transaction of its own that commits before the
refusal is raised, so the manager hears of every attempt even though nothing of the attempt is stored.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from backend import db
from backend.access import Actor
from backend.accounts.tables import User
from backend.audit.services import record_change
from backend.clients.tables import Client
from backend.errors import Invalid
from notifications import Notice, notify

TAKEN = "already registered in your branch; your manager has been told"
_FILLER = re.compile(r"[\s\-()（）.]")
TEXTS = {
    "zh": ("客源撞单：{phone}", "{agent}想登记电话 {phone}，该号码已属于{owner}的客户「{client}」。"
                               "请处理：保留、合并或转给{agent}。"),
    "en": ("Client collision: {phone}", "{agent} tried to register {phone}, which belongs to {owner}'s client "
                                        "“{client}”. Resolve it: keep, merge or transfer it to {agent}."),
}


def normalise_phone(phone: str) -> str:
    """The number as stored and compared: spaces, dashes, dots and brackets dropped (138 0000-0000 = 13800000000)."""
    return _FILLER.sub("", phone or "")


async def holder_of(phone: str, branch_id: uuid.UUID, except_id: uuid.UUID | None = None) -> dict[str, Any] | None:
    """The branch's client with this phone, if any (other than `except_id`)."""
    query = Client.select(Client.id, Client.name, Client.owner, Client.owner.display_name.as_alias("owner_name")
                          ).where((Client.branch == branch_id) & (Client.phone == phone))
    if except_id is not None:
        query = query.where(Client.id != except_id)
    row: dict[str, Any] | None = await query.first()
    return row


async def refuse_if_registered(actor: Actor, phone: str, branch_id: uuid.UUID, except_id: uuid.UUID | None = None
                               ) -> None:
    """Raise the 422 on `phone` when the branch already has a client with that number, after telling its managers."""
    if not phone:
        return
    holder = await holder_of(phone, branch_id, except_id)
    if holder is None:
        return
    managers = await User.select(User.id, User.language).where(
        (User.branch == branch_id) & (User.role == "branch_manager") & (User.is_active == True)  # noqa: E712
    )
    values = {"phone": phone, "agent": actor.display_name or actor.username, "owner": holder["owner_name"] or "—",
              "client": holder["name"]}
    notices = []
    for manager in managers:
        lang = manager["language"] if manager["language"] in TEXTS else "zh"
        title, body = TEXTS[lang]
        notices.append(Notice(user_id=manager["id"], kind="client_collision", title=title.format(**values),
                              body=body.format(**values), link=f"/clients/{holder['id']}?collision={actor.id}",
                              topic=holder["id"].hex, source_id=holder["id"]))
    async with db.write_transaction():
        await notify(notices)
        await record_change(actor_id=actor.id, action="collision", table="clients", row_id=holder["id"],
                            after={"phone": phone, "attempted_by": actor.id}, branch_id=branch_id,
                            owner_id=holder["owner"])
    raise Invalid(TAKEN, field="phone", extra={"reason": "phone_registered"})
