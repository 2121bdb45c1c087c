"""One router per caller: the widget, the customer's server, and health checks."""
