"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..context import Backend, open_backend
from ..realtime.factory import make_broker
from ..realtime.hub import StreamHub
from ..settings import Settings, load_settings
from .app_directory import AppDirectory
from .cors import WidgetCors
from .errors import install_error_handlers
from .ratelimit import IdentifyLimits
from .recorder import VerificationRecorder
from .routes import conversations, health, server_api, server_messaging, stream, widget
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
        directory = AppDirectory(opened.database, opened.box)
        recorder = VerificationRecorder(opened.database, directory)
        hub = StreamHub()
        broker = make_broker(settings, hub)
        await broker.start()
        app.state.countersign = ServerState(
            settings, opened, directory, recorder, IdentifyLimits(), hub, broker
        )
        tasks = [
            asyncio.create_task(directory.poll_forever()),
            asyncio.create_task(recorder.run_forever()),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await recorder.close()
            await broker.close()
            if backend is None:
                opened.close()

    app = FastAPI(
        title="Countersign",
        version=__version__,
        summary="Verified identities for your chat and notification widget",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(widget.router)
    app.include_router(conversations.router)
    app.include_router(stream.router)
    app.include_router(server_api.router)
    app.include_router(server_messaging.router)
    app.add_middleware(WidgetCors)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = original_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The factory ``countersign serve`` hands to uvicorn (settings from COUNTERSIGN_*)."""
    return create_app(load_settings())
