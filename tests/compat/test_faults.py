"""Destination chaos and signature faults, observed through the SDK, the delivery log and
the events; and the faults control API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from qstash import QStash, Receiver
from qstash.errors import SignatureError

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from qstash_emulator.core.model import SigningKeys


def _states(client: QStash, message_id: str) -> list[str]:
    logs = client.log.list(filter={"message_id": message_id}).logs
    return [log.state.value for log in reversed(logs)]


def _events(server: EmulatorServer, token: str, message_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v2/events", params={"messageId": message_id},
                       headers={"Authorization": f"Bearer {token}"})
    return list(reversed(answer.json()["events"]))


@pytest.fixture
def plain() -> Iterator[Endpoint]:
    """A destination that does not check signatures itself."""
    with Endpoint() as running:
        yield running


def test_status_sequence_delivers_on_the_third_attempt(
    client: QStash, control: EmulatorControl, server: EmulatorServer, token: str
) -> None:
    url = "http://127.0.0.1:9/no-server-needed"
    with pytest.warns(UserWarning, match=r"statuses \[200\] answer in the destination's place"):
        control.add_fault(url, statuses=[500, 500, 200])
    result = client.message.publish(url=url, body="job")
    control.advance(10**5)
    deliveries = control.deliveries(result.message_id)
    assert [(d["attempt"], d["status"], d["injected"]) for d in deliveries] == [
        (0, 500, True), (1, 500, True), (2, 200, True)]
    assert deliveries[-1]["headers"]["Upstash-Retried"] == "2"
    assert "status 200" in deliveries[-1]["fault"]
    assert _states(client, result.message_id) == [
        "CREATED", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "ERROR", "RETRY", "ACTIVE", "DELIVERED"]
    events = _events(server, token, result.message_id)
    errors = [e for e in events if e["state"] == "ERROR"]
    assert [e["responseStatus"] for e in errors] == [500, 500]
    assert all(e["injected"] and e["fault"] for e in errors)
    assert events[-1]["injected"] is True


def test_after_the_sequence_the_real_destination_answers(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.add_fault(endpoint.url_for("/hook"), statuses=[500, 503])
    result = client.message.publish(url=endpoint.url_for("/hook"), body="job")
    control.advance(10**5)
    [request] = endpoint.requests
    assert request.header("upstash-retried") == "2"
    assert request.header("upstash-message-id") == result.message_id
    assert _states(client, result.message_id)[-1] == "DELIVERED"
    assert [d["injected"] for d in control.deliveries(result.message_id)] == [True, True, False]


def test_a_pass_entry_lets_the_real_destination_answer_that_attempt(
    client: QStash, control: EmulatorControl, endpoint: Endpoint, server: EmulatorServer,
    token: str,
) -> None:
    endpoint.respond_with(500, path="/flaky")
    answer = httpx.post(f"{server.url}/__emulator__/faults",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"match": endpoint.url_for("/flaky"),
                              "statuses": [503, "pass", None, 200]})
    assert answer.json()["fault"]["statuses"] == [503, "pass", "pass", 200]
    assert "delivered" in answer.json()["warnings"][0]
    result = client.message.publish(url=endpoint.url_for("/flaky"), body="job", retries=5)
    control.advance(10**5)
    assert len(endpoint.requests) == 2  # the two "pass" attempts reached the destination
    deliveries = control.deliveries(result.message_id)
    assert [(d["status"], d["injected"]) for d in deliveries] == [
        (503, True), (500, False), (500, False), (200, True)]
    silent = httpx.post(f"{server.url}/__emulator__/faults",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"match": "http://127.0.0.1:9/", "statuses": [500, "pass"]})
    assert "warnings" not in silent.json()


def test_timeout_and_connection_error_faults_end_in_the_dlq(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.add_fault(endpoint.url_for("/slow"), timeout=True)
    control.add_fault(endpoint.url_for("/down"), connection_error=True)
    slow = client.message.publish(url=endpoint.url_for("/slow"), body="x", retries=0)
    down = client.message.publish(url=endpoint.url_for("/down"), body="x", retries=0)
    control.advance(1)
    assert endpoint.requests == []
    entries = {e.message_id: e for e in client.dlq.list().messages}
    assert entries[slow.message_id].response_status == 0
    assert entries[down.message_id].response_status == 0
    [timed_out] = control.deliveries(slow.message_id)
    assert "timed out" in timed_out["error"] and timed_out["injected"]
    [refused] = control.deliveries(down.message_id)
    assert "connection" in refused["error"] and refused["injected"]


def test_latency_beyond_the_timeout_times_out_and_below_it_passes(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    control.add_fault(endpoint.url_for("/lag"), latency_ms=30)
    fast = client.message.publish(url=endpoint.url_for("/lag"), body="x")
    control.advance(0)
    [record] = control.deliveries(fast.message_id)
    assert record["status"] == 200 and record["injected"] and "latency 30ms" in record["fault"]
    assert len(endpoint.requests) == 1


def test_seeded_probability_repeats_across_runs(
    client: QStash, control: EmulatorControl, endpoint: Endpoint
) -> None:
    def run() -> list[int]:
        control.clear_faults()
        control.add_fault(endpoint.url, probability=0.5, seed=42)
        ids = [client.message.publish(url=endpoint.url, body=str(i), retries=0).message_id
               for i in range(12)]
        control.advance(0)
        return [control.deliveries(i)[0]["status"] for i in ids]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 500}


def test_duplicate_delivery_has_the_same_message_id(
    client: QStash, control: EmulatorControl, endpoint: Endpoint, server: EmulatorServer,
    token: str,
) -> None:
    control.add_fault(endpoint.url, duplicate_after_s=5)
    result = client.message.publish(url=endpoint.url, body="once")
    control.advance(4.9)
    assert len(endpoint.requests) == 1
    control.advance(0.1)
    first, second = endpoint.requests
    assert first.header("upstash-message-id") == second.header("upstash-message-id") == (
        result.message_id)
    assert second.text == "once"
    records = control.deliveries(result.message_id)
    assert [r["injected"] for r in records] == [False, True]
    assert "duplicate" in records[1]["fault"]
    assert records[1]["time"] - records[0]["time"] == 5000
    events = _events(server, token, result.message_id)
    assert [e["state"] for e in events][-2:] == ["DELIVERED", "DELIVERED"]
    assert events[-1]["injected"] is True and "injected" not in events[-2]
    control.advance(60)
    assert len(endpoint.requests) == 2, "a duplicate is not duplicated again"


def _signature_of(plain: Endpoint) -> tuple[str, str, str]:
    [request] = plain.wait_for(1)
    return request.header("upstash-signature") or "", request.text, request.url


@pytest.mark.parametrize(("fault", "reason"), [
    ("expired", "Signature has expired"),
    ("wrong-sub", "Invalid subject"),
    ("wrong-body", "Invalid body hash"),
])
def test_signature_faults_make_the_receiver_refuse(
    client: QStash, control: EmulatorControl, plain: Endpoint, receiver: Receiver,
    fault: str, reason: str,
) -> None:
    control.add_fault(plain.url, signature=fault)
    result = client.message.publish(url=plain.url_for("/hook"), body='{"a": 1}')
    control.advance(0)
    signature, body, url = _signature_of(plain)
    with pytest.raises(SignatureError, match=reason):
        receiver.verify(signature=signature, body=body, url=url)
    [record] = control.deliveries(result.message_id)
    assert record["injected"] and f"signature {fault}" in record["fault"]


def test_next_key_signature_tests_key_rotation(
    client: QStash, control: EmulatorControl, plain: Endpoint, keys: SigningKeys,
    receiver: Receiver,
) -> None:
    control.add_fault(plain.url, signature="next-key")
    client.message.publish(url=plain.url_for("/rotated"), body="rotated")
    control.advance(0)
    signature, body, url = _signature_of(plain)
    receiver.verify(signature=signature, body=body, url=url)  # knows both keys: accepts
    forgetful = Receiver(keys.current, keys.current)
    with pytest.raises(SignatureError, match="Signature verification failed"):
        forgetful.verify(signature=signature, body=body, url=url)


def test_faults_api_lists_removes_and_scopes_rules(
    server: EmulatorServer, control: EmulatorControl, client: QStash, endpoint: Endpoint
) -> None:
    first = control.add_fault(endpoint.url_for("/a*"), statuses=[500])
    second = control.add_fault(endpoint.url_for("/b"), match_type="exact", timeout=True)
    listed = control.faults()
    assert [f["id"] for f in listed] == [first, second]
    assert listed[0]["match_type"] == "glob" and listed[0]["statuses"] == [500]
    assert listed[1]["match_type"] == "exact" and listed[1]["all"] is False
    with EmulatorControl(server.url, token="someone-else-entirely") as other:
        assert other.faults() == []
        with pytest.raises(RuntimeError, match="404"):
            other.remove_fault(first)
    control.remove_fault(first)
    assert [f["id"] for f in control.faults()] == [second]
    with pytest.raises(RuntimeError, match="404"):
        control.remove_fault(first)
    control.clear_faults()
    assert control.faults() == []
    client.message.publish(url=endpoint.url_for("/a1"), body="x")
    control.advance(0)
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize("body", [
    {"statuses": [500]}, {"match": "http://x/"}, {"match": "http://x/", "statuses": [1000]},
    {"match": "http://x/", "signature": "forged"}, {"match": "http://x/", "probability": 2},
])
def test_bad_fault_bodies_answer_400(
    server: EmulatorServer, token: str, control: EmulatorControl, body: dict[str, Any]
) -> None:
    answer = httpx.post(f"{server.url}/__emulator__/faults", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and answer.json()["error"]
    assert control.faults() == []
