"""In-app inbox (and, later, push delivery): a library that backend services call.

It imports neither `pwa/` nor `backend/` services; users are referenced lazily by table name. Who may read
which items is a rule of `backend/access.py`.
"""

from notifications.inbox import Notice, notify

__all__ = ["Notice", "notify"]
