"""The three seeded lifecycles (real-estate deal, legal case, recruitment placement) and a generic one.

Each runs intake → assessment → signing → execution → collection → review. A business line without a template
gets version 1 from here the first time a project needs it: its seed if its key is one of the three, else the
generic lifecycle, which an admin then edits.
"""

from __future__ import annotations

from typing import Any

import msgspec

from backend.lifecycle.definitions import TemplateDef, check

STAGE_NAMES = {
    "intake": ("获客", "Intake"),
    "assessment": ("评估", "Assessment"),
    "signing": ("签约", "Signing"),
    "execution": ("执行", "Execution"),
    "collection": ("回款", "Collection"),
    "review": ("复盘", "Review"),
}
# At the deadline the owner's supervisor hears of it; a day later the branch manager; after three days the next
# link above the branch (USERS.md: "a missed deadline escalates to the supervisor, then higher" — the executive).
LADDER = [{"after_hours": 0, "to": "supervisor"}, {"after_hours": 24, "to": "branch_manager"},
          {"after_hours": 72, "to": "above_branch"}]


def _m(
    key: str, zh: str, en: str, owner: str = "stage_owner", sla: int | None = None, auto: str | None = None
) -> dict[str, Any]:
    milestone: dict[str, Any] = {"key": key, "title_zh": zh, "title_en": en, "owner": owner}
    if sla is not None:
        milestone["sla_hours"] = sla
    if auto is not None:
        milestone["auto"] = auto
    return milestone


def _stage(key: str, owner: str, sla: int, milestones: list[dict[str, Any]], requires: list[str], *, remind: int = 4,
           notify: tuple[str, ...] = (), ladder: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    zh, en = STAGE_NAMES[key]
    return {"key": key, "name_zh": zh, "name_en": en, "owner": owner, "sla_hours": sla, "remind_before_hours": remind,
            "notify_on_entry": list(notify), "escalation": ladder or LADDER, "milestones": milestones,
            "requires": requires}


REAL_ESTATE = {
    # Agents show flats at weekends: real-estate deadlines run on the calendar, not on office hours.
    "business_hours": False,
    "stages": [
        _stage("intake", "project_owner", 72, [
            _m("needs_recorded", "客户需求登记（预算、区域、户型）", "Client needs recorded (budget, area, layout)",
               sla=24),
            _m("first_viewing", "完成首次带看", "First viewing done"),
        ], ["needs_recorded"]),
        _stage("assessment", "project_owner", 120, [
            _m("title_verified", "房源产权与抵押核验", "Title and mortgage checked"),
            _m("price_agreed", "价格评估与议价完成", "Price assessed and agreed"),
            _m("eligibility_checked", "购房资格与贷款预审", "Purchase eligibility and loan pre-check"),
        ], ["title_verified", "price_agreed"]),
        _stage("signing", "project_manager", 72, [
            _m("contract_review", "合同审核（法务）", "Contract reviewed by legal", owner="legal", sla=48),
            _m("deposit_received", "定金到账确认", "Deposit received", owner="finance"),
            _m("contract_signed", "买卖合同签署", "Purchase contract signed", owner="project_owner"),
        ], ["contract_review", "contract_signed"], notify=("legal", "project_owner"), ladder=[
            *LADDER[:2], {"after_hours": 72, "to": "role", "role": "legal"}, {"after_hours": 96, "to": "above_branch"},
        ]),
        _stage("execution", "project_manager", 720, [
            _m("loan_approved", "贷款审批通过", "Mortgage approved", owner="project_owner", sla=360),
            _m("title_transferred", "网签备案与过户登记", "Contract filed and title transferred"),
            _m("handover", "物业交接与水电煤过户", "Property and utilities handed over", owner="project_owner"),
        ], ["title_transferred"], remind=24),
        _stage("collection", "finance", 168, [
            _m("commission_invoiced", "佣金发票开具", "Commission invoice issued", sla=48),
            _m("commission_collected", "佣金全额回款", "Commission collected in full", auto="full_collection"),
        ], ["commission_collected"], notify=("finance", "project_owner"), remind=24),
        _stage("review", "project_manager", 168, [
            _m("client_survey", "客户满意度回访", "Client satisfaction call", owner="project_owner", sla=72),
            _m("deal_review", "项目复盘总结", "Deal review written"),
        ], ["deal_review"], remind=24),
    ],
}

LEGAL_CASE = {
    "business_hours": True,
    "stages": [
        _stage("intake", "project_owner", 24, [
            _m("case_registered", "案件登记与材料接收", "Case registered, documents received"),
            _m("conflict_check", "利益冲突检索", "Conflict of interest checked", owner="legal", sla=16),
        ], ["case_registered", "conflict_check"], notify=("legal",)),
        _stage("assessment", "legal", 40, [
            _m("evidence_reviewed", "证据材料审阅", "Evidence reviewed"),
            _m("risk_opinion", "出具法律风险评估意见", "Legal risk opinion issued"),
            _m("fee_quoted", "律师费报价", "Fee quoted", owner="project_manager", sla=16),
        ], ["evidence_reviewed", "risk_opinion"]),
        _stage("signing", "project_manager", 40, [
            _m("engagement_review", "委托代理合同审核（法务）", "Engagement contract reviewed by legal", owner="legal",
               sla=16),
            _m("engagement_signed", "委托代理合同签署", "Engagement contract signed", owner="project_owner"),
            _m("retainer_invoiced", "首期律师费发票开具", "Retainer invoiced", owner="finance"),
        ], ["engagement_review", "engagement_signed"], notify=("legal", "finance")),
        _stage("execution", "legal", 720, [
            _m("case_filed", "立案或提交仲裁申请", "Case filed with the court or arbitration", sla=40),
            _m("hearing_attended", "开庭或调解", "Hearing or mediation attended"),
            _m("judgment_received", "取得判决书或调解书", "Judgment or settlement received"),
        ], ["judgment_received"], remind=16),
        _stage("collection", "finance", 80, [
            _m("final_invoice", "律师费尾款发票开具", "Final fee invoiced", sla=16),
            _m("fees_collected", "律师费全额回款", "Fees collected in full", auto="full_collection"),
        ], ["fees_collected"], notify=("finance",)),
        _stage("review", "legal", 40, [
            _m("file_archived", "案卷整理归档", "Case file archived"),
            _m("client_feedback", "客户回访", "Client follow-up call", owner="project_owner"),
        ], ["file_archived"]),
    ],
}

RECRUITMENT = {
    "business_hours": True,
    "stages": [
        _stage("intake", "project_owner", 24, [
            _m("job_brief", "岗位需求与画像确认", "Job brief and candidate profile agreed"),
            _m("fee_terms", "服务费条款确认", "Fee terms agreed", owner="project_manager"),
        ], ["job_brief"]),
        _stage("assessment", "project_owner", 80, [
            _m("shortlist", "推荐候选人短名单", "Candidate shortlist sent", sla=40),
            _m("interviews", "客户面试安排与反馈", "Client interviews held and feedback collected"),
            _m("background_check", "背景调查", "Background check done"),
        ], ["shortlist", "interviews"]),
        _stage("signing", "project_manager", 40, [
            _m("offer_review", "录用通知与服务合同审核（法务）", "Offer letter and service contract reviewed by legal",
               owner="legal", sla=16),
            _m("offer_accepted", "候选人接受录用", "Offer accepted by the candidate", owner="project_owner"),
        ], ["offer_review", "offer_accepted"], notify=("legal",)),
        _stage("execution", "project_owner", 720, [
            _m("onboarded", "候选人入职", "Candidate started work", sla=160),
            _m("probation_check", "试用期跟进", "Probation check-in"),
        ], ["onboarded"], remind=16),
        _stage("collection", "finance", 80, [
            _m("fee_invoiced", "服务费发票开具", "Placement fee invoiced", sla=16),
            _m("fee_collected", "服务费全额回款", "Placement fee collected in full", auto="full_collection"),
        ], ["fee_collected"], notify=("finance",)),
        _stage("review", "project_manager", 40, [
            _m("client_feedback", "客户回访", "Client follow-up call", owner="project_owner"),
            _m("placement_review", "项目复盘总结", "Placement review written"),
        ], ["placement_review"]),
    ],
}

GENERIC = {
    "business_hours": False,
    "stages": [
        _stage("intake", "project_owner", 72, [_m("needs_recorded", "客户需求登记", "Client needs recorded")],
               ["needs_recorded"]),
        _stage("assessment", "project_owner", 120, [_m("assessed", "评估完成", "Assessment done")], ["assessed"]),
        _stage("signing", "project_manager", 72, [
            _m("contract_review", "合同审核（法务）", "Contract reviewed by legal", owner="legal", sla=48),
            _m("contract_signed", "合同签署", "Contract signed", owner="project_owner"),
        ], ["contract_review", "contract_signed"], notify=("legal",)),
        _stage("execution", "project_manager", 720, [_m("delivered", "服务交付完成", "Service delivered")],
               ["delivered"], remind=24),
        _stage("collection", "finance", 168, [
            _m("collected", "全额回款", "Collected in full", auto="full_collection"),
        ], ["collected"], notify=("finance",), remind=24),
        _stage("review", "project_manager", 168, [_m("reviewed", "项目复盘", "Project reviewed")], ["reviewed"],
               remind=24),
    ],
}

SEEDS: dict[str, dict[str, Any]] = {"real_estate": REAL_ESTATE, "legal_case": LEGAL_CASE, "recruitment": RECRUITMENT}


def seed_for(business_line_key: str) -> TemplateDef:
    definition = msgspec.convert(SEEDS.get(business_line_key, GENERIC), TemplateDef)
    check(definition)
    return definition
