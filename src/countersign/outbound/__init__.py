"""Outbound HTTP: how Countersign calls customers' systems (webhooks, custom actions).

``OutboundClient().request(method, url, body=..., headers=..., policy=...)`` with an
SSRF guard, one deadline, no redirects and a bounded response; ``check_url`` checks a
URL when it is defined. See :mod:`.client` for what is guaranteed and why.
"""

from ..vocabulary.addresses import is_public_address as is_public_address
from ..vocabulary.outbound_errors import ERROR_CODES as ERROR_CODES
from ..vocabulary.outbound_errors import OutboundError as OutboundError
from ..vocabulary.urls import check_url as check_url
from .client import OutboundClient as OutboundClient
from .client import OutboundPolicy as OutboundPolicy
from .client import OutboundResponse as OutboundResponse
from .resolve import Resolver as Resolver
