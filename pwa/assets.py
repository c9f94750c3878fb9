"""The app's own static files under a revisioned URL, gzip-compressed once, plus the service worker and manifest.

`/static/<rev>/…` serves `pwa/static/` and ReactPy's client (under `reactpy/`): the revision is a hash of every
file, so a URL's content never changes and browsers and the service worker may keep it forever. ReactPy's own
`/reactpy/static/` route bypasses Litestar's compression; the page loads the same client from here instead.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import reactpy
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

PWA = Path(__file__).resolve().parent
STATIC = PWA / "static"
SERVICE_WORKER = PWA / "service_worker" / "sw.js"
PUSH_WORKER = PWA / "service_worker" / "push.js"  # sw.js imports it as /sw-push.js
REACTPY_STATIC = Path(reactpy.__file__).resolve().parent / "static"
# Only the files the page loads: the client, its chunks and the Preact the import map points "react" at.
REACTPY_FILES = ("index.js", "preact.js", "preact-dom.js", "preact-jsx-runtime.js")
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
         ".json": "application/json", ".svg": "image/svg+xml"}
COMPRESSIBLE = {".js", ".css", ".json", ".svg"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _reactpy_files() -> dict[str, Path]:
    files = {name: REACTPY_STATIC / name for name in REACTPY_FILES}
    files.update({p.name: p for p in REACTPY_STATIC.glob("index-*.js")})
    return {f"reactpy/{name}": path for name, path in files.items()}


def _source_files() -> dict[str, Path]:
    files = {str(p.relative_to(STATIC)): p for p in sorted(STATIC.rglob("*")) if p.is_file() and p.name[0] != "."}
    return {**files, **_reactpy_files()}


def _load(path: Path) -> Asset:
    body = path.read_bytes()
    media_type = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    gzipped = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE and len(body) > 256 else None
    return Asset(body, gzipped, media_type, hashlib.sha256(body).hexdigest()[:16])


@functools.cache
def assets() -> dict[str, Asset]:
    return {name: _load(path) for name, path in _source_files().items()}


@functools.cache
def revision() -> str:
    digest = hashlib.sha256(reactpy.__version__.encode())
    for name, asset in sorted(assets().items()):
        digest.update(name.encode() + b"\0" + asset.etag.encode())
    digest.update(SERVICE_WORKER.read_bytes())
    digest.update(PUSH_WORKER.read_bytes())
    return digest.hexdigest()[:12]


def url(name: str) -> str:
    """The revisioned URL of a static file, e.g. url("app.css") → /static/3f2a…/app.css."""
    if name not in assets():
        raise KeyError(f"No static file {name!r}")
    return f"/static/{revision()}/{name}"


def import_map() -> str:
    base = f"/static/{revision()}/reactpy"
    return json.dumps({"imports": {
        "react": f"{base}/preact.js", "react-dom": f"{base}/preact-dom.js",
        "react-dom/client": f"{base}/preact-dom.js", "react/jsx-runtime": f"{base}/preact-jsx-runtime.js",
    }})


def precache_urls() -> list[str]:
    """What the service worker stores on install: every script, the stylesheet and the icons."""
    return [url(name) for name in sorted(assets()) if not name.startswith("icons/maskable")]


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def asset_response(request: Request, asset: Asset, cache_control: str) -> Response[bytes]:
    headers = {"Cache-Control": cache_control, "ETag": f'"{asset.etag}"', "X-Content-Type-Options": "nosniff"}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if request.headers.get("if-none-match") == f'"{asset.etag}"':
        return Response(b"", status_code=304, headers=headers)
    if asset.gzipped is not None and accepts_gzip(request):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@get("/static/{rev:str}/{name:path}", exclude_from_auth=True, include_in_schema=False,
     opt={"skip_compression": True})
async def static_file(request: Request, rev: str, name: str) -> Response[bytes]:
    asset = assets().get(name.lstrip("/"))
    if asset is None or rev != revision():
        raise NotFoundException("No such static file")
    return asset_response(request, asset, IMMUTABLE)


@functools.cache
def service_worker() -> Asset:
    source = SERVICE_WORKER.read_text()
    body = source.replace("__REVISION__", revision()).replace(
        "__PRECACHE__", json.dumps([*precache_urls(), "/manifest.webmanifest"], indent=2))
    data = body.encode()
    return Asset(data, gzip.compress(data, 9, mtime=0), "text/javascript; charset=utf-8",
                 hashlib.sha256(data).hexdigest()[:16])


@get("/sw.js", exclude_from_auth=True, include_in_schema=False, opt={"skip_compression": True})
async def service_worker_script(request: Request) -> Response[bytes]:
    response = asset_response(request, service_worker(), "no-cache")
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@functools.cache
def push_worker() -> Asset:
    body = PUSH_WORKER.read_text().replace("__PUSH_ICON__", url("icons/icon-192.png")).replace(
        "__PUSH_BADGE__", url("icons/favicon-32.png"))
    data = body.encode()
    return Asset(data, gzip.compress(data, 9, mtime=0), "text/javascript; charset=utf-8",
                 hashlib.sha256(data).hexdigest()[:16])


@get("/sw-push.js", exclude_from_auth=True, include_in_schema=False, opt={"skip_compression": True})
async def push_worker_script(request: Request) -> Response[bytes]:
    return asset_response(request, push_worker(), "no-cache")


THEME_COLOUR = "#0f5c4d"
BACKGROUND_COLOUR = "#f4f6f5"


def manifest(lang: str) -> dict[str, Any]:
    icons = [
        {"src": url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
        {"src": url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
        {"src": url("icons/maskable-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "maskable"},
        {"src": url("icons/maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
    ]
    zh = lang == "zh"
    return {
        "id": "/",
        "name": "IPMS 项目管理" if zh else "IPMS Project Management",
        "short_name": "IPMS",
        "description": "客户、项目与带看" if zh else "Clients, projects and viewings",
        "lang": "zh-CN" if zh else "en",
        "dir": "ltr",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }


@get("/manifest.webmanifest", exclude_from_auth=True, include_in_schema=False)
async def web_manifest(request: Request) -> Response[bytes]:
    from pwa.i18n import language_from_header

    lang = language_from_header(request.headers.get("accept-language", ""), "zh")
    return Response(json.dumps(manifest(lang), ensure_ascii=False).encode(), media_type="application/manifest+json",
                    headers={"Cache-Control": "no-cache", "Vary": "Accept-Language"})


@get("/apple-touch-icon.png", exclude_from_auth=True, include_in_schema=False, opt={"skip_compression": True})
async def apple_touch_icon(request: Request) -> Response[bytes]:
    return asset_response(request, assets()["icons/apple-touch-icon.png"], "public, max-age=86400")


ROUTES = [static_file, service_worker_script, push_worker_script, web_manifest, apple_touch_icon]


def shell_context(lang: str) -> dict[str, Any]:
    """What the page templates need: revisioned URLs, the import map and the shell's words in `lang`."""
    from pwa.i18n import t

    reactpy_chunks = sorted(name for name in assets() if name.startswith("reactpy/"))
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "css_url": url("app.css"),
        "shell_url": url("shell.js"),
        "register_url": url("register.js"),
        "icon_url": url("icons/icon-192.png"),
        "favicon_url": url("icons/favicon-32.png"),
        "apple_icon_url": url("icons/apple-touch-icon.png"),
        "import_map": import_map(),
        "modulepreload": [url("shell.js"), url("app/ui.js"), *(url(name) for name in reactpy_chunks
                                                                     if name != "reactpy/preact-jsx-runtime.js")],
        "theme_colour": THEME_COLOUR,
        "text": {key: t(lang, f"shell.{key}") for key in (
            "app_name", "loading", "offline", "reconnecting", "connecting", "sign_in", "username", "password",
            "no_script")},
    }
