"""The served OpenAPI document names the fields of every success response (issue 11, "Typed API").

Walks `/schema/openapi.json` as a client generator or an integrator would read it: each operation's 2xx JSON
response must resolve (through `$ref`) to an object with named `properties`, or an array of such objects. A bare
`{"type": "object"}` or an `additionalProperties`-only map means the handler returned `dict[str, Any]`. The
exceptions are listed below with their reasons, and the routes kept out of the document are checked too, so a new
route is either typed, a listed file, or a listed page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.app import create_litestar
from backend.settings import Settings

pytestmark = pytest.mark.anyio

# Documented operations whose success body is not JSON: (method, path as in the document) → why.
FILE_RESPONSES: dict[tuple[str, str], str] = {
    ("GET", "/api/photos/{photo_id}/{variant}"): "the JPEG file of a photo variant (image/jpeg, or 304 empty)",
}
# Route handlers kept out of the document (`include_in_schema=False`): module.function → why.
UNDOCUMENTED: dict[str, str] = {
    "pwa.pages.app_page": "HTML shell of the app's screens",
    "pwa.pages.app_shell": "the user-neutral HTML shell the service worker precaches",
    "pwa.pages.login_page": "HTML sign-in page",
    "pwa.pages.login_form": "HTML form post of the sign-in page (answers a redirect)",
    "pwa.assets.static_file": "static files (JavaScript, CSS, images) under a revisioned URL",
    "pwa.assets.service_worker_script": "the service worker's JavaScript",
    "pwa.assets.push_worker_script": "the push part of the service worker (JavaScript)",
    "pwa.assets.web_manifest": "the web app manifest, a format fixed by its own specification",
    "pwa.assets.apple_touch_icon": "a PNG icon",
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
    """The app and the document it serves (no database is needed to describe the API)."""
    app = create_litestar(Settings(env="test", data_dir=tmp_path), run_migrations=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    yield app, response.json()


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        assert name not in seen, f"$ref cycle at {name}"
        seen.add(name)
        schema = components[name]
    return schema


def names_fields(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """An object with named properties, an array of them, or a union whose every non-null member is one."""
    schema = _resolve(schema, components)
    if schema.get("type") == "array":
        return names_fields(schema.get("items", {}), components)
    members = schema.get("oneOf") or schema.get("anyOf")
    if members:
        real = [m for m in members if _resolve(m, components).get("type") != "null"]
        return bool(real) and all(names_fields(m, components) for m in real)
    return schema.get("type") == "object" and bool(schema.get("properties"))


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


async def test_every_success_response_names_its_fields(served: tuple[Any, dict[str, Any]]) -> None:
    _, document = served
    components = document.get("components", {}).get("schemas", {})
    typed, no_body, untyped = [], [], []
    listed_files = set()
    for method, path, operation in operations(document):
        if (method, path) in FILE_RESPONSES:
            listed_files.add((method, path))
            continue
        bodies = []
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2"):
                continue
            content = response.get("content") or {}
            if status == "204":
                assert not content, f"{method} {path}: 204 with a body"
                continue
            assert content, f"{method} {path}: {status} without a documented body"
            bodies += [(f"{method} {path} {status} {media_type}", body.get("schema", {}))
                       for media_type, body in content.items()]
        if not bodies:
            no_body.append(f"{method} {path}")
        elif all(names_fields(schema, components) for _, schema in bodies):
            typed.append(f"{method} {path}")
        else:
            untyped += [where for where, schema in bodies if not names_fields(schema, components)]
    assert untyped == [], "success responses without named fields (return a msgspec struct):\n" + "\n".join(untyped)
    assert listed_files == set(FILE_RESPONSES), f"listed file responses not in the document: " \
                                                f"{set(FILE_RESPONSES) - listed_files}"
    print(f"typed operations: {len(typed)}; 204 only: {len(no_body)}; file responses: {len(listed_files)}")


async def test_routes_left_out_of_the_document_are_pages_and_files(served: tuple[Any, dict[str, Any]]) -> None:
    app, _ = served
    hidden = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            module = handler.fn.__module__
            if handler.include_in_schema or module.startswith("litestar."):  # framework: OPTIONS, /schema
                continue
            hidden.add(f"{module}.{handler.handler_name}")
    assert hidden == set(UNDOCUMENTED), (
        f"not in the OpenAPI document without a listed reason: {sorted(hidden - set(UNDOCUMENTED))}; "
        f"listed but documented or gone: {sorted(set(UNDOCUMENTED) - hidden)}")


def test_a_bare_object_does_not_count_as_named() -> None:
    """The check itself: what `dict[str, Any]`, `list[dict]` and `dict[str, int]` replies look like fails it."""
    components = {"Page": {"type": "object", "properties": {"items": {"type": "array"}}},
                  "Alias": {"$ref": "#/components/schemas/Page"}}
    assert not names_fields({"type": "object", "additionalProperties": {}}, components)
    assert not names_fields({"type": "array", "items": {"type": "object", "additionalProperties": {}}}, components)
    assert not names_fields({"type": "object", "additionalProperties": {"type": "integer"}}, components)
    assert not names_fields({}, components)
    assert not names_fields({"oneOf": [{"type": "null"}]}, components)
    assert names_fields({"$ref": "#/components/schemas/Alias"}, components)
    assert names_fields({"type": "array", "items": {"$ref": "#/components/schemas/Page"}}, components)
    assert names_fields({"oneOf": [{"$ref": "#/components/schemas/Page"}, {"type": "null"}]}, components)
