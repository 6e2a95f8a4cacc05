"""create_app: the FastAPI application with the JSON API, the pages and the static files."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.datastructures import URL, URLPath
from starlette.routing import BaseRoute
from xstatic.pkg import leaflet

import porchlight
from porchlight import bootstrap
from porchlight.bootstrap import Container
from porchlight.config import Settings
from porchlight.entrypoints import audit_worker, errors, exports
from porchlight.entrypoints.api import (
    account_api,
    clips_api,
    demand_api,
    evidence_api,
    feed_api,
    footage_api,
    hold_api,
    redaction_api,
    request_api,
)
from porchlight.entrypoints.api import audit as audit_api
from porchlight.entrypoints.api import openapi as api_openapi
from porchlight.entrypoints.api import routes as api_routes
from porchlight.entrypoints.api.schemas import Health
from porchlight.entrypoints.auth import CsrfNonceMiddleware, check_csrf
from porchlight.entrypoints.body_limit import BodyLimitMiddleware
from porchlight.entrypoints.body_timeout import BodyTimeoutMiddleware
from porchlight.entrypoints.headers import SecurityHeadersMiddleware
from porchlight.entrypoints.logs import RequestLogMiddleware, configure_logging
from porchlight.entrypoints.methods import MethodsMiddleware
from porchlight.entrypoints.uploads import upload_dir
from porchlight.entrypoints.web import (
    account_pages,
    admin_pages,
    audit_pages,
    camera_pages,
    clip_pages,
    demand_pages,
    evidence_pages,
    feed_pages,
    footage_pages,
    inbox_pages,
    job_pages,
    map_centre,
    moderation_pages,
    pages,
    redaction_pages,
    request_pages,
    when,
)
from porchlight.entrypoints.web.render import template_context
from porchlight.footage.services import retention

WEB = Path(__file__).parent / "web"
log = structlog.get_logger("porchlight.app")
# Every router of the app; the authorisation matrix test walks these to find every route.
ROUTERS = (
    api_routes.router,
    account_api.router,
    pages.router,
    account_pages.router,
    camera_pages.router,
    admin_pages.router,
    job_pages.router,
    clips_api.router,
    clip_pages.router,
    redaction_pages.router,
    audit_api.router,
    audit_pages.router,
    request_pages.router,
    inbox_pages.router,
    request_api.router,
    hold_api.router,
    redaction_api.router,
    exports.pages_router,
    exports.api_router,
    evidence_pages.router,
    demand_pages.router,
    demand_api.router,
    evidence_api.router,
    footage_pages.router,
    footage_api.router,
    feed_pages.router,
    moderation_pages.router,
    feed_api.router,
)


def create_app(settings: Settings | None = None, *, container: Container | None = None) -> FastAPI:
    """Build the app; without arguments it reads Settings from the environment."""
    container = container or bootstrap.build(settings)
    settings = container.settings
    log_json = settings.log_json if settings.log_json is not None else not settings.is_development
    configure_logging(json=log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(_sweep_leftovers, container)
        app.state.audit_worker = audit_worker.start_in_process(container)
        jobs = container.start_job_workers() if settings.run_jobs_in_process else None
        yield
        if jobs is not None:
            jobs.stop()
        if app.state.audit_worker is not None:
            app.state.audit_worker.stop()
        container.close()

    app = FastAPI(
        title="Porchlight",
        version=porchlight.__version__,
        description="Doorbell-camera footage sharing that keeps residents in control.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below from the installed Swagger UI, not a CDN
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
    )
    app.state.container = container
    app.state.templates = _templates(settings)
    app.state.templates.env.globals["url_for"] = _url_for(app)
    app.state.secure_cookies = settings.base_url.startswith("https://")
    secret = settings.keys.secret_key.get_secret_value().encode()
    app.state.csrf_key = hmac.new(secret, b"porchlight csrf", hashlib.sha256).digest()
    errors.install(app)
    api_openapi.install(app)
    # Leaflet from the installed xstatic package (never a CDN); before "/static", which
    # would otherwise take these paths for its own folder.
    app.mount("/static/leaflet", CachedStatic(directory=leaflet.BASE_DIR), name="leaflet")
    app.mount("/static", CachedStatic(directory=WEB / "static"), name="static")
    app.mount("/api/v1/docs/assets", CachedStatic(packages=[("fastapi_swagger", "resources")]),
              name="swagger_assets")
    app.add_api_route("/api/v1/docs", api_docs, methods=["GET"], include_in_schema=False,
                      response_class=HTMLResponse)
    for router in ROUTERS:
        app.include_router(router)
    app.add_api_route("/healthz", healthz, methods=["GET"], response_model=Health, tags=["ops"],
                      responses={503: {"model": Health, "description": "the database does "
                                       "not answer"}})
    # the first middleware added runs innermost: methods right around the routes it reads
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.storage.max_body_bytes,
                       routes=_route_table(app))
    app.add_middleware(MethodsMiddleware, routes=_route_table(app))
    app.add_middleware(BodyTimeoutMiddleware,
                       idle_seconds=settings.storage.upload_idle_timeout_seconds)
    app.add_middleware(CsrfNonceMiddleware)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, https=app.state.secure_cookies,
                       tile_url=settings.map.tile_url)  # outermost: every answer has them
    return app


def _sweep_leftovers(container: Container) -> None:
    """At start no upload of this process is in flight: remove what a crash left, upload
    temp files and staged footage.

    Other processes sharing the data folder keep theirs: a live upload holds its temp
    file's lock (``footage.services.temp_uploads``), and so does a live write of footage its
    staging file's; the sweep removes only files it can lock.
    """
    removed = retention.sweep_leftovers(container.footage.store,
                                        upload_dir(container.settings.data_dir))
    if removed:
        log.info("removed upload temp files and staged footage a crash left", files=removed)


def _route_table(app: FastAPI) -> list[BaseRoute]:
    """The app's own routes and every route of ROUTERS, each with its full path."""
    return [*app.router.routes, *(route for router in ROUTERS for route in router.routes)]


class CachedStatic(StaticFiles):
    """Static files may be cached for an hour (every other response is ``no-store``)."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=3600"
        return response


def api_docs(request: Request) -> Response:
    """Swagger UI from the installed ``fastapi_swagger`` package; its start-up script is a
    static file too, so the page needs no inline script under the Content-Security-Policy."""
    return request.app.state.templates.TemplateResponse(
        request, "api_docs.html", {"openapi_url": request.app.openapi_url})


def _templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(
        directory=WEB / "templates", context_processors=[template_context]
    )
    templates.env.globals["version"] = porchlight.__version__
    templates.env.globals["environment"] = settings.env
    templates.env.globals["zone_name"] = when.zone_name
    templates.env.globals["map_settings"] = settings.map
    templates.env.globals["map_centre"] = map_centre.map_centre
    templates.env.filters["when"] = when.when_filter
    templates.env.filters["local_input"] = when.local_input_filter
    return templates


def _url_for(app: FastAPI):
    """``url_for`` in templates, Starlette's (an absolute URL on the request's base) but
    with each path looked up once: the lookup walks the app's routes, on every page for
    its style sheet, script and icon."""

    @functools.lru_cache(maxsize=256)
    def path_for(name: str, params: tuple) -> URLPath:
        return app.url_path_for(name, **dict(params))

    @pass_context
    def url_for(context, name: str, /, **params) -> URL:
        request: Request = context["request"]
        return path_for(name, tuple(sorted(params.items()))).make_absolute_url(
            base_url=request.base_url)

    return url_for


def healthz(request: Request) -> Response:
    """Liveness and database reachability, for load balancers and `make run`: 503 when the
    database does not answer."""
    container: Container = request.app.state.container
    if container.health.database_reachable():
        return JSONResponse(Health(status="ok", database="ok").model_dump())
    return JSONResponse(Health(status="unavailable", database="unreachable").model_dump(),
                        status_code=503)
