"""The dashboard's errors. Each becomes an HTML page (or a JSON error for ``fetch``)
in :mod:`.route`; a logged-out visitor is sent to the login page instead."""

from __future__ import annotations


class DashboardError(Exception):
    """Base: an HTTP status, a stable code and a message a person can act on."""

    status = 400
    code = "bad_request"
    title = "Something is wrong with this request"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotLoggedIn(DashboardError):
    status = 401
    code = "not_logged_in"
    title = "Please log in"


class OwnersOnly(DashboardError):
    status = 403
    code = "owners_only"
    title = "Owners only"


class CsrfRefused(DashboardError):
    status = 403
    code = "csrf_refused"
    title = "This form has expired"


class NotFound(DashboardError):
    status = 404
    code = "not_found"
    title = "Not found"


class BadForm(DashboardError):
    status = 400
    code = "invalid_form"
    title = "The form could not be used"


class RateLimited(DashboardError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
