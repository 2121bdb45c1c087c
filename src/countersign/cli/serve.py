"""``countersign serve``: migrate, then run the server under uvicorn."""

from __future__ import annotations

import gc
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from ..context import open_backend
from ..demo import DEMO_USER, ensure_demo_app
from ..settings import SettingsError, load_settings
from ..storage import apps
from ..storage.encryption import MasterKeyError
from ..storage.private_files import wider_than_private
from .log_config import log_config
from .metrics_port import METRICS_HOST, serve_metrics_port, share_between_workers
from .operators import serve_hint
from .options import database_options

if TYPE_CHECKING:
    from fastapi import FastAPI

# A full collection walks every tracked object, ~140 per connected widget: 1.5 million
# at 10,000 widgets, over a second with the event loop stopped. At the default first
# threshold (700) the short-lived objects of every fan-out (tasks, frames) get promoted
# and bring a full collection every second or two under load; at 10,000 they die
# young (benchmarks/fanout.py, docs/benchmarks.md#fanout).
GC_THRESHOLDS: Final = (10_000, 10, 10)


def serving_app() -> FastAPI:
    """The app factory ``serve`` hands to uvicorn; it runs in every worker process."""
    from ..server.app import app_from_environment  # noqa: PLC0415 (see serve_command)

    gc.set_threshold(*GC_THRESHOLDS)
    app = app_from_environment()
    # What exists now (the modules, the app, its routes, the ORM's metadata: ~180,000
    # tracked objects) lives as long as the process. Frozen out of the collector's
    # generations, a full collection no longer walks it: one took ~170 ms here with the
    # event loop stopped, every request in flight waiting, and now takes what the
    # objects made since cost. A worker process freezes its own.
    gc.collect()
    gc.freeze()
    return app


@click.command("serve")
# No defaults here: a flag not given is None, so COUNTERSIGN_HOST, _PORT and _WORKERS
# apply; the defaults are the settings' own.
@click.option("--host", help="Address to listen on (COUNTERSIGN_HOST; 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (COUNTERSIGN_PORT; 8250).")
@database_options  # the same --data-dir and --database-url as every command
@click.option(
    "--redis-url", envvar="COUNTERSIGN_REDIS_URL", help="redis://host:6379/0 for many nodes."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes (COUNTERSIGN_WORKERS; 1)."
)
@click.option(
    "--attachments-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep attachments' files in this directory, shared by every node, instead of "
    "the database (COUNTERSIGN_ATTACHMENTS_DIR).",
)
@click.option("--demo", is_flag=True, help="Create a demo app (once) and serve /demo.")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Also serve /metrics on 127.0.0.1:PORT, no token (COUNTERSIGN_METRICS_PORT).",
)
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    help="Also receive email (replies, the support address) by SMTP on this port "
    "(COUNTERSIGN_SMTP_PORT; docs/email.md).",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.option(
    "--log-format",
    type=click.Choice(["plain", "json"]),
    help="plain for people, json for one object per line (COUNTERSIGN_LOG_FORMAT; plain).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve_command(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    database_url: str | None,
    redis_url: str | None,
    workers: int | None,
    attachments_dir: Path | None,
    demo: bool,
    metrics_port: int | None,
    smtp_port: int | None,
    access_log: bool,
    log_format: str | None,
    log_level: str,
) -> None:
    """Run the Countersign server (migrating the database first)."""
    # Only `serve` needs the web stack: other commands start fast.
    import uvicorn  # noqa: PLC0415

    from ..server.slow_clients import SlowClientProtocol  # noqa: PLC0415

    try:
        settings = load_settings(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            host=host,
            port=port,
            workers=workers,
            attachments_dir=attachments_dir,
            demo=demo or None,  # COUNTERSIGN_DEMO=1 works too
            metrics_port=metrics_port,
            smtp_port=smtp_port,
            log_format=log_format,
        )
        backend = open_backend(settings)
    except (SettingsError, MasterKeyError) as error:
        raise click.ClickException(str(error)) from None
    try:
        app_count = len(backend.database.run_sync(apps.list_apps))
        demo_app_id = ensure_demo_app(backend) if settings.demo else None
    finally:
        backend.close()

    # Workers are separate processes: they read the same settings from the environment.
    os.environ["COUNTERSIGN_DATA_DIR"] = str(settings.data_dir)
    for name, value in (
        ("COUNTERSIGN_DATABASE_URL", settings.database_url),
        ("COUNTERSIGN_REDIS_URL", settings.redis_url),
        ("COUNTERSIGN_SMTP_PORT", str(settings.smtp_port) if settings.smtp_port else None),
        ("COUNTERSIGN_ATTACHMENTS_DIR", str(settings.attachments_dir or "")),
    ):
        if value:
            os.environ[name] = value
    if settings.demo:
        os.environ["COUNTERSIGN_DEMO"] = "1"

    for exposed in wider_than_private(settings.data_dir):
        click.echo(
            f"Warning: {exposed}: other local users can read it. It holds contacts, "
            f"password hashes and keys: chmod 700 {settings.data_dir} and chmod 600 "
            "the files in it.",
            err=True,
        )
    if settings.workers > 1:
        share_between_workers()  # before any worker starts: they inherit the directory
    if settings.metrics_port is not None:
        serve_metrics_port(settings, settings.metrics_port)
        click.echo(f"Metrics: http://{METRICS_HOST}:{settings.metrics_port}/metrics")
    if settings.smtp_port is not None:
        click.echo(f"SMTP receiver: {settings.host}:{settings.smtp_port}")
    if settings.attachments_dir is not None:
        click.echo(f"Attachments: files in {settings.attachments_dir}")
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"Countersign on {base}  (API docs: {base}/docs)")
    click.echo(f"Data: {settings!r}")
    click.echo(serve_hint(settings, base))
    if demo_app_id is not None:
        click.echo(
            f"Demo: {base}/demo  (app {demo_app_id}, signed in as {DEMO_USER.user_id}; "
            f"impersonation attempt at {base}/demo?impersonate=1)"
        )
    if app_count == 0 and not settings.demo:
        click.echo(
            "No apps yet. Create one:  countersign apps create 'My product'"
            + (f" --data-dir {settings.data_dir}" if data_dir else "")
        )
    uvicorn.run(
        "countersign.cli.serve:serving_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # httptools (uvicorn[standard] always installs it), closing clients too slow to
        # send their request: uvicorn has no such limit of its own.
        http=SlowClientProtocol,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "auto",
        # JSON: Countersign writes the access line itself (server/request_observer.py).
        access_log=access_log and settings.log_format == "plain",
        log_config=log_config(settings.log_format, level=log_level, access_log=access_log),
        log_level=log_level,
        proxy_headers=False,  # forwarded headers are read only from trusted proxies
        # Widget events are small JSON. Browsers always offer permessage-deflate, and
        # accepting it costs ~40 KiB of zlib state per connected widget (more than half
        # of the 64 KiB budget) and ~20 µs of CPU per widget per event, compressed once
        # per widget (benchmarks/fanout.py; docs/benchmarks.md#fanout).
        ws_per_message_deflate=False,
    )
