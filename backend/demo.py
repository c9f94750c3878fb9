"""A realistic demo organisation: 2 regions, 4 branches, 30 users, 300 clients, 120 projects (Chinese data)."""

from __future__ import annotations

import datetime as dt
import decimal
import random
import zoneinfo
from dataclasses import dataclass
from typing import Any

from backend import db
from backend.accounts.services import hash_password
from backend.accounts.tables import Branch, Region, User
from backend.audit.services import record_change
from backend.clients.tables import INTENTS, SOURCES, Client, Opportunity
from backend.lifecycle.demo import build_history
from backend.lifecycle.tables import BusinessCalendar, Collection, Milestone, StageEntry, Timer
from backend.projects.tables import BusinessLine, Project, ProjectMember, TemplateVersion
from backend.visits.tables import Note, Visit
from notifications.tables import InboxItem

DEMO_PASSWORD = "demo1234"
GUIDE_SEEN = "closed"  # the demo's people know the app; Settings shows the first-run guide again
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "桂英", "建华", "文", "辉", "玲", "晨", "浩然", "子涵", "欣怡",
         "宇轩", "思远", "嘉怡", "俊杰"]
BRANCHES = [
    # region, code, name, city areas, streets
    ("east", "SH-PD", "上海浦东店", ["陆家嘴", "张江", "世纪公园", "金桥", "川沙"],
     ["世纪大道", "张杨路", "锦绣路", "碧波路"]),
    ("east", "SH-JA", "上海静安店", ["静安寺", "南京西路", "大宁", "彭浦"],
     ["延安中路", "南京西路", "共和新路", "万荣路"]),
    ("south", "SZ-NS", "深圳南山店", ["科技园", "蛇口", "前海", "西丽"],
     ["深南大道", "科苑路", "南海大道", "沙河西路"]),
    ("south", "GZ-TH", "广州天河店", ["珠江新城", "天河北", "体育西", "员村"],
     ["天河路", "黄埔大道", "花城大道", "体育东路"]),
]
REGIONS = {"east": "华东区", "south": "华南区"}
LINES = [("real_estate", "房产交易", "Real-estate deal"), ("legal_case", "法律案件", "Legal case"),
         ("recruitment", "招聘安置", "Recruitment placement")]
NAMED = {  # the people of USERS.md, so the demo logins match the stories
    ("SH-PD", "agent", 0): ("lina", "李娜"),
    ("SH-PD", "legal", 0): ("zhangwei", "张伟"),
    ("SH-PD", "finance", 0): ("chenjing", "陈静"),
    ("SH-PD", "branch_manager", 0): ("wangqiang", "王强"),
}
STAFF = [("branch_manager", 1), ("agent", 3), ("project_manager", 1), ("legal", 1), ("finance", 1)]
TAGS = ["学区房", "首套", "改善", "投资", "急售", "全款", "贷款", "外籍", "老客户", "高意向", "地铁沿线", "新房"]
PROJECT_TITLES = {
    "real_estate": ["{area}三居室买卖", "{area}公寓租赁", "{area}商铺转让", "{area}二手房置换"],
    "legal_case": ["二手房买卖合同纠纷", "租赁合同审查", "劳动争议仲裁", "股权转让尽调"],
    "recruitment": ["高级软件工程师招聘", "财务总监猎聘", "销售经理安置", "门店店长招聘"],
}
STAGES = ["intake", "assessment", "signing", "execution", "collection", "review"]


@dataclass
class DemoSummary:
    logins: list[tuple[str, str, str, str]]
    counts: dict[str, int]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


async def demo_exists() -> bool:
    return await Region.exists().where(Region.code == "east")


async def seed_demo(seed: int = 7, scale: int = 1, now: dt.datetime | None = None) -> DemoSummary:
    """Insert the demo organisation in one transaction; `scale` multiplies clients and projects."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    password_hash = hash_password(DEMO_PASSWORD)
    rows: dict[str, list[Any]] = {k: [] for k in ("regions", "branches", "users", "lines", "clients", "opportunities",
                                                   "projects", "members", "visits", "notes")}
    regions = {key: Region(code=key, name=name) for key, name in REGIONS.items()}
    rows["regions"] = list(regions.values())
    lines = [BusinessLine(key=k, name_zh=zh, name_en=en) for k, zh, en in LINES]
    rows["lines"] = lines
    staff: dict[str, dict[str, list[User]]] = {}
    logins: list[tuple[str, str, str, str]] = []
    executive = None
    for index, (region_key, code, name, _areas, _streets) in enumerate(BRANCHES):
        branch = Branch(region=regions[region_key].id, code=code, name=name, timezone="Asia/Shanghai")
        rows["branches"].append(branch)
        if index == 0:
            executive = User(username="liumin", display_name="刘敏", password_hash=password_hash, guide=GUIDE_SEEN,
                             role="executive", branch=branch.id)
            admin = User(username="admin", display_name="系统管理员", password_hash=password_hash, guide=GUIDE_SEEN,
                         role="admin", branch=branch.id)
            rows["users"] += [executive, admin]
            logins += [("liumin", "刘敏", "executive", name), ("admin", "系统管理员", "admin", name)]
        assert executive is not None  # made with the first branch
        staff[code] = {}
        manager: User | None = None
        for role, count in STAFF:
            for n in range(count):
                username, display = NAMED.get((code, role, n)) or (f"{code.lower().replace('-', '')}_{role}{n + 1}",
                                                                   _person(rng))
                user = User(username=username, display_name=display, password_hash=password_hash, guide=GUIDE_SEEN,
                            role=role, branch=branch.id, supervisor=(manager.id if manager else executive.id),
                            phone=f"13{rng.randrange(10**8, 10**9)}")
                if role == "branch_manager":
                    manager = user
                staff[code].setdefault(role, []).append(user)
                rows["users"].append(user)
                logins.append((username, display, role, name))
    for _index, (_region, code, _name, areas, streets) in enumerate(BRANCHES):
        branch_id = next(b.id for b in rows["branches"] if b.code == code)
        agents, pm = staff[code]["agent"], staff[code]["project_manager"][0]
        legal, finance = staff[code]["legal"][0], staff[code]["finance"][0]
        branch_clients: list[Client] = []
        for _ in range(75 * scale):
            agent = rng.choice(agents)
            low = rng.choice([100, 200, 300, 500, 800, 1200]) * 10_000
            client = Client(
                branch=branch_id, owner=agent.id, name=_person(rng),
                phone=f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}",
                intent=rng.choice(INTENTS[:5]), budget_min=low, budget_max=low + rng.choice([50, 100, 200]) * 10_000,
                area_preference=rng.choice(areas), source=rng.choice(SOURCES), tags=rng.sample(TAGS, rng.randint(1, 3)),
                private_notes=rng.choice(["", "客户希望周末看房", "对价格敏感", "需要尽快搬入", "配偶决策"]),
                created_at=now - dt.timedelta(days=rng.randint(1, 365)),
            )
            branch_clients.append(client)
            if rng.random() < 0.5:
                state = rng.choice(["potential", "following", "following", "won", "lost"])
                rows["opportunities"].append(Opportunity(
                    branch=branch_id, owner=agent.id, client=client.id, title=f"{client.area_preference}置业意向",
                    state=state, value=decimal.Decimal(rng.randrange(50, 900) * 1000),
                    lost_reason="预算不足，暂缓购房" if state == "lost" else "",
                    closed_at=now - dt.timedelta(days=rng.randint(1, 60)) if state in ("won", "lost") else None,
                ))
        rows["clients"] += branch_clients
        tz = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = now.astimezone(tz).replace(hour=9, minute=30, second=0, microsecond=0)
        for _ in range(30 * scale):
            line = rng.choice(lines)
            client = rng.choice(branch_clients)
            owner = next(a for a in agents if a.id == client.owner)
            stage = rng.choice(STAGES)
            value = decimal.Decimal(rng.randrange(20, 500) * 1000)
            collecting = stage in ("collection", "review")
            collected = value * decimal.Decimal(rng.choice([0, 0, 0.3, 0.5, 1])) if collecting else 0
            project = Project(
                branch=branch_id, business_line=line.id, client=client.id, owner=owner.id, manager=pm.id,
                title=rng.choice(PROJECT_TITLES[line.key]).format(area=client.area_preference),
                description="客户要求在月底前完成" if rng.random() < 0.3 else "", stage_key=stage,
                contract_value=value, collected_amount=decimal.Decimal(collected).quantize(decimal.Decimal("0.01")),
                opened_at=now - dt.timedelta(days=rng.randint(10, 365)),
            )
            rows["projects"].append(project)
            rows["members"].append(ProjectMember(project=project.id, user=owner.id, kind="team"))
            if stage in ("signing", "execution", "collection", "review"):
                rows["members"].append(ProjectMember(project=project.id, user=legal.id, kind="milestone"))
            if stage in ("collection", "review"):
                rows["members"].append(ProjectMember(project=project.id, user=finance.id, kind="stage"))
        for agent in agents:
            mine = [c for c in branch_clients if c.owner == agent.id]
            for slot in range(4):  # today's viewings, 9:30 to 16:30
                client = mine[slot % len(mine)]
                rows["visits"].append(Visit(
                    branch=branch_id, owner=agent.id, client=client.id,
                    address=f"{client.area_preference}{rng.choice(streets)}{rng.randint(1, 999)}号",
                    scheduled_at=(today + dt.timedelta(hours=2 * slot)).astimezone(dt.UTC),
                ))
            for _ in range(8):
                client = rng.choice(mine)
                visit = Visit(
                    branch=branch_id, owner=agent.id, client=client.id,
                    address=f"{client.area_preference}{rng.choice(streets)}{rng.randint(1, 999)}号",
                    scheduled_at=(today - dt.timedelta(days=rng.randint(1, 30))).astimezone(dt.UTC),
                    status="done", summary=rng.choice(["客户满意，考虑中", "价格偏高", "需要二次带看", "已初步意向"]),
                )
                rows["visits"].append(visit)
                body = rng.choice(["采光很好，客户喜欢南向阳台", "业主可以降价五万", "客户下周带家人再看"])
                rows["notes"].append(Note(branch=branch_id, author=agent.id, visit=visit.id, body=body))
    history = build_history(rows, rng, now)  # stage histories, milestones, timers, inbox, collections (回款)
    rows["members"] += history.pop("members")
    rows.update(history)
    order = [("regions", Region), ("lines", BusinessLine), ("templates", TemplateVersion), ("branches", Branch),
             ("calendars", BusinessCalendar), ("users", User), ("clients", Client), ("opportunities", Opportunity),
             ("projects", Project), ("members", ProjectMember), ("stages", StageEntry), ("milestones", Milestone),
             ("timers", Timer), ("collections", Collection), ("inbox", InboxItem), ("visits", Visit), ("notes", Note)]
    async with db.write_transaction():
        for key, table in order:
            for start in range(0, len(rows[key]), 500):
                await table.insert(*rows[key][start:start + 500])
        await record_change(actor_id=None, action="demo_seed", table="demo", row_id=seed,
                            after={k: len(v) for k, v in rows.items()})
    return DemoSummary(logins=logins, counts={k: len(v) for k, v in rows.items()})
