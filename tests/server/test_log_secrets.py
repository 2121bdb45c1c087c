"""No secret ever reaches a log line, in either format (SPEC 14).

A real ``countersign serve --access-log --log-level debug`` in the plain and the JSON
format; every operation of its own /openapi.json is called with the session token and
the API key in the Authorization header *and* in the query string, and with a body
holding a valid hash and the operator's password; then the dashboard login (right and
wrong password), the metrics route (right and wrong token) and identify with a valid
and a wrong hash. Nothing of the app secret, the valid hash, the session token, the API
key, the password, the metrics token or the master key may be in what the server
wrote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

from countersign import sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps
from tests.cli.serving import free_port

PASSWORD = "correct horse battery staple 42"
METRICS_TOKEN = "metrics-token-never-logged-0123456789"
SMTP_PASSWORD = "smtp-password-never-logged-0123"
USER = "user-logged-7"


class Server:
    def __init__(self, tmp_path: Path, log_format: str) -> None:
        self.data = tmp_path / "data"
        backend = open_backend(load_settings({}, data_dir=self.data))
        try:
            created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
        finally:
            backend.close()
        self.app_id, self.secret, self.api_key = created.app.id, created.secret, created.api_key
        self.master_key = (self.data / "master.key").read_text().strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
        env["COUNTERSIGN_METRICS_TOKEN"] = METRICS_TOKEN
        # A relay that is not there: the mail worker's failures are logged too.
        env["COUNTERSIGN_SMTP_URL"] = f"smtp://relay:{SMTP_PASSWORD}@127.0.0.1:{free_port()}"
        env["COUNTERSIGN_INBOUND_DOMAIN"] = "in.acme.test"
        command = [sys.executable, "-m", "countersign"]
        for args in (
            ("apps", "set", self.app_id, "--email-delay", "0"),
            ("mail", "inbound-key", self.app_id, "--json"),
        ):
            done = subprocess.run(
                [*command, *args, "--data-dir", str(self.data)],
                env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
        self.inbound_key = json.loads(done.stdout)["inbound_key"]
        self.env, self.command = env, command
        subprocess.run(
            [
                *command,
                *("operators", "create", "owner@example.com", "--role", "owner"),
                *("--password-stdin", "--data-dir", str(self.data)),
            ],
            input=PASSWORD + "\n",
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.port = free_port()
        self.log_path = tmp_path / "server.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                *command,
                *("serve", "--data-dir", str(self.data), "--port", str(self.port)),
                *("--access-log", "--log-level", "debug", "--log-format", log_format),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 40
        while self.call("GET", "/healthz")[0] != 200:
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        self.cookies = CookieJar()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> tuple[int, str]:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=10) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
        except OSError:
            return 0, ""

    def identify(self, user_hash: str) -> dict[str, Any]:
        body = {"app_id": self.app_id, "user_id": USER, "user_hash": user_hash}
        status, text = self.call(
            "POST",
            "/v1/widget/identify",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        return {"status": status, **(json.loads(text) if text.startswith("{") else {})}

    def mail_tried(self) -> bool:
        """Whether an email of the app has had an attempt (``countersign mail log``)."""
        done = subprocess.run(
            [*self.command, "mail", "log", self.app_id, "--json", "--data-dir", str(self.data)],
            env=self.env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return any(e.get("attempts", 0) >= 1 for e in json.loads(done.stdout)["data"])

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._log.close()
        return self.log_path.read_text()


def _path_with_values(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", template)


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_no_secret_reaches_the_log(tmp_path: Path, log_format: str) -> None:
    server = Server(tmp_path, log_format)
    try:
        valid_hash = sign(server.secret, USER)
        session = server.identify(valid_hash)["session_token"]
        assert server.identify(sign(server.secret, "someone else"))["status"] == 401
        document = json.loads(server.call("GET", "/openapi.json")[1])
        query = urllib.parse.urlencode(
            {"session_token": session, "api_key": server.api_key, "hash": valid_hash}
        )
        body = json.dumps(
            {"user_hash": valid_hash, "password": PASSWORD, "user_id": USER, "body": session}
        ).encode()
        called = 0
        for template, item in document["paths"].items():
            for method in item:
                path = _path_with_values(template)
                token = session if path.startswith("/v1/widget/") else server.api_key
                if path == "/v1/inbound/email":
                    token = server.inbound_key
                for headers in (
                    {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                    {"Authorization": f"Bearer {token}x"},  # a wrong one: refused, not logged
                ):
                    server.call(method.upper(), f"{path}?{query}", body=body, headers=headers)
                    called += 1
        assert called >= 2 * 20  # every operation, twice
        # An email the worker tries to send (to the relay that is not there).
        api = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
        server.call("PUT", f"/v1/users/{USER}", body=b'{"email": "u@example.org"}', headers=api)
        started = server.call(
            "POST", "/v1/conversations", body=json.dumps({"user_id": USER, "body": "hi"}).encode(),
            headers=api,
        )  # fmt: skip
        assert started[0] == 201, started
        deadline = time.monotonic() + 20
        while not server.mail_tried():
            assert time.monotonic() < deadline, "the mail worker never tried the relay"
            time.sleep(0.2)
        # The dashboard: a wrong password, then the right one.
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(server.cookies))
        page = server.call("GET", "/dashboard/login", opener=opener)[1]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        for password in (PASSWORD + "x", PASSWORD):
            form = {"email": "owner@example.com", "password": password, "csrf_token": csrf[1]}
            server.call(
                "POST",
                "/dashboard/login",
                body=urllib.parse.urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                opener=opener,
            )
        for token in (METRICS_TOKEN, METRICS_TOKEN[:-1]):
            server.call("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    finally:
        output = server.stop()
    assert "/v1/widget/identify" in output  # the access lines were written
    if log_format == "json":
        lines = [line for line in output.splitlines() if line.startswith("{")]
        assert lines
        documents = [json.loads(line) for line in lines]
        assert any(d.get("logger") == "countersign.access" for d in documents)
        assert all("request_id" in d for d in documents if d.get("logger") == "countersign.access")
    secrets = {
        "app secret": server.secret,
        "valid hash": valid_hash,
        "session token": session,
        "API key": server.api_key,
        "password": PASSWORD,
        "password (form-encoded)": urllib.parse.quote_plus(PASSWORD),
        "metrics token": METRICS_TOKEN,
        "master key": server.master_key,
        "SMTP password": SMTP_PASSWORD,
        "inbound key": server.inbound_key,
    }
    for what, secret in secrets.items():
        assert secret not in output, f"the {what} is in the {log_format} log"
        assert secret[:16] not in output, f"the start of the {what} is in the {log_format} log"
