"""Test data built straight into the database: two branches, two agents in each, one of every other role."""

from __future__ import annotations

import datetime as dt
import decimal
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend.access import Actor
from backend.accounts.services import hash_password, sha256
from backend.accounts.tables import Branch, Region, Session, User
from backend.clients.tables import Client, Opportunity
from backend.projects.tables import BusinessLine, Project, ProjectMember
from backend.visits.tables import Note, Visit

PASSWORD = "correct horse 1"
_HASH: list[str] = []


def password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


@dataclass
class Branchful:
    branch: Any
    users: dict[str, Any] = field(default_factory=dict)  # key: agent1, agent2, branch_manager, …
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # records[agent_key][resource] = row


@dataclass
class Org:
    region: Any
    line: Any
    a: Branchful
    b: Branchful
    executive: Any
    admin: Any

    def all_users(self) -> dict[str, Any]:
        users = {f"a.{k}": u for k, u in self.a.users.items()} | {f"b.{k}": u for k, u in self.b.users.items()}
        return users | {"executive": self.executive, "admin": self.admin}


def actor(user: Any) -> Actor:
    return Actor(id=user.id, role=user.role, branch_id=user.branch, username=user.username,
                 display_name=user.display_name)


async def make_user(branch: Any, role: str, username: str, supervisor: Any = None) -> Any:
    user = User(username=username.lower(), display_name=username.upper(), password_hash=password_hash(), role=role,
                branch=branch.id, supervisor=supervisor.id if supervisor else None)
    await User.insert(user)
    return user


async def _branch(region: Any, line: Any, code: str, executive: Any | None) -> Branchful:
    branch = Branch(region=region.id, code=code, name=f"Branch {code}", timezone="Asia/Shanghai")
    await Branch.insert(branch)
    result = Branchful(branch=branch)
    manager = await make_user(branch, "branch_manager", f"{code}_bm", executive)
    result.users["branch_manager"] = manager
    for role in ("project_manager", "legal", "finance"):
        result.users[role] = await make_user(branch, role, f"{code}_{role}", manager)
    pm, legal, finance = (result.users[r] for r in ("project_manager", "legal", "finance"))
    for key in ("agent1", "agent2"):
        agent = await make_user(branch, "agent", f"{code}_{key}", manager)
        result.users[key] = agent
        client = Client(branch=branch.id, owner=agent.id, name=f"client of {code}_{key}", tags=["首套"],
                        private_notes="secret", phone="13800000000", area_preference="浦东")
        await Client.insert(client)
        opportunity = Opportunity(branch=branch.id, owner=agent.id, client=client.id, title="deal",
                                  value=decimal.Decimal("1000"))
        await Opportunity.insert(opportunity)
        # agent1's project is managed by the PM, and legal/finance take part in it; agent2's is not.
        managed = key == "agent1"
        project = Project(branch=branch.id, business_line=line.id, client=client.id, owner=agent.id,
                          manager=pm.id if managed else None, title=f"project of {code}_{key}",
                          contract_value=decimal.Decimal("100000"), description="confidential terms")
        await Project.insert(project)
        await ProjectMember.insert(ProjectMember(project=project.id, user=agent.id, kind="team"))
        if managed:
            await ProjectMember.insert(ProjectMember(project=project.id, user=legal.id, kind="milestone"),
                                       ProjectMember(project=project.id, user=finance.id, kind="stage"))
        visit = Visit(branch=branch.id, owner=agent.id, client=client.id, project=project.id, address="世纪大道1号",
                      scheduled_at=dt.datetime.now(dt.UTC))
        await Visit.insert(visit)
        notes = {
            parent: Note(branch=branch.id, author=agent.id, body=f"note on {parent}", **{parent: row.id})
            for parent, row in (("client", client), ("project", project), ("visit", visit))
        }
        await Note.insert(*notes.values())
        result.records[key] = {"client": client, "opportunity": opportunity, "project": project, "visit": visit,
                               **{f"note_{k}": v for k, v in notes.items()}}
    return result


async def make_org() -> Org:
    region = Region(code="east", name="华东")
    await Region.insert(region)
    line = BusinessLine(key="real_estate", name_zh="房产交易", name_en="Real estate")
    await BusinessLine.insert(line)
    placeholder = Branch(region=region.id, code="HQ", name="HQ")
    await Branch.insert(placeholder)
    executive = await make_user(placeholder, "executive", "exec")
    admin = await make_user(placeholder, "admin", "admin")
    a = await _branch(region, line, "A", executive)
    b = await _branch(region, line, "B", executive)
    return Org(region=region, line=line, a=a, b=b, executive=executive, admin=admin)


async def open_session(user: Any, *, created_at: dt.datetime | None = None) -> tuple[str, str]:
    """A session row for `user`, as a sign-in would make; returns (cookie token, CSRF token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    at = created_at or dt.datetime.now(dt.UTC)
    await Session.insert(Session(token_hash=sha256(token), user=user.id, csrf_token=csrf, created_at=at,
                                 last_seen_at=at))
    return token, csrf


def new_id() -> str:
    return str(uuid.uuid4())


class Caller:
    """Calls the API as one signed-in user (session cookie plus the CSRF header on writes)."""

    def __init__(self, client: Any, token: str, csrf: str) -> None:
        self.client, self.token, self.csrf = client, token, csrf

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {"cookie": f"ipms_session={self.token}", "x-csrf-token": self.csrf, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)


async def caller(client: Any, user: Any) -> Caller:
    token, csrf = await open_session(user)
    return Caller(client, token, csrf)


async def register_device(me: Caller, label: str = "Android Chrome") -> str:
    """A device of `me`'s through the API (push subscriptions and sync hang off it); returns its id."""
    device_id = str(uuid.uuid4())
    reply = await me.request("PUT", f"/api/auth/devices/{device_id}", json={"label": label})
    assert reply.status_code == 200, reply.text
    return device_id
