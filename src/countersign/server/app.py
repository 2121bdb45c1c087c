"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..context import Backend, open_backend
from ..metrics import request_durations
from ..outbound import OutboundClient
from ..realtime.factory import make_broker
from ..realtime.hub import StreamHub
from ..retention import prune_until
from ..settings import Settings, load_settings
from ..team import WakeLoop
from ..webhooks.delivery import DeliveryWorker
from . import access_log
from . import openapi as openapi_docs
from .action_limits import ActionLimits
from .ahead import CountersignAPI
from .app_directory import AppDirectory
from .cors import WidgetCors
from .dashboard import site as dashboard_site
from .errors import documented_error, install_error_handlers
from .identify.limits import IdentifyLimits
from .identify.recorder import VerificationRecorder
from .limit_counts import LocalCounts, RedisCounts
from .mail_service import MailService
from .nul_guard import NulGuard
from .openapi_errors import SECURITY_SCHEMES, document_route_errors
from .request_observer import RequestObserver
from .routes import (
    actions,
    attachments,
    conversations,
    demo,
    health,
    inbound_mail,
    metrics,
    notifications_server,
    notifications_widget,
    privacy,
    receipts,
    revocation,
    server_api,
    server_messaging,
    stream,
    team_api,
    widget,
    widget_script,
)
from .session_tokens import KEY_PURPOSE as SESSION_KEY_PURPOSE
from .session_tokens import SessionTokens
from .state import ServerState

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def create_app(settings: Settings | None = None, *, backend: Backend | None = None) -> FastAPI:
    """A Countersign server. It opens (and migrates) the database when it starts."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = backend or open_backend(settings)
        directory = AppDirectory(opened.database, opened.box, settings.unknown_app_cache_size)
        recorder = VerificationRecorder(opened.database, directory)
        hub = StreamHub()
        broker = make_broker(settings, hub)
        await broker.start()
        tokens = SessionTokens(opened.box.derive_key(SESSION_KEY_PURPOSE))
        # One node: this process's windows. Several workers or nodes: Redis', so the
        # limits hold over all of them (limit_counts.py).
        counts = RedisCounts.from_url(settings.redis_url) if settings.redis_url else LocalCounts()
        app.state.countersign = state = ServerState(
            settings,
            opened,
            directory,
            recorder,
            IdentifyLimits(
                anonymous_per_minute=settings.anonymous_per_minute,
                max_keys=settings.rate_limit_keys,
                counts=counts,
            ),
            hub,
            broker,
            outbound=OutboundClient(),
            session_tokens=tokens,
            action_limits=ActionLimits(max_keys=settings.rate_limit_keys, counts=counts),
        )
        directory.on_change = functools.partial(stream.recheck_app_streams, state)
        stop = asyncio.Event()
        mail = MailService(state)
        tasks = [
            asyncio.create_task(directory.poll_until(stop)),
            asyncio.create_task(recorder.run_until(stop)),
            # Webhook deliveries: the outbox, sent through the shared outbound client.
            asyncio.create_task(
                DeliveryWorker(opened.database, opened.box, state.outbound, settings).run_until(
                    stop
                )
            ),
            # Retention: old settled webhook events and action calls, about hourly.
            asyncio.create_task(prune_until(opened.database, settings, stop)),
            # Request durations into the Prometheus histogram (metrics/request_durations.py).
            asyncio.create_task(request_durations.flush_until(stop)),
            # Snoozed conversations whose time came (on every node; one wakes each).
            asyncio.create_task(
                WakeLoop(
                    opened.database, state.publish, interval=settings.snooze_poll_seconds
                ).run_until(stop)
            ),
        ]
        # Email: presence for the other nodes, the mail worker, the SMTP receiver.
        tasks.extend(await mail.start(stop))
        try:
            yield
        finally:
            stop.set()  # the loops finish what they are doing, then return
            await mail.close()
            await asyncio.gather(*tasks, return_exceptions=True)
            await recorder.close()
            await broker.close()
            await counts.close()
            await state.outbound.aclose()
            if backend is None:
                opened.close()

    app = CountersignAPI(  # FastAPI, with the hot routes ahead of the middleware: ahead.py
        title="Countersign",
        version=__version__,
        summary="Verified identities for your chat and notification widget",
        lifespan=lifespan,
        # No OpenTelemetry here: skip the per-request check for it (hot path).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    access_log.redact_access_log()  # uvicorn configures logging before the app exists
    apis = [
        api.router
        for api in (
            health,
            widget,
            conversations,
            receipts,
            notifications_widget,
            stream,
            notifications_server,
            server_api,
            server_messaging,
            team_api,
            privacy,
            revocation,
            actions,
            attachments,
            inbound_mail,
        )
    ]
    security = document_route_errors([*apis, widget_script.router])
    for router in apis:
        app.include_router(router)
    app.include_router(dashboard_site.router)
    app.mount(dashboard_site.STATIC_PREFIX, dashboard_site.static_files(), name="dashboard")
    app.include_router(widget_script.router)
    app.include_router(metrics.router)
    if settings.demo:
        app.include_router(demo.router)
    app.add_middleware(WidgetCors)
    app.add_middleware(NulGuard)
    app.add_middleware(RequestObserver)  # outermost: it times what the others do too

    _document_errors(app, security)
    return app


def _document_errors(app: FastAPI, security: dict[tuple[str, str], str]) -> None:
    """The OpenAPI document with our one error shape instead of FastAPI's, every status
    each route can answer, and the credential each takes (openapi_errors.py)."""
    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original_openapi()
        components = schema.setdefault("components", {})
        components["securitySchemes"] = SECURITY_SCHEMES
        schemas = components.setdefault("schemas", {})
        schemas.update(openapi_docs.components())
        for name, body in schemas.items():
            if name != "Error":  # the rest are bodies: the body reader's text rule holds
                openapi_docs.state_body_text_rule(body)
        schemas["Error"] = _ERROR_SCHEMA
        # Our own error shape replaces FastAPI's {"detail": [...]} everywhere.
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if (scheme := security.get((path, method))) is not None:
                    operation["security"] = [{scheme: []}]
                responses = operation.get("responses", {})
                if "HTTPValidationError" in str(responses.get("422", "")):
                    responses["422"] = documented_error("invalid_request")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """The factory ``countersign serve`` hands to uvicorn (settings from COUNTERSIGN_*)."""
    return create_app(load_settings())
