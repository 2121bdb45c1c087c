"""The ASGI server: widget API, server API, health checks, background workers."""
