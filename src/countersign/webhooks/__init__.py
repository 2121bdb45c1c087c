"""Webhooks: what a receiver needs to check that a delivery came from Countersign.

``from countersign.webhooks import verify`` -- see :mod:`.signature`.
"""

from .signature import DEFAULT_TOLERANCE_SECONDS as DEFAULT_TOLERANCE_SECONDS
from .signature import SIGNATURE_HEADER as SIGNATURE_HEADER
from .signature import WebhookVerificationError as WebhookVerificationError
from .signature import new_signing_secret as new_signing_secret
from .signature import sign as sign
from .signature import verify as verify
