"""A Python client for Countersign's server API, for a customer's backend.

    from countersign.client import Client

    client = Client("https://countersign.example.com", api_key="csk_…")
    client.notifications.create(user_id="1235", title="Invoice ready")

Methods are grouped by resource (``users``, ``notifications``, ``conversations``,
``actions``), one per server API route; ``AsyncClient`` has the same methods as
coroutines. An error answer raises :class:`CountersignError` carrying the API's error
code. A request refused with 429 is retried after its ``Retry-After``; a 5xx or a lost
connection is retried only where repeating cannot do twice what was asked (reads,
PUTs, and posts that carry an idempotency key, such as a message's ``client_id``, which
the client then sets itself). It imports nothing of the server.
"""

from .aio import AsyncClient
from .errors import CountersignError
from .sync import Client

__all__ = ["AsyncClient", "Client", "CountersignError"]
