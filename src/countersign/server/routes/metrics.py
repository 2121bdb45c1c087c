"""``GET /metrics``: Prometheus' text format, for the operator's scraper only.

On the main port it answers only with ``Authorization: Bearer
$COUNTERSIGN_METRICS_TOKEN``, and is a plain 404 while that setting is unset, so a
server nobody meant to expose shows nothing. ``--metrics-port`` serves the same on
127.0.0.1 without a token (``cli/metrics_port.py``). Queue depths are read from the
database at each scrape, so they are right whichever node or worker answers.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...core.compare import macs_equal
from ...metrics import CONTENT_TYPE, QueueCollector, exposition, request_durations
from ...storage import mail_queue, webhook_queue
from ...storage.database import Database
from ..auth import bearer_token
from ..errors import ApiError
from ..state import StateDep

router = APIRouter(include_in_schema=False)


async def scrape(database: Database) -> bytes:
    request_durations.flush()  # this process's, to the last request (on the loop's thread)
    reading = await database.run(webhook_queue.queue_stats)
    mail = await database.run(mail_queue.queue_stats)
    return exposition(
        QueueCollector("webhook", "Webhook deliveries", lambda: reading),
        QueueCollector("mail", "Emails", lambda: mail),
    )


@router.get("/metrics")
async def metrics(request: Request, state: StateDep) -> Response:
    expected = state.settings.metrics_token
    if expected is None:
        raise ApiError(404, "not_found", "no such route")
    given = bearer_token(request)
    if given is None or not macs_equal(given.encode("utf-8"), expected.reveal()):
        raise ApiError(401, "invalid_token", "send Authorization: Bearer <metrics token>")
    return Response(await scrape(state.backend.database), media_type=CONTENT_TYPE)
