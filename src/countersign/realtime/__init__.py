"""Live delivery: a hub of connected widgets per node, and a broker between nodes.

The stream log in the database is the truth; pub/sub only makes it fast. A widget
that missed anything (a lost publish, a broker outage, a reconnect) catches up from
the log by ``seq``, so delivery has no gaps and no duplicates.
"""
