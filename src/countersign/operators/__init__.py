"""Operators' rules: what a password must be and how it is kept (:mod:`.passwords`).

Operator accounts, sessions and the audit trail are rows in
:mod:`countersign.storage.operators`; the dashboard's login runs the password checks
through ``server.dashboard.password_gate`` (off the event loop), the CLI calls them
directly. The team's rules (invitations, roles, deactivation) belong here too.
"""
