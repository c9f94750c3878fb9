"""`create_app(settings)`: the one app factory (Litestar API and pages wrapped by ReactPy)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.config.compression import CompressionConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from reactpy.executors.asgi.middleware import ReactPyMiddleware
from reactpy.templatetags import ReactPyJinja

from backend import db
from backend.accounts.endpoints import auth_router, branches_router, regions_router, users_router
from backend.accounts.tables import Region
from backend.audit.endpoints import audit_router
from backend.clients.endpoints import clients_router, opportunities_router
from backend.feedback.endpoints import feedback_router
from backend.handover.endpoints import handover_router
from backend.inbox.endpoints import inbox_router
from backend.lifecycle.clock import EscalationClock
from backend.lifecycle.endpoints import lifecycle_router
from backend.live.transport import LiveTransport
from backend.migrate import migrate
from backend.openapi import MsgspecMetaSchemaPlugin
from backend.photos.endpoints import photos_router
from backend.projects.endpoints import business_lines_router, projects_router
from backend.push.endpoints import push_router
from backend.push.services import make_worker
from backend.settings import Settings, SettingsError, get_settings
from backend.sync.endpoints import sync_router
from backend.timeline.endpoints import timeline_router
from backend.visits.endpoints import notes_router, visits_router
from backend.web import EXCEPTION_HANDLERS, AuthMiddleware, authorize_path_record
from pwa import assets, pages, session

TEMPLATES = Path(__file__).resolve().parent.parent / "pwa" / "templates"
ROOT_COMPONENTS = ["pwa.app.root"]


class Health(msgspec.Struct, kw_only=True):
    ok: bool


@get("/healthz", exclude_from_auth=True, operation_id="health", summary="Liveness and database check")
async def health() -> Health:
    await Region.count()
    return Health(ok=True)


def _add_reactpy_tag(engine: JinjaTemplateEngine) -> None:
    engine.engine.add_extension(ReactPyJinja)


def create_litestar(settings: Settings, *, run_migrations: bool = True, engine: Any = None,
                    clock: EscalationClock | None = None) -> Litestar:
    """With `engine` given (tests), the caller has bound and started it and keeps it. The escalation clock runs
    from start-up to shutdown (`clock` lets tests inject one with their own time)."""
    manage_engine = engine is None
    if clock is None and settings.clock_enabled:
        clock = EscalationClock.for_settings(settings)
    engine = engine or db.engine_for(settings)
    db.bind(engine)
    session.configure(settings)

    async def on_startup(app: Litestar) -> None:
        if manage_engine:
            await db.start(engine, settings.pg_pool_size)
        if run_migrations:
            await migrate()
        app.state.live = LiveTransport(settings)  # committed changes reach every worker's open screens
        await app.state.live.start()
        if clock is not None:
            clock.start()
        app.state.push_worker = make_worker(settings)  # sends push deliveries until shutdown
        app.state.push_worker.start()

    async def on_shutdown(app: Litestar) -> None:
        if clock is not None:
            await clock.stop()
        if app.state.get("push_worker") is not None:
            await app.state.push_worker.stop()
        if app.state.get("live") is not None:
            await app.state.live.stop()
        if manage_engine:
            await db.stop(engine)

    app = Litestar(
        route_handlers=[
            health, pages.app_page, pages.login_page, pages.login_form, auth_router, users_router, regions_router,
            branches_router, business_lines_router, clients_router, opportunities_router, projects_router,
            visits_router, notes_router, audit_router, photos_router, lifecycle_router, inbox_router, push_router,
            sync_router, handover_router, timeline_router, feedback_router,
            pages.app_shell,
            *assets.ROUTES,
        ],
        middleware=[DefineMiddleware(AuthMiddleware, exclude=["^/schema"])],
        guards=[authorize_path_record],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine,
                                       engine_callback=_add_reactpy_tag),
        # Handlers with opt skip_compression (JPEG files, strong ETags) are sent as they are.
        compression_config=CompressionConfig(backend="gzip", minimum_size=500, exclude_opt_key="skip_compression"),
        openapi_config=OpenAPIConfig(title="IPMS API", version="1", path="/schema"),
        plugins=[MsgspecMetaSchemaPlugin()],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=settings.upload_max_bytes + 1024 * 1024,
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    return app


def create_app(settings: Settings | None = None, **options: Any) -> Any:
    """The ASGI app: websocket Origin check → ReactPy (its websocket and static files) → Litestar."""
    settings = settings or get_settings()
    if settings.env == "production" and len(settings.secret_key) < 32:
        raise SettingsError("IPMS_SECRET_KEY must be set to at least 32 characters in production")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    litestar_app = create_litestar(settings, **options)
    # Litestar types its ASGI callable with its own Scope/Receive/Send; ReactPy's AsgiApp alias wants plain dicts.
    reactpy_app = ReactPyMiddleware(litestar_app, ROOT_COMPONENTS)  # type: ignore[arg-type]  # ASGI stub mismatch
    return session.OriginGuard(reactpy_app, settings)


def asgi() -> Any:
    """Factory for `uvicorn --factory backend.app:asgi` (each worker builds its own app)."""
    return create_app()
