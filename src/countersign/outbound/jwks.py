"""Fetching a customer's JWKS document (SPEC 15), through the same guard as webhooks.

The URL is the customer's, so it is treated as aimed by an attacker like any other:
no private addresses unless allowed, no redirects, one deadline, and at most 64 KB
read (a 5 MB document is refused without reading the rest). The document is checked
(``core.parse_jwks``: at most 100 keys, none private) before anyone stores it.
"""

from __future__ import annotations

from typing import Final

from ..core import InvalidPublicKey, parse_jwks
from ..core.public_keys import MAX_JWKS_BYTES
from ..vocabulary.outbound_errors import OutboundError
from .client import OutboundClient, OutboundPolicy

FETCH_TIMEOUT_SECONDS: Final = 5.0


class JwksFetchFailed(Exception):
    """The document could not be fetched or is not an acceptable JWKS; the message
    says why, for the operator (it names no secret: a JWKS holds none)."""


async def fetch_jwks(
    client: OutboundClient, url: str, *, allow_private_network: bool = False
) -> str:
    """The JWKS document at ``url`` as text, checked, or :class:`JwksFetchFailed`.

    Only https: whoever could change the document in transit could sign any user."""
    if not url.lower().startswith("https://"):
        raise JwksFetchFailed("a JWKS URL must be https://")
    policy = OutboundPolicy(
        allow_private_network=allow_private_network,
        timeout_seconds=FETCH_TIMEOUT_SECONDS,
        max_response_bytes=MAX_JWKS_BYTES,
    )
    try:
        response = await client.request(
            "GET", url, headers={"Accept": "application/json"}, policy=policy
        )
    except OutboundError as error:
        raise JwksFetchFailed(f"{error.code}: {error}") from None
    if response.status != 200:
        raise JwksFetchFailed(f"the JWKS URL answered HTTP {response.status}")
    if response.truncated:
        raise JwksFetchFailed(f"the JWKS document is larger than {MAX_JWKS_BYTES} bytes")
    try:
        text = response.body.decode("utf-8")
        parse_jwks(text)
    except UnicodeDecodeError:
        raise JwksFetchFailed("the JWKS document is not UTF-8") from None
    except InvalidPublicKey as error:
        raise JwksFetchFailed(str(error)) from None
    return text
