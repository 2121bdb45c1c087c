"""Dashboard cookies, CSRF tokens and the response headers every page carries.

The session cookie holds a random token; the database keeps only its SHA-256 (as for
widget sessions), so a copy of the database logs nobody in. The CSRF token of a page
is HMAC-SHA256 keyed with that cookie token over a dashboard-only label: a form can
only carry it if its page was rendered for this very session, yet nothing needs to be
stored, and it is a context of its own (no identity secret, widget session or API key
ever keys it). Before login the same scheme runs on a short-lived pre-session cookie,
so the login form is protected too.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from typing import Final

from starlette.requests import HTTPConnection
from starlette.responses import Response

from ...core.compare import macs_equal
from ...core.encoding import b64url
from ...core.mac import hmac_sha256

SESSION_COOKIE: Final = "countersign_dashboard"
LOGIN_COOKIE: Final = "countersign_login"
COOKIE_PATH: Final = "/dashboard"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
MAX_TOKEN_CHARS: Final = 100

_CSRF_LABEL: Final = b"countersign/dashboard/csrf/v1"

#: Scripts and styles only from our own static files: no inline script can run, so
#: an injected ``<script>`` or ``onclick=`` in a rendered claim does nothing.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: Final = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def new_token() -> str:
    """A dashboard cookie token: 256 random bits."""
    return f"csd_{secrets.token_urlsafe(32)}"


def csrf_token(cookie_token: str) -> str:
    return b64url(hmac_sha256(cookie_token.encode(), _CSRF_LABEL))


def csrf_matches(cookie_token: str | None, presented: str | None) -> bool:
    if not cookie_token or not presented or len(presented) > MAX_TOKEN_CHARS:
        return False
    return macs_equal(csrf_token(cookie_token).encode(), presented.encode())


def cookie_token(connection: HTTPConnection, name: str) -> str | None:
    value = connection.cookies.get(name)
    if not value or len(value) > MAX_TOKEN_CHARS or not value.isascii():
        return None
    return value


def is_https(
    connection: HTTPConnection,
    proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    """HTTPS to the browser: the scheme, or X-Forwarded-Proto from a trusted proxy."""
    if connection.url.scheme in ("https", "wss"):
        return True
    peer = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if not any(address in network for network in proxies):
        return False
    forwarded = connection.headers.get("x-forwarded-proto", "")
    return forwarded.split(",")[-1].strip().lower() == "https"


def set_cookie(response: Response, name: str, value: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=secure, httponly=True, samesite="lax")


def add_security_headers(response: Response, *, cache: bool = False) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not cache:
        # Pages can show a revealed secret or a user's messages: never keep a copy.
        response.headers["cache-control"] = "no-store"
