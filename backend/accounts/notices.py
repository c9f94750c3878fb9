"""Inbox texts about accounts, in the recipient's language: a privileged role was granted."""

from __future__ import annotations

import uuid

from backend.settings import get_settings
from notifications import Notice

# Roles that see every record (executive), a whole branch (branch_manager) or administer users (admin): granting
# one is announced to the executives, so no such account appears without somebody being told.
PRIVILEGED_ROLES = frozenset({"executive", "branch_manager", "admin"})

ROLE_NAMES = {
    "zh": {"admin": "管理员", "agent": "经纪人", "branch_manager": "门店经理", "executive": "高管", "finance": "财务",
           "legal": "法务专员", "project_manager": "项目经理"},
    "en": {"admin": "Administrator", "agent": "Agent", "branch_manager": "Branch manager", "executive": "Executive",
           "finance": "Finance", "legal": "Legal specialist", "project_manager": "Project manager"},
}
TEXTS = {
    "zh": ("权限授予：{user}成为{role}", "{actor}授予{user}（{branch}）{role}角色{previous}。如非预期，请立即核查。"),
    "en": ("Privileged role granted: {user} is now {role}",
           "{actor} gave {user} ({branch}) the {role} role{previous}. If you did not expect this, check at once."),
}
PREVIOUS = {"zh": "（原为{role}）", "en": " (was {role})"}
SYSTEM_ACTOR = {"zh": "系统命令行", "en": "The command line"}


def role_granted(*, recipient: uuid.UUID, language: str, user_id: uuid.UUID, user: str, branch: str, role: str,
                 previous_role: str | None, actor: str | None) -> Notice:
    lang = language if language in TEXTS else get_settings().default_language
    names = ROLE_NAMES[lang]
    previous = PREVIOUS[lang].format(role=names.get(previous_role, previous_role)) if previous_role else ""
    values = {"user": user, "branch": branch, "role": names.get(role, role), "previous": previous,
              "actor": actor or SYSTEM_ACTOR[lang]}
    title, body = TEXTS[lang]
    return Notice(user_id=recipient, kind="role_granted", title=title.format(**values), body=body.format(**values),
                  link="/inbox", urgency="high", source_id=user_id)
