"""API forms the Python SDK does not send but other clients do (raw HTTP)."""

from __future__ import annotations

import httpx
import pytest
from qstash import QStash

from pytest_qstash.control import EmulatorControl
from pytest_qstash.endpoint import Endpoint
from pytest_qstash.server import EmulatorServer
from pytest_qstash.serving import ServerThread
from qstash_emulator import Emulator, Settings
from qstash_emulator.app import create_app
from qstash_emulator.core.model import Message
from qstash_emulator.core.tenants import DEFAULT_TOKEN
from qstash_emulator.storage.memory import MemoryStore
from qstash_emulator.storage.memory.messages import MemoryMessages


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bulk_cancel_by_query_ids_and_by_filters(
    server: EmulatorServer, token: str, client: QStash, endpoint: Endpoint
) -> None:
    ids = [client.message.publish(url=endpoint.url_for(f"/{i % 2}"), body="x", delay=60,
                                  label=f"l{i}").message_id for i in range(6)]
    by_ids = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token),
                          params=[("messageIds", ids[0]), ("messageIds", ids[1])])
    assert by_ids.json() == {"cancelled": 2}
    by_comma = httpx.delete(f"{server.url}/v2/messages?messageIds={ids[2]},{ids[3]}",
                            headers=_auth(token))
    assert by_comma.json() == {"cancelled": 2}
    by_url = httpx.request("DELETE", f"{server.url}/v2/messages", headers=_auth(token),
                           json={"url": endpoint.url_for("/0")})
    assert by_url.json() == {"cancelled": 1}
    assert client.message.get(ids[4]).message_id == ids[4]
    by_label = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token),
                            params={"label": "l5"})
    assert by_label.json() == {"cancelled": 1}


def test_dlq_bulk_retry_by_ids_and_by_filter(
    server: EmulatorServer, token: str, client: QStash, endpoint: Endpoint,
    control: EmulatorControl,
) -> None:
    endpoint.respond_with(500, path="/fail")
    for label in ("a", "a", "b"):
        client.message.publish(url=endpoint.url_for("/fail"), body=label, retries=0, label=label)
    control.advance(1)
    entries = client.dlq.list().messages
    first = httpx.post(f"{server.url}/v2/dlq/retry", headers=_auth(token),
                       params={"dlqIds": entries[0].dlq_id})
    assert first.status_code == 201 and len(first.json()["responses"]) == 1
    assert "cursor" not in first.json()
    by_label = httpx.post(f"{server.url}/v2/dlq/retry", headers=_auth(token),
                          params={"label": "b"})
    assert len(by_label.json()["responses"]) == 1
    control.advance(1)
    assert len(client.dlq.list().messages) == 3  # retried messages fail again, new entries
    assert len(endpoint.requests) == 5


def test_logs_path_serves_both_list_keys(server: EmulatorServer, token: str, client: QStash,
                                         endpoint: Endpoint) -> None:
    client.message.publish(url=endpoint.url, body="x", delay=10)
    data = httpx.get(f"{server.url}/v2/logs", headers=_auth(token)).json()
    assert data["logs"] == data["events"] and data["logs"][0]["state"] == "CREATED"
    assert "cursor" not in data


def test_dlq_bulk_delete_by_query(server: EmulatorServer, token: str, client: QStash,
                                  control: EmulatorControl) -> None:
    for _ in range(2):
        client.message.publish(url="http://127.0.0.1:9/closed", body="x", retries=0)
    control.advance(1)
    ids = [m.dlq_id for m in client.dlq.list().messages]
    deleted = httpx.delete(f"{server.url}/v2/dlq", headers=_auth(token),
                           params=[("dlqIds", i) for i in ids])
    assert deleted.json() == {"deleted": 2}


def test_reset_all_tenants(endpoint: Endpoint) -> None:
    with EmulatorServer(clock="virtual", any_token=True) as private:
        first, second = QStash("tenant-a", base_url=private.url), QStash("tenant-b",
                                                                         base_url=private.url)
        ids = [c.message.publish(url=endpoint.url, body="x", delay=60).message_id
               for c in (first, second)]
        with EmulatorControl(private.url, "tenant-a") as control:
            control.reset()
            assert first.log.list().logs == [] and second.log.list().logs != []
            control.reset(all_tenants=True)
        assert second.log.list().logs == []
        assert all(ids)


class MessagesDown(MemoryMessages):
    def put_message(self, message: Message) -> None:
        raise ConnectionError("store unreachable")


def test_an_unexpected_failure_is_answered_in_the_error_format() -> None:
    store = MemoryStore()
    store.messages = MessagesDown(max_finished=100)
    app = create_app(Emulator(Settings(clock="virtual"), store=store))
    with ServerThread(app, lifespan="on") as served:
        answer = httpx.post(f"{served.url}/v2/publish/http://127.0.0.1:9/x", content=b"x",
                            headers=_auth(DEFAULT_TOKEN))
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error: ConnectionError: store unreachable"}


def test_bulk_cancel_honours_count_with_all_and_with_filters(
    server: EmulatorServer, token: str, client: QStash, endpoint: Endpoint,
    control: EmulatorControl,
) -> None:
    ids = []
    for label in ("a", "a", "a", "b", "b"):
        ids.append(client.message.publish(url=endpoint.url, body="x", delay=600,
                                          label=label).message_id)
        control.advance(1)
    one = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token), params={"count": 1})
    assert one.json() == {"cancelled": 1}
    assert _pending(client, ids) == ids[1:]  # the oldest went first
    by_label = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token),
                            params={"label": "a", "count": 1})
    assert by_label.json() == {"cancelled": 1}
    assert _pending(client, ids) == ids[2:]
    in_body = httpx.request("DELETE", f"{server.url}/v2/messages", headers=_auth(token),
                            json={"label": "b", "count": 1})
    assert in_body.json() == {"cancelled": 1}
    rest = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token))
    assert rest.json() == {"cancelled": 2}
    for count in ("0", "501", "many"):
        refused = httpx.delete(f"{server.url}/v2/messages", headers=_auth(token),
                               params={"count": count})
        assert refused.status_code == 400 and "count" in refused.json()["error"]


def _pending(client: QStash, ids: list[str]) -> list[str]:
    states = {log.message_id: log.state.value for log in reversed(client.log.list().logs)}
    return [i for i in ids if states[i] == "CREATED"]


def test_dlq_bulk_delete_and_retry_honour_count(
    server: EmulatorServer, token: str, client: QStash, control: EmulatorControl,
) -> None:
    for _ in range(4):
        client.message.publish(url="http://127.0.0.1:9/closed", body="x", retries=0)
    control.advance(1)
    deleted = httpx.delete(f"{server.url}/v2/dlq", headers=_auth(token), params={"count": 1})
    assert deleted.json()["deleted"] == 1 and deleted.json()["cursor"]
    retried = httpx.post(f"{server.url}/v2/dlq/retry",  # delayed: not back in the DLQ yet
                         headers=_auth(token) | {"Upstash-Delay": "1h"}, params={"count": 2})
    assert len(retried.json()["responses"]) == 2 and retried.json()["cursor"]
    assert len(client.dlq.list().messages) == 1


@pytest.mark.parametrize(("method", "path"), [
    ("DELETE", "/v2/messages"), ("DELETE", "/v2/dlq"), ("POST", "/v2/dlq/retry"),
    ("GET", "/v2/dlq"), ("GET", "/v2/events"), ("GET", "/v2/logs"),
])
def test_an_unknown_filter_key_is_refused_before_anything_happens(
    server: EmulatorServer, token: str, client: QStash, control: EmulatorControl,
    method: str, path: str,
) -> None:
    pending = client.message.publish(url="http://127.0.0.1:9/later", body="x", delay=600,
                                     label="x")
    client.message.publish(url="http://127.0.0.1:9/closed", body="x", retries=0, label="x")
    control.advance(1)
    answer = httpx.request(method, server.url + path, headers=_auth(token),
                           params={"labeel": "x"})
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid filter: unknown field 'labeel'"}
    with_ids = httpx.request(method, server.url + path, headers=_auth(token),
                             params={"dlqIds": "1-1", "labeel": "x"})
    assert with_ids.status_code == 400
    assert client.message.get(pending.message_id).message_id == pending.message_id
    assert len(client.dlq.list().messages) == 1
    in_body = httpx.request("DELETE", f"{server.url}/v2/messages", headers=_auth(token),
                            json={"urll": "http://127.0.0.1:9/later"})
    assert in_body.status_code == 400


def test_known_filter_keys_are_accepted_in_any_case(
    server: EmulatorServer, token: str, client: QStash,
) -> None:
    params = {"callerIP": "1.2.3.4", "topicName": "t", "responseStatus": "500", "api": "x",
              "fromDate": "0", "qstash_token": token}
    assert httpx.get(f"{server.url}/v2/dlq", params=params).status_code == 200
    logs = {"state": "DELIVERED", "host": "h", "path": "/p", "messageIds": "m", "count": "5"}
    assert httpx.get(f"{server.url}/v2/events", headers=_auth(token),
                     params=logs).status_code == 200
    host_on_dlq = httpx.get(f"{server.url}/v2/dlq", headers=_auth(token), params={"host": "h"})
    assert host_on_dlq.status_code == 400  # QStash's DLQ endpoint knows no host/path filter


def test_delivery_records_keep_the_response_headers(
    client: QStash, endpoint: Endpoint, control: EmulatorControl,
) -> None:
    endpoint.respond_with(200, headers={"X-Queue-Replayed": "true"}, body="done")
    result = client.message.publish(url=endpoint.url, body="x")
    control.advance(1)
    [delivery] = control.deliveries(result.message_id)
    answered = {name.lower(): value for name, value in delivery["responseHeaders"].items()}
    assert answered["x-queue-replayed"] == "true"  # names as the destination sent them
    assert delivery["responseBody"] == "done"
