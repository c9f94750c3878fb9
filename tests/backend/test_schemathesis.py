"""Schemathesis against the served OpenAPI document, on SQLite and on PostgreSQL: no response is a 5xx.

The app runs as a real server (uvicorn in a subprocess on a free port) on its own copy of the migrated test
database, and every request is signed in as a branch manager (session cookie and CSRF header). Path parameters
that name a record get the id of a real record of the manager's branch when Schemathesis made a valid UUID for
them — with random ids every record route would stop at the authorization guard's 404 before its body is read;
ids that are not UUIDs are sent as generated. Deletes get records of their own, so the rest keep theirs.

Bounded time: a fixed seed, a capped number of fuzzed examples per operation, no shrinking. Each backend's run
prints how many operations and requests it made and the status codes it got.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.checks import not_a_server_error

from backend import db
from backend.settings import Settings
from tests.support.databases import copy_of_template
from tests.support.factories import make_org, open_session

SEED = 20_260_110
MAX_EXAMPLES = 12  # fuzzed examples per operation and mode, on top of the coverage phase's boundary values
NOT_RUN = {"sign_out": "it would end the session every later request is signed in with"}


@dataclass
class Served:
    backend: str
    base_url: str
    headers: dict[str, str]
    ids: dict[str, str]  # path prefix or parameter name → a real record id
    disposable: dict[str, str]  # the same for deletes
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database(backend: str, data_dir: Path, request: pytest.FixtureRequest) -> Settings:
    """A copy of the migrated template, like `tests.support.databases.settings`, for the whole module."""
    return copy_of_template(backend, data_dir, request)


async def _seed(settings: Settings) -> tuple[Any, tuple[str, str]]:
    engine = db.engine_for(settings)
    db.bind(engine)
    await db.start(engine, pool_size=2)
    try:
        org = await make_org()
        return org, await open_session(org.a.users["branch_manager"])
    finally:
        await db.stop(engine)


def _start_server(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IPMS_ENV": "test", "IPMS_DATA_DIR": str(settings.data_dir),
           "IPMS_DATABASE_URL": settings.database_url or "", "IPMS_CLOCK_ENABLED": "false"}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "backend.app:asgi", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _wait_until_up(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start-up:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{log.read_text()}")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def _records(base_url: str, headers: dict[str, str], org: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Records for the path parameters, some made through the API (a project with its lifecycle, a photo, a
    device, a token) so that every kind the routes name exists."""
    mine, spare = org.a.records["agent1"], org.a.records["agent2"]
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as api:
        project = api.post("/api/projects", json={"title": "fuzzed", "business_line_id": str(org.line.id),
                                                  "client_id": str(mine["client"].id)}).raise_for_status().json()
        milestones = api.get("/api/milestones", params={"project_id": project["id"]}).raise_for_status().json()
        versions = api.get(f"/api/business-lines/{org.line.id}/template/versions").raise_for_status().json()
        device = str(uuid.uuid4())
        api.put(f"/api/auth/devices/{device}", json={"label": "fuzzer"}).raise_for_status()
        token = api.post("/api/auth/tokens", json={"name": "fuzzer"}).raise_for_status().json()
        photo = api.post("/api/photos", data={"id": str(uuid.uuid4()), "visit_id": str(mine["visit"].id)},
                         files={"file": ("p.jpg", _jpeg(), "image/jpeg")}).raise_for_status().json()
    people = {"owner_id": org.a.users["agent1"].id, "manager_id": org.a.users["project_manager"].id,
              "supervisor_id": org.a.users["branch_manager"].id, "client_id": mine["client"].id,
              "project_id": mine["project"].id, "visit_id": mine["visit"].id, "note_id": mine["note_visit"].id,
              "business_line_id": org.line.id, "branch_id": org.a.branch.id, "region_id": org.region.id}
    ids = {
        **people,
        "/api/clients/": mine["client"].id, "/api/opportunities/": mine["opportunity"].id,
        "/api/projects/": project["id"], "/api/visits/": mine["visit"].id, "/api/notes/": mine["note_visit"].id,
        "/api/users/": org.a.users["agent2"].id, "/api/branches/": org.a.branch.id, "/api/regions/": org.region.id,
        "/api/business-lines/": org.line.id, "milestone_id": milestones["items"][0]["id"],
        "version_id": versions[0]["id"], "device_id": device, "token_id": token["id"], "photo_id": photo["id"],
        "user_id": org.a.users["agent1"].id,
    }
    disposable = {
        **ids, "/api/clients/": spare["client"].id, "/api/opportunities/": spare["opportunity"].id,
        "/api/projects/": spare["project"].id, "/api/visits/": spare["visit"].id,
        "/api/notes/": spare["note_visit"].id,
    }
    return {k: str(v) for k, v in ids.items()}, {k: str(v) for k, v in disposable.items()}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"schemathesis-{backend}")
    settings = _database(backend, data_dir, request)
    org, (token, csrf) = asyncio.run(_seed(settings))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = data_dir / "server.log"
    server = _start_server(settings, port, log)
    try:
        _wait_until_up(base_url, server, log)
        headers = {"Cookie": f"ipms_session={token}", "X-CSRF-Token": csrf}
        assert httpx.get(f"{base_url}/schema/openapi.json").json() == DOCUMENT, "the server serves another document"
        ids, disposable = _records(base_url, headers, org)
        run = Served(backend, base_url, headers, ids, disposable)
        yield run
        print(f"\nschemathesis on {backend}: {len(run.operations)} operations, {sum(run.statuses.values())} "
              f"requests, statuses {dict(sorted(run.statuses.items()))}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    unhandled = [line for line in log.read_text(errors="replace").splitlines() if "Unhandled error" in line]
    print("\n".join(unhandled))  # each is also a failed request above; the log beside it has the traceback


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, made at collection (parametrize needs the operations then); the served
    fixture checks that the running server serves exactly this document."""
    from backend.app import create_litestar
    from pwa import session

    before = dict(session._active)
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_litestar(Settings(env="test", data_dir=Path(data_dir)), run_migrations=False,
                              engine=db.current_engine())
        document = app.openapi_schema.to_schema()
    session._active.clear()
    session._active.update(before)
    return json.loads(json.dumps(document, default=str))


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "no-shrink": True},
    "phases": {"stateful": {"enabled": False}},
})).exclude(operation_id=list(NOT_RUN))

# Values that fail differently on each database (PostgreSQL refuses NUL in text and integers past 64 bits or past
# its column's range; SQLite raises OverflowError past 64 bits). Schemathesis rarely draws them by itself, so a
# third of the generated bodies and queries get one leaf replaced by one of them: the app must answer it < 500.
HOSTILE_INTEGERS = (2**31, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63) - 1)
HOSTILE_NUMBERS = (1e20, 1e308, -1e308)
Path_ = tuple[Any, ...]


def _leaves(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path, value


def _replaced(value: Any, path: Path_, leaf: Any) -> Any:
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, leaf)}
    return [_replaced(item, rest, leaf) if index == head else item for index, item in enumerate(value)]


def hostile_variants(value: Any) -> list[Any]:
    """`value` with one leaf made hostile: NUL inside a string, an integer or number past the databases' range."""
    variants = []
    for path, leaf in _leaves(value):
        if isinstance(leaf, str):
            variants.append(_replaced(value, path, f"{leaf[:1]}\x00{leaf[1:]}"))
        else:
            hostile = HOSTILE_INTEGERS + HOSTILE_NUMBERS if isinstance(leaf, float) else HOSTILE_INTEGERS
            variants += [_replaced(value, path, v) for v in hostile]
    return variants


def _sometimes_hostile(value: Any) -> st.SearchStrategy[Any]:
    variants = hostile_variants(value)
    if not variants:
        return st.just(value)
    return st.booleans().flatmap(lambda hostile: st.sampled_from(variants) if hostile else st.just(value))


@schema.hook
def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
    return _sometimes_hostile(body)


@schema.hook
def flatmap_query(context: Any, query: Any) -> st.SearchStrategy[Any]:
    return _sometimes_hostile(query)


def _real_ids(served: Served, method: str, path: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """Valid UUIDs in the path replaced by records of the branch (other values stay: they test the parsing)."""
    known = served.disposable if method == "DELETE" else served.ids
    out = dict(parameters)
    for name, value in parameters.items():
        try:
            uuid.UUID(str(value))
        except ValueError:
            continue
        if name == "record_id":
            prefix = next((p for p in known if p.startswith("/") and path.startswith(p)), None)
            if prefix is not None:
                out[name] = known[prefix]
        elif name in known:
            out[name] = known[name]
    return out


def _real_body_ids(served: Served, body: Any) -> Any:
    """The same for the ids a body names at its top level (a visit's client, a photo's visit, …)."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    for name, value in body.items():
        if name.endswith("_id") and name in served.ids and isinstance(value, str):
            try:
                uuid.UUID(value)
            except ValueError:
                continue
            out[name] = served.ids[name]
    return out


@schema.parametrize()
@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES)
def test_api_answers_no_server_error(case: Any, served: Served) -> None:
    if case.path_parameters:
        case.path_parameters = _real_ids(served, case.method.upper(), case.operation.path, case.path_parameters)
    if isinstance(case.body, dict):
        case.body = _real_body_ids(served, case.body)
    served.operations.add(case.operation.label)
    response = case.call(base_url=served.base_url, headers=served.headers, timeout=30)
    served.statuses[response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error])
