"""Each row of docs/api.md's bad-input table, over real HTTP: status, error shape, no change."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.tenants import DEFAULT_TOKEN

API_PAGE = Path(__file__).parents[3] / "docs" / "api.md"
DEST = "http://127.0.0.1:9/x"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    contains: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    auth: bool = True


BAD_BATCH = (
    b'[{"destination": "http://127.0.0.1:9/a", "headers": {}, "body": "a"},'
    b' {"destination": "http://127.0.0.1:9/b", "headers": {"Upstash-Delay": "soon"}, "body": "b"}]'
)

CASES = [
    Case("Missing token", "POST", f"/v2/publish/{DEST}", 401, "unauthorized", auth=False),
    Case("Unknown token", "GET", "/v2/keys", 401, "unauthorized",
         headers={"Authorization": "Bearer nope"}, auth=False),
    Case("Destination with another scheme", "POST", "/v2/publish/ftp://127.0.0.1/x", 400,
         "invalid destination url: endpoint has invalid scheme, add http:// or https://"),
    Case("Destination that is neither URL nor name", "POST", "/v2/publish/not a url!", 400,
         "invalid scheme"),
    Case("Unknown URL group", "POST", "/v2/publish/no-such-group", 404,
         "topic no-such-group not found"),
    Case("Malformed delay", "POST", f"/v2/publish/{DEST}", 400, "upstash-delay",
         {"Upstash-Delay": "soon"}),
    Case("Malformed not-before", "POST", f"/v2/publish/{DEST}", 400, "upstash-not-before",
         {"Upstash-Not-Before": "tomorrow"}),
    Case("Negative retries", "POST", f"/v2/publish/{DEST}", 400, "upstash-retries",
         {"Upstash-Retries": "-1"}),
    Case("Non-numeric retries", "POST", f"/v2/publish/{DEST}", 400, "upstash-retries",
         {"Upstash-Retries": "many"}),
    Case("Malformed timeout", "POST", f"/v2/publish/{DEST}", 400, "upstash-timeout",
         {"Upstash-Timeout": "10 parsecs"}),
    Case("Zero timeout", "POST", f"/v2/publish/{DEST}", 400, "upstash-timeout",
         {"Upstash-Timeout": "0s"}),
    Case("Unsafe retry-delay expression", "POST", f"/v2/publish/{DEST}", 400, "retry",
         {"Upstash-Retry-Delay": "__import__('os')"}),
    Case("Retry-delay with unknown name", "POST", f"/v2/publish/{DEST}", 400, "retry",
         {"Upstash-Retry-Delay": "1000 * attempts"}),
    Case("Unknown method", "POST", f"/v2/publish/{DEST}", 400, "upstash-method",
         {"Upstash-Method": "FETCH"}),
    Case("Callback without scheme", "POST", f"/v2/publish/{DEST}", 400, "upstash-callback",
         {"Upstash-Callback": "example.com/cb"}),
    Case("Bad content-based dedup flag", "POST", f"/v2/publish/{DEST}", 400, "boolean",
         {"Upstash-Content-Based-Deduplication": "maybe"}),
    Case("Bad flow-control value", "POST", f"/v2/publish/{DEST}", 400,
         "upstash-flow-control-value",
         {"Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "rate=fast"}),
    Case("Invalid queue name", "POST", "/v2/queues", 400, "invalid queue name",
         body=b'{"queueName": "no spaces"}'),
    Case("Enqueue into an invalid queue name", "POST", f"/v2/enqueue/bad!name/{DEST}", 400,
         "invalid queue name"),
    Case("Delay on enqueue", "POST", f"/v2/enqueue/q/{DEST}", 400,
         "not supported when enqueueing", {"Upstash-Delay": "10s"}),
    Case("Parallelism above the plan", "POST", "/v2/queues", 412, "exceeds the plan maximum",
         body=b'{"queueName": "q", "parallelism": 101}'),
    Case("Unknown queue", "GET", "/v2/queues/nope", 404, "queue nope not found"),
    Case("Unknown flow-control key", "GET", "/v2/flowControl/nope", 404,
         "flow control key nope not found"),
    Case("Bad pin value", "POST", "/v2/flowControl/k/pin?parallelism=0", 400, "parallelism"),
    Case("Unknown redact field", "POST", f"/v2/publish/{DEST}", 400, "upstash-redact-fields",
         {"Upstash-Redact-Fields": "password"}),
    Case("Body above the size limit", "POST", f"/v2/publish/{DEST}", 413,
         "message size exceeds", body=b"x" * 2049),
    Case("Batch body is not JSON", "POST", "/v2/batch", 400, "invalid batch body",
         body=b"{not json"),
    Case("Batch body is not an array", "POST", "/v2/batch", 400, "JSON array",
         body=b'{"destination": "x"}'),
    Case("Batch element without destination", "POST", "/v2/batch", 400, "destination",
         body=b'[{"headers": {}}]'),
    Case("One bad element in a batch", "POST", "/v2/batch", 400, "upstash-delay",
         body=BAD_BATCH),
    Case("Unknown message", "GET", "/v2/messages/msg_unknown", 404, "message not found"),
    Case("Unknown DLQ entry", "POST", "/v2/dlq/retry/123-4", 404, "dlq message not found"),
    Case("Bulk cancel with a bad body", "DELETE", "/v2/messages", 400, "messageIds",
         body=b'{"messageIds": "msg_1"}'),
    Case("Bulk cancel count out of range", "DELETE", "/v2/messages?count=501", 400,
         "invalid count"),
    Case("Unknown filter field", "DELETE", "/v2/dlq?labeel=x", 400,
         "invalid filter: unknown field 'labeel'"),
    Case("URL-group headers in a bad shape", "PATCH", "/v2/topics/g", 400, "headers",
         body=b'{"headers": ["X"]}'),
    Case("Wrong method", "GET", f"/v2/publish/{DEST}", 405, "method not allowed"),
    Case("Unknown path", "GET", "/v2/nothing-here", 404, "not found"),
    Case("Advance without seconds", "POST", "/__emulator__/clock/advance", 400, "seconds",
         body=b"{}"),
    Case("Delay above the plan's maximum", "POST", f"/v2/publish/{DEST}", 400, "upstash-delay",
         {"Upstash-Delay": "400d"}),
    Case("Bad quota change", "PUT", "/__emulator__/quota", 400, "daily",
         body=b'{"daily": "3"}'),
    Case("Unknown quota window", "POST", "/__emulator__/quota/exhaust", 400, "window",
         body=b'{"window": "weekly"}'),
    Case("Unknown outage mode", "POST", "/__emulator__/outage", 400, "mode",
         body=b'{"mode": "meltdown"}'),
    Case("Fault without match", "POST", "/__emulator__/faults", 400, "match",
         body=b'{"statuses": [500]}'),
    Case("Fault without effect", "POST", "/__emulator__/faults", 400, "effect",
         body=b'{"match": "http://127.0.0.1:9/x"}'),
    Case('Fault status that is neither a status nor `"pass"`', "POST", "/__emulator__/faults",
         400, "statuses", body=b'{"match": "http://127.0.0.1:9/x", "statuses": ["skip"]}'),
    Case("Unknown fault", "DELETE", "/__emulator__/faults/fault_999", 404, "fault not found"),
]


@pytest.fixture(scope="module")
def strict_server():
    with EmulatorServer(clock="virtual", max_body_bytes=2048, tokens=("good-token",)) as server:
        yield server


def _send(server: EmulatorServer, case: Case) -> httpx.Response:
    headers = {"Authorization": "Bearer good-token"} if case.auth else {}
    return httpx.request(case.method, server.url + case.path,
                         headers=headers | case.headers, content=case.body)


def _nothing_stored(server: EmulatorServer) -> bool:
    logs = httpx.get(server.url + "/v2/events", headers={"Authorization": "Bearer good-token"})
    return logs.json()["events"] == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_in_qstash_shape(strict_server: EmulatorServer, case: Case) -> None:
    response = _send(strict_server, case)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    assert case.contains.lower() in response.json()["error"].lower()
    assert _nothing_stored(strict_server)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_ids_on_every_verb(strict_server: EmulatorServer, method: str) -> None:
    auth = {"Authorization": "Bearer good-token"}
    for path in ("/v2/messages/msg_unknown", "/v2/dlq/123-4"):
        response = httpx.request(method, strict_server.url + path, headers=auth)
        assert response.status_code == 404 and "not found" in response.json()["error"]


def test_advancing_a_real_clock_is_refused() -> None:
    with EmulatorServer(clock="real") as server:
        response = httpx.post(server.url + "/__emulator__/clock/advance", json={"seconds": 1},
                              headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"})
    assert response.status_code == 400
    assert "clock is real" in response.json()["error"]


def _documented_rows() -> dict[str, tuple[int, str]]:
    text = API_PAGE.read_text()
    section = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2].isdigit():
            rows[cells[0]] = (int(cells[2]), re.sub(r"^`([^`]*)`.*$", r"\1", cells[3]))
    return rows


def test_documented_table_matches_the_tested_cases() -> None:
    rows = _documented_rows()
    tested = {c.name: (c.status, c.contains) for c in CASES}
    tested["Advance a real clock"] = (400, "clock is real")
    tested["Unknown DLQ entry"] = (404, "dlq message not found")
    assert rows == tested
