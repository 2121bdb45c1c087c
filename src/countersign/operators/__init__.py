"""Operators' rules: what a password must be and how it is kept (:mod:`.passwords`),
and the team's rules (:mod:`.team`): one-time links to join, display names, roles,
the last active owner, deactivation.

Operator accounts, invitations, sessions and the audit trail are rows in
:mod:`countersign.storage.operators` and :mod:`countersign.storage.invitations`; the
dashboard's login and join pages run the password checks through
``server.dashboard.password_gate`` (off the event loop), the CLI calls them directly.
"""
