"""Similar clients: an explainable score over profile tags, budget range, area and intent (no external model).

`similarity()` is a pure function of two client records and returns the reasons it found, so the screen can say
*why* a client is similar ("shared tags 学区房, 首套 · budgets overlap 80% · same area 张江"). `similar_clients()`
compares one client with the others the actor may see, through the same scoped list as every other screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WEIGHTS = {"tags": 0.4, "budget": 0.3, "area": 0.2, "intent": 0.1}
MIN_SCORE = 0.25
CANDIDATE_LIMIT = 2000


@dataclass(frozen=True)
class Reason:
    """One explanation: `kind` is tags | budget | area | intent; `detail` what matched; `share` its 0..1 strength."""

    kind: str
    detail: tuple[str, ...]
    share: float


@dataclass(frozen=True)
class Similarity:
    client_id: Any
    score: float
    reasons: tuple[Reason, ...]


def _tags(client: dict[str, Any]) -> set[str]:
    return {str(tag).strip() for tag in client.get("tags") or [] if str(tag).strip()}


def budget_overlap(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Overlap of the two budget ranges over their union (0..1); a range given as one bound is a point."""
    def bounds(client: dict[str, Any]) -> tuple[float, float] | None:
        given = [float(v) for v in (client.get("budget_min"), client.get("budget_max")) if v is not None]
        if not given:
            return None
        return min(given), max(given)

    first, second = bounds(a), bounds(b)
    if first is None or second is None:
        return 0.0
    union = max(first[1], second[1]) - min(first[0], second[0])
    if union == 0:
        return 1.0
    overlap = min(first[1], second[1]) - max(first[0], second[0])
    return max(0.0, overlap) / union


def similarity(target: dict[str, Any], other: dict[str, Any]) -> Similarity:
    reasons: list[Reason] = []
    score = 0.0
    target_tags, other_tags = _tags(target), _tags(other)
    shared = target_tags & other_tags
    if shared:
        share = len(shared) / len(target_tags | other_tags)
        score += WEIGHTS["tags"] * share
        reasons.append(Reason("tags", tuple(sorted(shared)), round(share, 2)))
    overlap = budget_overlap(target, other)
    if overlap > 0:
        score += WEIGHTS["budget"] * overlap
        reasons.append(Reason("budget", (), round(overlap, 2)))
    area = (target.get("area_preference") or "").strip()
    if area and area.casefold() == (other.get("area_preference") or "").strip().casefold():
        score += WEIGHTS["area"]
        reasons.append(Reason("area", (area,), 1.0))
    intent = target.get("intent") or ""
    if intent and intent == other.get("intent"):
        score += WEIGHTS["intent"]
        reasons.append(Reason("intent", (intent,), 1.0))
    return Similarity(other.get("id"), round(score, 3), tuple(reasons))


def rank_similar(
    target: dict[str, Any], candidates: list[dict[str, Any]], limit: int = 5, min_score: float = MIN_SCORE
) -> list[tuple[dict[str, Any], Similarity]]:
    """The `limit` most similar candidates (never the target itself), best first; ties by name for stable output."""
    scored = [
        (candidate, similarity(target, candidate))
        for candidate in candidates
        if candidate.get("id") != target.get("id")
    ]
    scored = [(c, s) for c, s in scored if s.score >= min_score]
    scored.sort(key=lambda pair: (-pair[1].score, str(pair[0].get("name", "")), str(pair[0].get("id"))))
    return scored[:limit]
