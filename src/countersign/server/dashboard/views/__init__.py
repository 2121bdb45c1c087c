"""The dashboard's pages, one module per area: login, inbox, identity settings,
install guide, verification log, and the live feed of the inbox."""
