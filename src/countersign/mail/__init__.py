"""Email (SPEC 12): the team's unread messages mailed to the contact's verified
address, their replies threaded back, the support address, operators' mail, and the
digests of unread notifications (SPEC 13).

- ``tokens``: the reply token, a MAC over (app, conversation, contact) under a key
  derived for it alone
- ``addresses``: the reply and support addresses, and what a header may carry
- ``compose``: the email built from the templates shipped here (text + HTML)
- ``relay``: the SMTP relay (aiosmtplib), from ``COUNTERSIGN_SMTP_URL``
- ``plan``: what a due email becomes (continuity, operators'); ``digest``: the same
  for a digest of notifications; ``decisions``: what both answer
- ``delivery``: the worker that sends the outbox, one sender per email across nodes
- ``presence``: each node's open widgets and dashboards, written where all nodes see
- ``quotes``: a reply without its quoted history and signature
- ``inbound``: a received mail's way into a conversation, or its refusal
- ``receiver``: the built-in SMTP receiver (aiosmtpd) with its limits
"""
