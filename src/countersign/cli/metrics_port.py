"""``serve --metrics-port``, and the shared metrics directory of ``--workers N``.

The metrics port is served by ``serve``'s own process, on 127.0.0.1 only, without a
token: a scraper on the same host (or a sidecar) reads it, nothing outside can. With
several workers every worker writes its values to one directory and this process reads
them all; with one worker this process is the worker and reads its own.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from ..metrics import MULTIPROCESS_VARIABLE, QueueCollector
from ..settings import Settings
from ..storage import mail_queue, webhook_queue
from ..storage.database import Database

METRICS_HOST = "127.0.0.1"


def share_between_workers() -> None:
    """Give the workers (started after this) one fresh directory for their values,
    removed when ``serve`` exits. Stale files would add a past run's counts."""
    directory = tempfile.mkdtemp(prefix="countersign-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def serve_metrics_port(settings: Settings, port: int) -> None:
    """Serve /metrics on 127.0.0.1:``port`` from a thread of this process."""
    if os.environ.get(MULTIPROCESS_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    database = Database(settings.sqlalchemy_url)
    read = functools.partial(database.run_sync, webhook_queue.queue_stats)
    registry.register(QueueCollector("webhook", "Webhook deliveries", read))
    read_mail = functools.partial(database.run_sync, mail_queue.queue_stats)
    registry.register(QueueCollector("mail", "Emails", read_mail))
    start_http_server(port, addr=METRICS_HOST, registry=registry)
