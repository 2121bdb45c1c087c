"""Pure vocabularies: the names and formats several layers must agree on.

Each module here imports only :mod:`countersign.core` (and the standard library or a
pure third-party library), never storage, the network or the server, so that any
layer can use them without an arrow running back up:

- :mod:`.webhook_events` -- webhook event names and their payloads;
- :mod:`.webhook_signature` -- the ``X-Countersign-Signature`` format, sign and verify;
- :mod:`.action_schema` -- the JSON Schema rules of a custom action's parameters;
- :mod:`.urls`, :mod:`.addresses`, :mod:`.outbound_errors` -- what an outbound URL
  may be (syntax, scheme, public addresses) and the errors that name why not;
- :mod:`.stream` -- the live stream's event record;
- :mod:`.ids`, :mod:`.clock` -- row ids and the time.
"""
