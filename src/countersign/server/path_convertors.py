"""Path convertors the routes share, registered with Starlette once, on import."""

from __future__ import annotations

from typing import Final

from starlette.convertors import PathConvertor, register_url_convertor

USER_ID: Final = "user_id_text"

#: What follows ``/v1/users/{user_id}/`` on the server API's read routes (and revoke).
USER_SUBRESOURCES: Final = ("conversations", "events", "notifications", "export", "revoke")


class _UserIdText(PathConvertor):
    """The rest of the path, newlines and all, for ``PUT``/``DELETE /v1/users/{user_id}``.

    ``path`` (``.*``) stops at a newline, so ``/v1/users/user%0Aadmin`` routed nowhere
    (a 404) instead of breaking the identifier rule (a 422 like any other bad
    identifier). A path that ends in one of :data:`USER_SUBRESOURCES` is not taken:
    ``PUT /v1/users/u1/events`` names the events of ``u1``, a resource with no ``PUT``
    (405 with its ``Allow``), not a user called ``u1/events`` (which was upserted, or
    refused with a 415 for its body)."""

    regex = "(?s:(?!.*/(?:" + "|".join(USER_SUBRESOURCES) + r")\Z).*)"


register_url_convertor(USER_ID, _UserIdText())
