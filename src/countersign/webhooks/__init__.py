"""Webhooks: what a receiver needs to check that a delivery came from Countersign.

``from countersign.webhooks import verify`` -- see
:mod:`countersign.vocabulary.webhook_signature` (a pure module, so that storage and
actions can sign and name events without importing delivery).
"""

from ..vocabulary.webhook_signature import DEFAULT_TOLERANCE_SECONDS as DEFAULT_TOLERANCE_SECONDS
from ..vocabulary.webhook_signature import SIGNATURE_HEADER as SIGNATURE_HEADER
from ..vocabulary.webhook_signature import WebhookVerificationError as WebhookVerificationError
from ..vocabulary.webhook_signature import new_signing_secret as new_signing_secret
from ..vocabulary.webhook_signature import sign as sign
from ..vocabulary.webhook_signature import verify as verify
