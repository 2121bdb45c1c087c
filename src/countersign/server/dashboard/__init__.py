"""The operator dashboard: server-rendered pages at ``/dashboard``.

Importing this package imports nothing; the web parts live in :mod:`.site` (the
router and static files the server mounts) and the views under :mod:`.views`, so the
CLI can hash an operator's password without loading templates or FastAPI.
"""
