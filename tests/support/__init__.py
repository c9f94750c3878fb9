"""Test helpers, loaded as a pytest plugin by tests/conftest.py (`pytest_plugins`); test modules import the
helper functions and classes from here, never from a conftest.

Fixtures and hooks: `ci` (no skips under CI), `databases` (SQLite and PostgreSQL per test, the API client),
`demo` (the demo organisation seeded once per session and served per module), `browser` (Chromium, phones).
Helpers: `factories` (rows straight into the database, API callers), `lifecycle`, `photos`, `images`, `push`,
`push_service` (a push-service stand-in), `notifications`, `escalation`, `sync`; `clock_worker` and
`measure_upload` run in subprocesses (`python -m tests.support.…`).
"""
