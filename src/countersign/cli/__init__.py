"""The ``countersign`` command: a click group whose default verb is ``serve``.

Each resource's commands live in a module of their own and register here, so this
module stays the table of contents.
"""

from __future__ import annotations

import click

from .identity import sign_command, verify_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="countersign")
def cli() -> None:
    """Countersign: verified identities for your chat and notification widget."""


cli.add_command(sign_command)
cli.add_command(verify_command)


def main() -> None:
    cli(prog_name="countersign")
