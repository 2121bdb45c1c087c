"""The dashboard's pages, one module per area: login, joining the team through a
one-time link, inbox, contacts, identity settings, install guide, verification log,
webhooks, the team, and the live feed of the inbox."""
