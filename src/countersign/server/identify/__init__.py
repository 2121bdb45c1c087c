"""``POST /v1/widget/identify``, in one home.

A request's path, and the benchmark each shortcut serves (``benchmarks/identify.py``
measures a first visit, a returning browser and a session read against a bare ASGI
app in the same run):

1. ``server/ahead.py`` -- the app class answers this one path and method itself, ahead of
   the middleware stack and the router, with the one error shape and the widget's
   CORS headers (the layers it skips cost identify ~25 %).
2. ``handler.py`` -- the strict msgspec body decode (``server/body.py``; a fraction of
   a pydantic model's cost), the app from the in-memory directory (no table read for
   its policy or keys), the origin check.
3. ``policy.py`` -- ``decide``: a frozen ``Decision`` from the app's policy and key
   ring alone, with no I/O. ``signed_identifier`` is the one place that reads which
   identifier the app signs, ``_apply_mismatch`` the one place a failed proof meets
   ``identity_mode`` and ``on_mismatch``.
4. ``limits.py`` -- failed proofs per address and per identifier, new unverified
   visitors per address: counted before anything is written, so a burst gets the
   limit and no more; a valid proof is never limited.
5. The grouped write -- one transaction shared with the other identifies of the same
   event-loop turn on SQLite (``Database.run_grouped``), running the statements of
   ``storage/identities.py``: contact upsert (nothing written for a returning user
   whose metadata is unchanged), visitor, session epoch; ``triggers.py`` adds the
   ``contact.identified`` webhook event in the same transaction, at the cost of a set
   lookup when no endpoint listens.
6. The session token (``server/session_tokens.py``: sealed, no row written), and the
   end of the browser's previous session when this identify ended it (its streams
   close on every node through the broker).
7. ``recorder.py`` -- the verification log, written off the request path in chunks
   every quarter second, with the diagnosis of failures (``entry.py`` is what it is
   handed); ``triggers.py`` turns failures into ``identity.failed`` events.

``services.py`` names what identify needs of the server (its state implements it), so
the server's state stands above this package and no import runs in a circle.
"""
