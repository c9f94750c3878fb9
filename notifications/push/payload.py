"""The push message the service worker receives: JSON {title, body, url, tag, project_id, kind, urgency} < 3 KB.

Push services accept about 4 KB of ciphertext; aes128gcm adds 86 bytes of header and 17 of tag and padding,
so 3,000 bytes of plaintext leaves room, and a long body is cut (with "…") rather than the push refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid

MAX_PAYLOAD_BYTES = 3000
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def project_id_of(topic: str) -> uuid.UUID | None:
    """Notices about a project carry its id as their topic."""
    try:
        return uuid.UUID(topic.strip()) if topic else None
    except ValueError:
        return None


def push_topic(topic: str) -> str:
    """The `Topic` header (≤ 32 base64url characters): a project UUID as 32 hex, other short keys as they are."""
    if not topic:
        return ""
    project = project_id_of(topic)
    if project is not None:
        return project.hex
    if TOPIC.match(topic):
        return topic
    return hashlib.sha256(topic.encode()).hexdigest()[:32]


def _encode(message: dict[str, object]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def build_payload(*, title: str, body: str, url: str, tag: str, project_id: uuid.UUID | None, kind: str,
                  urgency: str) -> bytes:
    """UTF-8 JSON under MAX_PAYLOAD_BYTES: the body is cut first, then the title."""
    message: dict[str, object] = {
        "title": title, "body": body, "url": url or "/", "tag": tag[:64],
        "project_id": str(project_id) if project_id else None, "kind": kind, "urgency": urgency,
    }
    for field in ("body", "title"):
        data = _encode(message)
        if len(data) < MAX_PAYLOAD_BYTES:
            return data
        text = str(message[field])
        low, high = 0, len(text)  # the longest prefix that fits, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            if len(_encode({**message, field: text[:middle] + "…"})) < MAX_PAYLOAD_BYTES:
                low = middle
            else:
                high = middle - 1
        message[field] = text[:low] + "…"
    data = _encode(message)
    if len(data) >= MAX_PAYLOAD_BYTES:  # only a huge url or tag could get here; links are capped at 500
        message["url"] = "/"
        data = _encode(message)
    return data
