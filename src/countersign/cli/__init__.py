"""The ``countersign`` command: a click group whose default verb is ``serve``.

Each resource's commands live in a module of their own and register here, so this
module stays the table of contents.
"""

from __future__ import annotations

import click
from click_default_group import DefaultGroup

from .actions import actions_group
from .apps import apps_group
from .categories import categories_group
from .contacts import contacts_group
from .conversations import conversations_group
from .db import db_group
from .identity import sign_command, verify_command
from .log import log_command
from .mail import mail_group
from .operators import operators_group
from .public_keys import public_keys_group
from .secrets import keys_group, secrets_group
from .serve import serve_command
from .users import users_group
from .verify_token import verify_token_command
from .webhooks import webhooks_group


@click.group(
    cls=DefaultGroup,
    default="serve",  # `countersign` alone, or `countersign --port 9000`, serves
    default_if_no_args=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="countersign")
def cli() -> None:
    """Countersign: verified identities for your chat and notification widget.

    With no command, runs `serve`.
    """


cli.add_command(sign_command)
cli.add_command(verify_command)
cli.add_command(verify_token_command)
cli.add_command(apps_group)
cli.add_command(secrets_group)
cli.add_command(keys_group)
cli.add_command(public_keys_group)
cli.add_command(log_command)
cli.add_command(webhooks_group)
cli.add_command(categories_group)
cli.add_command(actions_group)
cli.add_command(operators_group)
cli.add_command(contacts_group)
cli.add_command(users_group)
cli.add_command(conversations_group)
cli.add_command(db_group)
cli.add_command(mail_group)
cli.add_command(serve_command)


def main() -> None:
    cli(prog_name="countersign")
