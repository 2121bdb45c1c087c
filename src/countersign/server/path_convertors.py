"""Path convertors the routes share, registered with Starlette once, on import."""

from __future__ import annotations

from typing import Final

from starlette.convertors import PathConvertor, register_url_convertor

ANY_TEXT: Final = "any_text"


class _AnyText(PathConvertor):
    """The rest of the path, newlines and all: ``path`` (``.*``) stops at a newline, so
    ``/v1/users/user%0Aadmin`` routed nowhere (a 404) instead of breaking the identifier
    rule (a 422 like any other bad identifier)."""

    regex = "(?s:.*)"


register_url_convertor(ANY_TEXT, _AnyText())
