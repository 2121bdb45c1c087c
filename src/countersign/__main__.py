"""``python -m countersign``: the same as the ``countersign`` command."""

from .cli import main

main()
