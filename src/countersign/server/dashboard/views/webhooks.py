"""App settings → webhooks: endpoints, the delivery log, and redelivery. Owners only.

A new endpoint's signing secret is shown once, in the answer to the form that created
it (``countersign webhooks secret`` shows it again). An endpoint can be paused and
resumed, as ``countersign webhooks disable|enable`` do: while paused it is sent nothing
and nothing new is queued for it; what was queued waits. Every change is audited and
bumps the app's config version, so every node starts or stops raising the events within
a second; this node drops its cached copy at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ....storage import operators, webhook_endpoints, webhook_outbox
from ....storage.apps import AppRecord
from ....storage.operators import OperatorRecord
from ....vocabulary.webhook_events import EVENT_TYPES
from ...state import ServerState, StateDep
from ..auth import AppDep, OwnerDep, audit
from ..errors import NotFound
from ..pages import page
from ..route import dashboard_router, form_of

router = dashboard_router()

RECENT_DELIVERIES: Final = 50
AUDITED: Final = (
    "webhook.created",
    "webhook.removed",
    "webhook.disabled",
    "webhook.enabled",
    "webhook.redelivered",
)
#: A checkbox per event type, named ``event:<type>`` (a form keeps one value per name).
EVENT_FIELD: Final = "event:"


def _base(app_id: str) -> str:
    return f"/dashboard/apps/{app_id}/webhooks"


async def _webhooks_page(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    app: AppRecord,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    def load(connection: Connection) -> dict[str, Any]:
        return {
            "endpoints": webhook_endpoints.list_endpoints(connection, app.id),
            "deliveries": webhook_outbox.list_deliveries(
                connection, app.id, limit=RECENT_DELIVERIES
            ),
            "audit": operators.recent_audit(connection, app.id, limit=10, actions=AUDITED),
        }

    defaults: dict[str, Any] = {"new_endpoint": None, "problem": None, "form": {}}
    return await page(
        request,
        state,
        "webhooks.html",
        operator=operator,
        app=app,
        section="webhooks",
        status=status,
        saved=request.query_params.get("saved"),
        event_types=EVENT_TYPES,
        **{**defaults, **(await state.backend.database.run(load)), **extra},
    )


@router.get("/dashboard/apps/{app_id}/webhooks")
async def webhooks_page(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    return await _webhooks_page(request, state, operator, app)


@router.post("/dashboard/apps/{app_id}/webhooks")
async def add_endpoint(
    request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    form = form_of(request)
    url = form.text("url", max_chars=2000).strip()
    events = [name for name in EVENT_TYPES if form.get(EVENT_FIELD + name)]
    private = bool(form.get("allow_private_network"))
    signature_format = form.text("format", max_chars=16, required=False) or "countersign"
    box = state.backend.box
    try:
        record, secret = await state.backend.database.run(
            lambda c: webhook_endpoints.create_endpoint(
                c,
                box,
                app.id,
                url,
                events,
                allow_private_network=private,
                signature_format=signature_format,
            )
        )
    except webhook_endpoints.InvalidEndpoint as error:
        kept = {
            "url": url,
            "events": events,
            "allow_private_network": private,
            "format": signature_format,
        }
        return await _webhooks_page(
            request, state, operator, app, status=422, problem=str(error), form=kept
        )
    state.directory.invalidate(app.id)
    await audit(request, state, operator, app.id, "webhook.created", record.id)
    return await _webhooks_page(
        request, state, operator, app, new_endpoint={"record": record, "secret": secret}
    )


async def _change_endpoint(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    app: AppRecord,
    endpoint_id: str,
    change: Callable[[Connection], object],
    *,
    action: str,
    saved: str,
) -> Response:
    """Run ``change`` on one endpoint of ``app``, then what every endpoint change needs:
    this node's cached subscriptions dropped, an audit entry, and back to the page.

    The storage functions look the endpoint up by app and id together, so an id of
    another app's endpoint is as unknown here as one that never existed.
    """
    try:
        await state.backend.database.run(change)
    except webhook_endpoints.EndpointNotFound:
        raise NotFound("This app has no such webhook endpoint.") from None
    state.directory.invalidate(app.id)
    await audit(request, state, operator, app.id, action, endpoint_id)
    return RedirectResponse(f"{_base(app.id)}?saved={saved}", status_code=303)


@router.post("/dashboard/apps/{app_id}/webhooks/{endpoint_id}/remove")
async def remove_endpoint(
    endpoint_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    return await _change_endpoint(
        request,
        state,
        operator,
        app,
        endpoint_id,
        lambda c: webhook_endpoints.remove_endpoint(c, app.id, endpoint_id),
        action="webhook.removed",
        saved="removed",
    )


async def _switch_endpoint(
    request: Request,
    state: ServerState,
    operator: OperatorRecord,
    app: AppRecord,
    endpoint_id: str,
    *,
    enabled: bool,
) -> Response:
    """Pause (``enabled=False``) or resume an endpoint, as the CLI's disable/enable do."""
    return await _change_endpoint(
        request,
        state,
        operator,
        app,
        endpoint_id,
        lambda c: webhook_endpoints.set_endpoint_enabled(c, app.id, endpoint_id, enabled),
        action="webhook.enabled" if enabled else "webhook.disabled",
        saved="resumed" if enabled else "paused",
    )


@router.post("/dashboard/apps/{app_id}/webhooks/{endpoint_id}/disable")
async def disable_endpoint(
    endpoint_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    return await _switch_endpoint(request, state, operator, app, endpoint_id, enabled=False)


@router.post("/dashboard/apps/{app_id}/webhooks/{endpoint_id}/enable")
async def enable_endpoint(
    endpoint_id: str, request: Request, state: StateDep, operator: OwnerDep, app: AppDep
) -> Response:
    return await _switch_endpoint(request, state, operator, app, endpoint_id, enabled=True)


@router.post("/dashboard/apps/{app_id}/webhooks/{endpoint_id}/events/{event_id}/redeliver")
async def redeliver(
    endpoint_id: str,
    event_id: str,
    request: Request,
    state: StateDep,
    operator: OwnerDep,
    app: AppDep,
) -> Response:
    try:
        await state.backend.database.run(
            lambda c: webhook_outbox.redeliver(c, app.id, event_id, endpoint_id=endpoint_id)
        )
    except (webhook_outbox.EventNotFound, webhook_endpoints.EndpointNotFound):
        raise NotFound("This app has no such event or webhook endpoint.") from None
    await audit(request, state, operator, app.id, "webhook.redelivered", event_id)
    return RedirectResponse(f"{_base(app.id)}?saved=redelivered", status_code=303)
