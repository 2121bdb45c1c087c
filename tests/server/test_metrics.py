"""GET /metrics: who may read it, and that it counts what really happened.

In-process for the access rules and the counts (deltas: the values are the process's
and other tests count too), then real ``countersign serve`` processes for two workers
(every worker reported) and for ``--metrics-port`` (127.0.0.1, no token)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from countersign import sign
from countersign.context import open_backend
from countersign.settings import load_settings
from countersign.storage import apps
from tests.cli.serving import free_port, serving

from .conftest import Harness

TOKEN = "metrics-token-for-the-tests-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` that has these labels (and maybe others)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def scrape(harness: Harness) -> Samples:
    harness.log()  # the recorder counts identify outcomes as it writes them: flush it
    response = harness.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def test_without_the_setting_there_is_nothing(harness: Harness) -> None:
    response = harness.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("header", [None, "Bearer nope", f"Bearer {TOKEN}x", f"Basic {TOKEN}"])
def test_a_wrong_token_is_refused_without_a_hint(
    make_harness: Callable[..., Harness], header: str | None
) -> None:
    harness = make_harness(metrics_token=TOKEN)
    headers = {} if header is None else {"Authorization": header}
    response = harness.client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert TOKEN not in response.text
    assert TOKEN[:8] not in response.text


def test_a_short_token_is_refused_at_start() -> None:
    from countersign.settings import SettingsError

    with pytest.raises(SettingsError, match="COUNTERSIGN_METRICS_TOKEN"):
        load_settings({"COUNTERSIGN_METRICS_TOKEN": "short"})


def test_the_counts_follow_real_traffic(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness(metrics_token=TOKEN)
    before = scrape(harness)
    for n in range(3):
        harness.verified(f"user-{n}")
    for n in range(2):
        wrong = harness.identify(user_id="victim", user_hash=sign(harness.secret, f"x{n}"))
        assert wrong.status_code == 401
    assert harness.identify().status_code == 200  # anonymous
    for _ in range(10):  # past the 10 failures per identifier: rate limited
        harness.identify(user_id="victim", user_hash=sign(harness.secret, "y"))
    after = scrape(harness)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    identify = "countersign_identify_total"
    assert delta(identify, status="verified", method="hash") == 3
    assert (
        delta(identify, status="refused", method="hash", code="unknown") == 10
    )  # no known mistake
    assert delta(identify, status="anonymous") == 1
    assert delta("countersign_rate_limited_total", limiter="identify.identifier") == 2
    route = {"route": "/v1/widget/identify", "method": "POST"}
    assert delta("countersign_request_duration_seconds_count", **route, status="200") == 4
    assert delta("countersign_request_duration_seconds_count", **route, status="429") == 2
    assert delta("countersign_request_duration_seconds_count", **route, status="401") == 10
    assert value(after, "countersign_webhook_queue_depth") == 0
    assert value(after, "countersign_mail_queue_depth") == 0
    assert delta("countersign_db_transaction_seconds_count") > 0
    # Route templates, never raw paths: an id in the URL adds no series.
    harness.client.get("/v1/widget/conversations/cnv_abc/messages")
    names = {labels for (name, labels) in scrape(harness) if name.endswith("seconds_count")}
    assert not [labels for labels in names if "cnv_abc" in str(labels)]


def _app(data_dir: Path) -> tuple[str, str]:
    backend = open_backend(load_settings({}, data_dir=data_dir))
    try:
        created = backend.database.run_sync(lambda c: apps.create_app(c, backend.box, "Acme"))
    finally:
        backend.close()
    return created.app.id, created.secret


def _get(url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
        return str(r.read().decode())


def _identify(port: int, app_id: str, secret: str, user: str) -> None:
    body = f'{{"app_id": "{app_id}", "user_id": "{user}", "user_hash": "{sign(secret, user)}"}}'
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/widget/identify",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def test_two_workers_are_reported_together(tmp_path: Path) -> None:
    app_id, secret = _app(tmp_path)
    token = {"COUNTERSIGN_METRICS_TOKEN": TOKEN}
    with serving(["--data-dir", str(tmp_path), "--workers", "2"], token) as (_, port):
        sent = 40  # over fresh connections: the kernel spreads them over both workers
        for n in range(sent):
            _identify(port, app_id, secret, f"user-{n}")
        identify = {"route": "/v1/widget/identify", "method": "POST", "status": "200"}
        deadline = time.monotonic() + 10
        # Each worker's recorder counts within a quarter second, and each moves its
        # request durations into the shared histogram within a second.
        while True:
            samples = parse(_get(f"http://127.0.0.1:{port}/metrics", TOKEN))
            verified = value(samples, "countersign_identify_total", status="verified")
            timed = value(samples, "countersign_request_duration_seconds_count", **identify)
            if (verified, timed) == (sent, sent) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert verified == sent
        assert timed == sent
        pids = {labels for (name, labels) in samples if name == "process_cpu_seconds_total"}
        assert not pids  # per-process collectors are not summed across workers


def test_the_metrics_port_answers_on_loopback_without_a_token(tmp_path: Path) -> None:
    app_id, secret = _app(tmp_path)
    metrics_port = free_port()
    args = ["--data-dir", str(tmp_path), "--metrics-port", str(metrics_port)]
    with serving(args) as (_, port):
        _identify(port, app_id, secret, "user-1")
        identify = {"route": "/v1/widget/identify", "method": "POST", "status": "200"}
        deadline = time.monotonic() + 5
        while True:  # the server moves request durations into the histogram each second
            samples = parse(_get(f"http://127.0.0.1:{metrics_port}/metrics"))
            counted = value(samples, "countersign_request_duration_seconds_count", **identify)
            if counted == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert ("countersign_webhook_queue_depth", frozenset()) in samples
        assert ("countersign_mail_queue_depth", frozenset()) in samples
        assert counted == 1


def test_buffered_durations_land_in_the_buckets_observe_would_use() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from countersign.metrics import REQUEST_BUCKETS, REQUEST_SECONDS, request_durations

    values = [0.0, 0.001, 0.0010001, 0.003, 0.05, 0.75, 9.99, 10.0, 10.5, 99.0]
    reference = Histogram(
        "reference_seconds",
        "",
        ["route", "method", "status"],
        buckets=REQUEST_BUCKETS,
        registry=CollectorRegistry(),
    )
    labels = ("/test/buffered/{id}", "GET", "200")
    request_durations.flush()
    for seconds in values:
        request_durations.observe(labels[0], labels[1], int(labels[2]), seconds)
        reference.labels(*labels).observe(seconds)
    request_durations.flush()

    def samples(histogram: Histogram, prefix: str) -> dict[tuple[str, str], float]:
        found = {}
        for metric in histogram.collect():
            for sample in metric.samples:
                if sample.labels.get("route") == labels[0] and not sample.name.endswith("_created"):
                    found[(sample.name.removeprefix(prefix), sample.labels.get("le", ""))] = (
                        sample.value
                    )
        return found

    assert samples(REQUEST_SECONDS, "countersign_request_duration_seconds") == samples(
        reference, "reference_seconds"
    )
