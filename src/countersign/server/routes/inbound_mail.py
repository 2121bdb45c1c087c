"""``POST /v1/inbound/email`` (SPEC 12): mail forwarded by a provider's inbound webhook.

The body is the raw RFC 5322 message, authenticated with the app's inbound key
(``countersign mail inbound-key APP``). It goes where the built-in SMTP receiver's
mail goes (``countersign.mail.inbound``): a reply that verifies into its conversation,
a mail to the support address into an email contact's. A refused mail (a token that
does not verify, a ``From`` that is not the contact's, another app's address) answers
403 with the reason the mail log shows, and is stored nowhere.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ...mail.inbound import Inbound
from ..auth import inbound_mail_app
from ..body import read_body
from ..errors import ApiError, documented_error
from ..mail_service import receive_mail
from ..state import StateDep
from .conversations import json_response

router = APIRouter(prefix="/v1", tags=["email"])
InboundAppDep = Annotated[str, Depends(inbound_mail_app)]

_RECEIVED: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["status", "reason", "conversation_id"],
    "properties": {
        "status": {"type": "string", "enum": ["accepted", "ignored"]},
        "reason": {"type": "string"},
        "conversation_id": {"type": ["string", "null"]},
    },
}


@router.post(
    "/inbound/email",
    summary="Take in a received email (a reply, or mail to the support address)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        200: {
            "description": "Taken in (accepted) or deliberately dropped (ignored: a bounce, "
            "an automatic reply, a duplicate, an empty reply)",
            "content": {"application/json": {"schema": _RECEIVED}},
        },
        403: documented_error(
            "mail_refused: a reply token that does not verify, a sender that is not the "
            "contact, an address of another app, or no inbound domain set"
        ),
        413: documented_error(
            "payload_too_large: the mail is over COUNTERSIGN_SMTP_MAX_MESSAGE_BYTES"
        ),
    },
)
async def inbound_email(request: Request, app_id: InboundAppDep, state: StateDep) -> Response:
    raw = await read_body(request, state.settings.smtp_max_message_bytes)
    mail = state.inbound_mail
    assert mail is not None  # set when the server starts
    outcome = await receive_mail(state, mail, Inbound(raw=raw, channel="http", app_id=app_id))
    if outcome.status == "refused":
        raise ApiError(403, "mail_refused", f"the mail was refused: {outcome.reason}")
    return json_response(
        {
            "status": outcome.status,
            "reason": outcome.reason,
            "conversation_id": outcome.conversation_id,
        }
    )
