"""A Countersign webhook receiver: Python standard library + countersign.webhooks.verify.

Run it with the endpoint's signing secret (``countersign webhooks add`` prints it):

    COUNTERSIGN_WEBHOOK_SECRET=whsec_... PORT=8000 python webhook_receiver.py

It prints each new event as one JSON line. Put your own handling in ``handle``.
"""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from countersign.webhooks import WebhookVerificationError, verify

SECRET = os.environ["COUNTERSIGN_WEBHOOK_SECRET"]
MAX_BODY = 1024 * 1024
seen_event_ids = set()  # use your database in production: deliveries are at least once


def handle(event):
    """Your code. ``contact.user_id`` is set only when Countersign verified the user."""
    print(json.dumps(event, ensure_ascii=False), flush=True)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.answer(413)
        body = self.rfile.read(length)  # the raw bytes: verify them before parsing
        try:
            verify(body, self.headers.get("X-Countersign-Signature"), SECRET)
        except WebhookVerificationError:
            return self.answer(400)  # forged, tampered with, or replayed later
        event = json.loads(body)
        if event["id"] not in seen_event_ids:  # a retry of one already handled: skip it
            handle(event)
            seen_event_ids.add(event["id"])
        self.answer(200)  # any 2xx: delivered. Anything else is retried later.

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass  # keep stdout for the events


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Receiver)
    print("listening", flush=True)
    server.serve_forever()
